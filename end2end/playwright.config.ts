import { defineConfig, devices } from "@playwright/test";

// The server is started by scripts/test.sh (the real binary, its own database) and its address
// handed over in BASE_URL. Browsers: Debian's Chromium; Playwright's own downloads are not used.
const baseURL = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const chromium = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
  ],
};

// The journeys that move the server's clock (the "late" project).
const LATE = /late-.*\.spec\.ts/;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: process.env.CI ? 1 : 0,
  reporter: [["list"], ["json", { outputFile: "test-results/results.json" }]],
  use: {
    baseURL,
    // Students' phones ask for Chinese; English is chosen with the switch (tested).
    locale: "zh-CN",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      // The demo staff replace their published passwords at the first login, through the
      // pages, before the journeys of either viewport log in with the new ones.
      name: "staff-first-login",
      testMatch: /staff-first-login\.setup\.ts/,
      // Not retried: after a half-done first login the published password is gone, and a retry
      // could only fail for that reason, hiding the first failure.
      retries: 0,
      use: { ...devices["Pixel 5"], viewport: { width: 360, height: 740 }, launchOptions: chromium },
    },
    {
      name: "desktop",
      dependencies: ["staff-first-login"],
      testIgnore: LATE,
      use: { ...devices["Desktop Chrome"], viewport: { width: 1280, height: 800 }, launchOptions: chromium },
    },
    {
      name: "phone",
      dependencies: ["staff-first-login"],
      testIgnore: LATE,
      use: {
        ...devices["Pixel 5"],
        viewport: { width: 360, height: 740 },
        launchOptions: chromium,
      },
    },
    {
      // Journeys that move the server's clock on (`POST /test/clock`): after every other one,
      // so no other journey's session or signed request sees the jump.
      name: "late",
      dependencies: ["desktop", "phone"],
      testMatch: LATE,
      use: {
        ...devices["Pixel 5"],
        viewport: { width: 360, height: 740 },
        launchOptions: chromium,
      },
    },
  ],
});
