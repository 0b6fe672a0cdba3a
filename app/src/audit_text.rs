//! What an audit record names (its target) and how the thing changed (before and after),
//! stored as facts rather than sentences, so that the audit log shows them in the reader's
//! language. A record is written once and read for years: the stored form is JSON of
//! [`Fact`]s (`[{"card":"31000010"},{"card_status":"active"}]`), and each fact has its
//! sentence in both languages here (as [`crate::model::Decline`] has for terminals).
//!
//! Records written before this form existed hold English sentences; they are shown as they are.
//! A reason a staff member typed is their own words and is stored as typed; the few reasons the
//! system writes itself are facts too.

use crate::model::{
    AccountStatus, AuditAction, CardStatus, DeviceKind, MerchantCategory, Money, StaffRole,
};
use serde::{Deserialize, Serialize};

/// One fact of an audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    // What the record is about.
    /// A holder, by student or staff number.
    Holder(String),
    /// Holders enrolled at once, by number.
    Holders(Vec<String>),
    Card(String),
    Device(String),
    /// A staff account, by username.
    Staff(String),
    /// A merchant, by code.
    Merchant(String),
    /// A top-up order, by number.
    Order(String),
    /// A journal entry (a payment, a top-up), by number.
    Entry(i64),
    /// A request waiting for a second person, by number.
    Request(i64),
    /// A bill (待缴费), by number.
    Bill(i64),
    /// An announcement, by number.
    Announcement(i64),
    /// What was bought from a biller, and for which account.
    Purchase {
        utility: crate::model::Utility,
        quantity: i64,
        /// The room ("9-101") or network account it was bought for.
        account: String,
    },
    Receipt(String),
    /// A bank transfer's reference (a payout).
    Reference(String),
    /// A dorm room, as "building-room".
    Room(String),
    /// A staff member's shift at the counter, by username.
    Shift(String),
    CampusProfile,
    /// A period of days, first and last (`YYYY-MM-DD`).
    Period(String, String),
    /// A phone remembered for a holder, by its key number, with the browser's name if known.
    Phone(i64, Option<String>),

    // States and amounts.
    CardStatus(CardStatus),
    AccountStatus(AccountStatus),
    /// Where a purchase from a biller stands.
    PurchaseStatus(crate::model::PurchaseStatus),
    Role(StaffRole),
    /// A staff account or a merchant in use (`true`) or switched off.
    InUse(bool),
    Amount(Money),
    /// Money credited to a balance.
    Credit(Money),
    Balance(Money),
    Fee(Money),
    PaidOut(Money),
    /// Cash counted at the end of a shift, and how far it was from what was credited.
    CashCounted(Money),
    Difference(Money),
    Limits {
        single: Money,
        daily: Money,
    },
    /// The amounts above which a correction and a cash top-up take a second person.
    Thresholds {
        correction: Money,
        cash: Money,
    },
    /// Automatic top-up: below `threshold`, add `amount` from the bank card `card` (masked).
    AutoTopup {
        threshold: Money,
        amount: Money,
        card: String,
    },
    /// Locked until this moment (RFC 3339).
    LockedUntil(String),
    /// Kept until this moment (RFC 3339).
    Until(String),
    /// A bank account for a payout, masked.
    PayoutAccount(String),
    MerchantDetails {
        name_zh: String,
        name_en: String,
        category: MerchantCategory,
        place: String,
    },
    DeviceAt(DeviceKind, String),
    /// The first characters of a device's new public key.
    PublicKey(String),
    /// A field of a document (the campus profile) and its value as JSON.
    Field(String, String),
    Count(Counted, i64),
    /// The action a step was taken for (an identity check before a password reset).
    For(AuditAction),
    /// A one-time enrolment link issued, valid this many hours.
    LinkValidHours(i64),
    /// A staff account to be made, by the person's name.
    NewAccount(String),
    /// The staff member who took the cash or asked for the change, by name.
    TakenBy(String),
    Approved(i64),
    Rejected(i64),
    Said(Phrase),
    /// Done from the command line: the command, and the system user who ran it if known.
    Command(String, Option<String>),
    /// Done by the holder at a kiosk, by its code (a reason the system writes).
    AtKiosk(String),
    /// Text as a person typed it (a place, a name): shown as it is in either language.
    Text(String),
}

/// What a [`Fact::Count`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    Enrolled,
    SessionsEnded,
    CashTopups,
    PayoutsWithAccounts,
    WrongQueryPasswords,
    FailedStaffLogins,
    BillsIssued,
    RoomsAdded,
    RoomsInList,
}

/// Fixed statements, each with its sentence in both languages.
macro_rules! phrases {
    ($($name:ident => ($zh:expr, $en:expr $(,)?)),+ $(,)?) => {
        /// A fixed statement.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Phrase { $($name),+ }

        impl Phrase {
            pub const ALL: &'static [Phrase] = &[$(Phrase::$name),+];

            /// (Chinese, English).
            pub fn text(self) -> (&'static str, &'static str) {
                match self { $(Phrase::$name => ($zh, $en)),+ }
            }
        }
    };
}

phrases! {
    AwaitingSecondStaff => ("待另一名工作人员复核", "awaiting a second staff member"),
    AwaitingSecondAdmin => ("待另一名管理员复核", "awaiting a second administrator"),
    CredentialLive => ("密钥有效", "credential live"),
    NoCredential => ("没有密钥", "no credential"),
    CredentialRevoked => ("密钥已吊销", "credential revoked"),
    EnrolmentLinkOpen => ("开通链接待使用", "enrolment link open"),
    EnrolmentLinkIssued => ("已发一次性开通链接", "one-time enrolment link issued"),
    EnrolmentDone => (
        "已设自己的密码和验证器；链接已用",
        "own password and second factor set; link used",
    ),
    CredentialsEnded => (
        "密码和验证器已作废；登录已结束；已解锁",
        "password and second factor ended; sessions ended; unlocked",
    ),
    NotLocked => ("未锁定", "not locked"),
    Unlocked => ("已解锁", "unlocked"),
    InitialPassword => (
        "初始密码（按证件号规则），须修改",
        "initial value (ID rule); must be changed",
    ),
    DemoPassword => ("公开的演示密码", "published demo password"),
    Password => ("原密码", "password"),
    ChangedByOwner => ("本人已修改", "changed by its owner"),
    Failed => ("失败", "failed"),
    BillerSaidDelivered => ("缴费单位称已到账", "the biller said delivered"),
    BillerSaidFailed => ("缴费单位称未到账", "the biller said not delivered"),
    FollowUpWithBiller => (
        "与已有结果矛盾，未做任何变更；请与缴费单位核实",
        "contradicts the outcome on record; nothing changed; follow up with the biller",
    ),
    NoOutcomeForADay => (
        "缴费单位一天未给结果，款项仍已扣除；请与缴费单位核实",
        "no outcome from the biller for a day; the money stays charged; ask the biller",
    ),
    Off => ("已关闭", "off"),
    IdMismatch => ("证件号码不符", "identity document number did not match"),
    IdChecked => ("已核对证件", "identity document checked"),
    ReversedMeanwhile => (
        "已驳回：该笔已退款或冲正",
        "rejected: the payment was refunded or corrected already",
    ),
    AlreadyClosed => (
        "账户已销户，未退款",
        "account already closed: nothing paid out",
    ),
    ReplacedAtLogin => ("新登录时替换", "replaced at a new login"),
    RemovedOnProfile => ("在个人资料页移除", "removed on the profile page"),
    SelfService => ("本人在网站办理", "self-service in the portal"),
    DemoData => ("演示数据", "demo data"),
    SelfServiceRaised => (
        "本人在网站办理，已验证查询密码",
        "self-service in the portal, raised with the query password",
    ),
    SelfServiceConfirmed => (
        "本人在网站设置，已验证查询密码",
        "self-service in the portal, confirmed with the query password",
    ),
    AutomaticTopUp => ("自动充值（本人设置）", "automatic top-up (the holder's setting)"),
    EndOfShift => ("交班", "end of shift"),
    FinanceDownload => ("财务下载", "finance download"),
    TerminalSetUp => (
        "用设备密钥设置网页终端",
        "web terminal set up with the device credential",
    ),
    TerminalLeft => (
        "工作人员在终端上登录后退出终端模式",
        "web terminal ended at the terminal with a staff login",
    ),
    EnrolmentByLink => ("通过一次性链接开通", "enrolment by one-time link"),
    CashAtCounter => ("在服务中心交现金", "cash at the counter"),
    NoAccount => ("没有账户", "no account"),
    CredentialsToEnd => (
        "密码和验证器将作废；发一次性开通链接",
        "password and second factor to be ended; one-time enrolment link",
    ),
}

/// The facts of a target, a before or an after. Empty is stored as the empty text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditText(pub Vec<Fact>);

impl From<Fact> for AuditText {
    fn from(fact: Fact) -> Self {
        AuditText(vec![fact])
    }
}

impl AuditText {
    pub fn none() -> Self {
        AuditText(Vec::new())
    }

    /// These facts and then `fact`.
    pub fn and(mut self, fact: Fact) -> Self {
        self.0.push(fact);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A stored column back as facts; text from before this form (or none) as one `Text`.
    pub fn read(stored: &str) -> AuditText {
        if stored.is_empty() {
            return AuditText::none();
        }
        serde_json::from_str::<Vec<Fact>>(stored)
            .map(AuditText)
            .unwrap_or_else(|_| Fact::Text(stored.to_string()).into())
    }

    /// The text kept in the audit table's column.
    pub fn stored(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&self.0).unwrap_or_default()
        }
    }

    /// A stored column in the reader's language: facts in their sentences, anything else (a
    /// record from before, a reason as typed) as it is.
    pub fn show(stored: &str, en: bool) -> String {
        Self::read(stored).text(en)
    }

    /// The facts in English (`en`) or Chinese, one after another.
    pub fn text(&self, en: bool) -> String {
        let parts: Vec<String> = self.0.iter().map(|f| f.text(en)).collect();
        parts.join(if en { "; " } else { "；" })
    }
}

fn pick(en: bool, zh: String, english: String) -> String {
    if en { english } else { zh }
}

/// "2026-11-25 12:30" in campus time (UTC+8), or the text as it is.
fn at(rfc3339: &str) -> String {
    crate::model::campus_time(rfc3339)
}

impl Fact {
    /// The fact as a phrase of the audit log, in English (`en`) or Chinese.
    pub fn text(&self, en: bool) -> String {
        use Fact::*;
        match self {
            Holder(no) => pick(en, format!("持卡人 {no}"), format!("holder {no}")),
            Holders(nos) => pick(
                en,
                format!("{} 名持卡人：{}", nos.len(), nos.join("、")),
                format!("{} holder(s): {}", nos.len(), nos.join(", ")),
            ),
            Card(no) => pick(en, format!("卡 {no}"), format!("card {no}")),
            Device(code) => pick(en, format!("设备 {code}"), format!("device {code}")),
            Staff(name) => pick(en, format!("工作人员 {name}"), format!("staff {name}")),
            Merchant(code) => pick(en, format!("商户 {code}"), format!("merchant {code}")),
            Order(no) => pick(en, format!("充值订单 {no}"), format!("top-up order {no}")),
            Entry(id) => pick(en, format!("流水 #{id}"), format!("entry #{id}")),
            Request(id) => pick(en, format!("申请 #{id}"), format!("request #{id}")),
            Bill(id) => pick(en, format!("账单 #{id}"), format!("bill #{id}")),
            Purchase {
                utility,
                quantity,
                account,
            } => {
                use crate::model::Utility::*;
                match utility {
                    Electricity => pick(
                        en,
                        format!("{account} 电费 {quantity} 度"),
                        format!("electricity for {account}: {quantity} kWh"),
                    ),
                    Water => pick(
                        en,
                        format!("{account} 水费 {quantity} 吨"),
                        format!("water for {account}: {quantity} t"),
                    ),
                    Network => pick(
                        en,
                        format!("网络账号 {account} {quantity} 个月"),
                        format!("network account {account}: {quantity} month(s)"),
                    ),
                }
            }
            Announcement(id) => pick(en, format!("公告 #{id}"), format!("announcement #{id}")),
            Receipt(no) => pick(en, format!("收据 {no}"), format!("receipt {no}")),
            Reference(r) => pick(en, format!("转账参考号 {r}"), format!("reference {r}")),
            Room(r) => pick(en, format!("宿舍 {r}"), format!("room {r}")),
            Shift(name) => pick(en, format!("{name} 的班次"), format!("shift of {name}")),
            CampusProfile => pick(en, "校园信息".into(), "campus profile".into()),
            Period(from, to) => pick(en, format!("{from} 至 {to}"), format!("{from} to {to}")),
            Phone(key, name) => match name {
                Some(name) => pick(
                    en,
                    format!("手机 {key}（{name}）"),
                    format!("phone {key} ({name})"),
                ),
                None => pick(en, format!("手机 {key}"), format!("phone {key}")),
            },
            CardStatus(s) => card_status(*s, en),
            AccountStatus(s) => account_status(*s, en),
            PurchaseStatus(s) => purchase_status(*s, en),
            Role(r) => pick(
                en,
                format!("角色：{}", role(*r, false)),
                format!("role {}", role(*r, true)),
            ),
            InUse(true) => pick(en, "启用".into(), "active".into()),
            InUse(false) => pick(en, "停用".into(), "inactive".into()),
            Amount(m) => pick(en, format!("金额 {m}"), format!("amount {m}")),
            Credit(m) => format!("+{m}"),
            Balance(m) => pick(en, format!("余额 {m}"), format!("balance {m}")),
            Fee(m) => pick(en, format!("工本费 {m}"), format!("fee {m}")),
            PaidOut(m) => pick(en, format!("退还 {m}"), format!("paid out {m}")),
            CashCounted(m) => pick(en, format!("清点现金 {m}"), format!("counted {m}")),
            Difference(m) => pick(en, format!("差额 {m}"), format!("difference {m}")),
            Limits { single, daily } => pick(
                en,
                format!("单笔限额 {single}，每日限额 {daily}"),
                format!("single {single}, daily {daily}"),
            ),
            Thresholds { correction, cash } => pick(
                en,
                format!("冲正超过 {correction}、现金充值超过 {cash} 须两人办理"),
                format!("corrections above {correction}; cash top-ups above {cash}"),
            ),
            AutoTopup {
                threshold,
                amount,
                card,
            } => pick(
                en,
                format!("余额低于 {threshold} 时从 {card} 充值 {amount}"),
                format!("below {threshold} add {amount} from {card}"),
            ),
            LockedUntil(t) => pick(
                en,
                format!("锁定至 {}", at(t)),
                format!("locked until {}", at(t)),
            ),
            Until(t) => pick(en, format!("有效至 {}", at(t)), format!("until {}", at(t))),
            PayoutAccount(masked) => pick(
                en,
                format!("退款账户 {masked}"),
                format!("payout account {masked}"),
            ),
            MerchantDetails {
                name_zh,
                name_en,
                category: c,
                place,
            } => pick(
                en,
                format!("{name_zh} / {name_en}（{}），{place}", category(*c, false)),
                format!("{name_zh} / {name_en} ({}) at {place}", category(*c, true)),
            ),
            DeviceAt(kind, place) => pick(
                en,
                format!("{}，{place}", device_kind(*kind, false)),
                format!("{} at {place}", device_kind(*kind, true)),
            ),
            PublicKey(prefix) => pick(
                en,
                format!("新公钥 {prefix}…"),
                format!("new public key {prefix}…"),
            ),
            Field(name, value) => format!("{name}: {value}"),
            Count(what, n) => count(*what, *n, en),
            For(action) => pick(
                en,
                format!("办理：{}", action.as_str()),
                format!("for {}", action.as_str()),
            ),
            LinkValidHours(h) => pick(
                en,
                format!("已发一次性开通链接，{h} 小时内有效"),
                format!("one-time enrolment link, valid {h} hours"),
            ),
            NewAccount(name) => pick(
                en,
                format!("新账户“{name}”"),
                format!("new account \"{name}\""),
            ),
            TakenBy(name) => pick(en, format!("经办：{name}"), format!("taken by {name}")),
            Approved(id) => pick(
                en,
                format!("已批准申请 #{id}"),
                format!("approved request #{id}"),
            ),
            Rejected(id) => pick(
                en,
                format!("已驳回申请 #{id}"),
                format!("request #{id} rejected"),
            ),
            Said(p) => {
                let (zh, english) = p.text();
                pick(en, zh.into(), english.into())
            }
            Command(command, Some(user)) => pick(
                en,
                format!("命令行 {command}，由 {user} 运行"),
                format!("command line: {command}, run by {user}"),
            ),
            Command(command, None) => pick(
                en,
                format!("命令行 {command}，运行者不明"),
                format!("command line: {command}, run by an unknown user"),
            ),
            AtKiosk(code) => pick(
                en,
                format!("本人在自助终端 {code} 办理"),
                format!("self-service at kiosk {code}"),
            ),
            Text(t) => t.clone(),
        }
    }
}

fn count(what: Counted, n: i64, en: bool) -> String {
    match what {
        Counted::Enrolled => pick(en, format!("已建档 {n} 人"), format!("{n} enrolled")),
        Counted::SessionsEnded => pick(
            en,
            format!("结束了 {n} 个登录"),
            format!("{n} sessions ended"),
        ),
        Counted::CashTopups => pick(en, format!("现金充值 {n} 笔"), format!("{n} cash top-ups")),
        Counted::PayoutsWithAccounts => pick(
            en,
            format!("{n} 笔退款，含完整银行账号"),
            format!("{n} payouts with whole bank accounts"),
        ),
        Counted::WrongQueryPasswords => pick(
            en,
            format!("查询密码连续错误 {n} 次"),
            format!("{n} wrong query passwords"),
        ),
        Counted::FailedStaffLogins => pick(
            en,
            format!("连续 {n} 次登录失败"),
            format!("{n} failed logins"),
        ),
        Counted::BillsIssued => pick(en, format!("开出账单 {n} 张"), format!("{n} bills issued")),
        Counted::RoomsAdded => pick(en, format!("新增宿舍 {n} 间"), format!("{n} rooms added")),
        Counted::RoomsInList => pick(en, format!("名单 {n} 间"), format!("{n} rooms in the list")),
    }
}

fn card_status(s: CardStatus, en: bool) -> String {
    let (zh, english) = match s {
        CardStatus::Active => ("正常", "active"),
        CardStatus::Lost => ("已挂失", "lost"),
        CardStatus::Void => ("已作废", "void"),
        CardStatus::Cancelled => ("已注销", "cancelled"),
    };
    pick(en, zh.into(), english.into())
}

fn purchase_status(s: crate::model::PurchaseStatus, en: bool) -> String {
    use crate::model::PurchaseStatus::*;
    let (zh, english) = match s {
        Pending => ("缴费处理中", "purchase pending"),
        Delivered => ("缴费已到账", "purchase delivered"),
        Refunded => ("缴费未到账，已退款", "purchase not delivered, refunded"),
    };
    pick(en, zh.into(), english.into())
}

fn account_status(s: AccountStatus, en: bool) -> String {
    let (zh, english) = match s {
        AccountStatus::Active => ("账户正常", "account active"),
        AccountStatus::Frozen => ("账户冻结", "account frozen"),
        AccountStatus::Closed => ("账户已销户", "account closed"),
    };
    pick(en, zh.into(), english.into())
}

fn role(r: StaffRole, en: bool) -> &'static str {
    match (r, en) {
        (StaffRole::Operator, false) => "柜台操作员",
        (StaffRole::Admin, false) => "管理员",
        (StaffRole::Auditor, false) => "审计员",
        (StaffRole::Merchant, false) => "商户",
        (r, true) => r.as_str(),
    }
}

fn category(c: MerchantCategory, en: bool) -> &'static str {
    match (c, en) {
        (MerchantCategory::Canteen, false) => "食堂",
        (MerchantCategory::Shop, false) => "超市商店",
        (MerchantCategory::WaterBar, false) => "水吧",
        (MerchantCategory::Sports, false) => "运动场馆",
        (MerchantCategory::Library, false) => "图书馆",
        (MerchantCategory::Clinic, false) => "校医院",
        (MerchantCategory::Print, false) => "打印复印",
        (MerchantCategory::Other, false) => "其他",
        (c, true) => c.as_str(),
    }
}

fn device_kind(k: DeviceKind, en: bool) -> &'static str {
    match (k, en) {
        (DeviceKind::Pos, false) => "消费机",
        (DeviceKind::MealTable, false) => "自助餐台",
        (DeviceKind::Gate, false) => "门禁",
        (DeviceKind::Attendance, false) => "考勤机",
        (DeviceKind::Kiosk, false) => "自助终端",
        (k, true) => k.as_str(),
    }
}

impl Fact {
    /// This one fact as stored: for a reason the system writes itself.
    pub fn stored(self) -> String {
        AuditText::from(self).stored()
    }
}

impl Phrase {
    /// This phrase as a stored reason.
    pub fn stored(self) -> String {
        Fact::Said(self).stored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(yuan: i64) -> Money {
        Money::from_fen(yuan * 100)
    }

    #[test]
    fn facts_are_stored_as_json_and_shown_in_either_language() {
        let cases: Vec<(AuditText, &str, &str, &str)> = vec![
            (
                AuditText::from(Fact::Card("31000010".into()))
                    .and(Fact::CardStatus(CardStatus::Active)),
                r#"[{"card":"31000010"},{"card_status":"active"}]"#,
                "卡 31000010；正常",
                "card 31000010; active",
            ),
            (
                AuditText::from(Fact::AccountStatus(AccountStatus::Frozen))
                    .and(Fact::Balance(Money::from_fen(12345))),
                r#"[{"account_status":"frozen"},{"balance":12345}]"#,
                "账户冻结；余额 ¥123.45",
                "account frozen; balance ¥123.45",
            ),
            (
                AuditText::from(Fact::Limits {
                    single: y(50),
                    daily: y(200),
                }),
                r#"[{"limits":{"single":5000,"daily":20000}}]"#,
                "单笔限额 ¥50.00，每日限额 ¥200.00",
                "single ¥50.00, daily ¥200.00",
            ),
            (
                AuditText::from(Fact::Said(Phrase::AwaitingSecondStaff)),
                r#"[{"said":"awaiting_second_staff"}]"#,
                "待另一名工作人员复核",
                "awaiting a second staff member",
            ),
            (
                AuditText::from(Fact::LockedUntil("2026-12-01T04:30:00+00:00".into())),
                r#"[{"locked_until":"2026-12-01T04:30:00+00:00"}]"#,
                "锁定至 2026-12-01 12:30",
                "locked until 2026-12-01 12:30",
            ),
            (
                AuditText::from(Fact::Holders(vec!["2026001".into(), "2026002".into()])),
                r#"[{"holders":["2026001","2026002"]}]"#,
                "2 名持卡人：2026001、2026002",
                "2 holder(s): 2026001, 2026002",
            ),
            (
                AuditText::from(Fact::Count(Counted::CashTopups, 3)).and(Fact::Credit(y(30))),
                r#"[{"count":["cash_topups",3]},{"credit":3000}]"#,
                "现金充值 3 笔；+¥30.00",
                "3 cash top-ups; +¥30.00",
            ),
        ];
        for (text, stored, zh, en) in cases {
            assert_eq!(text.stored(), stored);
            assert_eq!(AuditText::show(stored, false), zh, "{stored}");
            assert_eq!(AuditText::show(stored, true), en, "{stored}");
        }
    }

    #[test]
    fn nothing_is_stored_as_empty_and_older_sentences_are_shown_as_they_are() {
        assert_eq!(AuditText::none().stored(), "");
        for legacy in [
            "",
            "card 31000010 active; fee 20.00",
            "[not json",
            "忘记密码",
            "[1, 2]",
        ] {
            assert_eq!(AuditText::show(legacy, false), legacy);
            assert_eq!(AuditText::show(legacy, true), legacy);
        }
    }

    /// The names of statuses, roles, categories and device kinds are the ones the pages use
    /// (`app/locales/zh.json`), so an audit record says what the rest of the page says.
    #[test]
    fn names_match_the_pages_labels() {
        let zh: serde_json::Value =
            serde_json::from_str(include_str!("../locales/zh.json")).expect("zh.json");
        let label = |group: &str, key: &str| zh[group][key].as_str().unwrap_or("?").to_string();
        for s in [
            CardStatus::Active,
            CardStatus::Lost,
            CardStatus::Void,
            CardStatus::Cancelled,
        ] {
            assert_eq!(
                card_status(s, false),
                label("portal", &format!("status_{s}"))
            );
        }
        for r in StaffRole::ALL {
            assert_eq!(role(*r, false), label("staff", &format!("role_{r}")));
        }
        for c in MerchantCategory::ALL {
            assert_eq!(category(*c, false), label("cat", c.as_str()));
        }
        for k in DeviceKind::ALL {
            assert_eq!(device_kind(*k, false), label("access", k.as_str()));
        }
    }

    #[test]
    fn every_phrase_has_both_sentences() {
        for p in Phrase::ALL {
            let (zh, en) = p.text();
            assert!(!zh.is_empty() && !en.is_empty() && zh != en, "{p:?}");
            assert!(!zh.is_ascii(), "{p:?} in Chinese: {zh}");
        }
    }
}
