//! The data store: one trait, one implementation per backend (SQLite now; PostgreSQL is the
//! production backend, added behind the same trait). No SQL and no driver type leaves this
//! module: callers see domain types and `StoreError`.

mod sqlite;

use crate::model::{
    CampusProfile, CardStatus, Channel, DeviceKind, EntryKind, HolderKind, IdDocKind,
    MerchantCategory, Money, StaffRole,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub use sqlite::SqliteStore;

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

/// Opens the store a database URL names and runs its migrations.
pub async fn open(url: &str) -> Result<Db, StoreError> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::connect(url).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Err(StoreError::UnsupportedUrl(
            "the PostgreSQL backend is not part of this build yet".into(),
        ))
    } else {
        Err(StoreError::UnsupportedUrl(
            "expected a sqlite:// or postgres:// URL".into(),
        ))
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Brings the schema up to date; safe to run at every start.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// A cheap round trip, for `/healthz`.
    async fn ping(&self) -> Result<(), StoreError>;

    async fn campus_profile(&self) -> Result<Option<CampusProfile>, StoreError>;

    async fn save_campus_profile(&self, profile: &CampusProfile) -> Result<(), StoreError>;

    /// How many cardholders there are (zero means a fresh database).
    async fn holder_count(&self) -> Result<i64, StoreError>;

    /// Loads a whole demo campus in one transaction: all of it or nothing.
    async fn load_demo(&self, demo: &DemoCampus) -> Result<(), StoreError>;

    /// Compares every cached balance with the sum of its journal entries.
    async fn ledger_check(&self) -> Result<LedgerCheck, StoreError>;
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
}

impl LedgerCheck {
    pub fn is_consistent(&self) -> bool {
        self.mismatches.is_empty() && self.total_balance == self.journal_total
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
