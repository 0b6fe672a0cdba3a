import { chromium } from "@playwright/test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, expect } from "./fixtures/test";
import { Portal } from "./fixtures/portal";
import { StudentPortal, students } from "./fixtures/student";

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(bytes: Buffer): string {
  expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
  return `${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`;
}

test("the manifest is valid and its icons load at the sizes it states", async ({ page }) => {
  const response = await page.request.get("/manifest.webmanifest");
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toContain("manifest+json");
  const manifest = await response.json();
  expect(manifest).toMatchObject({
    short_name: "一卡通",
    start_url: "/portal/code",
    scope: "/",
    display: "standalone",
    theme_color: "#0b5cad",
  });
  expect(manifest.name.length).toBeGreaterThan(0);
  const sizes = new Set<string>();
  for (const icon of manifest.icons) {
    const file = await page.request.get(icon.src);
    expect(file.status(), icon.src).toBe(200);
    expect(file.headers()["content-type"]).toBe(icon.type);
    expect(pngSize(await file.body()), icon.src).toBe(icon.sizes);
    sizes.add(`${icon.sizes} ${icon.purpose}`);
  }
  // What Chromium and Android ask for: 192 and 512, and a maskable one for adaptive icons.
  expect([...sizes].sort()).toEqual(["192x192 any", "512x512 any", "512x512 maskable"]);

  const portal = new Portal(page);
  await portal.open("/");
  await expect(page.locator('link[rel="manifest"]')).toHaveAttribute("href", "/manifest.webmanifest");
  await expect(page.locator('meta[name="theme-color"]')).toHaveAttribute("content", "#0b5cad");
  const touchIcon = await page.locator('link[rel="apple-touch-icon"]').getAttribute("href");
  expect(pngSize(await (await page.request.get(touchIcon!)).body())).toBe("180x180");
});

test("the service worker registers, and without a network a page shows the offline page", async ({ page, context }) => {
  const portal = new Portal(page);
  await portal.open("/");
  const script = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);
  expect(script).toMatch(/\/sw\.js$/);
  // It keeps no page as anyone saw it: without a network a page request gets the offline page
  // (the code page gets its shell, rendered for nobody; see the till journeys).
  await context.setOffline(true);
  await page.goto("/portal/history");
  await expect(page.getByTestId("offline-page")).toBeVisible();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("没有网络连接");
  await context.setOffline(false);
  await portal.open("/");
});

test("Chromium finds the app installable from the code page", async ({ browserName }, info) => {
  expect(browserName).toBe("chromium");
  // Installability is judged for a normal profile: Playwright's own contexts are off the
  // record, which Chromium never offers to install from.
  const dir = mkdtempSync(join(tmpdir(), "ykt-install-"));
  const context = await chromium.launchPersistentContext(dir, {
    ...info.project.use,
    executablePath: info.project.use.launchOptions?.executablePath,
    args: info.project.use.launchOptions?.args,
    baseURL: info.project.use.baseURL,
  });
  try {
    const page = await context.newPage();
    const student = new StudentPortal(page);
    await student.signIn(students(info).regular);
    await student.go("深职通码");
    await expect(student.testId("payCode")).toBeVisible();
    await page.evaluate(async () => navigator.serviceWorker.ready);
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    expect(installabilityErrors).toEqual([]);
    const { url, errors } = await cdp.send("Page.getAppManifest");
    expect(url).toMatch(/\/manifest\.webmanifest$/);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
