import { test, expect } from "./fixtures/test";
import { readFile } from "node:fs/promises";
import { StudentPortal, students } from "./fixtures/student";

// One student per viewport, one journey after another: these tests change the card's state.
test.describe.configure({ mode: "serial" });

test("dashboard: balance first, card, today's spending, last five transactions", async ({ page }, info) => {
  const { regular } = students(info);
  const portal = new StudentPortal(page);
  await portal.signIn(regular);
  await expect(page).toHaveURL(/\/portal$/);
  await expect(portal.testId("balanceAmount")).toHaveText(/^¥\d+\.\d{2}$/);
  await expect(portal.testId("cardState")).toContainText("正常");
  await expect(portal.testId("today")).toContainText("每日限额 ¥200.00");
  await expect(portal.testId("entries").locator("li")).toHaveCount(5);
  await portal.expectNoHorizontalScroll();
  await portal.expectAccessible();
  // The pay code and top-up sit next to the balance, visible without scrolling.
  await expect(portal.testId("quickCode")).toBeInViewport();
  await expect(portal.testId("quickTopup")).toBeInViewport();
  // The portal's navigation takes one row, on the phone too.
  const rows = await page
    .getByRole("navigation", { name: "校园卡功能" })
    .getByRole("link")
    .evaluateAll((links) => new Set(links.map((a) => Math.round(a.getBoundingClientRect().top))).size);
  expect(rows).toBe(1);
  // Dark mode follows the system setting, and the page stays readable.
  await page.emulateMedia({ colorScheme: "dark" });
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(background).toBe("rgb(18, 22, 28)");
  await portal.expectAccessible();
  await portal.testId("quickCode").click();
  await expect(page).toHaveURL(/\/portal\/code$/);
  await expect(portal.testId("payCode").locator("svg")).toBeVisible();
  await portal.expectAccessible();
  await page.emulateMedia({ colorScheme: "light" });
});

test("history: filter by type and place, total, CSV of the same rows, older pages", async ({ page }, info) => {
  const { regular } = students(info);
  const portal = new StudentPortal(page);
  await portal.signIn(regular);
  await portal.go("消费记录");
  await expect(portal.testId("entries").locator("li")).toHaveCount(20);
  await expect(portal.testId("monthlyChart")).toBeVisible();
  const filters = portal.testId("historyFilters");
  await filters.getByLabel("类型").selectOption("payment");
  await filters.getByLabel("场所").selectOption("canteen");
  await filters.getByRole("button", { name: "筛选" }).click();
  await expect(page).toHaveURL(/kind=payment/);
  await expect(page).toHaveURL(/category=canteen/);
  const entries = portal.testId("entries").locator("li");
  await expect(entries.first()).toContainText("消费");
  await expect(entries.first()).toContainText("食堂");
  const totalText = await portal.testId("historyTotal").innerText();
  // Spending and top-ups are totalled apart: with only payments shown, nothing came in.
  const match = totalText.match(/共 (\d+) 笔 · 支出 ¥([\d.]+) · 收入 ¥0\.00/);
  expect(match, totalText).not.toBeNull();
  const [count, total] = [Number(match![1]), Number(match![2])];

  const download = page.waitForEvent("download");
  await portal.testId("csvLink").click();
  const csv = await readFile(await (await download).path(), "utf8");
  const rows = csv.trim().split("\n").slice(1);
  expect(rows.length).toBe(count);
  expect(rows.every((r) => r.includes(",payment,") && r.includes("食堂"))).toBe(true);
  const sum = rows.reduce((acc, r) => acc + Number(r.split(",")[3]), 0);
  expect(Math.abs(-sum - total)).toBeLessThan(0.005);

  const firstPage = await entries.first().innerText();
  await portal.testId("older").click();
  await expect(page).toHaveURL(/before=/);
  await expect(entries.first()).not.toHaveText(firstPage);
  await portal.expectNoHorizontalScroll();
  await portal.expectAccessible();
});

test("report the card lost, then lift the report", async ({ page }, info) => {
  const { regular } = students(info);
  const portal = new StudentPortal(page);
  await portal.signIn(regular);
  await portal.go("挂失");
  await expect(portal.testId("cardStatus")).toHaveText("正常");
  await portal.expectAccessible();
  const form = portal.testId("lostForm");
  await form.getByLabel("查询密码").fill(regular.password);
  await form.getByRole("button", { name: "确认挂失" }).click();
  await expect(portal.testId("lostDone")).toContainText("已挂失");
  await expect(portal.testId("cardStatus")).toHaveText("已挂失");
  await portal.go("概览");
  await expect(portal.testId("noticeLost")).toBeVisible();
  await portal.go("挂失");
  await portal.testId("lostForm").getByLabel("查询密码").fill(regular.password);
  await portal.testId("lostForm").getByRole("button", { name: "解除挂失" }).click();
  await expect(portal.testId("lostDone")).toContainText("正常");
  await expect(portal.testId("cardStatus")).toHaveText("正常");
});

test("lower the spending limits; above the maximum is refused", async ({ page }, info) => {
  const { regular } = students(info);
  const portal = new StudentPortal(page);
  await portal.signIn(regular);
  await portal.go("消费限额");
  const form = portal.testId("limitsForm");
  await form.getByLabel(/单笔限额/).fill("600");
  await form.getByRole("button", { name: "保存" }).click();
  await expect(portal.testId("formError")).toContainText("不能超过上限 ¥500.00");
  await form.getByLabel(/单笔限额/).fill("30");
  await form.getByLabel(/每日累计限额/).fill("150");
  await form.getByRole("button", { name: "保存" }).click();
  await expect(portal.testId("limitsSaved")).toContainText("单笔 ¥30.00，每日累计 ¥150.00");
  await portal.expectAccessible();
  await portal.go("概览");
  await expect(portal.testId("today")).toContainText("每日限额 ¥150.00");
});

test("the 深职通码 shows a QR code, its digits and a countdown, and changes when it expires", async ({ page }, info) => {
  test.setTimeout(120_000);
  const { regular } = students(info);
  const portal = new StudentPortal(page);
  await portal.signIn(regular);
  await portal.go("深职通码");
  await expect(portal.testId("payCode").locator("svg")).toBeVisible();
  const digits = portal.testId("payCodeDigits");
  await expect(digits).toHaveAttribute("data-digits", /^8\d{19}$/);
  const first = await digits.getAttribute("data-digits");
  await expect(portal.testId("payCodeCountdown")).toContainText(/\d+ 秒内有效/);
  // The cashier can check the person: the name and the last four of the student number.
  await expect(portal.testId("payCodeHolder")).toHaveText(`${regular.name} · 学号尾号 ${regular.login.slice(-4)}`);
  // Full screen: the code as large as the screen allows, over everything; closed with a tap.
  await portal.testId("payCodeFull").click();
  const box = (await portal.testId("payCode").boundingBox())!;
  const viewport = page.viewportSize()!;
  expect(box.width).toBe(viewport.width);
  expect(box.height).toBe(viewport.height);
  const qr = (await portal.testId("payCode").locator(".qr").boundingBox())!;
  expect(qr.width).toBeGreaterThan(Math.min(viewport.width, viewport.height) * 0.55);
  await expect(portal.testId("payCodeCountdown")).toBeInViewport();
  await portal.expectAccessible();
  await portal.testId("payCodeClose").click();
  await expect(portal.testId("payCodeClose")).toBeHidden();
  await portal.expectNoHorizontalScroll();
  await portal.expectAccessible();
  // The countdown runs down; it does not jump back while the code stays the same.
  const seconds = async () => Number((await portal.testId("payCodeCountdown").innerText()).match(/\d+/)![0]);
  const before = await seconds();
  await page.waitForTimeout(3_500);
  expect(await seconds()).toBeLessThan(before);
  expect(await digits.getAttribute("data-digits")).toBe(first);
  // A code lives about a minute; the page must have moved on to a new one by then.
  await expect(digits).not.toHaveAttribute("data-digits", first!, { timeout: 75_000 });
  const second = await digits.getAttribute("data-digits");
  // Without a network the code on screen stays (it still pays until it expires), with a note.
  await page.context().setOffline(true);
  await page.getByRole("button", { name: "换一个码" }).click();
  await expect(portal.testId("payCodeOffline")).toBeVisible();
  await expect(digits).toHaveAttribute("data-digits", second!);
  await page.context().setOffline(false);
  await expect(portal.testId("payCodeOffline")).toBeHidden({ timeout: 15_000 });
});

test("profile shows masked ID and sessions; logging out ends the session", async ({ page }, info) => {
  const { regular } = students(info);
  const portal = new StudentPortal(page);
  await portal.signIn(regular);
  await portal.go("个人信息");
  await expect(portal.testId("profileDetails")).toContainText(regular.login);
  await expect(portal.testId("idMasked")).toHaveText(/^\d{3}\*+\w{2}$/);
  await expect(portal.testId("sessions")).toContainText("本设备");
  // Sessions are named by browser and system, not by a raw user-agent string.
  await expect(portal.testId("sessions").getByTestId("session-device").first()).toHaveText(
    info.project.name === "phone" ? "Chrome · Android" : "Chrome · Windows",
  );
  await portal.expectAccessible();
  await portal.logout();
  await page.goto("/portal");
  await expect(page).toHaveURL(/\/login$/);
});

test("the loss form works without JavaScript", async ({ browser }, info) => {
  const { regular } = students(info);
  const context = await browser.newContext({ javaScriptEnabled: false, locale: "zh-CN" });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("学号或校园卡号").fill(regular.login);
  await page.getByLabel("查询密码").fill(regular.password);
  await page.getByRole("button", { name: "登录" }).click();
  await expect(page).toHaveURL(/\/portal$/);
  await page.goto("/portal/lost");
  await page.getByLabel("查询密码").fill(regular.password);
  await page.getByRole("button", { name: "确认挂失" }).click();
  await expect(page.getByTestId("card-status")).toHaveText("已挂失");
  // Without the wasm the page still confirms what happened.
  await expect(page.getByTestId("lost-done")).toContainText("现在的状态：已挂失");
  // A wrong password is refused with its reason, and no stale confirmation.
  await page.getByLabel("查询密码").fill("000003");
  await page.getByRole("button", { name: "解除挂失" }).click();
  await expect(page.getByTestId("form-error")).toContainText("查询密码不正确");
  await expect(page.getByTestId("lost-done")).toHaveCount(0);
  await page.getByLabel("查询密码").fill(regular.password);
  await page.getByRole("button", { name: "解除挂失" }).click();
  await expect(page.getByTestId("card-status")).toHaveText("正常");
  await expect(page.getByTestId("lost-done")).toContainText("现在的状态：正常");
  await context.close();
});

test("the portal speaks English after the switch", async ({ page }, info) => {
  const { regular } = students(info);
  const portal = new StudentPortal(page);
  await portal.signIn(regular);
  await portal.switchLanguage();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Balance");
  await expect(portal.testId("today")).toContainText("daily limit ¥150.00");
  await page.getByRole("navigation", { name: "Card functions" }).getByRole("link", { name: "History" }).click();
  await expect(portal.testId("historyTotal")).toContainText(/\d+ transactions · out ¥[\d.]+ · in ¥[\d.]+/);
  await portal.expectAccessible();
});
