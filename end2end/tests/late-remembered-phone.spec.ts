import { test, expect } from "./fixtures/test";
import { StudentPortal } from "./fixtures/student";
import { tillSetup } from "./fixtures/devices";

// Runs after every other journey (the "late" project): it moves the server's clock on.

test("a remembered phone still shows its code after the session's idle time, and asks for the password on the history page", async ({ page, request }, info) => {
  const { student: who } = tillSetup(info);
  const student = new StudentPortal(page);
  await student.open("/login");
  const form = student.testId("loginForm");
  await form.getByLabel("学号或校园卡号").fill(who.login);
  await form.getByLabel("查询密码").fill(who.password);
  await student.testId("rememberPhone").check();
  await form.getByRole("button", { name: "登录" }).click();
  await student.loggedInAs(who.name);
  await student.go("深职通码");
  await expect(student.testId("payCodeDigits")).toHaveAttribute("data-digits", /^\d{20}$/);

  // 31 minutes pass without a request: the session's idle limit is 30.
  const moved = await request.post("/test/clock", { data: { advance_secs: 31 * 60 } });
  expect(moved.status()).toBe(200);

  await page.reload();
  await student.hydrated();
  await expect(student.testId("payCodeDigits")).toHaveAttribute("data-digits", /^81\d{18}$/);
  await expect(student.testId("payCodeBalance")).toContainText(/余额 ¥\d+\.\d{2}/);
  await expect(page.getByTestId("phone-only-login")).toBeVisible();

  // Everything else asks for the password again.
  await page.goto("/portal/history");
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/portal");
  await expect(page).toHaveURL(/\/login$/);
});
