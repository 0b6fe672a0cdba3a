//! What the student portal sends to the browser. Plain data: no hashes, no ID numbers.

use crate::model::{AccountStatus, CardStatus, EntryKind, MerchantCategory, Money};
use serde::{Deserialize, Serialize};

/// Why a request was refused, as a code the page turns into a sentence in the reader's
/// language. Never says which of login or password was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    /// Unknown login or wrong password: one message for both.
    BadCredentials,
    /// Too many wrong passwords: locked until this time (RFC 3339).
    Locked {
        until: String,
    },
    /// Too many failures from this address: try again after this many seconds.
    Throttled {
        retry_after_secs: i64,
    },
    WrongPassword,
    PasswordFormat,
    PasswordIsInitial,
    PasswordIsPersonal,
    PasswordTooSimple,
    PasswordCommon,
    PasswordsDiffer,
    /// The holder must change the initial password first.
    PasswordChangeRequired,
    CardNotActive,
    CardNotLost,
    NoCard,
    AccountNotActive,
    LimitFormat,
    LimitAboveMaximum {
        max: Money,
    },
    SingleAboveDaily,
    /// Raising a limit needs the query password.
    LimitRaisePassword,
    /// A cross-site or otherwise unacceptable request.
    Forbidden,
    BankCardInvalid,
    TopupChannel,
    /// The campus has no online payment provider: top up at the service centre or a kiosk.
    TopupUnavailable,
    TopupAmount {
        min: Money,
        max: Money,
    },
    AutoThreshold,
    /// The device code and credential typed into a terminal do not match a live device.
    TerminalCredential,
    /// This page needs a browser set up as a terminal.
    TerminalRequired,
    /// The terminal is not the kind of device this needs (a kiosk function on a POS).
    TerminalKind,
    /// This staff member may not end this terminal (an auditor, or another merchant's cashier).
    TerminalLeaveRole,
    ScanEmpty,
    // ---- The card office ----
    /// Wrong username, password or authenticator code: one message for all three.
    StaffBadCredentials,
    /// This authenticator code was used for a login already: wait for the next one.
    TotpReused,
    ReasonRequired,
    /// The ID number typed does not match the one enrolled.
    IdMismatch,
    /// An ID document with fewer than 6 digits (SPEC §4).
    IdDocDigits,
    ChipSerialFormat,
    /// The card number or chip serial belongs to another card.
    CardTaken,
    HasLiveCard,
    FeeAboveBalance,
    NotAPayment,
    AlreadyReversed,
    ApprovalPending,
    ApprovalDecided,
    /// The staff member who asked for a correction cannot approve it.
    SameApprover,
    NothingToResolve,
    AlreadyRecorded,
    UnknownCard,
    UnknownHolder,
    /// A field of an enrolment (or another staff form) is missing or malformed.
    EnrolField {
        field: String,
    },
    DuplicateInFile,
    /// The student number is enrolled with a different name or ID document.
    EnrolConflict,
    CsvHeader {
        column: String,
    },
    CsvLine {
        line: i64,
    },
    ImportEmpty,
    ImportTooLarge {
        max: i64,
    },
    CodeFormat,
    CodeTaken,
    /// Tills and meal tables belong to a merchant; gates, readers and kiosks do not.
    DeviceMerchant,
    StaffPasswordWeak,
    /// Staff cannot change their own role or disable themselves.
    OwnAccount,
    /// A campus profile refused: the field, its row in a list (from 1) and why.
    ProfileInvalid(crate::campus_form::FieldProblem),
    /// The campus profile changed since the form was opened.
    ProfileChanged,
    DateFormat,
    /// A correction awaiting approval or a top-up in flight: settle it before closing.
    PendingMoney,
    /// A staff member still has the password an administrator set.
    StaffPasswordChange,
    /// An enrolment link that was used, has expired, or never existed.
    EnrolmentLink,
    /// This cash top-up would take the operator past the daily cash cap.
    CashCapReached {
        taken: Money,
        cap: Money,
    },
    /// Money would be paid out, and no payout account is recorded for the holder.
    NoPayoutAccount,
    /// A bank account named at closing is not the one recorded for the holder.
    PayoutAccountDiffers,
    /// A closing of this account waits for approval already.
    ClosingPending,
    /// The operator's own large cash top-up still waits for approval: no count yet.
    CashPending,
    /// A cash count that is not an amount from 0 to the maximum, or a note too long.
    CashCountInvalid,
    // ---- Bills (待缴费) ----
    /// The same bill (title, amount, due date) waits unpaid already.
    BillIssuedAlready,
    /// No such bill for this holder.
    NoSuchBill,
    BillPaid,
    BillCancelled,
    /// The balance is less than the bill.
    BillAboveBalance,
    // ---- 缴费: utilities from billers ----
    /// Not a whole number of units from `min` to `max`.
    PurchaseQuantity {
        min: i64,
        max: i64,
    },
    /// Today's payments and purchases leave only `left` of the daily limit.
    PurchaseOverDailyLimit {
        left: Money,
    },
    PurchaseAboveBalance,
    /// No room (or network account) bound to buy for.
    NoUtilityAccount,
    /// The building and room are not on the campus's room list (or the network account is
    /// not one the biller knows).
    UnknownUtilityAccount,
    /// No biller sells this here.
    BillerUnavailable,
    /// This purchase form was used for another purchase already: reload the page.
    PurchaseFormUsed,
    /// An automatic top-up's threshold is not a whole number from `min` to `max`, or it is
    /// not for a room's meter.
    AutoBuyThreshold {
        min: i64,
        max: i64,
    },
    /// A room list with no room in it.
    RoomListEmpty,
    /// A room list may add at most `max` rooms at once.
    RoomListTooLong {
        max: usize,
    },
    /// This line of a room list (counting from 1) is not a building and a room.
    RoomListLine {
        line: usize,
    },
    /// Students have bound this room: it stays on the list until they bind another.
    RoomBound {
        holders: i64,
    },
    // ---- Notices ----
    /// A notice threshold is not an amount from ¥0.01 (¥0 for payments: every payment) to
    /// `max`.
    NoticeAmount {
        max: Money,
    },
    /// Not an e-mail address.
    EmailAddress,
    /// The campus has no mail server configured.
    EmailUnavailable,
    /// A confirmation link was sent a moment ago: ask again after this many seconds.
    EmailTooSoon {
        retry_after_secs: i64,
    },
    /// The server sends no Web Push (it knows no contact for the push services).
    PushUnavailable,
    /// A browser's subscription the server will not push to: not one of the browsers' push
    /// services, or keys that are not a subscription's.
    PushSubscription,
    // ---- Announcements ----
    NoSuchAnnouncement,
    AnnouncementWithdrawn,
}

/// The signed-in cardholder, for the header and the portal's guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderBrief {
    pub name: String,
    pub student_no: String,
    pub must_change_password: bool,
    /// The campus name of the QR code ("深职通码"), for the portal's navigation: carried here
    /// so the layout needs no second loading boundary (which would shift hydration ids).
    pub code_name: crate::model::Localized,
    /// Opened by a remembered phone alone (no logged-in session): only the code page works.
    pub phone_only: bool,
    /// Unread notices, for the bell.
    pub unread: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub id: i64,
    pub at: String,
    pub kind: EntryKind,
    pub amount: Money,
    pub balance_after: Money,
    pub merchant_zh: Option<String>,
    pub merchant_en: Option<String>,
    pub category: Option<MerchantCategory>,
    pub memo: String,
}

/// A top-up order, as the holder sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupView {
    pub order_no: String,
    pub channel: crate::model::Channel,
    pub amount: Money,
    pub status: crate::model::TopupStatus,
    pub failure: String,
    pub at: String,
}

/// The holder's automatic top-up settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoTopupView {
    pub enabled: bool,
    pub threshold: Money,
    pub amount: Money,
    pub card_masked: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupPage {
    /// The order the holder came back with from the pay page, if any.
    pub order: Option<TopupView>,
    pub balance: Money,
    pub orders: Vec<TopupView>,
    pub auto: Option<AutoTopupView>,
    /// Whether the campus takes online payments at all (a payment provider is configured).
    pub online: bool,
    pub min: Money,
    pub max: Money,
}

/// One gate or attendance check, as the holder sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessView {
    pub at: String,
    pub place: String,
    pub kind: crate::model::DeviceKind,
    /// "card" or "code".
    pub method: String,
    pub allowed: bool,
    pub reason: Option<crate::model::Decline>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub name: String,
    pub student_no: String,
    pub balance: Money,
    pub account_status: AccountStatus,
    pub card_no_masked: Option<String>,
    pub card_status: Option<CardStatus>,
    pub single_limit: Money,
    pub daily_limit: Money,
    pub spent_today: Money,
    pub recent: Vec<EntryView>,
    pub consumption_pw_is_initial: bool,
    /// Automatic top-ups that failed and are not resolved yet: shown with the hotline.
    pub auto_topup_failures: Vec<TopupView>,
    /// The card office's phone and the QR code's name, for the notices (carried here so the
    /// notices need no loading boundary of their own).
    pub office_phone: String,
    pub code_name: crate::model::Localized,
    /// Where the holder's card waits when someone handed it in at the service centre.
    pub found_card_at: Option<String>,
    /// Bills (待缴费) waiting to be paid: how many, and their total.
    pub bills_due: i64,
    pub bills_due_amount: Money,
    /// The card office's announcements for this holder, now.
    pub announcements: Vec<AnnouncementView>,
}

/// History filters, as the query string carries them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryFilter {
    /// Inclusive local dates, "YYYY-MM-DD".
    pub from: Option<String>,
    pub to: Option<String>,
    pub kind: Option<EntryKind>,
    pub category: Option<MerchantCategory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub entries: Vec<EntryView>,
    /// Pass back as `before` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Over the filtered rows (all pages): the money that went out (payments, fees), as a
    /// positive amount, and the money that came in (top-ups, refunds), each on its own, so
    /// neither hides the other.
    pub spent: Money,
    pub received: Money,
    pub count: i64,
}

/// Spending (payments less refunds) in one month for one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthSpend {
    pub month: String,
    pub category: crate::model::SpendCategory,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    pub card_no_masked: String,
    pub status: CardStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub single_limit: Money,
    pub daily_limit: Money,
    pub max_single_limit: Money,
    pub max_daily_limit: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub user_agent: String,
    pub ip: String,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub student_no: String,
    pub kind: crate::model::HolderKind,
    pub department: String,
    pub class_name: String,
    pub id_doc_masked: String,
    pub phone_masked: String,
    pub sessions: Vec<SessionInfo>,
    /// Phones remembered for the code.
    pub phones: Vec<PhoneView>,
}

/// A login refused in a browser without the wasm: the number typed and why, for the login page
/// it is sent back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedLogin {
    pub login: String,
    pub problem: Problem,
}

/// A remembered phone on the profile page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneView {
    pub key_id: i64,
    /// Browser and system ("Chrome · Android").
    pub name: String,
    /// RFC 3339: remembered since, until, and last opened its code.
    pub since: String,
    pub until: String,
    pub last_used: String,
    /// The browser looking at the list.
    pub this_phone: bool,
}

/// What a remembered phone keeps in its browser storage to make codes without the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneCodeKey {
    pub key_id: i64,
    pub secret: String,
    /// Shown under the code, as the server shows it.
    pub name: String,
    pub student_no_tail: String,
    /// The server's clock when it answered (ms since 1970): the phone keeps its own clock's
    /// difference to it, so a phone whose clock is off still makes codes of the right time.
    pub server_time_ms: i64,
    /// What an offline code pays without the consumption password.
    pub offline_max: crate::model::Money,
    /// RFC 3339: when the binding ends by itself.
    pub expires_at: String,
}

/// A 深职通码 for the holder's screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayCode {
    pub digits: String,
    /// The QR code as an SVG document.
    pub svg: String,
    /// Seconds until the code stops being accepted.
    pub expires_in: i64,
    /// The holder's name and the last four characters of the student number, under the code,
    /// so a cashier can check the person by hand.
    pub name: String,
    pub student_no_tail: String,
    /// The balance now (the code page shows it; a remembered phone sees nothing else).
    pub balance: Option<crate::model::Money>,
    /// The server's clock (ms since 1970), for the phone's clock difference.
    pub server_time_ms: i64,
    /// This phone's binding key, when the phone is remembered: the page fetches its secret
    /// once if its storage does not hold this key's.
    pub phone_key_id: Option<i64>,
    /// Made on this phone without the network (not by the server).
    pub offline: bool,
}

/// What became of a payment with the holder's 深职通码: pushed to the code page the moment a
/// till or POS decides it, so the student sees it in the queue without asking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeResult {
    /// The amount the till asked for.
    pub amount: Money,
    /// Where: the terminal's place (e.g. 东校区第一食堂 3号窗口).
    pub place: String,
    /// Approved: the balance after it. Declined: `None`.
    pub balance: Option<Money>,
    /// Declined: why (`Decline::text` has the sentence). Approved: `None`.
    pub decline: Option<crate::model::Decline>,
}

impl CodeResult {
    pub fn approved(&self) -> bool {
        self.decline.is_none()
    }
}

impl HistoryFilter {
    /// Reads the filter from query-string pairs; empty or unknown values mean "any".
    pub fn from_pairs<'a>(get: impl Fn(&str) -> Option<&'a str>) -> HistoryFilter {
        let text = |k: &str| {
            get(k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        HistoryFilter {
            from: text("from"),
            to: text("to"),
            kind: get("kind").and_then(EntryKind::parse),
            category: get("category").and_then(MerchantCategory::parse),
        }
    }

    /// The same filter as a query string (without the leading `?`).
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.from {
            parts.push(format!("from={v}"));
        }
        if let Some(v) = &self.to {
            parts.push(format!("to={v}"));
        }
        if let Some(v) = self.kind {
            parts.push(format!("kind={}", v.as_str()));
        }
        if let Some(v) = self.category {
            parts.push(format!("category={}", v.as_str()));
        }
        parts.join("&")
    }
}

/// An announcement of the card office, as the home page, the dashboard and the staff list show
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncementView {
    pub id: i64,
    pub title: crate::model::Localized,
    pub body: crate::model::Localized,
    /// RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
    pub audience: crate::model::Audience,
    pub department: String,
    pub created_by: String,
    pub withdrawn_at: Option<String>,
    pub withdraw_reason: String,
}
