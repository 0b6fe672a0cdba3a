//! The SQLite store: the embedded default, a single file under `data/`.
//!
//! Settings and why: WAL so readers never wait for the writer; `synchronous=FULL` so a
//! committed payment survives a power cut; foreign keys on (SQLite has them off by default);
//! a busy timeout so concurrent writers queue instead of failing; and every write transaction
//! starts with `BEGIN IMMEDIATE`, taking the write lock up front, so a read-then-write cannot
//! fail half way with a busy-snapshot error.

use super::{Backend, DemoCampus, LedgerCheck, Store, StoreError};
use crate::model::{CampusProfile, Money};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    /// The ledger writer's queue (its own thread and connection, group commit of debits; see
    /// `sqlite_writer`).
    pub(super) writer: tokio::sync::mpsc::Sender<super::sqlite_writer::DebitJob>,
    /// The server's clock, for the timestamps the store writes itself.
    pub(super) clock: crate::server::clock::Clock,
}

pub(super) fn db_err(err: sqlx::Error) -> StoreError {
    StoreError::Database(err.to_string())
}

/// Timestamps are stored as RFC 3339 UTC text with fixed precision, so text order is time order.
pub(super) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A wrong password (query or consumption): counts it; the `max`-th locks the row until
/// `lock_until` and restarts the count. Returns the lock end when this failure locked it.
/// `table`, `counter` and `lock` are column names from this module, never input.
pub(super) async fn count_failure(
    pool: &SqlitePool,
    table: &'static str,
    counter: &'static str,
    lock: &'static str,
    id: i64,
    max: i64,
    lock_until: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let sql = format!(
        "UPDATE {table} SET
             {lock} = CASE WHEN {counter} + 1 >= ?1 THEN ?2 ELSE {lock} END,
             {counter} = CASE WHEN {counter} + 1 >= ?1 THEN 0 ELSE {counter} + 1 END
         WHERE id = ?3
         RETURNING CASE WHEN {lock} = ?2 THEN 1 ELSE 0 END"
    );
    let locked: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(max)
        .bind(ts(lock_until))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    Ok((locked == Some(1)).then_some(lock_until))
}

impl SqliteStore {
    /// Starts a write transaction holding the write lock from its first statement
    /// (`BEGIN IMMEDIATE`): a read-then-write inside it cannot fail half way on a busy
    /// snapshot, and no other writer can slip in between.
    pub(super) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }
}

pub(super) fn parse_ts(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text}: {e}")))
}

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
        let writer = super::sqlite_writer::start(&path)?;
        Ok(SqliteStore {
            pool,
            writer,
            clock,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("../migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    async fn campus_profile(&self) -> Result<Option<CampusProfile>, StoreError> {
        let row = sqlx::query("SELECT profile FROM campus_profile WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let text: String = row.try_get("profile").map_err(db_err)?;
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))
            }
        }
    }

    async fn save_campus_profile(&self, profile: &CampusProfile) -> Result<(), StoreError> {
        let text = serde_json::to_string(profile)
            .map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))?;
        sqlx::query(
            "INSERT INTO campus_profile (id, profile, updated_at) VALUES (1, ?, ?)
             ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
        )
        .bind(text)
        .bind(ts(self.clock.now()))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn holder_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM cardholders")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn load_demo(&self, demo: &DemoCampus) -> Result<(), StoreError> {
        let profile = serde_json::to_string(&demo.profile)
            .map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))?;
        let now = ts(self.clock.now());
        let mut tx = self.write_tx().await?;

        sqlx::query(
            "INSERT INTO campus_profile (id, profile, updated_at) VALUES (1, ?, ?)
             ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
        )
        .bind(profile)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;

        let mut merchant_ids = Vec::with_capacity(demo.merchants.len());
        for m in &demo.merchants {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO merchants (code, name_zh, name_en, category, place, created_at)
                 VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&m.code)
            .bind(&m.name_zh)
            .bind(&m.name_en)
            .bind(m.category.as_str())
            .bind(&m.place)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            merchant_ids.push(id);
        }
        let merchant_id = |index: Option<usize>| -> Result<Option<i64>, StoreError> {
            index
                .map(|i| {
                    merchant_ids
                        .get(i)
                        .copied()
                        .ok_or_else(|| StoreError::Corrupt(format!("no merchant #{i}")))
                })
                .transpose()
        };

        let mut device_ids = Vec::with_capacity(demo.devices.len());
        for d in &demo.devices {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO devices (code, kind, merchant_id, place, created_at)
                 VALUES (?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&d.code)
            .bind(d.kind.as_str())
            .bind(merchant_id(d.merchant)?)
            .bind(&d.place)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            device_ids.push(id);
        }

        for s in &demo.staff {
            sqlx::query(
                "INSERT INTO staff_users (username, display_name, role, merchant_id, password_hash, created_at, totp_secret, password_changed_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&s.username)
            .bind(&s.display_name)
            .bind(s.role.as_str())
            .bind(merchant_id(s.merchant)?)
            .bind(&s.password_hash)
            .bind(&now)
            .bind(&s.totp_secret)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }

        for h in &demo.holders {
            let (_, account_id, live_card) = insert_holder(&mut tx, h).await?;

            let mut balance = Money::ZERO;
            for e in &h.entries {
                balance = balance
                    .checked_add(e.amount)
                    .filter(|b| !b.is_negative())
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("demo history overdraws {}", h.student_no))
                    })?;
                let device_id = e
                    .device
                    .map(|i| {
                        device_ids
                            .get(i)
                            .copied()
                            .ok_or_else(|| StoreError::Corrupt(format!("no device #{i}")))
                    })
                    .transpose()?;
                sqlx::query(
                    "INSERT INTO journal_entries (account_id, kind, amount, balance_after, channel, merchant_id,
                         device_id, card_id, memo, created_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(account_id)
                .bind(e.kind.as_str())
                .bind(e.amount.fen())
                .bind(balance.fen())
                .bind(e.channel.map(|c| c.as_str()))
                .bind(merchant_id(e.merchant)?)
                .bind(device_id)
                .bind(device_id.and(live_card))
                .bind(&e.memo)
                .bind(ts(e.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            sqlx::query("UPDATE accounts SET balance = ? WHERE id = ?")
                .bind(balance.fen())
                .bind(account_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }

        tx.commit().await.map_err(db_err)
    }

    async fn ledger_check(&self) -> Result<LedgerCheck, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.balance, COALESCE(SUM(j.amount), 0) AS journal_sum, COUNT(j.id) AS entries
             FROM accounts a LEFT JOIN journal_entries j ON j.account_id = a.id
             GROUP BY a.id, a.balance ORDER BY a.id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut check = LedgerCheck {
            accounts: 0,
            entries: 0,
            total_balance: Money::ZERO,
            journal_total: Money::ZERO,
            mismatches: Vec::new(),
            spent_mismatches: Vec::new(),
        };
        let overflow = || StoreError::Corrupt("ledger totals overflow".into());
        for row in rows {
            let id: i64 = row.try_get("id").map_err(db_err)?;
            let balance = Money::from_fen(row.try_get("balance").map_err(db_err)?);
            let sum = Money::from_fen(row.try_get("journal_sum").map_err(db_err)?);
            let entries: i64 = row.try_get("entries").map_err(db_err)?;
            check.accounts += 1;
            check.entries += entries;
            check.total_balance = check
                .total_balance
                .checked_add(balance)
                .ok_or_else(overflow)?;
            check.journal_total = check.journal_total.checked_add(sum).ok_or_else(overflow)?;
            if balance != sum {
                check.mismatches.push((id, balance, sum));
            }
        }
        let spent = sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT a.id, a.spent_fen, (SELECT COALESCE(-SUM(amount), 0) FROM journal_entries
                 WHERE account_id = a.id AND kind IN ('payment', 'refund') AND created_at >= a.spent_since)
             FROM accounts a WHERE a.spent_since IS NOT NULL ORDER BY a.id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        check.spent_mismatches = spent
            .into_iter()
            .filter(|(_, running, sum)| running != sum)
            .map(|(id, running, sum)| (id, Money::from_fen(running), Money::from_fen(sum)))
            .collect();
        Ok(check)
    }
}

/// Inserts one cardholder with the account and cards, inside the caller's write transaction.
/// Returns (holder id, account id, the active card's id).
pub(super) async fn insert_holder(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    h: &super::NewHolder,
) -> Result<(i64, i64, Option<i64>), StoreError> {
    let created = ts(h.created_at);
    let holder_id: i64 = sqlx::query_scalar(
        "INSERT INTO cardholders (student_no, name, kind, department, class_name, id_doc_kind,
             id_doc_hash, id_doc_masked, phone_masked, query_pw_hash, query_pw_is_initial, created_at,
             personal_pins)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&h.student_no)
    .bind(&h.name)
    .bind(h.kind.as_str())
    .bind(&h.department)
    .bind(&h.class_name)
    .bind(h.id_doc_kind.as_str())
    .bind(&h.id_doc_hash)
    .bind(&h.id_doc_masked)
    .bind(&h.phone_masked)
    .bind(&h.query_pw_hash)
    .bind(h.query_pw_is_initial)
    .bind(&created)
    .bind(h.personal_pins.join(","))
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;

    let account_id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (holder_id, single_limit, daily_limit, consumption_pw_hash, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(holder_id)
    .bind(h.single_limit.fen())
    .bind(h.daily_limit.fen())
    .bind(&h.consumption_pw_hash)
    .bind(&created)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;

    let mut live_card: Option<i64> = None;
    for c in &h.cards {
        let card_id: i64 = sqlx::query_scalar(
            "INSERT INTO cards (holder_id, card_no, chip_serial, status, issued_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(holder_id)
        .bind(&c.card_no)
        .bind(&c.chip_serial)
        .bind(c.status.as_str())
        .bind(ts(c.issued_at))
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
        if matches!(c.status, crate::model::CardStatus::Active) {
            live_card = Some(card_id);
        }
    }
    Ok((holder_id, account_id, live_card))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::PasswordHasher;
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
