import { test, expect } from "./fixtures/test";
import { StaffPortal, staff, type StaffUser } from "./fixtures/staff";

// The demo staff's passwords are published in the README. The first login with one opens only
// the password page; the person chooses their own there, and then has the whole role. These
// run once, before the journeys of both viewports (which log in with the chosen passwords).
for (const user of Object.keys(staff) as StaffUser[]) {
  test(`${user} must replace the published demo password at the first login`, async ({ page }) => {
    const who = staff[user];
    const office = new StaffPortal(page);
    await office.signIn(user, who.password);
    await expect(page).toHaveURL(/\/staff\/password$/);
    await expect(page.getByTestId("staff-must-change")).toBeVisible();
    await expect(page.locator("nav.staff-nav")).toHaveCount(0);
    // Reached by the login's redirect inside the page (no page load), the form is there.
    await expect(page.getByTestId("staff-password-form")).toBeVisible();
    // Another page is no way round it.
    await office.open("/staff/audit");
    await expect(page).toHaveURL(/\/staff\/password$/);

    const form = page.getByTestId("staff-password-form");
    const change = async (next: string) => {
      await form.getByLabel("当前密码").fill(who.password);
      await form.getByLabel("新密码", { exact: true }).fill(next);
      await form.getByLabel("再输入一次新密码").fill(next);
      await form.getByRole("button", { name: "保存" }).click();
    };
    // A published password is no new password.
    await change(staff.admin.password === who.password ? staff.operator.password : staff.admin.password);
    await expect(page.getByTestId("form-error")).toContainText("演示密码");
    await change(who.own);
    await expect(page.getByTestId("staff-password-done")).toBeVisible();
    await page.getByRole("link", { name: "查找持卡人" }).click();
    await expect(page).toHaveURL(/\/staff$/);
    await expect(page.getByTestId("search-form")).toBeVisible();
    await expect(page.getByTestId("staff-must-change")).toHaveCount(0);
    await expect(page.locator("nav.staff-nav")).toBeVisible();
  });
}
