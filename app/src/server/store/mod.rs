//! The data store: one trait per area, one implementation per backend (SQLite, the embedded
//! default; PostgreSQL, the production backend), chosen by the database URL's scheme. No SQL
//! and no driver type leaves this module: callers see domain types and `StoreError`.
//!
//! Layout (see `docs/architecture.md`):
//! - this file, `staff.rs`, `bills.rs`, `announcements.rs`, `utilities.rs` and `notices.rs`: the traits and
//!   the rows they carry, one area each;
//! - `sql/`: the SQL both backends run, written once and compiled once per backend (each
//!   backend's `mod.rs` names its driver types and its transaction, lock and `LIKE` dialect);
//! - `sqlite/`, `postgres/`: what only that backend does (connecting, migrations, its
//!   transaction macro, the few queries whose SQL differs, SQLite's ledger writer);
//! - `ts.rs`: timestamps as both backends store them.
//!
//! Every write loads under its backend's lock, asks `server::domain` what to do (a pure
//! function), and applies the plan in the same transaction.

/// SQL for what account `a` paid today, with today's start (local midnight) as parameter 2:
/// the account's running total when it belongs to today, else `spent_sum!` since then
/// (migration 0009 explains the running total). The same text on both backends.
macro_rules! spent_today {
    () => {
        concat!(
            "CASE WHEN a.spent_since = $2 THEN a.spent_fen ELSE ",
            spent_sum!("$2"),
            " END"
        )
    };
}

/// SQL for what account `a` paid since the moment `$since` (an SQL expression): its payments
/// and purchases from billers made since then, less the refunds of those. A refund made since
/// then of an earlier sale or purchase gives the money back but does not count: it would raise
/// the day's allowance by what was spent on another day (`domain::payments::spent_for_limits`).
/// Every refund the system makes names the entry it reverses (the journal's one-reversal
/// index); a refund that names none (the demo campus's history) counts on the day it was made,
/// as before.
macro_rules! spent_sum {
    ($since:literal) => {
        concat!(
            "(SELECT CAST(COALESCE(-SUM(e.amount), 0) AS BIGINT) FROM journal_entries e
               WHERE e.account_id = a.id AND e.kind IN ",
            spent_kinds!(),
            " AND e.created_at >= ",
            $since,
            " AND (e.kind <> 'refund' OR e.reverses_id IS NULL OR EXISTS (SELECT 1 FROM journal_entries r
                      WHERE r.id = e.reverses_id AND r.created_at >= ",
            $since,
            ")))"
        )
    };
}

/// The journal kinds that count towards the daily limits (as a SQL list): payments at tills,
/// purchases from billers, and the refunds of either. The running total's trigger (migrations
/// 0009 and 0020) names the same kinds.
macro_rules! spent_kinds {
    () => {
        "('payment', 'refund', 'purchase')"
    };
}

mod announcements;
mod bills;
#[cfg(test)]
mod campus_cache_tests;
mod copy;
mod notices;
pub mod postgres;
pub mod sqlite;
pub mod staff;
#[cfg(test)]
mod staff_tests;
#[cfg(test)]
mod store_races;
#[cfg(test)]
pub(crate) mod testing;
pub mod ts;
mod utilities;

use crate::model::{
    CampusProfile, CardStatus, Channel, DeviceKind, EntryKind, HolderKind, IdDocKind,
    MerchantCategory, Money, StaffRole, TopupStatus,
};
use crate::server::sealing::Sealed;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub use announcements::*;
pub use bills::*;
pub use copy::{CopyReport, copy_sqlite_to_postgres};
pub use notices::*;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use staff::*;
pub use ts::Ts;
pub use utilities::*;

pub use crate::server::domain::accounts::Closing;
pub use crate::server::domain::cards::{CardChange, CardIssue};
pub use crate::server::domain::corrections::Correction;
pub use crate::server::domain::payments::spent_for_limits;

impl From<crate::server::domain::Broken> for StoreError {
    fn from(err: crate::server::domain::Broken) -> Self {
        StoreError::Corrupt(err.to_string())
    }
}

/// The store shared by every request.
pub type Db = Arc<dyn Store>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names a backend this build does not have, or is malformed.
    #[error("unsupported database url: {0}")]
    UnsupportedUrl(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// Data in the database broke an invariant the application relies on.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(String),
    /// `copy_sqlite_to_postgres` found a reason not to copy, or the copy did not check out
    /// (nothing was committed).
    #[error("copy refused: {0}")]
    CopyRefused(String),
    /// The transaction lost a race that running it again resolves: a serialization failure, a
    /// deadlock, or a unique key another transaction took first (PostgreSQL; SQLite's write
    /// lock lets no second writer in).
    #[error("lost a race: {0}")]
    Conflict(String),
    /// A device's request id came again with a different payload: not a retry, and refused
    /// rather than answered with the first request's outcome.
    #[error("request id reused for a different request")]
    RequestReused,
}

/// The answer to a request id seen before: the stored outcome when the payload is the same
/// (a retry), `RequestReused` when it is not. Both backends' writers ask here.
pub fn earlier_answer(
    stored_hash: &str,
    stored_outcome: &str,
    payload_hash: &str,
) -> Result<PaymentOutcome, StoreError> {
    if stored_hash != payload_hash {
        return Err(StoreError::RequestReused);
    }
    serde_json::from_str(stored_outcome).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        let code = err
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        match (&err, code.as_deref()) {
            (sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_), _) => {
                StoreError::Unavailable(err.to_string())
            }
            (_, Some("40001" | "40P01" | "23505")) => StoreError::Conflict(err.to_string()),
            _ => StoreError::Database(err.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(err.to_string())
    }
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected {what}: {value}"))
}

/// How a write transaction's body ends when it did not fail (`in_transaction!` in each
/// backend).
pub(crate) enum Finish<T> {
    Commit(T),
    /// Nothing to keep (a decline, a duplicate): roll back and return the value.
    Rollback(T),
}

/// Which backend a store runs on (for health output and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Opens the store a database URL names and runs its migrations, on the system clock (tools
/// that copy or load data).
pub async fn open(url: &str) -> Result<Db, StoreError> {
    open_with_clock(url, crate::server::clock::Clock::system()).await
}

/// The same, with the server's clock for the timestamps the store writes itself.
pub async fn open_with_clock(
    url: &str,
    clock: crate::server::clock::Clock,
) -> Result<Db, StoreError> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::connect(url, clock).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let store = PostgresStore::connect(url, clock).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else {
        Err(StoreError::UnsupportedUrl(
            "expected a sqlite:// or postgres:// URL".into(),
        ))
    }
}

#[async_trait]
pub trait Store:
    PortalStore
    + LedgerStore
    + CardStore
    + CreditStore
    + TerminalStore
    + TopupStore
    + StaffStore
    + BillStore
    + AnnouncementStore
    + UtilityStore
    + NoticeStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// Brings the schema up to date; safe to run at every start.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// A cheap round trip, for `/healthz`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Tells the other servers on this database of a 深职通码 payment (`code_events`), as one
    /// JSON text: PostgreSQL's `NOTIFY`. Nothing on SQLite, where one process is the server.
    async fn announce_code_result(&self, text: &str) -> Result<(), StoreError>;

    /// What `announce_code_result` told, from every server on this database (this one too),
    /// from now on; `None` on SQLite. The subscription is in place when this returns.
    async fn code_result_announcements(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError>;

    async fn campus_profile(&self) -> Result<Option<CampusProfile>, StoreError>;

    async fn save_campus_profile(&self, profile: &CampusProfile) -> Result<(), StoreError>;

    /// How many cardholders there are (zero means a fresh database).
    async fn holder_count(&self) -> Result<i64, StoreError>;

    /// Loads a whole demo campus in one transaction: all of it or nothing.
    async fn load_demo(&self, demo: &DemoCampus) -> Result<(), StoreError>;

    /// Compares every cached balance with the sum of its journal entries.
    async fn ledger_check(&self) -> Result<LedgerCheck, StoreError>;

    /// One sealed value of each column of `Sealed::COLUMNS` that has any: the start checks
    /// that the data key opens them before it seals anything.
    async fn sealed_samples(&self) -> Result<Vec<(Sealed, String)>, StoreError>;

    /// Seals the values of `Sealed::COLUMNS` still stored in plain text (written before
    /// sealing existed) with `seal`; returns how many. Run at every start; cheap when there
    /// are none.
    async fn seal_plain_values(
        &self,
        seal: &(dyn for<'v> Fn(Sealed, &'v str) -> String + Send + Sync),
    ) -> Result<u64, StoreError>;
}

/// The result of comparing balances with the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCheck {
    pub accounts: i64,
    pub entries: i64,
    pub total_balance: Money,
    pub journal_total: Money,
    /// Accounts whose balance differs from the sum of their entries: (account id, balance, sum).
    pub mismatches: Vec<(i64, Money, Money)>,
    /// Accounts whose running total of the day (migration 0009) differs from their entries
    /// since that day's start: (account id, running total, sum).
    pub spent_mismatches: Vec<(i64, Money, Money)>,
    /// Stored timestamps not in the one form text order relies on (`table.column: value`);
    /// SQLite only, as PostgreSQL's columns are typed.
    pub malformed_timestamps: Vec<String>,
    /// Bills and their payments that do not agree (`bill #…`: paid, but its entry is not its
    /// holder's fee of its amount; `entry #…`: a bill's fee entry that no paid bill names).
    pub bill_mismatches: Vec<String>,
    /// Purchases from billers and their entries that do not agree (`purchase …`: its charge is
    /// not its holder's `purchase` entry of its amount, or it is refunded and its refund is
    /// not one `refund` of that amount reversing the charge; `entry #…`: a purchase entry no
    /// purchase names, or a refund of one whose purchase is not refunded).
    pub purchase_mismatches: Vec<String>,
}

impl LedgerCheck {
    pub fn is_consistent(&self) -> bool {
        self.mismatches.is_empty()
            && self.bill_mismatches.is_empty()
            && self.purchase_mismatches.is_empty()
            && self.spent_mismatches.is_empty()
            && self.malformed_timestamps.is_empty()
            && self.total_balance == self.journal_total
    }
}

// ---- Rows to insert. Built by the services (demo data now, enrolment later). ----

pub struct NewMerchant {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: MerchantCategory,
    pub place: String,
}

pub struct NewDevice {
    pub code: String,
    pub kind: DeviceKind,
    /// Index into `DemoCampus::merchants`.
    pub merchant: Option<usize>,
    pub place: String,
}

pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub role: StaffRole,
    /// Index into `DemoCampus::merchants` (merchant role only).
    pub merchant: Option<usize>,
    pub password_hash: String,
    /// The TOTP secret (base32) of the second factor.
    pub totp_secret: Option<String>,
}

pub struct NewCard {
    pub card_no: String,
    pub chip_serial: String,
    pub status: CardStatus,
    pub issued_at: DateTime<Utc>,
}

pub struct NewEntry {
    pub kind: EntryKind,
    /// Signed: credits positive, debits negative.
    pub amount: Money,
    pub channel: Option<Channel>,
    /// Index into `DemoCampus::merchants`.
    pub merchant: Option<usize>,
    /// Index into `DemoCampus::devices`.
    pub device: Option<usize>,
    pub memo: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewHolder {
    pub student_no: String,
    pub name: String,
    pub kind: HolderKind,
    pub department: String,
    pub class_name: String,
    pub id_doc_kind: IdDocKind,
    pub id_doc_hash: String,
    pub id_doc_masked: String,
    pub phone_masked: String,
    pub query_pw_hash: String,
    pub query_pw_is_initial: bool,
    pub consumption_pw_hash: String,
    /// Keyed hashes of PINs the holder may never choose (see `ids::pin_hash`).
    pub personal_pins: Vec<String>,
    pub single_limit: Money,
    pub daily_limit: Money,
    pub created_at: DateTime<Utc>,
    pub cards: Vec<NewCard>,
    /// In time order; the store computes each balance and refuses an overdraft.
    pub entries: Vec<NewEntry>,
}

pub struct DemoCampus {
    pub profile: CampusProfile,
    pub merchants: Vec<NewMerchant>,
    pub devices: Vec<NewDevice>,
    pub staff: Vec<NewStaff>,
    pub holders: Vec<NewHolder>,
}

// ---- Student portal: authentication, sessions, the holder's own data. ----

/// What login needs to know about a cardholder. Holds a hash: never leaves the server.
pub struct HolderAuth {
    pub holder_id: i64,
    pub query_pw_hash: String,
    pub must_change_password: bool,
    pub locked_until: Option<DateTime<Utc>>,
    /// Keyed hashes of PINs the holder may not choose (initial, birth date).
    pub personal_pins: Vec<String>,
    pub name: String,
    pub student_no: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Holder,
    Staff,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Holder => "holder",
            SubjectKind::Staff => "staff",
        }
    }
}

pub struct NewSession {
    pub token_hash: String,
    pub subject: SubjectKind,
    pub subject_id: i64,
    pub now: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub token_hash: String,
    pub subject: SubjectKind,
    pub subject_id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ended: bool,
    pub ip: String,
    pub user_agent: String,
}

/// Who did something, for the audit log.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    Holder(i64),
    Staff(i64),
    Device(i64),
    System,
}

pub use crate::audit_text::{AuditText, Counted, Fact, Phrase};

/// One audit record: who, what, to whom, before and after, why.
#[derive(Debug, Clone)]
pub struct Audit {
    pub actor: Actor,
    pub action: crate::model::AuditAction,
    pub holder_id: Option<i64>,
    /// What the record is about, and the thing before and after: facts, shown in the
    /// reader's language (`crate::audit_text`).
    pub target: AuditText,
    pub before: AuditText,
    pub after: AuditText,
    /// The reason as the staff member typed it; one the system writes is a stored `AuditText`.
    pub reason: String,
    pub ip: String,
}

impl Audit {
    /// The system's record about a 缴费 purchase, named by its reference: its refund, a
    /// biller's contradicting outcome, or its outcome overdue.
    pub fn of_purchase(
        action: crate::model::AuditAction,
        holder_id: i64,
        reference: &str,
        (before, after, reason): (AuditText, AuditText, String),
    ) -> Audit {
        Audit {
            actor: Actor::System,
            action,
            holder_id: Some(holder_id),
            target: crate::audit_text::Fact::Reference(reference.to_string()).into(),
            before,
            after,
            reason,
            ip: String::new(),
        }
    }
}

pub struct DashboardRow {
    pub name: String,
    pub student_no: String,
    /// Who the holder is, for the announcements meant for them.
    pub kind: HolderKind,
    pub department: String,
    /// Unpaid bills: how many, and their total.
    pub bills_due: i64,
    pub bills_due_amount: Money,
    pub balance: Money,
    pub account_status: crate::model::AccountStatus,
    pub card: Option<(String, CardStatus)>,
    pub single_limit: Money,
    pub daily_limit: Money,
    pub spent_since: Money,
    pub consumption_pw_is_initial: bool,
}

/// History query: bounds are UTC RFC 3339 texts, `before` a cursor from a previous page.
#[derive(Debug, Clone, Default)]
pub struct EntryQuery {
    pub from: Option<String>,
    pub until: Option<String>,
    pub kind: Option<EntryKind>,
    pub category: Option<MerchantCategory>,
    pub before: Option<(String, i64)>,
    pub limit: i64,
}

#[derive(sqlx::FromRow)]
pub struct ProfileRow {
    pub name: String,
    pub student_no: String,
    pub kind: HolderKind,
    pub department: String,
    pub class_name: String,
    pub id_doc_masked: String,
    pub phone_masked: String,
}

/// The key behind a holder's 深职通码 on one device.
pub struct PayKey {
    pub key_id: i64,
    pub holder_id: i64,
    pub secret: String,
    pub revoked: bool,
    pub account_status: crate::model::AccountStatus,
    /// A remembered phone's key ends by itself then (a session's dies with the session).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A remembered phone, as the store has it.
#[derive(Debug, Clone)]
pub struct PhoneBinding {
    /// Its code key's id (below 10,000,000).
    pub key_id: i64,
    pub holder_id: i64,
    /// The code key's secret, sealed.
    pub secret: String,
    pub device_name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub ended: bool,
}

/// A binding to store.
pub struct NewBinding<'a> {
    pub key_id: i64,
    pub holder_id: i64,
    pub token_hash: &'a str,
    pub secret: &'a str,
    pub device_name: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Whose password attempts: the row that counts them and holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempts {
    /// A cardholder's query password (the portal login, confirmations, kiosks).
    Query(i64),
    /// An account's consumption password (tills, kiosks).
    Consumption(i64),
    /// A staff member's password.
    Staff(i64),
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Check the password: this is the `nth` attempt in a row.
    Allowed { nth: i64 },
    /// Do not check it: locked until then.
    Locked { until: DateTime<Utc> },
}

#[async_trait]
pub trait PortalStore: Send + Sync {
    async fn holder_auth_by_login(&self, login: &str) -> Result<Option<HolderAuth>, StoreError>;
    async fn holder_auth(&self, holder_id: i64) -> Result<Option<HolderAuth>, StoreError>;
    /// Reserves one password check for `who` before the password is hashed: one atomic
    /// UPDATE counts it, and the `max`-th reservation locks the row until `lock_until`, so a
    /// burst of parallel guesses gets at most `max` checks. A locked row is not counted and
    /// answers `Locked` (a lock that has run out starts the count again).
    async fn reserve_attempt(
        &self,
        who: Attempts,
        max: i64,
        lock_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Attempt, StoreError>;
    /// The password was right: the count and any lock are cleared.
    async fn attempt_succeeded(&self, who: Attempts) -> Result<(), StoreError>;
    /// Reserves one attempt under a throttle `key` (an address, a device, a username at an
    /// address) in the window that began after `window_start`: true while at most `max` have
    /// been reserved in it. Counted before the password is checked, like `reserve_attempt`.
    async fn throttle_reserve(
        &self,
        key: &str,
        max: i64,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Gives back one reservation of `key` (the attempt succeeded: only failures count).
    async fn throttle_release(&self, key: &str) -> Result<(), StoreError>;

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;

    /// Records a holder's login from the browser whose cookie hashes to `browser_hash`, and,
    /// when it is new to a holder who logged in before (`domain::sessions::new_browser`), the
    /// security notice of it, in one transaction; forgets the holder's least recently used
    /// browsers beyond `domain::sessions::KNOWN_BROWSERS`. Answers whether it was new.
    /// The same transaction keeps the browser's push subscriptions with the new session
    /// (`session_hash`) and forgets another holder's in this browser.
    async fn note_login_browser(
        &self,
        holder_id: i64,
        browser_hash: &str,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError>;
    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Ends one session and revokes its 深职通码 key.
    async fn end_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Ends every live session of a subject except `keep`, revoking their code keys.
    async fn end_sessions_of(
        &self,
        subject: SubjectKind,
        subject_id: i64,
        keep: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    async fn live_sessions_of(
        &self,
        subject: SubjectKind,
        subject_id: i64,
    ) -> Result<Vec<SessionRow>, StoreError>;

    async fn dashboard(
        &self,
        holder_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<Option<DashboardRow>, StoreError>;
    async fn entries(
        &self,
        holder_id: i64,
        query: &EntryQuery,
    ) -> Result<Vec<crate::portal_model::EntryView>, StoreError>;
    /// Count of all rows matching the filters (cursor and limit ignored), with the money that
    /// went out and the money that came in, each summed on its own.
    async fn entries_total(
        &self,
        holder_id: i64,
        query: &EntryQuery,
    ) -> Result<(i64, Money, Money), StoreError>;
    async fn monthly_spend(
        &self,
        holder_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::portal_model::MonthSpend>, StoreError>;
    async fn profile(&self, holder_id: i64) -> Result<Option<ProfileRow>, StoreError>;

    /// Reports the live card lost (`lost = true`) or lifts the report, with its audit record,
    /// in one transaction.
    async fn set_card_lost(
        &self,
        holder_id: i64,
        lost: bool,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<CardChange, StoreError>;
    /// Stores a new query password, ends the holder's other sessions and revokes every code
    /// key, with the audit record, in one transaction.
    async fn change_query_password(
        &self,
        holder_id: i64,
        new_hash: &str,
        keep_session: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError>;
    async fn set_limits(
        &self,
        holder_id: i64,
        single: Money,
        daily: Money,
        audit: Audit,
    ) -> Result<(), StoreError>;
    async fn limits(&self, holder_id: i64) -> Result<Option<(Money, Money)>, StoreError>;

    async fn pay_key_for_session(&self, token_hash: &str) -> Result<Option<PayKey>, StoreError>;
    /// Creates the session's code key; false if `key_id` is taken (the caller picks another).
    async fn create_pay_key(
        &self,
        key_id: i64,
        holder_id: i64,
        token_hash: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn pay_key(&self, key_id: i64) -> Result<Option<PayKey>, StoreError>;
    /// Marks (key, step) used; false if it already was.
    async fn use_pay_code(
        &self,
        key_id: i64,
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn pay_code_used(&self, key_id: i64, step: i64) -> Result<bool, StoreError>;

    /// Stores a remembered phone; false if its key id is taken (the caller picks another).
    async fn create_binding(&self, binding: &NewBinding<'_>) -> Result<bool, StoreError>;
    async fn binding_by_token(&self, token_hash: &str) -> Result<Option<PhoneBinding>, StoreError>;
    /// The holder's bindings that have not been ended (some may have expired), newest first.
    async fn bindings_of(&self, holder_id: i64) -> Result<Vec<PhoneBinding>, StoreError>;
    /// Records that the phone opened its code now (at most once a minute is enough).
    async fn touch_binding(&self, key_id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Ends one of the holder's bindings, with its audit record; false if it was not theirs
    /// or had already ended.
    async fn end_binding(
        &self,
        holder_id: i64,
        key_id: i64,
        reason: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError>;
    /// A remembered phone's code key (`pay_key` for a session's).
    async fn phone_key(&self, key_id: i64) -> Result<Option<PayKey>, StoreError>;

    async fn audit(&self, audit: Audit) -> Result<(), StoreError>;
}

// ---- Money engine and devices. ----

pub struct DeviceRow {
    pub id: i64,
    pub code: String,
    pub kind: DeviceKind,
    pub merchant_id: Option<i64>,
    pub place: String,
    pub public_key: Option<String>,
    pub revoked: bool,
}

/// One gate or attendance check.
pub struct AccessEvent<'a> {
    pub device_id: i64,
    pub holder_id: Option<i64>,
    pub card_id: Option<i64>,
    /// "card" or "code".
    pub method: &'a str,
    pub allowed: bool,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
}

/// A card as a reader sees it.
pub struct CardLookup {
    pub card_id: i64,
    pub holder_id: i64,
    pub status: CardStatus,
}

/// What a payment decision needs to know about the payer.
pub struct Payer {
    pub holder_id: i64,
    pub account_id: i64,
    pub name: String,
    pub status: crate::model::AccountStatus,
    pub balance: Money,
    pub single_limit: Money,
    pub daily_limit: Money,
    pub spent_today: Money,
    pub consumption_pw_hash: String,
    pub consumption_pw_locked_until: Option<DateTime<Utc>>,
    /// The automatic top-up threshold, when the holder has it switched on.
    pub auto_topup_below: Option<Money>,
}

/// A debit to write in one transaction.
pub struct Debit {
    pub account_id: i64,
    pub amount: Money,
    pub device_id: i64,
    pub merchant_id: Option<i64>,
    pub card_id: Option<i64>,
    pub request_id: String,
    pub payload_hash: String,
    /// The consumption password was checked for this payment.
    pub password_ok: bool,
    /// Local midnight today (UTC), for the daily limit.
    pub day_start: DateTime<Utc>,
    pub campus_max_single: Money,
    pub campus_max_daily: Money,
    /// Paid with a code a phone made offline: the campus's offline amount.
    pub offline_max: Option<Money>,
    pub now: DateTime<Utc>,
}

impl Debit {
    /// The sale as the debit decision sees it.
    pub fn ask(&self) -> crate::server::domain::payments::DebitAsk {
        crate::server::domain::payments::DebitAsk {
            amount: self.amount,
            password_ok: self.password_ok,
            campus_max_single: self.campus_max_single,
            campus_max_daily: self.campus_max_daily,
            offline_max: self.offline_max,
        }
    }
}

/// The final answer to a payment, as stored for idempotent replays.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PaymentOutcome {
    Approved {
        journal_id: i64,
        amount: Money,
        balance: Money,
    },
    Declined {
        reason: crate::model::Decline,
    },
}

#[async_trait]
pub trait LedgerStore: Send + Sync {
    async fn device_by_code(&self, code: &str) -> Result<Option<DeviceRow>, StoreError>;
    /// Records a signed request's nonce: false when this device sent it before (a replay).
    /// Kept in the database, so neither a restart nor a second server reopens the window;
    /// nonces older than `forget_before` are pruned now and then.
    async fn device_nonce_first_use(
        &self,
        device_id: i64,
        nonce: &str,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The stored (payload hash, outcome) of an earlier request with this id.
    async fn earlier_request(
        &self,
        device_id: i64,
        request_id: &str,
    ) -> Result<Option<(String, String)>, StoreError>;
    /// Stores the outcome of a request that did not reach the ledger (a decline before it).
    async fn remember_request(
        &self,
        device_id: i64,
        request_id: &str,
        payload_hash: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn card_by_serial(&self, serial: &str) -> Result<Option<CardLookup>, StoreError>;
    async fn payer(
        &self,
        holder_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<Option<Payer>, StoreError>;
    /// The card a reader saw and its holder's payer row: what every card payment needs first.
    /// A backend may answer it in one query (the hot path of every card payment).
    async fn card_and_payer(
        &self,
        serial: &str,
        day_start: DateTime<Utc>,
    ) -> Result<Option<(CardLookup, Option<Payer>)>, StoreError> {
        let Some(card) = self.card_by_serial(serial).await? else {
            return Ok(None);
        };
        let payer = self.payer(card.holder_id, day_start).await?;
        Ok(Some((card, payer)))
    }
    /// The payment itself, in one write transaction: re-checks status, limits and balance,
    /// writes the journal entry and the balance, and stores the outcome under the request id
    /// (a concurrent duplicate gets the first outcome).
    async fn debit(&self, debit: Debit) -> Result<PaymentOutcome, StoreError>;
    async fn record_access(&self, event: &AccessEvent<'_>) -> Result<(), StoreError>;
    /// A refund of one payment, in one write transaction: the payment must be this merchant's,
    /// inside the window and not refunded before. Stored under the request id like a debit.
    async fn refund(&self, refund: Refund) -> Result<PaymentOutcome, StoreError>;
    /// Stores a new consumption password (no longer the initial one), clears its failure
    /// count and lock, with the audit record, in one transaction.
    async fn set_consumption_password(
        &self,
        account_id: i64,
        new_hash: &str,
        audit: Audit,
    ) -> Result<(), StoreError>;
    /// The holder's gate and attendance checks, newest first.
    async fn access_of(
        &self,
        holder_id: i64,
        limit: i64,
    ) -> Result<Vec<crate::portal_model::AccessView>, StoreError>;
}

pub struct Refund {
    pub device_id: i64,
    pub merchant_id: Option<i64>,
    /// The journal id of the payment to refund.
    pub payment_id: i64,
    pub request_id: String,
    pub payload_hash: String,
    /// Payments before this are too old to refund at the till.
    pub window_start: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// A card as the card office sees it.
#[derive(Debug, Clone)]
pub struct CardRow {
    pub id: i64,
    pub card_no: String,
    pub chip_serial: String,
    pub status: CardStatus,
}

#[async_trait]
pub trait CardStore: Send + Sync {
    /// Every card a holder has had, newest first.
    async fn cards_of(&self, holder_id: i64) -> Result<Vec<CardRow>, StoreError>;
    /// Freezes, unfreezes or closes an account, with its audit record, in one transaction.
    async fn set_account_status(
        &self,
        holder_id: i64,
        status: crate::model::AccountStatus,
        audit: Audit,
    ) -> Result<(), StoreError>;
}

/// Money coming in: a top-up (bank, WeChat, cash, automatic) or a refund/correction credit.
pub struct Credit<'a> {
    pub holder_id: i64,
    pub amount: Money,
    pub kind: EntryKind,
    pub channel: Option<Channel>,
    pub merchant_id: Option<i64>,
    pub staff_id: Option<i64>,
    /// The provider's order or receipt number; unique per channel when given, so a
    /// notification delivered twice credits once.
    pub reference: &'a str,
    pub memo: &'a str,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditOutcome {
    Credited {
        journal_id: i64,
        balance: Money,
    },
    /// The reference was credited before: nothing changed.
    AlreadyCredited {
        journal_id: i64,
    },
    AccountClosed,
    /// A cash top-up over the operator's daily cash cap: nothing credited. `taken` is what the
    /// operator took in cash today before it.
    CashCapReached {
        taken: Money,
        cap: Money,
    },
}

#[async_trait]
pub trait CreditStore: Send + Sync {
    /// Credits an account in one transaction (journal entry + balance).
    async fn credit(&self, credit: &Credit<'_>) -> Result<CreditOutcome, StoreError>;
}

// ---- Web terminals (the POS and kiosk pages). ----

/// A browser set up as a device's terminal.
pub struct TerminalRow {
    pub device: DeviceRow,
    /// The merchant's (Chinese, English) name.
    pub merchant: Option<(String, String)>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Ended, or the device's credential was revoked or rotated since the terminal was set up.
    pub ended: bool,
}

/// One device's takings for a day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceDay {
    pub sales: i64,
    pub sales_total: Money,
    pub refunds: i64,
    pub refunds_total: Money,
}

/// A sale as the till shows it.
pub struct SaleRow {
    pub journal_id: i64,
    pub amount: Money,
    pub at: DateTime<Utc>,
    pub holder_name: String,
    pub refunded: bool,
}

#[async_trait]
pub trait TerminalStore: Send + Sync {
    async fn create_terminal_session(
        &self,
        token_hash: &str,
        device_id: i64,
        ip: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn terminal_session(&self, token_hash: &str) -> Result<Option<TerminalRow>, StoreError>;
    async fn touch_terminal_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn end_terminal_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn device_day(
        &self,
        device_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<DeviceDay, StoreError>;
    /// The device's most recent payment.
    async fn last_sale(&self, device_id: i64) -> Result<Option<SaleRow>, StoreError>;
}

// ---- Top-ups through a payment provider, and automatic top-up. ----

pub struct NewOrder<'a> {
    pub order_no: &'a str,
    pub holder_id: i64,
    pub channel: Channel,
    pub amount: Money,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub order_no: String,
    pub holder_id: i64,
    pub channel: Channel,
    pub amount: Money,
    pub status: TopupStatus,
    pub provider_ref: String,
    pub failure: String,
    pub journal_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved: bool,
}

/// What a "paid" notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderPaid {
    Credited {
        journal_id: i64,
        balance: Money,
    },
    /// Paid before: nothing changed (a duplicate notification).
    AlreadyPaid,
    AccountClosed,
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoTopup {
    pub enabled: bool,
    pub threshold: Money,
    pub amount: Money,
    pub card_masked: String,
    pub card_token: String,
}

#[async_trait]
pub trait TopupStore: Send + Sync {
    /// Creates an order; false when the holder already has an automatic top-up in flight.
    async fn create_order(&self, order: &NewOrder<'_>) -> Result<bool, StoreError>;
    async fn order(&self, order_no: &str) -> Result<Option<OrderRow>, StoreError>;
    async fn orders_of(&self, holder_id: i64, limit: i64) -> Result<Vec<OrderRow>, StoreError>;
    /// Marks the order paid and credits the account in one transaction, at most once per
    /// order whatever its earlier state (a success that arrives after a failure still credits:
    /// the money was taken).
    async fn order_paid(
        &self,
        order_no: &str,
        provider_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<OrderPaid, StoreError>;
    /// Marks a pending order failed; false when it was not pending (already paid or failed).
    async fn order_failed(
        &self,
        order_no: &str,
        failure: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn auto_topup(&self, holder_id: i64) -> Result<Option<AutoTopup>, StoreError>;
    /// Saves (or with `None` removes) the settings, with the audit record, in one transaction.
    async fn save_auto_topup(
        &self,
        holder_id: i64,
        settings: Option<&AutoTopup>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError>;
    /// Failed automatic top-ups not yet resolved by an operator (one holder's, or all).
    async fn failed_auto_topups(&self, holder_id: Option<i64>)
    -> Result<Vec<OrderRow>, StoreError>;
}

#[cfg(test)]
mod earlier_answer_tests {
    use super::*;

    #[test]
    fn a_retry_gets_its_answer_and_another_payload_a_refusal() {
        let outcome = PaymentOutcome::Declined {
            reason: crate::model::Decline::InsufficientBalance,
        };
        let text = serde_json::to_string(&outcome).unwrap_or_default();
        assert_eq!(earlier_answer("h1", &text, "h1").ok(), Some(outcome));
        assert!(matches!(
            earlier_answer("h1", &text, "h2"),
            Err(StoreError::RequestReused)
        ));
        assert!(matches!(
            earlier_answer("h1", "not json", "h1"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
