// Screenshots of every staff and terminal page at a desktop (1280×800) and a phone (360×740)
// viewport, in Debian Chromium, run on demand against a running server (not part of the test
// command):
//   BASE_URL=http://127.0.0.1:3000 [E2E_DEVICE_KEYS=POS-…=hex,KIOSK-…=hex] \
//     node end2end/scripts/staff-screenshots.mjs OUT_DIR
// It logs in as the demo administrator (changing the published password at the first login,
// as the person would), saves one PNG per page and viewport, and checks each page for what
// breaks a tool at the counter: a page wider than the screen, a control smaller than 44 px on
// the phone, and axe (WCAG 2.1 A and AA). The till and kiosk pages are taken when the device
// keys are given (scripts/test.sh shows how they are made). It prints one line per page and
// exits 1 if a check failed.
import { chromium } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";

const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const out = process.argv[2] ?? "staff-screenshots";
mkdirSync(out, { recursive: true });
const admin = {
  user: process.env.STAFF_USER ?? "admin",
  published: process.env.STAFF_PASSWORD ?? "Yikatong-Admin-2026",
  own: process.env.STAFF_OWN ?? "Admin-own-password-7",
  secret: process.env.STAFF_SECRET ?? "YKTDEMOADMINSECRETKEYFORTOTPAAAA",
};
const student = process.env.STUDENT ?? "2023020215";
const keys = Object.fromEntries(
  (process.env.E2E_DEVICE_KEYS ?? "").split(",").filter(Boolean).map((kv) => kv.split("=")),
);

function totp(secret, unixSeconds) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac("sha1", Buffer.from(bytes)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, "0");
}

/** The server's time, as an authenticator app must read it (the server may run on a set clock). */
async function serverSeconds() {
  const body = await (await fetch(`${base}/healthz`)).json();
  return Date.parse(body.time) / 1000;
}

let lastStep = 0;
/** A code of a time step not used yet (a code is good once). */
async function freshCode() {
  let now = await serverSeconds();
  let step = Math.floor(now / 30);
  if (step <= lastStep) {
    await new Promise((r) => setTimeout(r, (30 - (now % 30) + 0.5) * 1000));
    now = await serverSeconds();
    step = Math.floor(now / 30);
  }
  lastStep = step;
  return totp(admin.secret, step * 30);
}

async function signIn(page) {
  for (const password of [admin.own, admin.published]) {
    await page.goto("/staff/login");
    await page.getByLabel("用户名").fill(admin.user);
    await page.getByLabel("密码", { exact: true }).fill(password);
    await page.getByLabel("动态验证码").fill(await freshCode());
    await page.getByRole("button", { name: "登录" }).click();
    const outcome = await Promise.race([
      page.waitForURL(/\/staff\/password$/, { timeout: 15_000 }).then(() => "change"),
      page.getByTestId("staff-who").waitFor({ timeout: 15_000 }).then(() => "in"),
      page.getByTestId("form-error").waitFor({ timeout: 15_000 }).then(() => "refused"),
    ]);
    if (outcome === "refused") continue;
    if (outcome === "change") {
      await page.locator('body[data-hydrated="true"]').waitFor({ timeout: 20_000 });
      await page.getByLabel("当前密码").fill(password);
      await page.getByLabel("新密码", { exact: true }).fill(admin.own);
      await page.getByLabel("再输入一次新密码").fill(admin.own);
      await page.getByRole("button", { name: "保存" }).click();
      await page.getByTestId("staff-password-done").waitFor();
      return;
    }
    return;
  }
  throw new Error("could not log in as the administrator");
}

/** What breaks the page at this viewport: overflow, small controls (phone), axe. */
async function problemsOf(page, phone) {
  const problems = [];
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (wide > 0) problems.push(`${wide}px wider than the screen`);
  if (phone) {
    const small = await page.evaluate(() =>
      [...document.querySelectorAll("main button, main summary, main select, main input:not([type=hidden]):not([type=checkbox])")]
        .filter((e) => e.offsetParent !== null)
        .map((e) => [e, e.getBoundingClientRect()])
        .filter(([, r]) => r.height < 43.5 || r.width < 43.5)
        .map(([e, r]) => `${e.tagName.toLowerCase()} "${(e.textContent || e.name || "").trim().slice(0, 20)}" ${Math.round(r.width)}×${Math.round(r.height)}`),
    );
    if (small.length) problems.push(`small controls: ${small.slice(0, 5).join("; ")}${small.length > 5 ? ` (+${small.length - 5})` : ""}`);
  }
  const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  for (const v of axe.violations) problems.push(`axe ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  return problems;
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
let failed = false;
const viewports = [
  ["desktop", { viewport: { width: 1280, height: 800 } }],
  ["phone", { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
];
for (const [name, options] of viewports) {
  const phone = name === "phone";
  const context = await browser.newContext({ ...options, locale: "zh-CN", baseURL: base });
  const page = await context.newPage();
  await signIn(page);
  const pages = [
    ["search", "/staff"],
    ["search-results", `/staff?q=${student}`],
    ["holder", null],
    ["receipt", "receipt"],
    ["receipt-80mm", "receipt?paper=80mm"],
    ["enrol", "/staff/enrol"],
    ["found", "/staff/found"],
    ["queue", "/staff/queue"],
    ["graduation", "/staff/graduation"],
    ["audit", "/staff/audit"],
    ["reports", "/staff/reports"],
    ["admin", "/staff/admin"],
    ["password", "/staff/password"],
  ];
  let receipt = null;
  for (const [label, path] of pages) {
    if (path?.startsWith("receipt")) {
      // The first receipt the holder page links to (a cash top-up, a fee, a payout), if any.
      if (!receipt) {
        console.log(`${name} ${label}: no receipt on the holder page (skipped)`);
        continue;
      }
      await page.goto(path.replace("receipt", receipt));
    } else if (path) {
      await page.goto(path);
    } else {
      await page.goto(`/staff?q=${student}`);
      await page.getByTestId("search-results").getByRole("link").first().click();
      await page.getByTestId("holder-name").waitFor();
      const link = page.getByTestId("holder-entries").getByRole("link", { name: "收据" }).first();
      receipt = (await link.count()) ? await link.getAttribute("href") : null;
      if (!receipt) {
        // None yet: take ¥10 in cash for the holder (the demo campus), for its receipt.
        await page.locator('body[data-hydrated="true"]').waitFor({ timeout: 20_000 });
        await page.getByTestId("cash-form").getByLabel("金额（元）").fill("10");
        await page.getByTestId("cash-form").getByRole("button").click();
        receipt = await page.getByTestId("receipt-page").getAttribute("href");
      }
    }
    await page.locator('body[data-hydrated="true"]').waitFor({ timeout: 20_000 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${out}/${label}-${name}.png`, fullPage: true });
    const problems = await problemsOf(page, phone);
    if (problems.length) failed = true;
    console.log(`${name} ${label}: ${problems.length ? problems.join(" | ") : "ok"}`);
  }
  // The terminals, each in a browser of its own (set up with the device's credential).
  const terminals = [["setup", null, "/terminal"]];
  for (const [code, key] of Object.entries(keys)) {
    if (code.startsWith("POS-") && !terminals.some(([l]) => l === "pos")) terminals.push(["pos", [code, key], "/terminal/pos"]);
    if (code.startsWith("KIOSK-") && !terminals.some(([l]) => l === "kiosk")) terminals.push(["kiosk", [code, key], "/terminal/kiosk"]);
  }
  for (const [label, device, path] of terminals) {
    const t = await browser.newContext({ ...options, locale: "zh-CN", baseURL: base });
    const tp = await t.newPage();
    await tp.goto("/terminal");
    if (device) {
      await tp.getByLabel("设备编号").fill(device[0]);
      await tp.getByLabel("设备凭证").fill(device[1]);
      await tp.getByRole("button", { name: "设置此浏览器" }).click();
      await tp.waitForURL(new RegExp(`${path}$`));
    }
    await tp.locator('body[data-hydrated="true"]').waitFor({ timeout: 20_000 });
    await tp.waitForTimeout(300);
    await tp.screenshot({ path: `${out}/terminal-${label}-${name}.png`, fullPage: true });
    const problems = await problemsOf(tp, phone);
    if (problems.length) failed = true;
    console.log(`${name} terminal-${label}: ${problems.length ? problems.join(" | ") : "ok"}`);
    await t.close();
  }
  await context.close();
}
await browser.close();
process.exit(failed ? 1 : 0);
