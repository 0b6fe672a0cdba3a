import { test, expect } from "./fixtures/test";
import { StudentPortal } from "./fixtures/student";
import { tillSetup } from "./fixtures/devices";

// A page opened directly (a bookmark, a reload, a redirect from the pay page) must hydrate
// without errors: a hydration mismatch kills the page's script and every button after it.
test("every portal page hydrates when opened directly", async ({ page }, info) => {
  test.setTimeout(90_000);
  const { student } = tillSetup(info);
  const portal = new StudentPortal(page);
  await portal.signIn(student);
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${page.url()}: ${m.text().slice(0, 300)}`);
  });
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  for (const path of [
    "/portal",
    "/portal/code",
    "/portal/topup",
    "/portal/topup?order=W0",
    "/portal/history?kind=payment",
    "/portal/access",
    "/portal/bills",
    "/portal/utilities",
    "/portal/notices",
    "/portal/lost",
    "/portal/password",
    "/portal/limits",
    "/portal/profile",
  ]) {
    await portal.open(path);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    // Leaving by a link must work: the page's script is alive.
    await portal.go("概览");
    await expect(portal.testId("balanceAmount")).toBeVisible();
  }
  expect(errors).toEqual([]);
});
