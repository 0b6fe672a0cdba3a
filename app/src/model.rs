//! Types shared by the server and the browser. Nothing here holds a secret.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in fen (分): 1 yuan = 100 fen. Integer only; arithmetic is checked so
/// an overflow is an error, never a wrap.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
// Stored as its fen in a BIGINT (INTEGER on SQLite) column.
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_fen(fen: i64) -> Self {
        Money(fen)
    }

    /// Whole yuan, for constants: `Money::yuan(50)` is ¥50.00.
    pub const fn yuan(yuan: i64) -> Self {
        Money(yuan * 100)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn checked_neg(self) -> Option<Money> {
        self.0.checked_neg().map(Money)
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Parses an amount a person typed in yuan: "12", "12.5", "12.50", "¥12.50". At most two
    /// decimals; no sign, no exponent, no thousands separators.
    pub fn parse_yuan(input: &str) -> Result<Money, MoneyParseError> {
        let s = input.trim().trim_start_matches(['¥', '￥']).trim();
        if s.is_empty() {
            return Err(MoneyParseError::Empty);
        }
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(MoneyParseError::NotANumber);
        }
        if frac.len() > 2 {
            return Err(MoneyParseError::TooManyDecimals);
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyParseError::TooLarge)?;
        let mut frac_fen: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| MoneyParseError::NotANumber)?
        };
        if frac.len() == 1 {
            frac_fen *= 10;
        }
        whole
            .checked_mul(100)
            .and_then(|f| f.checked_add(frac_fen))
            .map(Money)
            .ok_or(MoneyParseError::TooLarge)
    }

    /// "12.50" (no currency sign), for inputs and CSV.
    pub fn yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Money {
    /// "¥12.50", "-¥3.00".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyParseError {
    #[error("no amount given")]
    Empty,
    #[error("not an amount of money")]
    NotANumber,
    #[error("at most two decimals (fen)")]
    TooManyDecimals,
    #[error("amount too large")]
    TooLarge,
}

/// A text in both languages of the portal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Localized {
    pub zh: String,
    pub en: String,
}

impl Localized {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Localized {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The text for a language tag ("zh", "en"); Chinese is the default.
    pub fn get(&self, lang: &str) -> &str {
        if lang == "en" { &self.en } else { &self.zh }
    }
}

/// A place where the card office serves people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePoint {
    pub name: Localized,
    pub location: Localized,
}

/// A telephone line people can call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hotline {
    pub label: Localized,
    pub phone: String,
}

/// Opening hours: for which days, and the periods ("09:00–13:00").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningHours {
    pub days: Localized,
    /// The days of the week it covers, 1 for Monday to 7 for Sunday (`opening::hours_on`);
    /// empty in a profile saved before they were asked for.
    #[serde(default)]
    pub weekdays: Vec<u8>,
    pub periods: Vec<String>,
}

/// Opening on days out of the ordinary (a public holiday, the winter break): from the first
/// to the last day (campus dates, "YYYY-MM-DD"), with its periods; none means closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolidayHours {
    pub name: Localized,
    pub from: String,
    pub until: String,
    pub periods: Vec<String>,
}

/// A way to open the virtual card (an app, a mini program).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardApp {
    pub name: Localized,
    pub how: Localized,
}

/// Every campus-specific fact. Stored in the database, edited by administrators, read by the
/// public pages; nothing campus-specific is written into a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampusProfile {
    /// The university ("深圳职业技术学院").
    pub campus_name: Localized,
    /// What the card is called ("校园卡").
    pub card_name: Localized,
    /// The name of the rotating QR code ("深职通码").
    pub qr_code_name: Localized,
    /// The office that runs the card ("校园一卡通服务中心").
    pub office_name: Localized,
    pub service_points: Vec<ServicePoint>,
    pub hours: Vec<OpeningHours>,
    /// Said under the hours ("holiday hours are announced separately").
    pub hours_note: Localized,
    /// Holiday openings, instead of `hours` on those days.
    #[serde(default)]
    pub holidays: Vec<HolidayHours>,
    pub hotlines: Vec<Hotline>,
    /// The card office's own line, for failed automatic top-ups and account problems.
    pub office_phone: String,
    pub apps: Vec<CardApp>,
    pub default_single_limit: Money,
    pub default_daily_limit: Money,
    pub max_single_limit: Money,
    pub max_daily_limit: Money,
    /// A correction of an erroneous payment above this amount needs a second staff member.
    #[serde(default = "default_approval_above")]
    pub correction_approval_above: Money,
    /// A cash top-up at the counter above this amount needs a second staff member.
    #[serde(default = "default_cash_approval_above")]
    pub cash_approval_above: Money,
    /// How many days a student's phone stays remembered for the code (1 to 180).
    #[serde(default = "default_phone_binding_days")]
    pub phone_binding_days: i64,
    /// A code that a remembered phone made offline pays at most this without the consumption
    /// password; above it, the password is asked for.
    #[serde(default = "default_offline_code_max")]
    pub offline_code_max: Money,
}

/// The days a campus may remember a phone for.
pub const PHONE_BINDING_DAYS: std::ops::RangeInclusive<i64> = 1..=180;

fn default_phone_binding_days() -> i64 {
    30
}

fn default_offline_code_max() -> Money {
    Money::yuan(50)
}

fn default_approval_above() -> Money {
    Money::yuan(100)
}

fn default_cash_approval_above() -> Money {
    Money::yuan(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yuan_amounts() {
        assert_eq!(Money::parse_yuan("12"), Ok(Money::from_fen(1200)));
        assert_eq!(Money::parse_yuan("12.5"), Ok(Money::from_fen(1250)));
        assert_eq!(Money::parse_yuan("¥0.07"), Ok(Money::from_fen(7)));
        assert_eq!(Money::parse_yuan(" 3.00 "), Ok(Money::from_fen(300)));
        assert_eq!(Money::parse_yuan(""), Err(MoneyParseError::Empty));
        assert_eq!(Money::parse_yuan("-1"), Err(MoneyParseError::NotANumber));
        assert_eq!(Money::parse_yuan("1e3"), Err(MoneyParseError::NotANumber));
        assert_eq!(Money::parse_yuan(".5"), Err(MoneyParseError::NotANumber));
        assert_eq!(
            Money::parse_yuan("1.234"),
            Err(MoneyParseError::TooManyDecimals)
        );
        assert_eq!(
            Money::parse_yuan("99999999999999999999"),
            Err(MoneyParseError::TooLarge)
        );
    }

    #[test]
    fn formats_money() {
        assert_eq!(Money::from_fen(1250).to_string(), "¥12.50");
        assert_eq!(Money::from_fen(-300).to_string(), "-¥3.00");
        assert_eq!(Money::from_fen(7).yuan_string(), "0.07");
        assert_eq!(Money::from_fen(i64::MIN).checked_neg(), None);
    }
}

/// "2026-11-25 12:30" in campus time (UTC+8) from an RFC 3339 timestamp.
pub fn campus_time(rfc3339: &str) -> String {
    let tz = chrono::FixedOffset::east_opt(8 * 3600);
    match (chrono::DateTime::parse_from_rfc3339(rfc3339), tz) {
        (Ok(t), Some(tz)) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        _ => rfc3339.to_string(),
    }
}

/// A closed set of values stored and sent as lower-case text.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // Stored as its text in a TEXT column on both backends, and decoded once here: a
        // value the enum does not know is an error, never a string compared further on.
        #[cfg(feature = "ssr")]
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'static str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'static str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Self::parse(text)
                    .ok_or_else(|| format!("unexpected {}: {text}", stringify!($name)).into())
            }
        }
    };
}

text_enum!(
    /// What a journal entry did to a balance.
    EntryKind { Payment => "payment", Topup => "topup", Refund => "refund", Correction => "correction", Payout => "payout", Fee => "fee", Purchase => "purchase" }
);
impl EntryKind {
    /// Whether the counter may correct an entry of this kind (credit its amount back, once):
    /// a sale at a till, or a fee the campus charged (a replacement card's fee, a bill paid).
    /// The counter's service and the holder page's form both ask here.
    pub fn correctable(self) -> bool {
        matches!(self, EntryKind::Payment | EntryKind::Fee)
    }
}

text_enum!(
    /// How money came in.
    Channel { Bank => "bank", Wechat => "wechat", Cash => "cash", Auto => "auto" }
);
text_enum!(
    CardStatus { Active => "active", Lost => "lost", Void => "void", Cancelled => "cancelled" }
);
text_enum!(
    AccountStatus { Active => "active", Frozen => "frozen", Closed => "closed" }
);
text_enum!(
    HolderKind { Student => "student", Faculty => "faculty" }
);
text_enum!(
    /// The ID document given at enrolment.
    IdDocKind { ResidentId => "resident_id", Passport => "passport", HkMacauPermit => "hk_macau_permit" }
);
text_enum!(
    MerchantCategory { Canteen => "canteen", Shop => "shop", WaterBar => "water_bar", Sports => "sports", Library => "library", Clinic => "clinic", Print => "print", Other => "other" }
);
text_enum!(
    /// What money went on, in the monthly chart: a merchant's category, or 缴费 (a purchase
    /// from a biller, less its refund).
    SpendCategory { Canteen => "canteen", Shop => "shop", WaterBar => "water_bar", Sports => "sports", Library => "library", Clinic => "clinic", Print => "print", Other => "other", Utilities => "utilities" }
);
impl SpendCategory {
    /// The merchant category it is (all but 缴费): the same stored text.
    pub fn merchant(self) -> Option<MerchantCategory> {
        MerchantCategory::parse(self.as_str())
    }
}
text_enum!(
    DeviceKind { Pos => "pos", MealTable => "meal_table", Gate => "gate", Attendance => "attendance", Kiosk => "kiosk" }
);
text_enum!(
    /// Where a top-up order stands with the payment provider.
    TopupStatus { Pending => "pending", Paid => "paid", Failed => "failed" }
);
text_enum!(
    /// Who an announcement is for: everyone (the home page too), the students, or the holders
    /// of one department.
    Audience { Everyone => "everyone", Students => "students", Department => "department" }
);
text_enum!(
    /// What a biller sells: a dorm room's electricity (kWh) and water (tonnes), and time on
    /// the campus network (days; sold by the month).
    Utility { Electricity => "electricity", Water => "water", Network => "network" }
);
text_enum!(
    /// Where a purchase from a biller stands: charged and waiting for the biller's outcome,
    /// delivered, or refunded after the biller failed to deliver.
    PurchaseStatus { Pending => "pending", Delivered => "delivered", Refunded => "refunded" }
);
text_enum!(
    /// A difference between our purchases and a biller's records, in a biller's settlement
    /// (`domain::settlement`).
    DifferenceKind {
        Pending => "pending",
        MissingAtBiller => "missing_at_biller",
        FailedButCharged => "failed_but_charged",
        DeliveredButRefunded => "delivered_but_refunded",
        AmountDiffers => "amount_differs",
        UnknownToUs => "unknown_to_us",
        ListedTwice => "listed_twice"
    }
);
text_enum!(
    /// What a notice in the portal's inbox is about (`server::domain::notices` decides which
    /// events make one).
    NoticeKind {
        Payment => "payment",
        LowBalance => "low_balance",
        Topup => "topup",
        AutoTopupFailed => "auto_topup_failed",
        CardLost => "card_lost",
        CardLifted => "card_lifted",
        CardFound => "card_found",
        CardReplaced => "card_replaced",
        PasswordChanged => "password_changed",
        PhoneBound => "phone_bound",
        AccountFrozen => "account_frozen",
        AccountUnfrozen => "account_unfrozen",
        BillIssued => "bill_issued",
        PurchaseRefunded => "purchase_refunded",
        NewBrowser => "new_browser"
    }
);
impl NoticeKind {
    /// Security notices: about the card, the passwords, a phone, a login from a new browser or
    /// the account being stopped.
    /// They cannot be switched off (and, once notices go out by e-mail and push, they ignore
    /// quiet hours).
    pub fn security(self) -> bool {
        matches!(
            self,
            NoticeKind::CardLost
                | NoticeKind::CardLifted
                | NoticeKind::CardFound
                | NoticeKind::CardReplaced
                | NoticeKind::PasswordChanged
                | NoticeKind::PhoneBound
                | NoticeKind::AccountFrozen
                | NoticeKind::AccountUnfrozen
                | NoticeKind::NewBrowser
        )
    }
}

text_enum!(
    /// Where a bill (待缴费) stands.
    BillStatus { Unpaid => "unpaid", Paid => "paid", Cancelled => "cancelled" }
);
text_enum!(
    StaffRole { Operator => "operator", Admin => "admin", Auditor => "auditor", Merchant => "merchant" }
);

#[cfg(test)]
mod enum_tests {
    use super::*;

    #[test]
    fn every_merchant_category_is_a_spend_category_and_only_utilities_is_no_merchants() {
        for m in MerchantCategory::ALL {
            let spend = SpendCategory::parse(m.as_str());
            assert_eq!(spend.and_then(SpendCategory::merchant), Some(*m), "{m}");
        }
        let not_merchants: Vec<SpendCategory> = SpendCategory::ALL
            .iter()
            .copied()
            .filter(|s| s.merchant().is_none())
            .collect();
        assert_eq!(not_merchants, vec![SpendCategory::Utilities]);
    }

    #[test]
    fn audit_actions_are_area_dot_verb_and_each_code_is_one_action() {
        let mut seen = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            let code = action.as_str();
            assert_eq!(AuditAction::parse(code), Some(*action));
            assert!(seen.insert(code), "{code} twice");
            let (area, verb) = code.split_once('.').expect(code);
            assert!(
                [area, verb].iter().all(
                    |p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                ),
                "{code}"
            );
        }
        assert_eq!(AuditAction::parse("card.unknown"), None);
        for kind in ActorKind::ALL {
            assert_eq!(ActorKind::parse(kind.as_str()), Some(*kind));
        }
    }

    #[test]
    fn text_enums_round_trip() {
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(*kind));
            assert_eq!(
                kind.correctable(),
                matches!(kind, EntryKind::Payment | EntryKind::Fee),
                "{kind:?}"
            );
        }
        assert_eq!(
            MerchantCategory::parse("water_bar"),
            Some(MerchantCategory::WaterBar)
        );
        assert_eq!(CardStatus::parse("stolen"), None);
    }
}

text_enum!(
    /// Why a terminal refused a payment or a gate refused entry. Machine-readable; each has a
    /// sentence a cashier can read in both languages (`Decline::text`).
    Decline {
        InsufficientBalance => "insufficient_balance",
        CardLost => "card_lost",
        CardVoid => "card_void",
        AccountFrozen => "account_frozen",
        AccountClosed => "account_closed",
        PasswordRequired => "password_required",
        WrongPassword => "wrong_password",
        PasswordLocked => "password_locked",
        LimitExceeded => "limit_exceeded",
        UnknownCard => "unknown_card",
        CodeExpired => "code_expired",
        CodeUsed => "code_used",
        CodeInvalid => "code_invalid",
        InvalidAmount => "invalid_amount",
        NotAllowedHere => "not_allowed_here",
        NoSuchPayment => "no_such_payment",
        AlreadyRefunded => "already_refunded",
        RefundWindowPassed => "refund_window_passed",
        WrongQueryPassword => "wrong_query_password",
        QueryPasswordLocked => "query_password_locked",
        NewPasswordRejected => "new_password_rejected",
    }
);

impl Decline {
    /// (Chinese, English) for the terminal's screen.
    pub fn text(self) -> (&'static str, &'static str) {
        match self {
            Decline::InsufficientBalance => ("余额不足", "Insufficient balance"),
            Decline::CardLost => ("此卡已挂失", "Card reported lost"),
            Decline::CardVoid => ("此卡已作废", "Card is void"),
            Decline::AccountFrozen => ("账户已冻结", "Account frozen"),
            Decline::AccountClosed => ("账户已销户", "Account closed"),
            Decline::PasswordRequired => (
                "超过限额，请输入消费密码",
                "Over the limit: enter the consumption password",
            ),
            Decline::WrongPassword => ("消费密码错误", "Wrong consumption password"),
            Decline::PasswordLocked => (
                "消费密码已锁定，请到服务中心解锁",
                "Consumption password locked: visit the service centre",
            ),
            Decline::LimitExceeded => {
                ("超过学校规定的消费上限", "Over the campus spending maximum")
            }
            Decline::UnknownCard => ("无法识别此卡", "Unknown card"),
            Decline::CodeExpired => ("二维码已过期，请刷新", "Code expired: refresh it"),
            Decline::CodeUsed => ("二维码已使用，请刷新", "Code already used: refresh it"),
            Decline::CodeInvalid => ("无效的二维码", "Invalid code"),
            Decline::InvalidAmount => ("金额无效", "Invalid amount"),
            Decline::NotAllowedHere => ("此设备不能办理该业务", "Not allowed on this device"),
            Decline::NoSuchPayment => ("本商户没有这笔消费", "No such payment at this merchant"),
            Decline::AlreadyRefunded => ("这笔消费已退款", "This payment was already refunded"),
            Decline::RefundWindowPassed => (
                "已超过退款期限，请到服务中心办理",
                "Too late to refund here: visit the service centre",
            ),
            Decline::WrongQueryPassword => ("查询密码错误", "Wrong query password"),
            Decline::QueryPasswordLocked => (
                "查询密码已锁定，请稍后再试或到服务中心解锁",
                "Query password locked: try later or visit the service centre",
            ),
            Decline::NewPasswordRejected => (
                "新密码须为6位数字，不能过于简单，不能与旧密码或初始密码相同",
                "New password: 6 digits, not simple, not the old or initial one",
            ),
        }
    }
}

text_enum!(
    /// What an audit record records: one code per kind of action, stored as its text
    /// ("card.replace") and shown in the page's language (`audit_action_label`).
    AuditAction {
        AccountClose => "account.close",
        AccountCloseRejected => "account.close_rejected",
        AccountCloseRequested => "account.close_requested",
        AccountFreeze => "account.freeze",
        AccountPayoutAccount => "account.payout_account",
        AccountSetLimits => "account.set_limits",
        AccountUnfreeze => "account.unfreeze",
        AdminChangeRejected => "admin.change_rejected",
        AdminChangeRequested => "admin.change_requested",
        AnnouncementPublish => "announcement.publish",
        AnnouncementWithdraw => "announcement.withdraw",
        BillCancel => "bill.cancel",
        BillIssue => "bill.issue",
        BillPay => "bill.pay",
        CampusProfile => "campus.profile",
        CampusThresholds => "campus.thresholds",
        CardCancel => "card.cancel",
        CardFound => "card.found",
        CardFoundReturned => "card.found_returned",
        CardIssue => "card.issue",
        CardLiftLost => "card.lift_lost",
        CardReplace => "card.replace",
        CardReportLost => "card.report_lost",
        CashCount => "cash.count",
        DeviceCreate => "device.create",
        DeviceIssueCredential => "device.issue_credential",
        DeviceRevokeCredential => "device.revoke_credential",
        DeviceRotateCredential => "device.rotate_credential",
        HolderChangeConsumptionPassword => "holder.change_consumption_password",
        HolderChangeQueryPassword => "holder.change_query_password",
        HolderEndOtherSessions => "holder.end_other_sessions",
        HolderEnrol => "holder.enrol",
        HolderIdMismatch => "holder.id_mismatch",
        HolderLocked => "holder.locked",
        HolderPhoneBound => "holder.phone_bound",
        HolderPhoneRemoved => "holder.phone_removed",
        LockoutLiftConsumption => "lockout.lift_consumption",
        LockoutLiftQuery => "lockout.lift_query",
        MerchantCreate => "merchant.create",
        MerchantUpdate => "merchant.update",
        MoneyCashRejected => "money.cash_rejected",
        MoneyCashRequested => "money.cash_requested",
        MoneyCashTopup => "money.cash_topup",
        MoneyCorrection => "money.correction",
        MoneyCorrectionApproved => "money.correction_approved",
        MoneyCorrectionRequested => "money.correction_requested",
        PasswordResetConsumption => "password.reset_consumption",
        PasswordResetQuery => "password.reset_query",
        StaffCreate => "staff.create",
        StaffEnrolled => "staff.enrolled",
        StaffEnrolmentLink => "staff.enrolment_link",
        StaffLocked => "staff.locked",
        StaffPassword => "staff.password",
        StaffResetCredentials => "staff.reset_credentials",
        StaffUpdate => "staff.update",
        TerminalLeft => "terminal.left",
        TerminalSetUp => "terminal.set_up",
        TopupAutoFailed => "topup.auto_failed",
        TopupAutoRemoved => "topup.auto_removed",
        TopupAutoSettings => "topup.auto_settings",
        TopupResolveFailed => "topup.resolve_failed",
        UtilityAutoBuy => "utility.auto_buy",
        UtilityBind => "utility.bind",
        UtilityPurchase => "utility.purchase",
        UtilityRefund => "utility.refund",
        UtilityConflict => "utility.conflict",
        UtilityOverdue => "utility.overdue",
        RoomsAdd => "rooms.add",
        RoomsRemove => "rooms.remove",
        ReportPayoutsDownload => "report.payouts_download"
    }
);

text_enum!(
    /// Who an audit record names as acting: a staff member, a device, a cardholder, or the
    /// system itself (a scheduled job, a provider's notification).
    ActorKind { Staff => "staff", Device => "device", Holder => "holder", System => "system" }
);
