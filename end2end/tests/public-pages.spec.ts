import { test, expect } from "./fixtures/test";
import { Portal } from "./fixtures/portal";

const pages = [
  { path: "/", heading: "深圳职业技术学院校园卡" },
  { path: "/card", heading: "卡片说明" },
  { path: "/faq", heading: "常见问题" },
  { path: "/service", heading: "校园一卡通服务中心" },
  { path: "/care", heading: "爱护校园卡" },
  { path: "/app", heading: "把一卡通放到手机主屏幕" },
  { path: "/email/confirm?token=not-a-token", heading: "确认邮箱" },
];

for (const { path, heading } of pages) {
  test(`${path} renders, hydrates, fits the screen and passes axe`, async ({ page }) => {
    const portal = new Portal(page);
    const response = await portal.open(path);
    expect(response?.status()).toBe(200);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(heading);
    await expect(page.locator("html")).toHaveAttribute("lang", "zh");
    // The footer shows the hotlines from the campus profile on every page.
    await expect(page.locator("footer")).toContainText("0755-26731691");
    await portal.expectNoHorizontalScroll();
    await portal.expectAccessible();
  });
}

test("an e-mail confirmation link confirms only by its button; a wrong link says so", async ({ page }) => {
  const portal = new Portal(page);
  await portal.open("/email/confirm?token=not-a-token");
  await expect(page.getByTestId("email-confirm-expired")).toHaveCount(0);
  await page.getByRole("button", { name: "确认邮箱" }).click();
  await expect(page.getByTestId("email-confirm-expired")).toContainText("此链接已过期或已使用");
  await expect(page.getByRole("link", { name: "前往消息页" })).toBeVisible();
  await portal.expectAccessible();
});

test("navigation works in the hydrated app and marks the current page", async ({ page }) => {
  const portal = new Portal(page);
  await portal.open("/");
  await portal.nav().getByRole("link", { name: "常见问题" }).click();
  await expect(page).toHaveURL(/\/faq$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("常见问题");
  await expect(portal.nav().getByRole("link", { name: "常见问题" })).toHaveAttribute("aria-current", "page");
  await portal.nav().getByRole("link", { name: "服务中心" }).click();
  await expect(portal.testId("servicePoints")).toContainText("东校区行政楼负一楼");
  await expect(portal.testId("servicePoints")).toContainText("西校区第二教学楼一楼");
  await expect(page.getByText("09:00–13:00, 14:00–16:30").first()).toBeVisible();
});

test("the language switch turns the page English and the choice survives a reload", async ({ page }) => {
  const portal = new Portal(page);
  await portal.open("/card");
  await portal.switchLanguage();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("How the card works");
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(portal.testId("limitsText")).toContainText("¥50.00 per payment, ¥200.00 per day");
  await page.reload();
  await portal.hydrated();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("How the card works");
  await portal.expectNoHorizontalScroll();
  await portal.expectAccessible();
  await portal.switchLanguage();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("卡片说明");
});

test("FAQ answers open and close", async ({ page }) => {
  const portal = new Portal(page);
  await portal.open("/faq");
  const question = page.getByText("校园卡丢了怎么办？");
  const answer = page.getByText("确定找不到时请马上挂失");
  await expect(answer).toBeHidden();
  await question.click();
  await expect(answer).toBeVisible();
  await expect(portal.testId("faq")).toContainText("0755-26019355");
});

test("an unknown address shows the 404 page with status 404", async ({ page }) => {
  const portal = new Portal(page);
  const response = await portal.open("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(portal.testId("errorPage")).toContainText("找不到这个页面");
  await portal.expectNoHorizontalScroll();
  await page.getByRole("link", { name: "返回首页" }).click();
  await expect(page.getByTestId("home-hero")).toBeVisible();
});
