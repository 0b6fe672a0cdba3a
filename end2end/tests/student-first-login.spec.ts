import { test, expect } from "./fixtures/test";
import { StudentPortal, students } from "./fixtures/student";

test("first login forces the initial password to be changed", async ({ page }, info) => {
  const { initial } = students(info);
  const portal = new StudentPortal(page);
  await portal.login(initial.login, initial.password);
  await expect(page).toHaveURL(/\/portal\/password$/);
  await expect(portal.testId("mustChange")).toBeVisible();
  await portal.expectNoHorizontalScroll();
  await portal.expectAccessible();
  // Nothing else opens until the password is changed.
  await portal.open("/portal/history");
  await expect(page).toHaveURL(/\/portal\/password$/);

  const form = portal.testId("passwordForm");
  await form.getByLabel("当前查询密码").fill(initial.password);
  await form.getByLabel("新查询密码").fill("123456");
  await form.getByLabel("再输入一次新密码").fill("123456");
  await form.getByRole("button", { name: "修改密码" }).click();
  await expect(portal.testId("formError")).toContainText("太简单");

  await form.getByLabel("新查询密码").fill(initial.password);
  await form.getByLabel("再输入一次新密码").fill(initial.password);
  await form.getByRole("button", { name: "修改密码" }).click();
  await expect(portal.testId("formError")).toContainText("初始密码");

  await form.getByLabel("新查询密码").fill("739146");
  await form.getByLabel("再输入一次新密码").fill("739146");
  await form.getByRole("button", { name: "修改密码" }).click();
  await expect(portal.testId("noticeChanged")).toBeVisible();
  await expect(portal.testId("balanceAmount")).toContainText("¥");
  await expect(portal.testId("noticeConsumptionPw")).toBeVisible();
  await portal.expectAccessible();
});

test("five wrong passwords lock the account; the answer explains the lock without revealing it", async ({ page }, info) => {
  const portal = new StudentPortal(page);
  const card = students(info).lockout;
  for (let i = 0; i < 5; i++) {
    await portal.login(card, "000001");
    await expect(portal.testId("formError")).toContainText("学号/卡号或密码不正确");
    await expect(portal.testId("formError")).toContainText("连续输错 5 次后账户锁定 30 分钟");
  }
  // Locked: a sixth try gets the same words, so a stranger cannot tell a locked account from
  // a wrong guess (the integration tests show that the right password is refused too).
  await portal.login(card, "000002");
  await expect(portal.testId("formError")).toContainText("学号/卡号或密码不正确");
  await expect(page).toHaveURL(/\/login/);
  await portal.expectAccessible();
});

test("the login form works without JavaScript", async ({ browser }, info) => {
  const context = await browser.newContext({ javaScriptEnabled: false, locale: "zh-CN" });
  const page = await context.newPage();
  const { regular } = students(info);
  await page.goto("/login");
  await page.getByLabel("学号或校园卡号").fill(regular.login);
  await page.getByLabel("查询密码").fill("000002");
  await page.getByRole("button", { name: "登录" }).click();
  await expect(page.getByTestId("form-error")).toContainText("学号/卡号或密码不正确");
  // Back on a clean address, with the number still typed in.
  expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe("/login");
  await expect(page.getByLabel("学号或校园卡号")).toHaveValue(regular.login);
  // Said once: a reload shows a fresh form.
  await page.reload();
  await expect(page.getByTestId("form-error")).toHaveCount(0);
  await page.getByLabel("学号或校园卡号").fill(regular.login);
  await page.getByLabel("查询密码").fill(regular.password);
  await page.getByRole("button", { name: "登录" }).click();
  await expect(page).toHaveURL(/\/portal$/);
  await expect(page.getByTestId("balance-amount")).toContainText("¥");
  await context.close();
});

test("portal pages without a session go to the login page", async ({ page }) => {
  const response = await page.goto("/portal/history");
  expect(response?.status()).toBe(200);
  await expect(page).toHaveURL(/\/login$/);
});
