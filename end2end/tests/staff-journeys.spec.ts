import { type Browser } from "@playwright/test";
import { test, expect } from "./fixtures/test";
import { StudentPortal } from "./fixtures/student";
import { StaffPortal, staff, staffSetup, totp } from "./fixtures/staff";
import { serverNow } from "./fixtures/clock";
import { deviceCall } from "./fixtures/devices";

// The card office's acceptance journeys. Serial: they build on each other (the imported
// students are replaced, topped up and looked at by the auditor). Each viewport project uses
// its own student numbers, chip serials and device, so the two run side by side.
test.describe.configure({ mode: "serial", timeout: 120_000 });

function yuan(text: string): number {
  return Number(text.replace(/[^\d.-]/g, ""));
}

/** What the imported student changes the initial password to. */
const NEW_PASSWORD = "739146";

async function staffPage(browser: Browser) {
  const context = await browser.newContext({ locale: "zh-CN" });
  return new StaffPortal(await context.newPage());
}

test("an operator imports new students; one with an ID ending in X logs in with the initial password and must change it", async ({ page, browser }, info) => {
  const s = staffSetup(info);
  const office = await staffPage(browser);
  await office.signIn(s.operator);
  await office.page.getByRole("navigation", { name: "服务中心导航" }).getByRole("link", { name: "开户" }).click();
  await expect(office.page).toHaveURL(/\/staff\/enrol$/);
  const csv = [
    "学号,姓名,证件号码,班级,芯片号",
    `${s.prefix}01,测试甲,44030120060101123X,计算机26级1班,${s.serial}0001`,
    `${s.prefix}02,测试乙,440301200602021234,计算机26级1班,${s.serial}0002`,
    `${s.prefix}03,测试丙,AB12,计算机26级1班,`,
  ].join("\n");
  const form = office.page.getByTestId("import-form");
  // A file with a bad row imports nobody, and says which row and why.
  await form.getByTestId("csv-file").setInputFiles({ name: "new.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await expect(form.getByTestId("csv-text")).toHaveValue(/测试丙/);
  await form.getByRole("button", { name: "检查并导入" }).click();
  await expect(office.page.getByTestId("import-errors")).toContainText("第 4 行");
  await expect(office.page.getByTestId("import-errors")).toContainText("不足 6 位数字");
  // Without the bad row: both enrolled; the same file again changes nothing.
  const good = csv.split("\n").slice(0, 3).join("\n");
  await form.getByTestId("csv-text").fill(good);
  await form.getByRole("button", { name: "检查并导入" }).click();
  await expect(office.page.getByTestId("import-done")).toContainText("新登记 2 人");
  await form.getByRole("button", { name: "检查并导入" }).click();
  await expect(office.page.getByTestId("import-done")).toContainText("新登记 0 人，已登记（学号和姓名相同，未改动）2 人");

  // The student: the 6 digits before the X, then the forced change.
  const student = new StudentPortal(page);
  await student.login(`${s.prefix}01`, "101123");
  await expect(page).toHaveURL(/\/portal\/password$/);
  await expect(student.testId("mustChange")).toBeVisible();
  const change = student.testId("passwordForm");
  await change.getByLabel("当前查询密码").fill("101123");
  await change.getByLabel("新查询密码").fill(NEW_PASSWORD);
  await change.getByLabel("再输入一次新密码").fill(NEW_PASSWORD);
  await change.getByRole("button", { name: "修改密码" }).click();
  await expect(student.testId("noticeChanged")).toBeVisible();
  await expect(student.testId("balanceAmount")).toHaveText("¥0.00");
});

test("an operator replaces a card: the old card is refused at the POS, the new one pays, the balance stays", async ({ request, browser }, info) => {
  const s = staffSetup(info);
  const office = await staffPage(browser);
  await office.signIn(s.operator);
  await office.holder(`${s.prefix}02`);
  const before = yuan(await office.page.getByTestId("holder-balance").innerText());
  // Voiding a card for good is behind its own step, which names the consequence.
  const replace = office.page.getByTestId("replace-form");
  await expect(replace).toBeHidden();
  await office.page.locator("summary", { hasText: "补卡/换卡" }).click();
  await expect(replace).toContainText("永久作废");
  await replace.getByLabel("新卡芯片号").fill(`${s.serial}0012`);
  await replace.getByLabel("办理原因").fill("卡片折断");
  await replace.getByRole("button", { name: /补卡/ }).click();
  // Not without the box ticked: the browser holds the form back.
  await expect(replace.getByTestId("replace-done")).toHaveCount(0);
  await replace.getByLabel("我已向持卡人说明后果，确认办理。").check();
  await replace.getByRole("button", { name: /补卡/ }).click();
  await expect(replace.getByTestId("replace-done")).toBeVisible();
  await expect(office.page.getByTestId("holder-cards")).toContainText("作废");
  await expect(office.page.getByTestId("holder-balance")).toHaveText(`¥${before.toFixed(2)}`);

  const pos = info.project.name === "phone" ? "POS-E-CANTEEN-2" : "POS-E-CANTEEN-1";
  const old = await deviceCall(request, pos, "/api/device/v1/pay", {
    request_id: `e2e-old-${s.serial}-${Date.now()}`,
    amount_fen: 100,
    card_serial: `${s.serial}0002`,
  });
  expect(old.status).toBe(200);
  expect(old.body.approved).toBe(false);
  expect(old.body.reason).toBe("card_void");
});

test("a cash top-up at the counter prints a receipt and shows on the student's dashboard", async ({ page, browser }, info) => {
  const s = staffSetup(info);
  const office = await staffPage(browser);
  const student = new StudentPortal(page);
  const who = { login: `${s.prefix}01`, password: NEW_PASSWORD, name: "测试甲" };
  await student.signIn(who);
  const before = yuan(await student.testId("balanceAmount").innerText());

  await office.signIn(s.operator);
  await office.holder(who.login);
  const cash = office.page.getByTestId("cash-form");
  // A refused amount is named, and what was typed stays in the form to be put right.
  await cash.getByLabel("金额（元）").fill("66.6.0");
  await cash.getByLabel("备注（可不填）").fill("学生交来现金");
  await cash.getByRole("button", { name: "收款并打印收据" }).click();
  await expect(office.page.getByTestId("form-error")).toContainText("金额");
  await expect(cash.getByLabel("备注（可不填）")).toHaveValue("学生交来现金");
  await expect(cash.getByLabel("金额（元）")).toHaveValue("66.6.0");
  await cash.getByLabel("金额（元）").fill("66.60");
  await cash.getByRole("button", { name: "收款并打印收据" }).click();
  const receipt = office.page.getByTestId("receipt");
  await expect(receipt.getByTestId("receipt-amount")).toHaveText("¥66.60");
  await expect(receipt.getByTestId("receipt-no")).toHaveText(/^C\d{20}$/);
  await expect(receipt.getByRole("button", { name: "打印收据" })).toBeVisible();
  // Printing shows the receipt alone.
  await office.page.emulateMedia({ media: "print" });
  await expect(office.page.getByTestId("cash-form")).toBeHidden();
  await expect(receipt).toBeVisible();
  await office.page.emulateMedia({ media: "screen" });

  await student.open("/portal");
  await expect(student.testId("balanceAmount")).toHaveText(`¥${(before + 66.6).toFixed(2)}`);
  await expect(student.testId("entries")).toContainText("66.60");
});

test("a bill issued at the counter is paid by the student in one tap and shows as paid to the operator", async ({ page, browser }, info) => {
  const s = staffSetup(info);
  const office = await staffPage(browser);
  const student = new StudentPortal(page);
  const who = { login: `${s.prefix}01`, password: NEW_PASSWORD, name: "测试甲" };
  const title = `补考费（${info.project.name}）`;
  // Due in ten days, as the campus (UTC+8) dates it by the server's clock.
  const due = new Date((await serverNow()) + 8 * 3600_000 + 10 * 86400_000).toISOString().slice(0, 10);

  await office.signIn(s.operator);
  await office.open("/staff/bills");
  await office.hydrated();
  const form = office.page.getByTestId("bill-form");
  await form.getByLabel("学号/工号").fill(who.login);
  await form.getByLabel("项目").fill(title);
  await form.getByLabel("开单部门").fill("教务处");
  await form.getByLabel("金额（元）").fill("0");
  await form.getByLabel("缴费期限").fill(due);
  // A refused amount is named, and the form keeps what was typed.
  await form.getByRole("button", { name: "开出账单" }).click();
  await expect(office.page.getByTestId("form-error")).toContainText("amount");
  await expect(form.getByLabel("项目")).toHaveValue(title);
  await form.getByLabel("金额（元）").fill("12.50");
  await form.getByRole("button", { name: "开出账单" }).click();
  await expect(office.page.getByTestId("bill-issued")).toBeVisible();
  const row = office.page.getByTestId("bill-row").filter({ hasText: title });
  await expect(row.getByTestId("bill-status")).toHaveText("待缴");

  await student.signIn(who);
  const before = yuan(await student.testId("balanceAmount").innerText());
  await expect(page.getByTestId("notice-bills")).toContainText("¥12.50");
  await page.getByTestId("notice-bills").getByRole("link", { name: "去缴费" }).click();
  await expect(page).toHaveURL(/\/portal\/bills$/);
  const bill = page.getByTestId("bill").filter({ hasText: title });
  await expect(bill).toContainText("教务处");
  await bill.getByRole("button", { name: "缴费 ¥12.50" }).click();
  await expect(page.getByTestId("bill-paid")).toContainText(title);
  await expect(page.getByTestId("bills-settled")).toContainText(title);
  await student.expectNoHorizontalScroll();
  await student.expectAccessible();
  await expect(page.getByTestId("bill").filter({ hasText: title })).toHaveCount(0);
  await student.open("/portal");
  await expect(student.testId("balanceAmount")).toHaveText(`¥${(before - 12.5).toFixed(2)}`);
  await expect(page.getByTestId("notice-bills")).toHaveCount(0);

  await office.open(`/staff/bills?q=${who.login}`);
  await expect(row.getByTestId("bill-status")).toHaveText("已缴");
  await expect(row.getByTestId("bill-cancel")).toHaveCount(0);
  await office.expectNoHorizontalScroll();
  await office.expectAccessible();
});

/** The number in a reading such as "剩余电量 23.4 度". */
function reading(text: string): number {
  return Number(/(\d+(?:\.\d+)?)/.exec(text)?.[1] ?? "NaN");
}

/** Binds the student's room on the 缴费 page (a wrong room first: refused, by name). */
async function bindRoom(student: StudentPortal, building: string, room: string) {
  const page = student.page;
  const panel = page.getByTestId("room-panel");
  await panel.getByLabel("楼栋").selectOption(building);
  await panel.getByLabel("房间号").fill("999");
  await panel.getByRole("button", { name: /绑定宿舍|更换宿舍/ }).click();
  await expect(page.getByTestId("form-error")).toContainText("没有这个宿舍");
  await panel.getByLabel("房间号").fill(room);
  await panel.getByRole("button", { name: /绑定宿舍|更换宿舍/ }).click();
  await expect(page.getByTestId("room-bound")).toContainText(`${building}-${room}`);
}

test("a student binds a room, sees its electricity, buys 50 kWh and sees the meter go up", async ({ page }, info) => {
  const s = staffSetup(info);
  const student = new StudentPortal(page);
  const who = { login: `${s.prefix}01`, password: NEW_PASSWORD, name: "测试甲" };
  // A demo room with its meters at the sandbox biller, one for each viewport.
  const building = info.project.name === "phone" ? "8" : "7";
  await student.signIn(who);
  const before = yuan(await student.testId("balanceAmount").innerText());
  await student.go("水电网费");
  await expect(page).toHaveURL(/\/portal\/utilities$/);
  await student.hydrated();
  await bindRoom(student, building, "101");

  const left = page.getByTestId("left-electricity");
  await expect(left).toContainText("剩余电量");
  const start = reading(await left.innerText());
  expect(start).toBeGreaterThan(0);
  const offer = page.getByTestId("offer-electricity");
  await expect(offer).toContainText("¥0.62/度");
  // A quantity out of range is refused and charges nothing.
  await offer.getByLabel("购电量").fill("501");
  await offer.getByLabel("购电量").evaluate((input: HTMLInputElement) => input.form?.setAttribute("novalidate", ""));
  await offer.getByRole("button", { name: "购买" }).click();
  await expect(page.getByTestId("form-error")).toContainText("1 至 500");
  await offer.getByLabel("购电量").fill("50");
  await offer.getByRole("button", { name: "购买" }).click();
  await expect(page.getByTestId("purchase-made")).toContainText("¥31.00");
  const latest = page.getByTestId("purchase").first();
  await expect(latest).toContainText(`宿舍 ${building}-101 电 50 度`);
  // Charged at once; delivered by the biller a moment later, and the page sees it.
  await expect(latest.getByTestId("purchase-status")).toHaveText("已到账");
  const end = reading(await left.innerText());
  expect(end - start).toBeGreaterThan(49.8);
  expect(end - start).toBeLessThan(50.2);
  await expect(page.getByTestId("utilities-balance")).toContainText(`¥${(before - 31).toFixed(2)}`);
  await student.expectNoHorizontalScroll();
  await student.expectAccessible();
  // The purchase is in the history as its own kind.
  await student.open("/portal/history?kind=purchase");
  await expect(student.testId("entries").locator('[data-kind="purchase"]').first()).toContainText("31.00");
  // And in the monthly chart, under 缴费.
  await expect(page.getByTestId("monthly-chart").locator(".chart-bar .seg-utilities").first()).toHaveAttribute("title", /^缴费 /);
});

test("a failed delivery comes back as a refund, with the reason shown", async ({ page }, info) => {
  const s = staffSetup(info);
  const student = new StudentPortal(page);
  const who = { login: `${s.prefix}01`, password: NEW_PASSWORD, name: "测试甲" };
  await student.signIn(who);
  const before = yuan(await student.testId("balanceAmount").innerText());
  await student.open("/portal/utilities");
  await student.hydrated();
  // Building 8's sixth floor: the demo campus's meters there are offline.
  await bindRoom(student, "8", info.project.name === "phone" ? "602" : "601");
  await expect(page.getByTestId("left-electricity")).toContainText("暂时查不到余量");
  const offer = page.getByTestId("offer-electricity");
  await offer.getByLabel("购电量").fill("10");
  await offer.getByRole("button", { name: "购买" }).click();
  await expect(page.getByTestId("purchase-made")).toContainText("¥6.20");
  const latest = page.getByTestId("purchase").first();
  await expect(latest.getByTestId("purchase-status")).toContainText("充值失败：表计离线");
  await expect(latest.getByTestId("purchase-status")).toContainText("¥6.20 已退回校园卡");
  await expect(page.getByTestId("utilities-balance")).toContainText(`¥${before.toFixed(2)}`);
  await student.expectAccessible();
  await student.open("/portal");
  await expect(student.testId("balanceAmount")).toHaveText(`¥${before.toFixed(2)}`);
});

test("an administrator publishes an announcement; the home page shows it in either language until it is withdrawn", async ({ browser, page }, info) => {
  const office = await staffPage(browser);
  await office.signIn("admin");
  await office.open("/staff/announcements");
  await office.hydrated();
  const zh = `服务中心临时闭馆（${info.project.name}）`;
  const en = `Service centre closed (${info.project.name})`;
  // The window in campus time (UTC+8) by the server's clock: from a minute ago for an hour.
  const now = await serverNow();
  const campus = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 16);
  const form = office.page.getByTestId("announcement-form");
  await form.getByLabel("标题（中文）").fill(zh);
  await form.getByLabel("标题（英文）").fill(en);
  await form.getByLabel("内容（中文）").fill("今天下午系统维护，服务中心闭馆。");
  await form.getByLabel("内容（英文）").fill("The service centre is closed this afternoon for maintenance.");
  await form.getByLabel("开始时间").fill(campus(now - 60_000));
  await form.getByLabel("结束时间").fill(campus(now - 120_000));
  await form.getByLabel("对象", { exact: true }).selectOption("everyone");
  // A window that ends before it starts is refused with the field named.
  await form.getByRole("button", { name: "发布" }).click();
  await expect(office.page.getByTestId("form-error")).toContainText("ends_at");
  await form.getByLabel("结束时间").fill(campus(now + 3600_000));
  await form.getByRole("button", { name: "发布" }).click();
  await expect(office.page.getByTestId("announcement-published")).toBeVisible();
  await office.expectAccessible();

  const visitor = new StudentPortal(page);
  await visitor.open("/");
  await expect(page.getByTestId("announcement").filter({ hasText: zh })).toContainText("今天下午系统维护");
  await visitor.expectNoHorizontalScroll();
  await visitor.switchLanguage();
  await expect(page.getByTestId("announcement").filter({ hasText: en })).toContainText("closed this afternoon");

  const row = office.page.getByTestId("announcement-row").filter({ hasText: zh });
  await row.getByLabel("办理原因").fill("维护取消");
  await row.getByTestId("announcement-withdraw").click();
  await expect(row).toContainText("维护取消");
  await visitor.open("/");
  await expect(page.getByTestId("home-hero")).toBeVisible();
  await expect(page.getByTestId("announcement").filter({ hasText: en })).toHaveCount(0);
});

test("an administrator adds the housing office's room list; a wrong line adds nothing, and a room students have bound stays listed", async ({ browser }, info) => {
  const office = await staffPage(browser);
  await office.signIn("admin");
  await office.open("/staff/admin");
  await office.hydrated();
  const panel = office.page.getByTestId("rooms");
  // The demo campus's 960 rooms, and any added by earlier runs.
  await expect(panel.getByTestId("rooms-total")).toContainText(/共 \d+ 栋楼，\d+ 间宿舍/);
  // A building of this run's own (a retry adds its rooms anew).
  const building = `${info.project.name === "phone" ? "P" : "D"}${Math.floor(Math.random() * 1e6)}`;
  const count = panel
    .getByTestId("rooms-by-building")
    .getByRole("row")
    .filter({ has: office.page.getByRole("cell", { name: building, exact: true }) })
    .locator("td.num");
  await panel.locator("summary", { hasText: "添加宿舍" }).click();
  const add = panel.getByTestId("rooms-add-form");
  await add.getByLabel("宿舍，每行一间").fill(`${building},101\n${building}`);
  await add.getByRole("button", { name: "添加宿舍" }).click();
  await expect(add.getByTestId("form-error")).toContainText("第 2 行");
  await expect(count).toHaveCount(0);
  await add.getByLabel("宿舍，每行一间").fill(`${building},101\n${building}-102\n${building} 103\n1,101`);
  await add.getByRole("button", { name: "添加宿舍" }).click();
  await expect(panel.getByTestId("rooms-added")).toContainText("新增 3 间宿舍（名单共 4 间");
  await expect(count).toHaveText("3");
  // The README's roommates have bound 1-101: it stays. The new 103 goes.
  await panel.locator("summary", { hasText: "移除宿舍" }).click();
  const remove = panel.getByTestId("rooms-remove-form");
  await remove.getByLabel("楼栋").fill("1");
  await remove.getByLabel("房间号").fill("101");
  await remove.getByLabel("办理原因").fill("核对名单");
  await remove.getByRole("button", { name: "移除" }).click();
  await expect(remove.getByTestId("form-error")).toContainText("已有学生绑定该宿舍");
  await remove.getByLabel("楼栋").fill(building);
  await remove.getByLabel("房间号").fill("103");
  await remove.getByRole("button", { name: "移除" }).click();
  await expect(remove.getByTestId("room-removed")).toBeVisible();
  await expect(count).toHaveText("2");
  await office.expectNoHorizontalScroll();
  await office.expectAccessible();
  await office.open(`/staff/audit?action=rooms.`);
  await expect(office.page.getByTestId("audit-table")).toContainText(`宿舍 ${building}-103`);
});

test("a cash top-up with JavaScript disabled shows its receipt, for A4 or an 80 mm receipt printer", async ({ browser }, info) => {
  const s = staffSetup(info);
  const office = await staffPage(browser);
  const who = `${s.prefix}01`;
  await office.signIn(s.operator);
  await office.holder(who);
  const holderUrl = office.page.url();
  // The same staff session in a browser that runs no script: the forms are plain HTML forms.
  const plain = await browser.newContext({ locale: "zh-CN", javaScriptEnabled: false });
  await plain.addCookies(await office.page.context().cookies());
  const page = await plain.newPage();
  await page.goto(holderUrl);
  const cash = page.getByTestId("cash-form");
  await cash.getByLabel("金额（元）").fill("12.30");
  await cash.getByRole("button", { name: "收款并打印收据" }).click();
  await expect(page).toHaveURL(/\/staff\/receipt\/\d+$/);
  const receipt = page.getByTestId("receipt");
  await expect(receipt.getByTestId("receipt-amount")).toHaveText("¥12.30");
  await expect(receipt.getByTestId("receipt-no")).toHaveText(/^C\d{20}$/);
  await expect(receipt).toContainText(who);
  await expect(receipt).toContainText(staff[s.operator].name);
  await expect(receipt).toHaveClass(/paper-a4/);
  // The 80 mm layout: one column no wider than the roll on screen, and an 80 mm page in print.
  await page.getByRole("link", { name: "80 mm 小票" }).click();
  await expect(page).toHaveURL(/paper=80mm/);
  await expect(page.getByTestId("receipt")).toHaveClass(/paper-80mm/);
  const width = await page.getByTestId("receipt").evaluate((e) => e.getBoundingClientRect().width);
  expect(width).toBeLessThanOrEqual((80 / 25.4) * 96);
  const pdf = (await page.pdf({ preferCSSPageSize: true })).toString("latin1");
  const box = /\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/.exec(pdf);
  expect(box, "the printed page's size").not.toBeNull();
  expect(Math.abs(Number(box![1]) - (80 / 25.4) * 72)).toBeLessThan(1);
  // With the script: the same page hydrates, is accessible, and the holder's entries link to it.
  const receiptUrl = page.url();
  await plain.close();
  await office.open(receiptUrl);
  await expect(office.page.getByTestId("receipt-amount")).toHaveText("¥12.30");
  await office.expectNoHorizontalScroll();
  await office.expectAccessible();
  await office.holder(who);
  const entries = office.page.getByTestId("holder-entries");
  await entries.getByRole("link", { name: "收据" }).first().click();
  await expect(office.page).toHaveURL(/\/staff\/receipt\/\d+/);
  await expect(office.page.getByTestId("receipt")).toBeVisible();
});

test("the campus profile is edited through its form; a wrong value is refused with the field named; the home page's 'open today?' follows a holiday", async ({ browser, page }, info) => {
  const office = await staffPage(browser);
  await office.signIn("admin");
  const phone = info.project.name === "phone";
  const name = phone ? "校庆日（手机）" : "校庆日";
  // The server's today, as the home page answers "open today?" for it. The desktop closes the
  // centre today; the phone opens it for a morning the day after (a date of its own, so the
  // two viewports' holidays never meet).
  await page.goto("/");
  const openToday = page.getByTestId("open-today");
  await expect(openToday).toContainText("今天（");
  const today = (await openToday.getAttribute("data-date"))!;
  const next = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const day = phone ? next : today;
  const periods = phone ? "10:00-11:30" : "";
  // Both viewports edit the one profile at once: a save over the other's is refused, and the
  // administrator opens the page again, as the refusal says.
  for (let attempt = 0; ; attempt++) {
    await office.open("/staff/admin");
    const form = office.page.getByTestId("profile-form");
    await expect(form.getByRole("group", { name: "名称", exact: true })).toBeVisible();
    const hotline = form.locator('[name="form[hotlines][1][value]"]');
    const number = await hotline.inputValue();
    await hotline.fill("call us");
    await form.getByLabel("办理原因").fill("节假日安排");
    await form.getByRole("button", { name: "保存" }).click();
    await expect(form.getByTestId("form-error")).toContainText("热线号码（第 2 条）：须为电话号码");
    await expect(hotline).toBeFocused();
    await expect(hotline).toHaveAttribute("aria-invalid", "true");
    await office.expectAccessible();
    // Put it right and add a holiday in the empty entry at the end of the holidays.
    await hotline.fill(number);
    const holidays = form.getByRole("group", { name: "节假日安排", exact: true });
    const entry = holidays.getByRole("group", { name: "新增一条（不填则忽略）" });
    await entry.getByRole("group", { name: "节假日名称" }).getByLabel("中文").fill(name);
    await entry.getByRole("group", { name: "节假日名称" }).getByLabel("英文").fill(`Founding day ${info.project.name}`);
    await entry.getByLabel("起始日期").fill(day);
    await entry.getByLabel("结束日期").fill("2026-01-01");
    await form.getByRole("button", { name: "保存" }).click();
    await expect(form.getByTestId("form-error")).toContainText(/结束日期（第 \d 条）：结束日期不能早于起始日期/);
    await entry.getByLabel("结束日期").fill(day);
    await entry.getByLabel("节假日开放时段").fill(periods);
    await form.getByRole("button", { name: "保存" }).click();
    const outcome = await Promise.race([
      form.getByTestId("profile-done").waitFor().then(() => "saved"),
      form.getByTestId("form-error").filter({ hasText: "已被他人修改" }).waitFor().then(() => "changed"),
    ]);
    if (outcome === "saved") break;
    expect(attempt, "refused as changed by someone else more than twice").toBeLessThan(2);
  }
  await office.expectNoHorizontalScroll();
  // The public pages show it, and the home page's answer follows it.
  await page.goto("/service");
  await expect(page.getByTestId("holiday-hours")).toContainText(`${name} ${day} – ${day} ${phone ? "10:00–11:30" : "不开放"}`);
  await page.goto("/");
  if (phone) {
    const row = page.getByTestId("week-hours").locator(`li[data-date="${next}"]`);
    await expect(row).toContainText("10:00–11:30");
    await expect(row).toContainText(name);
  } else {
    await expect(openToday).toContainText(/今天（\d+月\d+日 周.）不开放。/);
    await expect(openToday).toContainText(name);
  }
  // The answer, open or closed, is accessible as drawn.
  await new StudentPortal(page).expectAccessible();
});

test("an auditor sees holders, the audit log and administration, but can change nothing", async ({ browser }, info) => {
  const s = staffSetup(info);
  const office = await staffPage(browser);
  await office.signIn("auditor");
  const errors: string[] = [];
  office.page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${office.page.url()}: ${m.text().slice(0, 300)}`);
  });
  office.page.on("pageerror", (e) => errors.push(`${office.page.url()}: ${e.message}`));
  const nav = office.page.getByRole("navigation", { name: "服务中心导航" });
  await expect(nav.getByRole("link", { name: "审计日志" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "开户" })).toHaveCount(0);
  await office.holder(`${s.prefix}02`);
  await expect(office.page.getByTestId("holder-cards")).toBeVisible();
  await expect(office.page.getByTestId("cash-form")).toHaveCount(0);
  await expect(office.page.getByTestId("replace-form")).toHaveCount(0);
  // The operator's replacement is in the audit trail, with the reason typed.
  await office.open(`/staff/audit?holder=${s.prefix}02`);
  await expect(office.page.getByTestId("audit-table")).toContainText("card.replace");
  await expect(office.page.getByTestId("audit-table")).toContainText("卡片折断");
  // What changed is in words of the page's language, not stored codes or English.
  const replaced = office.page.getByTestId("audit-table").locator("tr", { hasText: "card.replace" }).first();
  await expect(replaced).toContainText(/→ 卡 \d+；正常/);
  await expect(replaced).not.toContainText(/active|fee|holder/);
  await office.open("/staff/admin");
  await expect(office.page.getByTestId("read-only")).toBeVisible();
  await expect(office.page.getByTestId("device-form")).toHaveCount(0);
  // Even a hand-made request is refused by the server.
  const status = await office.page.evaluate(async () => {
    const r = await fetch("/api/staff/cash_topup", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: "holder_id=1&amount=10&reason=x&receipt_no=C20261126000000000001",
    });
    return r.status;
  });
  expect(status).toBe(403);
  errors.length = 0; // the browser logs the refused request above; nothing else may fail
  await office.open("/staff/reports");
  await expect(office.page.getByTestId("liability-ok")).toBeVisible();
  // The purchases waiting for their billers: a list, or the word that none waits.
  const waiting = office.page.getByTestId("waiting-purchases");
  await expect(waiting.getByRole("heading", { name: "等待缴费单位结果的缴费" })).toBeVisible();
  await expect(waiting.getByTestId("waiting-purchases-none").or(waiting.getByTestId("waiting-purchase").first())).toBeVisible();
  await office.expectNoHorizontalScroll();
  await office.expectAccessible();
  // Every staff page hydrates when opened directly, and its navigation works afterwards.
  for (const path of ["/staff", "/staff/found", "/staff/bills", "/staff/queue", "/staff/audit?action=card.", "/staff/announcements", "/staff/reports", "/staff/admin"]) {
    await office.open(path);
    await expect(office.page.getByRole("heading", { level: 1 })).toBeVisible();
    await nav.getByRole("link", { name: "查找持卡人" }).click();
    await expect(office.page.getByTestId("search-form")).toBeVisible();
  }
  await office.holder(`${s.prefix}02`);
  await office.expectNoHorizontalScroll();
  await office.expectAccessible();
  // No page offers the auditor an action: not the holder, the found cards or the work queue.
  const actions = office.page.locator("main button:not([data-testid=staff-logout])");
  await expect(actions).toHaveCount(0);
  for (const path of ["/staff/found", "/staff/queue"]) {
    await office.open(path);
    await expect(office.page.getByRole("heading", { level: 1 })).toBeVisible();
    await expect(actions).toHaveCount(0);
  }
  await expect(office.page.getByTestId("found-form")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a staff page a role may not open says so, with status 403 and the way back", async ({ browser }, info) => {
  const s = staffSetup(info);
  const office = await staffPage(browser);
  await office.signIn(s.operator);
  // The staff area wears its own frame: no student navigation.
  await expect(office.page.getByRole("navigation", { name: "主导航" })).toHaveCount(0);
  await expect(office.page.getByTestId("staff-area")).toBeVisible();
  // The start page is the search, with nothing "not found" before a search.
  await office.open("/staff");
  await expect(office.page.getByTestId("search-hint")).toBeVisible();
  await expect(office.page.getByTestId("search-empty")).toHaveCount(0);
  const nav = office.page.getByRole("navigation", { name: "服务中心导航" });
  await expect(nav.getByRole("link", { name: "系统管理" })).toHaveCount(0);
  for (const [path, page] of [["/staff/admin", "系统管理"], ["/staff/audit", "审计日志"], ["/staff/merchant", "本商户流水"]]) {
    const response = await office.open(path);
    expect(response?.status(), path).toBe(403);
    const refused = office.page.getByTestId("staff-refused");
    await expect(office.page.getByRole("heading", { level: 1 })).toHaveText("此页不对你的角色开放");
    await expect(refused).toContainText(`「${page}」`);
    await expect(refused).toContainText("柜台操作员");
    await office.expectAccessible();
    // No form of the refused page, and the way back works in the hydrated page.
    await expect(office.page.locator("main form button:not([data-testid=staff-logout])")).toHaveCount(0);
    await refused.getByRole("link", { name: "回到查找持卡人" }).click();
    await expect(office.page.getByTestId("search-form")).toBeVisible();
  }
  await office.expectNoHorizontalScroll();
});

test("an administrator creates a device; its credential, shown once, sets up the POS page", async ({ browser }, info) => {
  const s = staffSetup(info);
  const office = await staffPage(browser);
  await office.signIn("admin");
  await office.open("/staff/admin");
  await office.page.getByTestId("device-new").click();
  const form = office.page.getByTestId("device-form");
  await form.getByLabel("编号").fill(s.device);
  await form.getByLabel("类型").selectOption("pos");
  await form.getByLabel("商户").selectOption({ index: 1 });
  await form.getByLabel("地点").fill("东区第一食堂 3 号窗口");
  await form.getByRole("button", { name: "保存" }).click();
  const row = office.page.getByTestId(`device-${s.device}`);
  await expect(row).toContainText("未签发");
  await row.getByTestId(`manage-${s.device}`).click();
  await row.getByLabel("办理原因").first().fill("新收银机上线");
  await row.getByTestId(`issue-${s.device}`).click();
  const credential = await office.page.getByTestId("credential").innerText();
  expect(credential).toMatch(/^[0-9a-f]{64}$/);
  await expect(office.page.getByTestId(`device-${s.device}`)).toContainText("有效");

  const context = await browser.newContext({ locale: "zh-CN" });
  const till = new StudentPortal(await context.newPage());
  await till.open("/terminal");
  const setup = till.testId("terminalSetup");
  await setup.getByLabel("设备编号").fill(s.device);
  await setup.getByLabel("设备凭证").fill(credential);
  await setup.getByRole("button", { name: "设置此浏览器" }).click();
  await expect(till.page).toHaveURL(/\/terminal\/pos$/);
  await expect(till.testId("terminalBar")).toContainText(s.device);
});

test("an administrator adds a colleague, a second administrator approves, and the colleague sets their own password and authenticator by the one-time link", async ({ browser }, info) => {
  const username = info.project.name === "phone" ? "e2e-new-phone" : "e2e-new-desk";
  const office = await staffPage(browser);
  await office.signIn("admin");
  await office.open("/staff/admin");
  await office.page.getByText("添加工作人员").click();
  const form = office.page.getByTestId("staff-form");
  await form.getByLabel("用户名").fill(username);
  await form.getByLabel("姓名").fill("柜台 新同事");
  await form.getByLabel("角色").selectOption("operator");
  await form.getByLabel("办理原因").fill("新员工入职");
  await form.getByRole("button", { name: "保存" }).click();
  // A new account takes a second administrator.
  await expect(office.page.getByTestId("change-requested")).toBeVisible();
  await expect(office.page.getByTestId("staff-users")).not.toContainText(username);
  const second = await staffPage(browser);
  await second.signIn("admin2");
  await second.open("/staff/admin");
  const request = second.page.getByTestId("change-list").getByRole("listitem").filter({ hasText: username });
  await expect(request).toContainText("staff.create");
  await request.getByRole("button", { name: "复核通过" }).click();
  // The approver gets the link to hand over, and never a password or a secret.
  const link = await second.page.getByTestId("staff-enrolment-link").getAttribute("href");
  expect(link).toMatch(/^\/staff\/welcome\?token=[0-9a-f]{64}$/);
  await expect(second.page.getByTestId("staff-enrolment")).not.toContainText(/[A-Z2-7]{32}/);
  await expect(second.page.getByTestId("staff-users")).toContainText(username);

  // The colleague, in their own browser, without a session.
  const context = await browser.newContext({ locale: "zh-CN" });
  const colleague = new StaffPortal(await context.newPage());
  await colleague.open(link!);
  const secret = (await colleague.page.getByTestId("welcome-secret").innerText()).trim();
  expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
  const welcome = colleague.page.getByTestId("welcome-form");
  await welcome.getByLabel("新密码", { exact: true }).fill("Colleague-own-2026");
  await welcome.getByLabel("再输入一次新密码").fill("Colleague-own-2026");
  // A wrong code is refused, and the link still works.
  await welcome.getByLabel(/6 位动态验证码/).fill("000000");
  await welcome.getByRole("button", { name: "完成并前往登录" }).click();
  await expect(colleague.page.getByTestId("form-error")).toBeVisible();
  await welcome.getByLabel(/6 位动态验证码/).fill(totp(secret, (await serverNow()) / 1000));
  await welcome.getByRole("button", { name: "完成并前往登录" }).click();
  await expect(colleague.page.getByTestId("welcome-done")).toBeVisible();
  await colleague.expectAccessible();

  // The link is used up; the colleague logs in with what only they know.
  await colleague.open(link!);
  await expect(colleague.page.getByTestId("form-error")).toContainText("已使用或已过期");
  await colleague.open("/staff/login");
  const login = colleague.page.getByTestId("staff-login-form");
  await login.getByLabel("用户名").fill(username);
  await login.getByLabel("密码").fill("Colleague-own-2026");
  // The next step's code: the one just used for the link is good once.
  await login.getByLabel("动态验证码").fill(totp(secret, (await serverNow()) / 1000 + 30));
  await login.getByRole("button", { name: "登录" }).click();
  await expect(colleague.page.getByTestId("staff-who")).toContainText("柜台 新同事");
  await context.close();
});

test("money out of the counter takes two people: a large cash top-up, and a closing paid only to the account recorded with the ID check", async ({ browser }, info) => {
  const s = staffSetup(info);
  const colleagueUser = s.operator === "operator" ? "operator2" : "operator";
  const holderNo = `${s.prefix}02`;
  const office = await staffPage(browser);
  await office.signIn(s.operator);
  await office.holder(holderNo);
  // ¥1,500 is above the demo campus's ¥1,000: nothing is credited until a colleague approves.
  const cash = office.page.getByTestId("cash-form");
  await cash.getByLabel("金额（元）").fill("1500");
  await cash.getByRole("button", { name: "收款并打印收据" }).click();
  await expect(office.page.getByTestId("cash-awaiting")).toContainText("待复核");
  await expect(office.page.getByTestId("receipt")).toHaveCount(0);

  const colleague = await staffPage(browser);
  await colleague.signIn(colleagueUser);
  await colleague.open("/staff/queue");
  const cashRow = colleague.page.getByTestId("cash-list").getByRole("listitem").filter({ hasText: holderNo });
  // No note was typed: the request says so in words, not as stored data.
  await expect(cashRow).toContainText("在服务中心交现金");
  await expect(cashRow).not.toContainText("said");
  await cashRow.getByRole("button", { name: "复核通过并入账" }).click();
  const receipt = colleague.page.getByTestId("receipt");
  await expect(receipt.getByTestId("receipt-amount")).toHaveText("¥1500.00");
  await expect(receipt).toContainText(staff[colleagueUser].name);
  await expect(receipt).toContainText(staff[s.operator].name);

  // Closing with money on it: refused until a payout account is recorded with the ID check.
  await office.holder(holderNo);
  await office.page.locator("summary", { hasText: "销户" }).click();
  const close = office.page.getByTestId("close-form");
  await close.getByLabel("办理原因").fill("退学");
  await close.getByLabel("我已向持卡人说明后果，确认办理。").check();
  await close.getByRole("button", { name: "确认销户" }).click();
  await expect(close.getByTestId("form-error")).toContainText("尚未登记退款银行账户");
  await office.page.locator("summary", { hasText: "退款账户" }).click();
  const payout = office.page.getByTestId("payout-form");
  await payout.getByLabel("退款银行账号").fill("6222 0212 3456 7890");
  await payout.getByLabel("持卡人出示的证件号码").fill("440301199901011234");
  await payout.getByLabel("办理原因").fill("本人持身份证办理");
  await payout.getByRole("button", { name: "核验证件并登记" }).click();
  await expect(payout.getByTestId("form-error")).toContainText("证件号码与登记的不一致");
  await payout.getByLabel("持卡人出示的证件号码").fill("440301200602021234");
  await payout.getByRole("button", { name: "核验证件并登记" }).click();
  await expect(office.page.getByTestId("payout-done")).toContainText("****7890");
  await expect(office.page.getByTestId("payout-account")).toContainText("****7890");
  await expect(office.page.getByTestId("payout-account")).not.toContainText("62220212");
  // The page is redrawn with the new record; the closing is opened again if it closed.
  if (!(await close.isVisible())) await office.page.locator("summary", { hasText: "销户" }).click();
  await expect(office.page.getByText("退款将转入 ****7890。")).toBeVisible();
  await close.getByLabel("办理原因").fill("退学");
  await close.getByLabel("我已向持卡人说明后果，确认办理。").check();
  await close.getByRole("button", { name: "确认销户" }).click();
  await expect(office.page.getByTestId("close-done")).toContainText("待复核");

  await colleague.open("/staff/queue");
  const closingRow = colleague.page.getByTestId("closing-list").getByRole("listitem").filter({ hasText: holderNo });
  await expect(closingRow).toContainText("****7890");
  await closingRow.getByRole("button", { name: "复核通过并退款" }).click();
  await expect(colleague.page.getByTestId("closing-done")).toBeVisible();
  await colleague.expectAccessible();
  await office.holder(holderNo);
  await expect(office.page.getByTestId("close-form")).toHaveCount(0);

  // The operator ends the shift with the cash counted; the large top-up is in it.
  await office.open("/staff/queue");
  await expect(office.page.getByTestId("shift-open")).toContainText("现金充值");
  const shift = office.page.getByTestId("shift-form");
  await shift.getByLabel("清点现金（元）").fill("abc");
  await shift.getByRole("button", { name: "记录清点并交班" }).click();
  await expect(shift.getByTestId("form-error")).toBeVisible();
  await shift.getByLabel("清点现金（元）").fill("1566.60");
  await shift.getByRole("button", { name: "记录清点并交班" }).click();
  await expect(office.page.getByTestId("shift-done")).toContainText("已交班");
  await expect(office.page.getByTestId("shift-open")).toContainText("0 笔现金充值");
});
