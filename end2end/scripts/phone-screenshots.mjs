// Screenshots of every student page on a phone (360×740, Debian Chromium), at the normal text
// size and at large text (the root font size at 150 %, as a phone's text-size setting does),
// run on demand against a running server (not part of the test command):
//   BASE_URL=http://127.0.0.1:3000 node end2end/scripts/phone-screenshots.mjs OUT_DIR
// For each page and size it saves a PNG and checks that nothing is wider than the screen, and
// on the dashboard and the code page that the balance and the code are in view without
// scrolling. It prints one line per page and exits 1 if a check failed.
import { chromium } from "@playwright/test";
import { mkdirSync } from "node:fs";

const base = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const out = process.argv[2] ?? "screenshots";
mkdirSync(out, { recursive: true });
// A demo student whose password is already changed (README: demo logins).
const student = { login: process.env.STUDENT ?? "2023020215", password: process.env.PASSWORD ?? "260817" };
const pages = [
  ["dashboard", "/portal", '[data-testid="balance-amount"]'],
  ["code", "/portal/code", '[data-testid="pay-code"] .qr'],
  ["topup", "/portal/topup", null],
  ["history", "/portal/history", null],
  ["access", "/portal/access", null],
  ["lost", "/portal/lost", null],
  ["password", "/portal/password", null],
  ["limits", "/portal/limits", null],
  ["profile", "/portal/profile", null],
  ["app", "/app", null],
];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
let failed = false;
for (const [size, percent] of [["normal", 100], ["large", 150]]) {
  const context = await browser.newContext({
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: "zh-CN",
    baseURL: base,
  });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("学号或校园卡号").fill(student.login);
  await page.getByLabel("查询密码").fill(student.password);
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(/\/portal$/);
  for (const [name, path, mustSee] of pages) {
    await page.goto(path);
    await page.locator('body[data-hydrated="true"]').waitFor({ timeout: 20_000 });
    // Through the CSSOM (the page's Content-Security-Policy allows no inline style sheet).
    await page.evaluate((p) => document.documentElement.style.setProperty("font-size", `${p}%`, "important"), percent);
    await page.waitForTimeout(300);
    const file = `${out}/${name}-${size}.png`;
    await page.screenshot({ path: file, fullPage: true });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const problems = [];
    if (wide > 0) problems.push(`${wide}px wider than the screen`);
    // The balance is one line, never broken inside the number.
    const amount = page.locator('[data-testid="balance-amount"]');
    if (await amount.count()) {
      const lines = await amount.first().evaluate((e) => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight));
      if (lines > 1.5) problems.push(`the balance takes ${lines.toFixed(1)} lines`);
    }
    if (mustSee) {
      const box = await page.locator(mustSee).first().boundingBox();
      if (!box || box.y + Math.min(box.height, 80) > 740) problems.push(`${mustSee} not in view (y=${box?.y})`);
    }
    failed ||= problems.length > 0;
    console.log(`${problems.length ? "FAIL" : "ok  "} ${name} (${size} text): ${file}${problems.length ? " — " + problems.join("; ") : ""}`);
  }
  await context.close();
}
await browser.close();
process.exit(failed ? 1 : 0);
