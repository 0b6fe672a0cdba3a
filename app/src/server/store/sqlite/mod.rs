//! The SQLite store: the embedded default, a single file under `data/`.
//!
//! Settings and why: WAL so readers never wait for the writer; `synchronous=FULL` so a
//! committed payment survives a power cut; foreign keys on (SQLite has them off by default);
//! a busy timeout so concurrent writers queue instead of failing; and every write transaction
//! starts with `BEGIN IMMEDIATE`, taking the write lock up front, so a read-then-write cannot
//! fail half way with a busy-snapshot error.

use super::{Backend, NewHolder, StoreError};
use crate::model::Money;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

mod writer;

/// The driver types the shared SQL (`store/sql`) is compiled against here.
type Conn = sqlx::SqliteConnection;
type DbRow = sqlx::sqlite::SqliteRow;
type ThisStore = SqliteStore;

/// Row locks: none needed, as every write transaction holds SQLite's one write lock from its
/// first statement (`BEGIN IMMEDIATE`). SQLite has no `FOR UPDATE`.
macro_rules! for_update {
    () => {
        ""
    };
    (no_key) => {
        ""
    };
    (key_share) => {
        ""
    };
}

/// `… LIKE pattern`: SQLite's is already ASCII case-insensitive and has no escape character.
macro_rules! like {
    ($pattern:literal) => {
        concat!(" LIKE ", $pattern)
    };
}

/// The month (`YYYY-MM`) of a timestamp column in campus time: UTC+8 all year (China has no
/// daylight saving).
macro_rules! campus_month {
    ($column:literal) => {
        concat!("strftime('%Y-%m', ", $column, ", '+8 hours')")
    };
}

/// Runs `$body` in a write transaction bound to `$tx` that holds the write lock from its first
/// statement (`BEGIN IMMEDIATE`): a read-then-write inside it cannot fail half way on a busy
/// snapshot, and no other writer can slip in between, so it never needs running again. The
/// body evaluates to `Result<Finish<T>, StoreError>` and may use `?`, which rolls back.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:block) => {{
        let result: Result<_, $crate::server::store::StoreError> = async {
            let mut $tx = $store.pool.begin_with("BEGIN IMMEDIATE").await?;
            let finish: Result<_, $crate::server::store::StoreError> = async { $body }.await;
            match finish? {
                $crate::server::store::Finish::Commit(value) => {
                    $tx.commit().await?;
                    Ok(value)
                }
                $crate::server::store::Finish::Rollback(value) => {
                    $tx.rollback().await?;
                    Ok(value)
                }
            }
        }
        .await;
        result
    }};
}

/// The campus profile's column, read as JSON text (stored as text).
macro_rules! profile_column {
    () => {
        "profile"
    };
}

/// The campus profile's JSON text as a parameter.
macro_rules! profile_param {
    () => {
        "$1"
    };
}

/// The SQL both backends run, compiled here against SQLite.
#[path = "../sql/mod.rs"]
#[allow(clippy::duplicate_mod)] // on purpose: one text of the SQL, a module per backend
mod sql;

pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    /// The ledger writer's queue (its own thread and connection, group commit of debits; see
    /// `writer`).
    writer: writer::Sender,
    /// The server's clock, for the timestamps the store writes itself.
    pub(super) clock: crate::server::clock::Clock,
}

/// Timestamps are stored as RFC 3339 UTC text with fixed precision, so text order is time order.
pub(super) use super::ts::text as ts;

impl SqliteStore {
    /// Opens (creating if missing) the database file the URL names.
    pub async fn connect(
        url: &str,
        clock: crate::server::clock::Clock,
    ) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::UnsupportedUrl(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Readers map the file instead of copying pages out of the kernel: every write
            // invalidates the other connections' page caches, and re-reading through mmap is
            // much cheaper than through read(2).
            .pragma("mmap_size", "268435456");
        let path = options.get_filename().to_path_buf();
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let writer = writer::start(&path)?;
        Ok(SqliteStore {
            pool,
            writer,
            clock,
        })
    }
}

const BACKEND: Backend = Backend::Sqlite;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// A demo holder's history, one entry at a time; returns the balance it leaves.
async fn insert_history(
    conn: &mut Conn,
    history: &sql::campus::History<'_>,
    h: &NewHolder,
) -> Result<Money, StoreError> {
    let mut balance = Money::ZERO;
    for e in &h.entries {
        let entry = sql::campus::demo_entry(history, h, e, &mut balance)?;
        sqlx::query(
            "INSERT INTO journal_entries (account_id, kind, amount, balance_after, channel, merchant_id,
                 device_id, card_id, memo, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(history.account_id)
        .bind(e.kind)
        .bind(e.amount.fen())
        .bind(balance.fen())
        .bind(e.channel)
        .bind(entry.merchant_id)
        .bind(entry.device_id)
        .bind(entry.device_id.and(history.live_card))
        .bind(&e.memo)
        .bind(super::Ts::new(e.created_at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(balance)
}

/// Every stored timestamp (a column named `at` or ending in `_at`, `_until` or `_since`)
/// that is not RFC 3339 UTC text with milliseconds (`Ts`): comparisons in SQL are text
/// comparisons here, and one such value would sort wrongly. A few per column at most.
async fn malformed_timestamps(pool: &SqlitePool) -> Result<Vec<String>, StoreError> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'
           AND (c.name = 'at' OR c.name LIKE '%\\_at' ESCAPE '\\' OR c.name LIKE '%\\_until' ESCAPE '\\'
                OR c.name LIKE '%\\_since' ESCAPE '\\')
         ORDER BY m.name, c.name",
    )
    .fetch_all(pool)
    .await?;
    let mut bad = Vec::new();
    for (table, column) in columns {
        // Names from the schema itself, never input.
        let sql = format!(
            "SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} NOT GLOB
             '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'
             LIMIT 3"
        );
        let values: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await?;
        bad.extend(values.into_iter().map(|v| format!("{table}.{column}: {v}")));
    }
    Ok(bad)
}

/// One process serves an SQLite database: its code pages hear of its payments directly.
pub(super) async fn announce(_store: &SqliteStore, _text: &str) -> Result<(), StoreError> {
    Ok(())
}

/// Nothing to hear from other servers (there are none).
pub(super) async fn announcements(
    _store: &SqliteStore,
) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::PasswordHasher;
    use crate::server::store::Store;
    use secrecy::SecretString;

    async fn demo_store(dir: &tempfile::TempDir) -> SqliteStore {
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = SqliteStore::connect(&url, crate::server::clock::test_clock())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let hasher = PasswordHasher::new(SecretString::from("p"), 2);
        let demo =
            crate::server::demo::build(&hasher, b"k", 2, crate::server::clock::test_now()).unwrap();
        store.load_demo(&demo).await.unwrap();
        store
    }

    #[tokio::test]
    async fn journal_and_audit_are_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = demo_store(&dir).await;
        let update = sqlx::query("UPDATE journal_entries SET amount = 1 WHERE id = 1")
            .execute(&store.pool)
            .await;
        assert!(update.unwrap_err().to_string().contains("immutable"));
        let delete = sqlx::query("DELETE FROM journal_entries")
            .execute(&store.pool)
            .await;
        assert!(delete.unwrap_err().to_string().contains("immutable"));
        sqlx::query("INSERT INTO audit_log (at, actor_kind, action) VALUES ('2026-01-01T00:00:00.000Z', 'system', 'test')")
            .execute(&store.pool)
            .await
            .unwrap();
        let delete = sqlx::query("DELETE FROM audit_log")
            .execute(&store.pool)
            .await;
        assert!(delete.unwrap_err().to_string().contains("append-only"));
    }

    #[tokio::test]
    async fn the_schema_refuses_overdrafts_and_second_live_cards() {
        let dir = tempfile::tempdir().unwrap();
        let store = demo_store(&dir).await;
        let overdraft = sqlx::query("UPDATE accounts SET balance = -1 WHERE id = 1")
            .execute(&store.pool)
            .await;
        assert!(overdraft.is_err());
        let second = sqlx::query(
            "INSERT INTO cards (holder_id, card_no, chip_serial, status, issued_at) VALUES (1, 'X1', 'FFFF0000', 'active', '2026-01-01T00:00:00.000Z')",
        )
        .execute(&store.pool)
        .await;
        assert!(second.is_err(), "a holder got two live cards");
        let check = store.ledger_check().await.unwrap();
        assert!(check.is_consistent(), "{check:?}");
    }

    #[tokio::test]
    async fn the_ledger_check_finds_a_timestamp_stored_in_another_form() {
        let dir = tempfile::tempdir().unwrap();
        let store = demo_store(&dir).await;
        assert_eq!(
            store.ledger_check().await.unwrap().malformed_timestamps,
            Vec::<String>::new()
        );
        // What binding a chrono DateTime instead of a `Ts` would store: it sorts wrongly.
        sqlx::query(
            "UPDATE cardholders SET locked_until = '2026-10-14 02:30:00+00:00' WHERE id = 1",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let check = store.ledger_check().await.unwrap();
        assert_eq!(
            check.malformed_timestamps,
            vec!["cardholders.locked_until: 2026-10-14 02:30:00+00:00".to_string()]
        );
        assert!(!check.is_consistent());
    }

    #[tokio::test]
    async fn foreign_keys_and_wal_are_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = demo_store(&dir).await;
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(sync, 2, "synchronous should be FULL");
    }
}
