import { type Browser, type Page } from "@playwright/test";
import { createECDH, randomBytes } from "node:crypto";
import { test, expect } from "./fixtures/test";
import { Portal } from "./fixtures/portal";
import { StudentPortal } from "./fixtures/student";
import { deviceCall, deviceKey, tillSetup } from "./fixtures/devices";
import { staff, staffSetup, withFreshCode } from "./fixtures/staff";

// One till, gate and student per viewport; these journeys change the student's money and card.
test.describe.configure({ mode: "serial", timeout: 60_000 });

/** A cashier's (or kiosk's) browser, set up as the device's terminal with its credential. */
async function openTill(browser: Browser, code: string, path = "/terminal/pos"): Promise<{ till: Portal; page: Page }> {
  const context = await browser.newContext({ locale: "zh-CN" });
  const page = await context.newPage();
  const till = new Portal(page);
  await till.open("/terminal");
  const form = till.testId("terminalSetup");
  await form.getByLabel("设备编号").fill(code);
  await form.getByLabel("设备凭证").fill(deviceKey(code));
  await form.getByRole("button", { name: "设置此浏览器" }).click();
  await expect(page).toHaveURL(new RegExp(`${path}$`));
  await expect(till.testId("terminalBar")).toContainText(code);
  await till.hydrated();
  return { till, page };
}

async function charge(till: Portal, amount: string, scan: string) {
  await till.testId("posAmount").fill(amount);
  await till.testId("posAmount").press("Enter");
  await expect(till.testId("posScan")).toBeFocused();
  // A USB scanner types the digits and presses Enter.
  await till.testId("posScan").pressSequentially(scan);
  await till.testId("posScan").press("Enter");
}

function yuan(text: string): number {
  return Number(text.replace(/[^\d.-]/g, ""));
}

test("a till payment rings the bell; the inbox tells its amount and place; the choices save", async ({ page, request }, info) => {
  const setup = tillSetup(info);
  const student = new StudentPortal(page);
  await student.signIn(setup.student);
  await student.go("消息");
  await expect(page).toHaveURL(/\/portal\/notices$/);
  await student.hydrated();
  // Whatever an earlier run told this student: read now, and the bell is quiet.
  if (await student.testId("markRead").isVisible()) {
    await student.testId("markRead").getByRole("button").click();
    await expect(student.testId("markRead")).toHaveCount(0);
  }
  await expect(student.testId("unreadCount")).toHaveCount(0);
  // Every payment; no low-balance or top-up notice (whatever this student's balance is, and
  // whatever automatic top-up an earlier attempt of these journeys left).
  const form = student.testId("prefsForm");
  await form.getByLabel("每笔消费都提醒").check();
  await form.getByLabel("余额低于一定金额时提醒").uncheck();
  await form.getByLabel("充值到账与自动充值失败", { exact: true }).uncheck();
  await form.getByRole("button", { name: "保存" }).click();
  await expect(student.testId("prefsSaved")).toBeVisible();

  const pay = async (id: string, fen: number) => {
    const sale = (await deviceCall(request, setup.pos, "/api/device/v1/pay", {
      request_id: `${id}-${info.project.name}-${Date.now()}`,
      amount_fen: fen,
      card_serial: setup.student.card,
    })).body;
    expect(sale.approved).toBe(true);
  };
  await pay("bell", 1234);
  await student.go("概览");
  await expect(student.testId("balanceAmount")).toBeVisible();
  await expect(student.testId("unreadCount")).toHaveText("1");
  await student.go("消息");
  const newest = student.testId("noticeList").locator("li").first();
  await expect(newest).toContainText(`在${setup.merchant}消费 ¥12.34`);
  await expect(newest).toHaveAttribute("data-read", "false");
  await student.testId("markRead").getByRole("button").click();
  await expect(newest).toHaveAttribute("data-read", "true");
  // The bell follows without leaving the page.
  await expect(student.testId("unreadCount")).toHaveCount(0);

  // Only payments above ¥50: a wrong amount first, refused with the reason.
  const above = form.getByLabel("超过以下金额时提醒（元）");
  await form.getByLabel("只提醒超过一定金额的消费").check();
  await above.fill("abc");
  await form.getByRole("button", { name: "保存" }).click();
  await expect(form.getByTestId("form-error")).toContainText("请输入 ¥0.01 至 ¥2000.00 之间的金额");
  await above.fill("50");
  await form.getByRole("button", { name: "保存" }).click();
  await expect(student.testId("prefsSaved")).toBeVisible();
  await page.reload();
  await student.hydrated();
  await expect(above).toHaveValue("50.00");
  await expect(form.getByLabel("只提醒超过一定金额的消费")).toBeChecked();
  // A small sale is no longer told: the inbox, loaded afresh, still starts with the ¥12.34 sale,
  // read, and the bell is quiet.
  await pay("quiet", 150);
  await page.reload();
  await student.hydrated();
  await expect(newest).toContainText(`在${setup.merchant}消费 ¥12.34`);
  await expect(newest).toHaveAttribute("data-read", "true");
  await expect(student.testId("bell")).toBeVisible();
  await expect(student.testId("unreadCount")).toHaveCount(0);
  // Back to every payment.
  await form.getByLabel("每笔消费都提醒").check();
  await form.getByRole("button", { name: "保存" }).click();
  await expect(student.testId("prefsSaved")).toBeVisible();
});

test("push: the student turns it on for this browser, chooses what is pushed, and stops it", async ({ page }, info) => {
  const setup = tillSetup(info);
  // Headless Chromium has no push service to subscribe at: the browser's PushManager answers
  // with a subscription as Chrome's would (an FCM URL and a real P-256 key), so the page, the
  // server function and the server's checks are the real ones.
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const subscription = {
    endpoint: `https://fcm.googleapis.com/fcm/send/playwright-${info.project.name}-${Date.now()}`,
    p256dh: ecdh.getPublicKey().toString("base64url"),
    auth: randomBytes(16).toString("base64url"),
  };
  await page.addInitScript((s) => {
    const fake = {
      endpoint: s.endpoint,
      options: {},
      toJSON: () => ({ endpoint: s.endpoint, expirationTime: null, keys: { p256dh: s.p256dh, auth: s.auth } }),
      unsubscribe: async () => true,
    };
    const subscribed = () => sessionStorage.getItem("fake-push") === "1";
    if ("PushManager" in window) {
      // As Chrome does, only a visible subscription with the server's key (base64url, an
      // uncompressed P-256 point) is made.
      PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
        const key = options?.applicationServerKey;
        const bytes = typeof key === "string" ? atob(key.replace(/-/g, "+").replace(/_/g, "/")) : "";
        if (options?.userVisibleOnly !== true || bytes.length !== 65 || bytes.charCodeAt(0) !== 4) {
          throw new DOMException("not the subscription the page should ask for", "InvalidAccessError");
        }
        sessionStorage.setItem("fake-push", "1");
        return fake as unknown as PushSubscription;
      };
      PushManager.prototype.getSubscription = async function () {
        return subscribed() ? (fake as unknown as PushSubscription) : null;
      };
    }
    if ("Notification" in window) Notification.requestPermission = async () => "granted";
  }, subscription);
  const student = new StudentPortal(page);
  await student.signIn(setup.student);
  await student.go("消息");
  await student.hydrated();
  const panel = student.testId("pushPanel");
  await expect(panel.getByRole("heading", { name: "推送通知" })).toBeVisible();
  // A browser an earlier attempt of this test left subscribed is stopped first.
  const listed = student.testId("pushBrowsers").locator("li");
  while ((await listed.count()) > 0) {
    const before = await listed.count();
    await listed.first().getByRole("button", { name: /停止推送/ }).click();
    await expect(listed).toHaveCount(before - 1);
  }
  // The service worker is installed (it holds the push manager).
  await expect
    .poll(() => page.evaluate(async () => !!(await navigator.serviceWorker.ready)), { timeout: 20_000 })
    .toBe(true);
  await student.testId("pushOn").click();
  await expect(student.testId("pushDone")).toHaveText("已在此浏览器开启推送。");
  await expect(listed).toHaveCount(1);
  await expect(listed.first().getByTestId("push-this")).toContainText("此浏览器会收到你的提醒");
  // Listed here already: nothing more to turn on.
  await expect(student.testId("pushOn")).toHaveCount(0);

  // What is pushed is chosen event by event: payments not pushed, kept after a reload.
  const form = student.testId("prefsForm");
  const pushPayments = student.testId("prefsPush").getByLabel("推送消费提醒");
  await pushPayments.uncheck();
  await form.getByRole("button", { name: "保存" }).click();
  await expect(student.testId("prefsSaved")).toBeVisible();
  await page.reload();
  await student.hydrated();
  await expect(pushPayments).not.toBeChecked();
  await expect(student.testId("prefsPush").getByLabel("推送余额不足")).toBeChecked();
  await expect(student.testId("prefsPush").getByLabel("推送充值到账与自动充值失败")).toBeVisible();
  await expect(listed.first().getByTestId("push-this")).toBeVisible();
  await pushPayments.check();
  await form.getByRole("button", { name: "保存" }).click();
  await expect(student.testId("prefsSaved")).toBeVisible();

  // Stopped: the browser is no longer listed, and push can be turned on again.
  await listed.first().getByRole("button", { name: /停止推送/ }).click();
  await expect(student.testId("pushBrowsers")).toHaveCount(0);
  await expect(student.testId("pushDone")).toHaveCount(0);
  await expect(student.testId("pushOn")).toBeVisible();
  await page.reload();
  await student.hydrated();
  await expect(student.testId("pushBrowsers")).toHaveCount(0);
});

test("a cashier charges the student's 深职通码; the same digits again are refused as used", async ({ page, browser }, info) => {
  const setup = tillSetup(info);
  const student = new StudentPortal(page);
  await student.signIn(setup.student);
  const before = yuan(await student.testId("balanceAmount").innerText());
  await student.go("深职通码");
  const digits = await student.testId("payCodeDigits").getAttribute("data-digits");
  expect(digits).toMatch(/^\d{20}$/);

  const { till } = await openTill(browser, setup.pos);
  // The demo history may already have sales at this till today.
  const today = async () => {
    const m = (await till.testId("terminalToday").innerText()).match(/消费 (\d+) 笔，¥([\d.]+)/);
    expect(m).not.toBeNull();
    return { count: Number(m![1]), total: Number(m![2]) };
  };
  const takings = await today();
  await charge(till, "8.50", digits!);
  await expect(till.testId("posResult")).toHaveAttribute("data-approved", "true");
  await expect(till.testId("posResult")).toContainText("收款成功 ¥8.50");
  await expect(till.testId("posLastSale")).toContainText("¥8.50");
  await expect(till.testId("terminalToday")).toContainText(
    `消费 ${takings.count + 1} 笔，¥${(takings.total + 8.5).toFixed(2)}`,
  );
  // The student's phone, still on the code page, shows the result at once, then a new code.
  await expect(student.testId("payResult")).toHaveAttribute("data-approved", "true", { timeout: 2_000 });
  await expect(student.testId("payResult")).toContainText("已付款 ¥8.50");
  await expect(student.testId("payResult")).toContainText(setup.place);
  await expect(student.testId("payResultBalance")).toHaveText(`余额 ¥${(before - 8.5).toFixed(2)}`);
  await expect(student.testId("payCodeDigits")).not.toHaveAttribute("data-digits", digits!);
  await student.expectAccessible();
  await till.expectNoHorizontalScroll();
  await till.expectAccessible();

  await charge(till, "8.50", digits!);
  await expect(till.testId("posResult")).toHaveAttribute("data-approved", "false");
  await expect(till.testId("posResult")).toContainText("二维码已使用");

  await student.go("概览");
  await expect(student.testId("balanceAmount")).toHaveText(`¥${(before - 8.5).toFixed(2)}`);
  await expect(student.testId("entries").locator("li").first()).toContainText(setup.merchant);
  await expect(student.testId("entries").locator("li").first()).toContainText("-¥8.50");
});

test("over the single limit the till asks for the consumption password; the sale can be refunded", async ({ page, browser }, info) => {
  const setup = tillSetup(info);
  const { till } = await openTill(browser, setup.pos);
  await charge(till, "66", setup.student.card);
  await expect(till.testId("posPassword")).toBeVisible();
  await expect(till.testId("posPassword")).toBeFocused();
  await expect(till.testId("posResult")).toContainText("超过限额，请输入消费密码");
  await expect(till.testId("posAmount")).not.toBeEditable();
  await till.testId("posPassword").fill("000000");
  await till.testId("posPassword").press("Enter");
  await expect(till.testId("posResult")).toContainText("消费密码错误");
  await till.testId("posPassword").fill(setup.student.consumption);
  await till.testId("posCharge").click();
  await expect(till.testId("posResult")).toContainText("收款成功 ¥66.00");
  await expect(till.testId("posPassword")).toBeHidden();

  const student = new StudentPortal(page);
  await student.signIn(setup.student);
  const afterSale = yuan(await student.testId("balanceAmount").innerText());

  await till.testId("posRefund").click();
  await expect(till.testId("posResult")).toContainText("已退款 ¥66.00");
  await expect(till.testId("posLastSale")).toContainText("已退款");
  await page.reload();
  await expect(student.testId("balanceAmount")).toHaveText(`¥${(afterSale + 66).toFixed(2)}`);
  await expect(student.testId("entries").locator("li").first()).toContainText("退款");
});

test("a card reported lost is refused at the till and at the gate; the student sees the gate record", async ({ page, browser, request }, info) => {
  const setup = tillSetup(info);
  const student = new StudentPortal(page);
  await student.signIn(setup.student);
  await student.go("挂失");
  await student.testId("lostForm").getByLabel("查询密码").fill(setup.student.password);
  await student.testId("lostForm").getByRole("button", { name: "确认挂失" }).click();
  await expect(student.testId("cardStatus")).toHaveText("已挂失");

  const { till } = await openTill(browser, setup.pos);
  await charge(till, "5", setup.student.card);
  await expect(till.testId("posResult")).toHaveAttribute("data-approved", "false");
  await expect(till.testId("posResult")).toContainText("此卡已挂失");

  const refused = await deviceCall(request, setup.gate, "/api/device/v1/access", { card_serial: setup.student.card });
  expect(refused.status).toBe(200);
  expect(refused.body).toMatchObject({ allowed: false, reason: "card_lost" });

  await student.testId("lostForm").getByLabel("查询密码").fill(setup.student.password);
  await student.testId("lostForm").getByRole("button", { name: "解除挂失" }).click();
  await expect(student.testId("cardStatus")).toHaveText("正常");
  const allowed = await deviceCall(request, setup.gate, "/api/device/v1/access", { card_serial: setup.student.card });
  expect(allowed.body).toMatchObject({ allowed: true });

  await student.go("门禁考勤");
  const rows = student.testId("accessRow");
  await expect(rows.first()).toHaveAttribute("data-allowed", "true");
  await expect(rows.nth(1)).toHaveAttribute("data-allowed", "false");
  await expect(rows.nth(1)).toContainText("此卡已挂失");
  await student.expectNoHorizontalScroll();
  await student.expectAccessible();
});

test("top up with WeChat Pay through the sandbox: the money is usable at once", async ({ page }, info) => {
  const setup = tillSetup(info);
  const student = new StudentPortal(page);
  await student.signIn(setup.student);
  await student.go("充值");
  const before = yuan(await student.testId("topupBalance").innerText());
  await student.expectAccessible();
  const form = student.testId("topupForm");
  // A tap on a common amount fills it in.
  await student.testId("topupPresets").getByRole("button", { name: "¥50.00" }).click();
  await expect(form.getByLabel(/金额/)).toHaveValue("50");
  // The payment channels are radio buttons on one line each, not stretched.
  for (const name of ["微信支付", "银行卡"]) {
    expect((await form.getByText(name, { exact: true }).boundingBox())!.height).toBeLessThan(50);
  }
  await form.getByLabel(/金额/).fill("2000");
  await form.getByRole("button", { name: "去支付" }).click();
  await expect(student.testId("formError")).toContainText("¥1.00 至 ¥1000.00");
  await form.getByLabel(/金额/).fill("25");
  await form.getByLabel("微信支付").check();
  await form.getByRole("button", { name: "去支付" }).click();
  await expect(page).toHaveURL(/\/sandbox\/pay\/W/);
  await expect(page.getByTestId("sandbox-amount")).toHaveText("¥25.00");
  await page.getByTestId("sandbox-pay").click();
  await expect(page).toHaveURL(/\/portal\/topup\?order=W/);
  await expect(student.testId("topupStatus")).toHaveAttribute("data-status", "paid");
  await expect(student.testId("topupStatus")).toContainText("¥25.00 已到账");
  await expect(student.testId("topupBalance")).toContainText(`¥${(before + 25).toFixed(2)}`);
  await expect(student.testId("topupOrders").locator("li").first()).toContainText("已到账");
});

test("automatic top-up from a card the bank declines: the student is told, with the card office's number", async ({ page, browser }, info) => {
  const setup = tillSetup(info);
  const student = new StudentPortal(page);
  await student.signIn(setup.student);
  await student.go("充值");
  const auto = student.testId("autoForm");
  await auto.getByLabel("余额低于（元）").fill("500");
  await auto.getByLabel("每次充值（元）").fill("50");
  await auto.getByLabel("银行卡号").fill("6222 0212 3005 0002");
  await auto.getByLabel("查询密码").fill(setup.student.password);
  await auto.getByRole("button", { name: "保存自动充值" }).click();
  await expect(student.testId("autoState")).toContainText("余额低于 ¥500.00 时，从 6222 **** **** 0002 充值 ¥50.00");

  const { till } = await openTill(browser, setup.pos);
  await charge(till, "3", setup.student.card);
  await expect(till.testId("posResult")).toContainText("收款成功 ¥3.00");

  await student.go("概览");
  const notice = student.testId("noticeAutoFailed");
  await expect(async () => {
    await page.reload();
    await student.hydrated();
    await expect(notice).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 20_000 });
  await expect(notice).toContainText("自动充值 ¥50.00 未成功");
  await expect(notice).toContainText("insufficient funds");
  await expect(notice).toContainText("0755-26019355");

  await student.go("充值");
  const off = page.getByRole("button", { name: "关闭并解绑银行卡" });
  await page.getByLabel("查询密码").last().fill(setup.student.password);
  await off.click();
  await expect(student.testId("autoState")).toHaveText("自动充值未开启。");
});

test("the kiosk shows the balance with the card and the query password, and takes a loss report", async ({ page, browser }, info) => {
  const setup = tillSetup(info);
  const { till: kiosk } = await openTill(browser, setup.kiosk, "/terminal/kiosk");
  await kiosk.expectAccessible();
  await kiosk.expectNoHorizontalScroll();
  const balance = kiosk.testId("kioskBalance");
  await balance.getByLabel("校园卡（请放在读卡器上）").fill(setup.student.card);
  await balance.getByLabel("查询密码").fill("000000");
  await balance.getByRole("button", { name: "查询" }).click();
  await expect(kiosk.page.getByTestId("kiosk-balance-result")).toContainText("查询密码错误");
  await balance.getByLabel("查询密码").fill(setup.student.password);
  await balance.getByRole("button", { name: "查询" }).click();
  await expect(kiosk.page.getByTestId("kiosk-balance-result")).toContainText(/余额 ¥\d+\.\d{2}/);

  const pw = kiosk.testId("kioskPassword");
  await pw.getByLabel("校园卡（请放在读卡器上）").fill(setup.student.card);
  await pw.getByLabel("原消费密码").fill(setup.student.consumption);
  await pw.getByLabel("新消费密码").fill("123456");
  await pw.getByLabel("再次输入新密码").fill("123456");
  await pw.getByRole("button", { name: "修改密码" }).click();
  await expect(kiosk.page.getByTestId("kiosk-password-result")).toContainText("新密码须为6位数字");

  const loss = kiosk.testId("kioskLoss");
  await loss.getByLabel("学号或卡号").fill(setup.student.login);
  await loss.getByLabel("查询密码").fill(setup.student.password);
  await loss.getByRole("button", { name: "挂失" }).click();
  await expect(kiosk.page.getByTestId("kiosk-loss-result")).toContainText("已挂失");

  // The student sees it and lifts the report in the portal.
  const student = new StudentPortal(page);
  await student.signIn(setup.student);
  await expect(student.testId("noticeLost")).toBeVisible();
  await student.go("挂失");
  await student.testId("lostForm").getByLabel("查询密码").fill(setup.student.password);
  await student.testId("lostForm").getByRole("button", { name: "解除挂失" }).click();
  await expect(student.testId("cardStatus")).toHaveText("正常");
});

test("a remembered phone shows a code offline that a till accepts; removing the phone declines its next code", async ({ page, request }, info) => {
  const setup = tillSetup(info);
  const student = new StudentPortal(page);
  await student.open("/login");
  const form = student.testId("loginForm");
  await form.getByLabel("学号或校园卡号").fill(setup.student.login);
  await form.getByLabel("查询密码").fill(setup.student.password);
  await student.testId("rememberPhone").check();
  await form.getByRole("button", { name: "登录" }).click();
  await student.loggedInAs(setup.student.name);

  // Online, the code page fetches the phone's own key into the browser's storage, and the
  // service worker keeps the code page's shell.
  await student.go("深职通码");
  await expect(student.testId("payCodeBalance")).toContainText(/余额 ¥\d+\.\d{2}/);
  await page.waitForFunction(() => window.localStorage.getItem("ykt.phone") !== null);
  await expect
    .poll(() => page.evaluate(async () => !!(await navigator.serviceWorker.ready) && !!(await caches.match("/portal/code"))), { timeout: 20_000 })
    .toBe(true);
  const stored = JSON.parse((await page.evaluate(() => window.localStorage.getItem("ykt.phone")))!);
  expect(stored.key.key_id).toBeLessThan(10_000_000);
  // Only the key, the name and the student-number tail are kept; the shell holds nothing personal.
  const shell = await page.evaluate(async () => (await (await caches.match("/portal/code"))!.text()));
  expect(shell).not.toContain(setup.student.name);
  expect(shell).not.toContain(setup.student.login);

  const payWith = async (id: string, digits: string) =>
    (await deviceCall(request, setup.pos, "/api/device/v1/pay", { request_id: `${id}-${info.project.name}-${Date.now()}`, amount_fen: 650, code: digits })).body;

  // Offline: the code page opens from the cache, and the phone makes its code itself.
  await page.context().setOffline(true);
  await page.goto("/portal/code");
  await expect(student.testId("payCodeOffline")).toHaveAttribute("data-made-here", "true");
  await expect(student.testId("payCodeHolder")).toContainText(setup.student.login.slice(-4));
  const digits = await student.testId("payCodeDigits").getAttribute("data-digits");
  expect(digits).toMatch(/^83\d{18}$/);
  const paid = await payWith("offline", digits!);
  expect(paid.approved, JSON.stringify(paid)).toBe(true);
  expect(await payWith("offline-again", digits!)).toMatchObject({ approved: false, reason: "code_used" });

  // Online again: the profile lists this phone; removing it stops the codes it makes.
  await page.context().setOffline(false);
  await student.open("/portal/profile");
  await student.hydrated();
  const phone = student.testId("phone").filter({ hasText: "本机" });
  await expect(phone).toHaveCount(1);
  await phone.getByTestId("remove-phone").click();
  await expect(student.testId("phoneRemoved")).toBeVisible();
  await expect(student.testId("phone").filter({ hasText: "本机" })).toHaveCount(0);

  // The phone, offline, still makes a code from what its storage kept: the till declines it.
  await page.context().setOffline(true);
  await page.goto("/portal/code");
  await expect(student.testId("payCodeOffline")).toHaveAttribute("data-made-here", "true");
  const stale = await student.testId("payCodeDigits").getAttribute("data-digits");
  // Refused as no longer valid (even were it the code used above, not "used": the removal is
  // checked first).
  expect(await payWith("removed", stale!)).toMatchObject({ approved: false, reason: "code_invalid" });

  // Back online, the page hears the phone is no longer remembered and forgets its key.
  await page.context().setOffline(false);
  await page.goto("/portal/code");
  await student.hydrated();
  await expect(student.testId("payCodeDigits")).toHaveAttribute("data-digits", /^81\d{18}$/);
  await page.waitForFunction(() => window.localStorage.getItem("ykt.phone") === null);
});

test("a kiosk cannot be left without a staff login, and clears itself after a minute idle", async ({ browser }, info) => {
  const setup = tillSetup(info);
  const { till: kiosk, page } = await openTill(browser, setup.kiosk, "/terminal/kiosk");
  // Full screen: no site header, footer or link to the student login.
  await expect(page.locator("header, footer")).toHaveCount(0);
  await expect(page.locator('a[href="/login"], a[href="/portal"], a[href="/staff"]')).toHaveCount(0);
  await kiosk.expectAccessible();
  await kiosk.expectNoHorizontalScroll();

  // A passer-by cannot leave: no staff login, no way out.
  await page.getByTestId("terminal-leave-open").click();
  const leave = page.getByTestId("terminal-leave");
  await leave.getByLabel("用户名").fill("kiosk-passer-by");
  await leave.getByLabel("密码").fill("not-a-password");
  await leave.getByLabel("动态验证码").fill("123456");
  await leave.getByRole("button", { name: "退出终端模式" }).click();
  await expect(leave.getByTestId("form-error")).toContainText("不正确");
  await kiosk.open("/terminal/kiosk");
  await expect(kiosk.testId("terminalBar")).toContainText(setup.kiosk);

  // Typed but left: after a minute without a touch, the forms and answers are gone.
  await page.clock.install();
  await page.reload();
  await kiosk.hydrated();
  const balance = kiosk.testId("kioskBalance");
  await balance.getByLabel("校园卡（请放在读卡器上）").fill("NO-SUCH-CARD");
  await balance.getByLabel("查询密码").fill("123456");
  await balance.getByRole("button", { name: "查询" }).click();
  await expect(page.getByTestId("kiosk-balance-result")).toBeVisible();
  await kiosk.testId("kioskLoss").getByLabel("学号或卡号").fill(setup.student.login);
  // A staff member began to leave terminal mode and walked away.
  await page.getByTestId("terminal-leave-open").click();
  await page.getByTestId("terminal-leave").getByLabel("用户名").fill("operator");
  await page.clock.fastForward(30_000);
  // Still there half a minute later.
  await expect(kiosk.testId("kioskLoss").getByLabel("学号或卡号")).toHaveValue(setup.student.login);
  await page.clock.fastForward(31_000);
  await expect(page.getByTestId("kiosk-balance-result")).toHaveCount(0);
  await expect(balance.getByLabel("校园卡（请放在读卡器上）")).toHaveValue("");
  await expect(balance.getByLabel("查询密码")).toHaveValue("");
  await expect(kiosk.testId("kioskLoss").getByLabel("学号或卡号")).toHaveValue("");
  await expect(page.getByTestId("terminal-leave")).toBeHidden();
  await page.getByTestId("terminal-leave-open").click();
  await expect(page.getByTestId("terminal-leave").getByLabel("用户名")).toHaveValue("");
  await page.getByTestId("terminal-leave-open").click();

  // The card office's operator leaves terminal mode with their login; the browser is a browser again.
  const operator = staffSetup(info).operator;
  await page.getByTestId("terminal-leave-open").click();
  await leave.getByLabel("用户名").fill(operator);
  await leave.getByLabel("密码").fill(staff[operator].own);
  await withFreshCode(page, operator, leave, "退出终端模式", kiosk.testId("terminalSetup"));
  await expect(page).toHaveURL(/\/terminal$/);
  await kiosk.open("/terminal/kiosk");
  await expect(page.getByTestId("terminal-problem")).toBeVisible();
});
