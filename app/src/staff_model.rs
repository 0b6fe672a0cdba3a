//! What the card office's pages send to the browser. Plain data: no password or key hashes,
//! no ID numbers (only their masked form), no TOTP secrets except once, at enrolment.

use crate::model::{
    AccountStatus, CardStatus, Channel, DeviceKind, EntryKind, HolderKind, IdDocKind,
    MerchantCategory, Money, StaffRole,
};
use serde::{Deserialize, Serialize};

/// The signed-in staff member, for the header and the staff pages' guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffBrief {
    pub username: String,
    pub display_name: String,
    pub role: StaffRole,
    /// The merchant's name (merchant role only).
    pub merchant: Option<String>,
    /// The password is the initial one an administrator set: the password page comes first.
    pub must_change_password: bool,
}

/// Who may call what, and open which page. The server functions (`guarded`), the staff pages'
/// guard (`StaffPage::open_to`) and the navigation all read this one table.
pub mod roles {
    use crate::model::StaffRole::{self, *};
    /// Read cardholders, found cards, failed top-ups.
    pub const READ: &[StaffRole] = &[Operator, Admin, Auditor];
    /// Change holders, cards, passwords and money at the counter.
    pub const COUNTER: &[StaffRole] = &[Operator, Admin];
    /// Merchants, devices, staff, the campus profile.
    pub const ADMIN: &[StaffRole] = &[Admin];
    /// The audit log and the reports.
    pub const OVERSIGHT: &[StaffRole] = &[Admin, Auditor];
    /// A merchant's own sales.
    pub const MERCHANT: &[StaffRole] = &[Merchant];
    /// Every staff member: their own password.
    pub const ANY: &[StaffRole] = &[Operator, Admin, Auditor, Merchant];
}

/// The pages under `/staff` that need a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffPage {
    Search,
    Holder,
    Receipt,
    Enrol,
    Found,
    Bills,
    Queue,
    Graduation,
    Audit,
    Announcements,
    Reports,
    Admin,
    Merchant,
    Password,
}

impl StaffPage {
    /// The navigation, in its order (the holder page is reached from a search, a receipt from
    /// the holder page).
    pub const NAV: [StaffPage; 12] = [
        StaffPage::Search,
        StaffPage::Enrol,
        StaffPage::Found,
        StaffPage::Bills,
        StaffPage::Queue,
        StaffPage::Graduation,
        StaffPage::Audit,
        StaffPage::Announcements,
        StaffPage::Reports,
        StaffPage::Admin,
        StaffPage::Merchant,
        StaffPage::Password,
    ];

    /// The roles that may open the page. The administration page is open to auditors, who
    /// see it without its forms.
    pub fn roles(self) -> &'static [StaffRole] {
        use StaffPage::*;
        match self {
            Search | Holder | Receipt | Found | Bills | Queue => roles::READ,
            Enrol | Graduation => roles::COUNTER,
            Audit | Announcements | Reports | Admin => roles::OVERSIGHT,
            Merchant => roles::MERCHANT,
            Password => roles::ANY,
        }
    }

    pub fn open_to(self, role: StaffRole) -> bool {
        self.roles().contains(&role)
    }

    pub fn href(self) -> &'static str {
        use StaffPage::*;
        match self {
            Search | Holder | Receipt => "/staff",
            Enrol => "/staff/enrol",
            Found => "/staff/found",
            Bills => "/staff/bills",
            Queue => "/staff/queue",
            Graduation => "/staff/graduation",
            Audit => "/staff/audit",
            Announcements => "/staff/announcements",
            Reports => "/staff/reports",
            Admin => "/staff/admin",
            Merchant => "/staff/merchant",
            Password => "/staff/password",
        }
    }

    /// Where a role starts after logging in, and where a refused page sends it back to.
    pub fn home(role: StaffRole) -> StaffPage {
        match role {
            StaffRole::Merchant => StaffPage::Merchant,
            _ => StaffPage::Search,
        }
    }
}

/// May take the counter's actions (every changing form on the holder, found-card and queue
/// pages). Auditors read the same pages without these forms.
pub fn may_act(role: StaffRole) -> bool {
    roles::COUNTER.contains(&role)
}

#[cfg(test)]
mod page_tests {
    use super::*;
    use StaffRole::*;

    #[test]
    fn each_role_opens_its_pages_and_no_other() {
        // (page, operator, admin, auditor, merchant)
        let table = [
            (StaffPage::Search, true, true, true, false),
            (StaffPage::Holder, true, true, true, false),
            (StaffPage::Receipt, true, true, true, false),
            (StaffPage::Enrol, true, true, false, false),
            (StaffPage::Found, true, true, true, false),
            (StaffPage::Queue, true, true, true, false),
            (StaffPage::Graduation, true, true, false, false),
            (StaffPage::Audit, false, true, true, false),
            (StaffPage::Reports, false, true, true, false),
            (StaffPage::Admin, false, true, true, false),
            (StaffPage::Merchant, false, false, false, true),
            (StaffPage::Password, true, true, true, true),
        ];
        for (page, op, ad, au, me) in table {
            let got = [Operator, Admin, Auditor, Merchant].map(|r| page.open_to(r));
            assert_eq!(got, [op, ad, au, me], "{page:?}");
        }
    }

    #[test]
    fn every_role_starts_on_a_page_it_may_open() {
        for &role in StaffRole::ALL {
            assert!(StaffPage::home(role).open_to(role), "{role:?}");
        }
        assert_eq!(StaffPage::home(Merchant).href(), "/staff/merchant");
        assert_eq!(StaffPage::home(Auditor).href(), "/staff");
    }

    #[test]
    fn only_the_counter_roles_act() {
        let acting: Vec<StaffRole> = StaffRole::ALL
            .iter()
            .copied()
            .filter(|&r| may_act(r))
            .collect();
        assert_eq!(acting, [Operator, Admin]);
    }
}

/// One line of a holder search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct HolderHit {
    pub holder_id: i64,
    pub student_no: String,
    pub name: String,
    pub class_name: String,
    pub card_no: Option<String>,
    pub account_status: AccountStatus,
    pub balance: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    pub card_no: String,
    pub chip_serial: String,
    pub status: CardStatus,
    pub issued_at: String,
    pub ended_at: Option<String>,
}

/// A journal entry as the card office sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StaffEntryView {
    pub id: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::store::Ts"))]
    pub at: String,
    pub kind: EntryKind,
    pub amount: Money,
    pub balance_after: Money,
    pub channel: Option<Channel>,
    pub merchant: Option<String>,
    pub reference: String,
    pub memo: String,
    /// A payment already corrected or refunded.
    pub reversed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub id: i64,
    pub at: String,
    /// "staff operator (柜台 周敏)", "holder 2024010101", "device POS-E-CANTEEN-1", "system"
    /// (as the CSV export writes it).
    pub actor: String,
    /// The same, for the page to put in its language: the kind, and who ("operator (柜台 周敏)",
    /// "2024010101", "POS-E-CANTEEN-1"; empty for the system).
    pub actor_kind: crate::model::ActorKind,
    pub actor_name: String,
    pub action: String,
    pub holder: Option<String>,
    pub target: String,
    pub before: String,
    pub after: String,
    pub reason: String,
}

/// A failed automatic top-up waiting for an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct FailedTopupView {
    pub order_no: String,
    pub holder_id: i64,
    pub student_no: String,
    pub name: String,
    pub amount: Money,
    pub failure: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::store::Ts"))]
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundCardView {
    pub id: i64,
    pub holder_id: i64,
    pub card_no: String,
    pub name: String,
    pub student_no: String,
    pub place: String,
    pub found_at: String,
    pub returned_at: Option<String>,
}

/// A found card on the public page: nothing that identifies the owner to a stranger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicFoundCard {
    pub card_no_masked: String,
    pub name_masked: String,
    pub place: String,
    pub found_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ReversalView {
    pub id: i64,
    pub journal_id: i64,
    pub holder_id: i64,
    pub student_no: String,
    pub name: String,
    pub amount: Money,
    pub reason: String,
    pub requested_by: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::store::Ts"))]
    pub requested_at: String,
}

/// Everything the counter needs about one cardholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderFile {
    pub holder_id: i64,
    pub student_no: String,
    pub name: String,
    pub kind: HolderKind,
    pub department: String,
    pub class_name: String,
    pub id_doc_kind: IdDocKind,
    pub id_doc_masked: String,
    pub phone_masked: String,
    pub balance: Money,
    pub account_status: AccountStatus,
    pub status_reason: String,
    pub single_limit: Money,
    pub daily_limit: Money,
    pub query_pw_is_initial: bool,
    pub query_failures: i64,
    /// Locked until (RFC 3339), when the lock has not run out.
    pub query_locked_until: Option<String>,
    pub consumption_pw_is_initial: bool,
    pub consumption_failures: i64,
    pub consumption_locked_until: Option<String>,
    pub cards: Vec<CardView>,
    pub entries: Vec<StaffEntryView>,
    pub audit: Vec<AuditView>,
    pub failed_topups: Vec<FailedTopupView>,
    pub found: Vec<FoundCardView>,
    pub pending_reversals: Vec<ReversalView>,
    /// The viewer may change things here (an operator or administrator, not an auditor).
    pub can_change: bool,
    /// The receipt number the next cash top-up form sends (one top-up per number).
    pub cash_receipt_no: String,
    /// Where a payout at closing goes; `None` until one is recorded with an identity check.
    pub payout_account: Option<PayoutAccountView>,
}

/// A printable receipt: cash taken at the counter, a card replacement's fee, a payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub receipt_no: String,
    pub office: String,
    pub holder_name: String,
    pub student_no: String,
    pub amount: Money,
    pub balance: Money,
    pub at: String,
    pub operator: String,
    /// The second staff member who approved a top-up above the threshold; empty otherwise.
    #[serde(default)]
    pub approved_by: String,
    /// Above the threshold and not yet approved: nothing is credited yet, and this is no
    /// receipt (the page says it waits for a second staff member).
    #[serde(default)]
    pub awaiting_approval: bool,
    #[serde(default)]
    pub kind: ReceiptKind,
    /// The journal entry it is the receipt of (0 while awaiting approval); its printable page is
    /// `receipt_href(entry_id)`.
    #[serde(default)]
    pub entry_id: i64,
    /// The new card's number (a replacement fee) or the masked bank account (a payout).
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub holder_id: i64,
}

/// What the counter gives a receipt for: money taken or paid out over the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ReceiptKind {
    #[default]
    CashTopup,
    CardFee,
    /// A bill (待缴费) the holder paid from the balance.
    Bill,
    Payout,
    /// Electricity, water or network time bought from a biller (缴费).
    Purchase,
}

impl ReceiptKind {
    /// Which journal entries have a receipt: cash taken at the counter, a card replacement's
    /// fee, a bill paid (a fee whose reference names the bill), a payout at closing. Nothing
    /// else (a payment's slip is the till's).
    pub fn of(kind: EntryKind, channel: Option<Channel>, reference: &str) -> Option<ReceiptKind> {
        match (kind, channel) {
            (EntryKind::Topup, Some(Channel::Cash)) => Some(ReceiptKind::CashTopup),
            (EntryKind::Fee, _) if reference.starts_with("bill:") => Some(ReceiptKind::Bill),
            (EntryKind::Fee, _) => Some(ReceiptKind::CardFee),
            (EntryKind::Payout, _) => Some(ReceiptKind::Payout),
            (EntryKind::Purchase, _) => Some(ReceiptKind::Purchase),
            _ => None,
        }
    }

    /// The receipt's number: the cash form's receipt number, the payout's reference (its
    /// first word; the rest is the masked account) or the purchase's, else one made from the
    /// entry's id.
    pub fn number(entry_id: i64, reference: &str) -> String {
        let reference = reference.strip_prefix("purchase:").unwrap_or(reference);
        match reference.split_whitespace().next() {
            Some(no) => no.to_string(),
            None => format!("R{entry_id:010}"),
        }
    }
}

/// The printable page of the receipt of a journal entry.
pub fn receipt_href(entry_id: i64) -> String {
    format!("/staff/receipt/{entry_id}")
}

/// The paper a receipt page is laid out for: A4, or an 80 mm receipt printer's roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A4,
    Roll80,
}

impl Paper {
    /// From the page's `?paper=` (A4 unless it says `80mm`).
    pub fn from_query(value: Option<&str>) -> Paper {
        match value {
            Some("80mm") => Paper::Roll80,
            _ => Paper::A4,
        }
    }

    pub fn query(self) -> &'static str {
        match self {
            Paper::A4 => "a4",
            Paper::Roll80 => "80mm",
        }
    }
}

#[cfg(test)]
mod receipt_tests {
    use super::*;

    #[test]
    fn counter_money_has_a_receipt_and_nothing_else() {
        use Channel::*;
        use EntryKind::*;
        let table = [
            (Topup, Some(Cash), "", Some(ReceiptKind::CashTopup)),
            (Topup, Some(Bank), "", None),
            (Topup, None, "", None),
            (Fee, None, "", Some(ReceiptKind::CardFee)),
            (Fee, None, "bill:12", Some(ReceiptKind::Bill)),
            (Payout, None, "P1 ****7890", Some(ReceiptKind::Payout)),
            (Payment, None, "", None),
            (Refund, None, "", None),
            (Correction, None, "", None),
            (Purchase, None, "purchase:E1", Some(ReceiptKind::Purchase)),
        ];
        for (kind, channel, reference, want) in table {
            assert_eq!(
                ReceiptKind::of(kind, channel, reference),
                want,
                "{kind:?} {channel:?} {reference}"
            );
        }
    }

    #[test]
    fn a_receipt_number_is_the_reference_or_the_entry() {
        let table = [
            (7, "C20261206101010123456", "C20261206101010123456"),
            (
                8,
                "PO2026120610101000ABCDEF ****1234",
                "PO2026120610101000ABCDEF",
            ),
            (9, "", "R0000000009"),
            (10, "   ", "R0000000010"),
        ];
        for (id, reference, want) in table {
            assert_eq!(ReceiptKind::number(id, reference), want);
        }
        assert_eq!(receipt_href(42), "/staff/receipt/42");
    }

    #[test]
    fn paper_is_a4_unless_asked_for_the_roll() {
        assert_eq!(Paper::from_query(Some("80mm")), Paper::Roll80);
        for other in [None, Some("a4"), Some(""), Some("80")] {
            assert_eq!(Paper::from_query(other), Paper::A4, "{other:?}");
        }
        assert_eq!(
            Paper::from_query(Some(Paper::Roll80.query())),
            Paper::Roll80
        );
    }
}

/// The answer to a CSV import: every row's problem, or what was enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    /// Rows whose holder was enrolled before with the same data: nothing to do.
    pub unchanged: usize,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    pub problem: crate::portal_model::Problem,
}

/// What the counter did when closing accounts (one or a batch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseReport {
    pub closed: Vec<ClosedAccount>,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedAccount {
    pub student_no: String,
    pub name: String,
    /// Paid out (closed), or the balance that will be (waiting for a second person).
    pub paid_out: Money,
    /// The payout's reference; empty while waiting.
    pub reference: String,
    /// The balance is not zero: a second staff member approves in the work queue first.
    pub awaiting_approval: bool,
}

/// A cash top-up above the threshold, waiting in the work queue for a second staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CashRequestView {
    pub id: i64,
    pub holder_id: i64,
    pub student_no: String,
    pub name: String,
    pub amount: Money,
    pub receipt_no: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_by_id: i64,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::store::Ts"))]
    pub requested_at: String,
}

/// A change to staff accounts or to the approval thresholds, waiting for a second
/// administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AdminRequestView {
    pub id: i64,
    /// The audit action asked for: `staff.create`, `staff.update`, `staff.reset_credentials`
    /// or `campus.thresholds`.
    pub kind: String,
    pub target: String,
    #[cfg_attr(feature = "ssr", sqlx(rename = "before_state"))]
    pub before: String,
    #[cfg_attr(feature = "ssr", sqlx(rename = "after_state"))]
    pub after: String,
    pub reason: String,
    pub requested_by: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::store::Ts"))]
    pub requested_at: String,
}

/// An administrator's change that now waits for a second administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequested {
    pub request_id: i64,
}

/// The campus profile saved; a change to the approval thresholds in it waits for a second
/// administrator (the rest is saved at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSaved {
    pub thresholds_request: Option<i64>,
}

/// A closing with money on it, waiting in the work queue for a second staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingRequestView {
    pub id: i64,
    pub holder_id: i64,
    pub student_no: String,
    pub name: String,
    pub balance: Money,
    /// Masked: the full number is for finance's payout list.
    pub bank_account: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    /// Who recorded the payout account (with the ID check); they cannot approve the payout.
    pub account_recorded_by: String,
}

/// The outcome of a correction request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReversalOutcome {
    Reversed {
        balance: Money,
    },
    /// Above the approval amount: waits for a second staff member.
    AwaitingApproval {
        request_id: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct MerchantView {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: MerchantCategory,
    pub place: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub id: i64,
    pub code: String,
    pub kind: DeviceKind,
    pub merchant: Option<String>,
    pub place: String,
    pub has_credential: bool,
    pub revoked: bool,
    pub credential_issued_at: Option<String>,
}

/// A device credential, shown once when issued or rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCredential {
    pub device_code: String,
    pub credential: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffUserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: StaffRole,
    pub merchant: Option<String>,
    pub active: bool,
    pub locked: bool,
    pub has_second_factor: bool,
}

/// A one-time enrolment link for a staff member, for the administrator to hand over: the
/// person who opens it sets their own password and second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffLink {
    pub username: String,
    /// `/staff/welcome?token=…`, on the portal's own address.
    pub path: String,
    pub expires_at: String,
}

/// A staff member's second factor on their enrolment page: the secret for an authenticator
/// app, as text and as a QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffEnrolment {
    pub username: String,
    pub totp_secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRow {
    pub merchant_code: String,
    pub merchant: String,
    pub sales: i64,
    pub sales_total: Money,
    pub refunds: i64,
    pub refunds_total: Money,
    pub corrections_total: Money,
    pub net: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChannelRow {
    pub channel: Channel,
    pub count: i64,
    pub total: Money,
}

/// The campus's liability (all balances) against the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liability {
    pub accounts: i64,
    pub entries: i64,
    pub total_balance: Money,
    pub journal_total: Money,
    pub difference: Money,
    /// Accounts whose balance differs from their journal: (account id, balance, journal sum).
    pub mismatches: Vec<(i64, Money, Money)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub staff: String,
    pub action: String,
    pub count: i64,
}

/// A bank account as a page shows it: the last four digits.
pub fn masked_account(account: &str) -> String {
    let tail: String = account
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("****{tail}")
}

/// The payout account recorded for a holder, as the holder page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutAccountView {
    /// The last digits only.
    pub account_masked: String,
    pub recorded_by: String,
    /// RFC 3339.
    pub recorded_at: String,
}

/// A payout the finance office makes: closing an account pays its balance to this account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PayoutView {
    pub reference: String,
    pub student_no: String,
    pub name: String,
    pub amount: Money,
    pub bank_account: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::server::store::Ts"))]
    pub at: String,
}

/// One day's figures, as a report page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reports {
    pub from: String,
    pub to: String,
    pub settlement: Vec<SettlementRow>,
    pub topups: Vec<ChannelRow>,
    pub liability: Liability,
    pub activity: Vec<ActivityRow>,
    pub payouts: Vec<PayoutView>,
    /// Every operator's shifts in the period: cash credited against cash counted.
    pub shifts: Vec<ShiftView>,
}

/// One operator's shift at the counter (`domain::shifts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftView {
    pub operator: String,
    /// The previous count (RFC 3339); `None`: the start of the period.
    pub from: Option<String>,
    /// The count that ended it; `None`: still open.
    pub until: Option<String>,
    pub topups: i64,
    pub cash_in: Money,
    pub counted: Option<Money>,
    /// Counted minus credited: negative is cash missing.
    pub difference: Option<Money>,
}

/// A merchant's own sale or refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantSale {
    pub id: i64,
    pub at: String,
    pub kind: EntryKind,
    pub amount: Money,
    pub device: String,
    pub payer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantDayView {
    pub merchant: String,
    pub day: String,
    pub sales: i64,
    pub sales_total: Money,
    pub refunds: i64,
    pub refunds_total: Money,
    pub net: Money,
    pub entries: Vec<MerchantSale>,
}

/// Everything the administration page lists, in one answer (one loading boundary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOverview {
    /// The viewer may change things (an administrator; auditors only read).
    pub can_change: bool,
    pub merchants: Vec<MerchantView>,
    pub devices: Vec<DeviceView>,
    pub staff: Vec<StaffUserView>,
    /// The campus profile's form, filled in.
    pub profile: crate::campus_form::ProfileForm,
}
