//! The card office's part of the store: staff accounts, the counter's changes to holders, cards
//! and money, found cards, corrections, administration and reports. Every change takes its
//! audit record and writes it in the same transaction.

use super::{
    Audit, CardChange, CardIssue, Closing, Correction, CreditOutcome, NewCard, NewHolder,
    StoreError,
};
use crate::model::{
    AccountStatus, DeviceKind, EntryKind, HolderKind, IdDocKind, MerchantCategory, Money, StaffRole,
};
use crate::server::domain::shifts::{CashCount, CashIn};
use crate::staff_model::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What a staff login needs. Holds the password hash and the TOTP secret: never leaves the
/// server.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffAuth {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: StaffRole,
    pub merchant_id: Option<i64>,
    pub merchant_name: Option<String>,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub active: bool,
    pub locked_until: Option<DateTime<Utc>>,
    /// The password is still the one an administrator set: it must be changed first.
    pub must_change_password: bool,
}

/// A cardholder as the counter's services see one (with the keyed ID hash, for checking a
/// presented document).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HolderRecord {
    pub holder_id: i64,
    pub account_id: i64,
    pub student_no: String,
    pub name: String,
    pub kind: HolderKind,
    pub department: String,
    pub class_name: String,
    pub id_doc_kind: IdDocKind,
    pub id_doc_hash: String,
    pub id_doc_masked: String,
    pub phone_masked: String,
    pub balance: Money,
    pub status: AccountStatus,
    pub status_reason: String,
    pub single_limit: Money,
    pub daily_limit: Money,
    pub query_pw_is_initial: bool,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub consumption_pw_is_initial: bool,
    pub consumption_pw_failures: i64,
    pub consumption_pw_locked_until: Option<DateTime<Utc>>,
}

/// Which of a holder's two passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordKind {
    Query,
    Consumption,
}

/// A payment the counter is asked to correct.
#[derive(Debug, Clone)]
pub struct EntryRecord {
    pub id: i64,
    pub holder_id: i64,
    pub kind: EntryKind,
    pub amount: Money,
    pub balance_after: Money,
    pub merchant_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// Refunded at a till or corrected before.
    pub reversed: bool,
}

/// A pending correction, as stored.
#[derive(Debug, Clone)]
pub struct ReversalRow {
    pub id: i64,
    pub journal_id: i64,
    pub holder_id: i64,
    pub amount: Money,
    pub reason: String,
    pub requested_by: i64,
    pub pending: bool,
}

/// A closing request as the approval needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClosingRequestRow {
    pub id: i64,
    pub holder_id: i64,
    pub bank_account: String,
    pub reason: String,
    pub requested_by: i64,
    /// Who recorded the payout account it pays to.
    pub account_recorded_by: Option<i64>,
    pub pending: bool,
}

/// A two-administrator change as its decision needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminRequestRow {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub payload: String,
    pub reason: String,
    pub requested_by: i64,
    pub pending: bool,
}

/// A change for a second administrator: what it is and its full before and after.
pub struct NewAdminRequest<'a> {
    pub kind: &'a str,
    pub target: &'a str,
    /// The change as JSON.
    pub payload: &'a str,
    pub before: &'a str,
    pub after: &'a str,
    pub reason: &'a str,
    pub requested_by: i64,
}

/// A cash top-up waiting for a second staff member, as the approval needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CashRequestRow {
    pub id: i64,
    pub holder_id: i64,
    pub amount: Money,
    pub receipt_no: String,
    pub reason: String,
    pub requested_by: i64,
    /// The display name of who asked (and took the cash).
    pub requester: String,
    pub pending: bool,
}

/// A second staff member's decision on a cash top-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CashDecision {
    Rejected,
    /// Approved: the credit's outcome. Anything but `Credited` wrote nothing, and the
    /// request is still pending.
    Approved(CreditOutcome),
}

/// The bank account recorded for a holder's payout.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayoutAccountRow {
    /// Sealed (`sealing`); only the closing opens it.
    pub bank_account: String,
    pub account_masked: String,
    /// The display name of who recorded it.
    pub recorded_by: String,
    #[sqlx(try_from = "crate::server::store::Ts")]
    pub recorded_at: String,
}

/// A journal entry as its receipt needs it, with the holder and the staff members named.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReceiptRow {
    pub id: i64,
    pub kind: EntryKind,
    pub channel: Option<crate::model::Channel>,
    pub amount: Money,
    pub balance_after: Money,
    #[sqlx(try_from = "crate::server::store::Ts")]
    pub created_at: String,
    pub reference: String,
    pub memo: String,
    pub holder_id: i64,
    pub holder_name: String,
    pub student_no: String,
    /// Who took the cash or made the change ('' when no staff member did).
    pub operator: String,
    /// Who approved a cash top-up above the threshold ('' when none was needed).
    pub approved_by: String,
}

/// A staff enrolment link, as its page needs it.
#[derive(Debug, Clone)]
pub struct EnrolmentRow {
    pub staff_id: i64,
    pub username: String,
    pub display_name: String,
    pub totp_secret: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// An enrolment link to open with a new account: the token's hash, the second factor it
/// offers, and when it expires.
pub struct NewEnrolment<'a> {
    pub token_hash: &'a str,
    pub totp_secret: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub struct NewStaffUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: StaffRole,
    pub merchant_id: Option<i64>,
    pub password_hash: &'a str,
    pub totp_secret: &'a str,
    /// Enrolled by link (the password and second factor above are then unusable
    /// placeholders); `None` for the demo campus and the store's own tests.
    pub enrolment: Option<NewEnrolment<'a>>,
}

pub struct MerchantInput<'a> {
    pub code: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub category: MerchantCategory,
    pub place: &'a str,
    pub active: bool,
}

pub struct DeviceInput<'a> {
    pub code: &'a str,
    pub kind: DeviceKind,
    pub merchant_id: Option<i64>,
    pub place: &'a str,
}

/// Audit log filters; empty fields match everything. Dates are UTC RFC 3339 bounds.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// A staff username.
    pub person: Option<String>,
    /// A student number.
    pub holder: Option<String>,
    /// An action name or its prefix ("card." matches every card action).
    pub action: Option<String>,
    pub from: Option<String>,
    pub until: Option<String>,
    pub limit: i64,
}

#[async_trait]
pub trait StaffStore: Send + Sync {
    async fn staff_auth(&self, username: &str) -> Result<Option<StaffAuth>, StoreError>;
    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAuth>, StoreError>;
    /// Records a good login at TOTP time step `step`; false (and nothing changed) when a login
    /// already used this step or a later one: a code is good once.
    async fn staff_login_succeeded(&self, id: i64, step: i64) -> Result<bool, StoreError>;

    async fn search_holders(&self, query: &str, limit: i64) -> Result<Vec<HolderHit>, StoreError>;
    async fn holder_record(&self, holder_id: i64) -> Result<Option<HolderRecord>, StoreError>;
    async fn holder_by_student_no(
        &self,
        student_no: &str,
    ) -> Result<Option<HolderRecord>, StoreError>;
    /// Every card the holder has had, newest first.
    async fn card_views(&self, holder_id: i64) -> Result<Vec<CardView>, StoreError>;
    async fn staff_entries(
        &self,
        holder_id: i64,
        limit: i64,
    ) -> Result<Vec<StaffEntryView>, StoreError>;
    async fn audit_records(&self, query: &AuditQuery) -> Result<Vec<AuditView>, StoreError>;
    /// Audit records about one holder, newest first.
    async fn audit_of_holder(
        &self,
        holder_id: i64,
        limit: i64,
    ) -> Result<Vec<AuditView>, StoreError>;

    /// Enrols holders (with their cards) in one transaction: all or none. One audit record.
    async fn enrol(&self, holders: &[NewHolder], audit: Audit) -> Result<(), StoreError>;
    /// Issues a card to a holder without a live card, or (`replace`) voids the live card and
    /// issues the new one, charging `fee` as a fee entry.
    async fn issue_card(
        &self,
        holder_id: i64,
        card: &NewCard,
        replace: bool,
        fee: Money,
        staff_id: i64,
        audit: Audit,
    ) -> Result<CardIssue, StoreError>;
    /// Cancels the live (active or lost) card.
    async fn cancel_card(
        &self,
        holder_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<CardChange, StoreError>;
    /// Sets a password back to an initial value (after the ID check), clears its failures and
    /// lock; a query password reset also ends the holder's sessions and code keys.
    async fn reset_password(
        &self,
        holder_id: i64,
        which: PasswordKind,
        new_hash: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError>;
    async fn lift_lockout(
        &self,
        holder_id: i64,
        which: PasswordKind,
        audit: Audit,
    ) -> Result<(), StoreError>;
    /// Freezes or unfreezes an active/frozen account; false when the account is closed.
    async fn set_frozen(
        &self,
        holder_id: i64,
        frozen: bool,
        audit: Audit,
    ) -> Result<bool, StoreError>;
    /// Pays the whole balance out (a payout entry with the bank reference), cancels the live
    /// card, ends sessions and closes the account, in one transaction.
    async fn close_account(
        &self,
        holder_id: i64,
        reference: &str,
        bank_account: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Closing, StoreError>;
    /// Closes an account that holds no money (one person may): `NotEmpty` when, under the
    /// lock, it does after all (a credit arrived since it was looked at).
    async fn close_empty_account(
        &self,
        holder_id: i64,
        reference: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Closing, StoreError>;
    /// Asks for a cash top-up above the threshold, for a second staff member to approve.
    /// Answers the request's id and whether it is new; the same form again (same receipt
    /// number, holder and amount) answers the first request, and `None` means the receipt
    /// number was used for another top-up.
    #[allow(clippy::too_many_arguments)]
    async fn request_cash_topup(
        &self,
        holder_id: i64,
        amount: Money,
        receipt_no: &str,
        reason: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<(i64, bool)>, StoreError>;
    /// The cash a holder got at the counter since `since` (the campus day's start).
    async fn holder_cash_since(
        &self,
        holder_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Money, StoreError>;
    /// The cash top-ups waiting for a second person (of one holder, or all).
    async fn cash_requests(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<CashRequestView>, StoreError>;
    async fn cash_request(&self, id: i64) -> Result<Option<CashRequestRow>, StoreError>;
    /// Approves (crediting the account under the request's receipt number, against the
    /// requester's daily cash cap: `cash_topup`) or rejects a pending request, in one
    /// transaction; `None` when it was no longer pending.
    #[allow(clippy::too_many_arguments)]
    async fn decide_cash_request(
        &self,
        id: i64,
        approve: bool,
        staff_id: i64,
        day_start: DateTime<Utc>,
        cap: Money,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<CashDecision>, StoreError>;
    /// Files a change for a second administrator, with its audit record; its id.
    async fn request_admin_change(
        &self,
        request: &NewAdminRequest<'_>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<i64, StoreError>;
    /// The changes waiting for a second administrator.
    async fn admin_requests(&self) -> Result<Vec<AdminRequestView>, StoreError>;
    async fn admin_request(&self, id: i64) -> Result<Option<AdminRequestRow>, StoreError>;
    /// Marks a pending change decided (once: `false` when it was not pending any more), with
    /// the audit record of a rejection (`audit`; an approval's record comes with the change).
    async fn decide_admin_request(
        &self,
        id: i64,
        approve: bool,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Option<Audit>,
    ) -> Result<bool, StoreError>;
    /// Puts an approved change back to pending: making it failed (say, the username was
    /// taken meanwhile), and it can be rejected or approved again.
    async fn reopen_admin_request(&self, id: i64) -> Result<(), StoreError>;
    /// The cash top-ups credited in `[from, until)`, of one operator or all.
    async fn cash_ins(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        staff_id: Option<i64>,
    ) -> Result<Vec<CashIn>, StoreError>;
    /// The cash counts recorded in `[from, until)`, of one operator or all.
    async fn cash_counts(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        staff_id: Option<i64>,
    ) -> Result<Vec<CashCount>, StoreError>;
    /// Records an operator's count of the cash they took, ending their shift.
    async fn record_cash_count(
        &self,
        staff_id: i64,
        counted: Money,
        note: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError>;
    /// The bank account recorded for the holder's payout, if any.
    async fn payout_account(&self, holder_id: i64) -> Result<Option<PayoutAccountRow>, StoreError>;
    /// Records (or replaces) the holder's payout account (`bank_account` sealed), with the
    /// audit record; the refusal when it may not (`accounts::payout_account_refusal`).
    async fn record_payout_account(
        &self,
        holder_id: i64,
        bank_account: &str,
        account_masked: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<crate::portal_model::Problem>, StoreError>;
    /// Asks for a closing with money on it, for a second staff member to approve; `None`
    /// when one is pending for this holder already.
    async fn request_closing(
        &self,
        holder_id: i64,
        bank_account: &str,
        reason: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError>;
    /// The closings waiting for a second person.
    async fn closing_requests(&self) -> Result<Vec<ClosingRequestView>, StoreError>;
    async fn closing_request(&self, id: i64) -> Result<Option<ClosingRequestRow>, StoreError>;
    /// Approves (closing the account and paying out the balance to the recorded bank account,
    /// with `reference`) or rejects a pending request, in one transaction; `None` when it was
    /// no longer pending. A rejection answers `Some(AlreadyClosed)` without closing anything.
    async fn decide_closing(
        &self,
        id: i64,
        approve: bool,
        reference: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<Closing>, StoreError>;

    /// A card by its printed number or chip serial: (card id, holder id, card number).
    async fn card_by_number(&self, number: &str) -> Result<Option<(i64, i64, String)>, StoreError>;
    /// Records a found card; false when it is already recorded and not returned.
    async fn record_found_card(
        &self,
        card_id: i64,
        holder_id: i64,
        place: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError>;
    /// A cash top-up at the counter: the credit and its audit record in one transaction, unless
    /// it takes the operator (`credit.staff_id`) past `cap` in cash since `day_start`
    /// (`CashCapReached`). One operator's top-ups are put in order by a lock on their row.
    async fn cash_topup(
        &self,
        credit: &super::Credit<'_>,
        day_start: DateTime<Utc>,
        cap: crate::model::Money,
        audit: Audit,
    ) -> Result<super::CreditOutcome, StoreError>;

    async fn found_cards(&self, open_only: bool) -> Result<Vec<FoundCardView>, StoreError>;
    async fn found_card(&self, id: i64) -> Result<Option<FoundCardView>, StoreError>;
    async fn found_cards_of(&self, holder_id: i64) -> Result<Vec<FoundCardView>, StoreError>;
    /// Marks a found card returned; false when it was not open.
    async fn found_card_returned(
        &self,
        id: i64,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError>;

    async fn journal_entry(&self, id: i64) -> Result<Option<EntryRecord>, StoreError>;
    /// One journal entry with what its receipt prints; `None` when there is no such entry.
    async fn receipt_entry(&self, id: i64) -> Result<Option<ReceiptRow>, StoreError>;
    /// Writes the correction (a credit of the payment's amount pointing at it), at most once
    /// per payment; with `request`, also marks that approval request approved by `staff_id`.
    async fn correct_payment(
        &self,
        payment_id: i64,
        reason: &str,
        staff_id: i64,
        request: Option<i64>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Correction, StoreError>;
    /// Files a correction for a second approver; `None` when one is already pending.
    async fn request_correction(
        &self,
        entry: &EntryRecord,
        reason: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError>;
    async fn reversal_request(&self, id: i64) -> Result<Option<ReversalRow>, StoreError>;
    async fn pending_reversals(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<ReversalView>, StoreError>;
    /// Marks a failed automatic top-up resolved; false when it is not an open failure.
    async fn resolve_failed_topup(
        &self,
        order_no: &str,
        resolution: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError>;
    async fn failed_topup_views(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<FailedTopupView>, StoreError>;

    async fn merchants(&self) -> Result<Vec<MerchantView>, StoreError>;
    /// Creates (`id` none) or updates a merchant; `None` when the code is taken.
    async fn save_merchant(
        &self,
        id: Option<i64>,
        merchant: &MerchantInput<'_>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError>;
    async fn devices(&self) -> Result<Vec<DeviceView>, StoreError>;
    /// `None` when the code is taken.
    async fn create_device(
        &self,
        device: &DeviceInput<'_>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError>;
    /// Stores a new public key (issue or rotate) or, with `None`, revokes the credential.
    async fn set_device_credential(
        &self,
        device_id: i64,
        public_key: Option<&str>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError>;
    async fn staff_users(&self) -> Result<Vec<StaffUserView>, StoreError>;
    /// `None` when the username is taken.
    async fn create_staff(
        &self,
        staff: &NewStaffUser<'_>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError>;
    /// Changes a staff member's role and whether the account may log in; ending their
    /// sessions when it may not.
    async fn update_staff(
        &self,
        id: i64,
        role: StaffRole,
        merchant_id: Option<i64>,
        active: bool,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError>;
    /// Stores a staff member's own new password (no longer the initial one), with the audit
    /// record, and ends their other sessions (`keep` is the one in use).
    async fn set_staff_password(
        &self,
        id: i64,
        new_hash: &str,
        keep: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError>;
    /// Opens an enrolment link for a staff member: until it is used, the account has no
    /// password that works and no second factor (any earlier link, session and lock end). The
    /// link's second factor is `totp_secret`; it expires at `expires_at`.
    async fn open_enrolment(
        &self,
        staff_id: i64,
        token_hash: &str,
        totp_secret: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError>;
    /// The enrolment behind a link's token, if there is one.
    async fn enrolment(&self, token_hash: &str) -> Result<Option<EnrolmentRow>, StoreError>;
    /// Completes an enrolment: the account gets `password_hash` (already chosen, not to be
    /// changed again at once) and the link's second factor, whose code of `totp_step` was just
    /// used (so it is not good for a login); the link is used. False (nothing changed) when
    /// the link was used meanwhile or has expired.
    async fn complete_enrolment(
        &self,
        token_hash: &str,
        password_hash: &str,
        totp_step: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError>;
    async fn save_profile_audited(
        &self,
        profile: &crate::model::CampusProfile,
        audit: Audit,
    ) -> Result<(), StoreError>;

    async fn settlement(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SettlementRow>, StoreError>;
    async fn topups_by_channel(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ChannelRow>, StoreError>;
    async fn operator_activity(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ActivityRow>, StoreError>;
    /// Payouts made in a period, with the bank accounts to pay them to (finance's list).
    async fn payouts(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<PayoutView>, StoreError>;
    async fn merchant_entries(
        &self,
        merchant_id: i64,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MerchantSale>, StoreError>;
}
