//! The PostgreSQL store: the production backend, behind the same traits as SQLite.
//!
//! Concurrency model, and why it is correct at READ COMMITTED (the default, kept on purpose):
//! every change of money takes the account row's lock first (`SELECT … FOR NO KEY UPDATE`, the
//! lock an `UPDATE` of a non-key column takes anyway), then reads what it decides on, writes
//! the journal entry and the new balance, and commits. Two payments on one account therefore
//! run one after the other, and each sees the other's committed balance and journal (READ
//! COMMITTED takes a fresh snapshot per statement, after the lock was granted): no lost
//! update, no overdraft, no daily limit counted twice. Payments on different accounts share no
//! row and run in parallel; there is no global counter updated by every payment.
//!
//! Idempotency comes from unique keys, not from looking first: a device request id
//! (`device_requests` primary key, `journal_device_request`), one refund per payment, one
//! credit per provider reference, one pending automatic top-up per holder. When two copies of
//! one request race, the loser's insert fails with a unique violation; its whole transaction
//! is rolled back and run again (`in_transaction!`), and the second run finds the winner's
//! stored outcome. Serialization failures and deadlocks (SQLSTATE 40001, 40P01) are retried
//! the same way; at READ COMMITTED with one lock order (order row, then account row) they are
//! not expected, but a retry is cheap insurance.
//!
//! Timestamps are TIMESTAMPTZ, written truncated to milliseconds (`at`), so text produced by
//! `ts` is exactly what SQLite would store (see the first migration).

use super::{Backend, DemoCampus, LedgerCheck, NewHolder, Store, StoreError};
use crate::model::{CampusProfile, Money};
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Row};
use std::str::FromStr;
use std::time::Duration;

pub struct PostgresStore {
    pub(super) pool: PgPool,
    /// The server's clock, for the timestamps the store writes itself.
    pub(super) clock: crate::server::clock::Clock,
}

/// The pool size when the URL does not say (`?max_connections=N`).
const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// How often a transaction that lost a race is run again before the error is returned.
pub(super) const MAX_ATTEMPTS: u32 = 5;

/// An error inside the PostgreSQL store: the driver's (kept whole, so its SQLSTATE can decide
/// a retry) or one of ours. Converted to `StoreError` at the trait boundary.
#[derive(Debug)]
pub(super) enum PgError {
    Sql(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for PgError {
    fn from(err: sqlx::Error) -> Self {
        PgError::Sql(err)
    }
}

impl From<StoreError> for PgError {
    fn from(err: StoreError) -> Self {
        PgError::Store(err)
    }
}

impl From<PgError> for StoreError {
    fn from(err: PgError) -> Self {
        match err {
            PgError::Store(err) => err,
            PgError::Sql(
                err @ (sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)),
            ) => StoreError::Unavailable(err.to_string()),
            PgError::Sql(err) => StoreError::Database(err.to_string()),
        }
    }
}

impl PgError {
    fn sqlstate(&self) -> Option<String> {
        match self {
            PgError::Sql(err) => err
                .as_database_error()
                .and_then(|e| e.code())
                .map(|c| c.into_owned()),
            PgError::Store(_) => None,
        }
    }

    /// Lost a race that running the whole transaction again resolves: a serialization
    /// failure, a deadlock, or a unique key another transaction took first.
    pub(super) fn is_retryable(&self) -> bool {
        matches!(
            self.sqlstate().as_deref(),
            Some("40001" | "40P01" | "23505")
        )
    }
}

pub(super) type PgResult<T> = Result<T, PgError>;

/// How a transaction body ends when it did not fail.
pub(super) enum Finish<T> {
    Commit(T),
    /// Nothing to keep (a decline, a duplicate): roll back and return the value.
    Rollback(T),
}

/// A short random pause before the next attempt, growing with the attempt number.
pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(rand::random_range(1..=10) * u64::from(attempt))
}

/// Runs `$body` in a transaction bound to `$tx`, retrying the whole transaction when it loses
/// a race (`PgError::is_retryable`). The body evaluates to `PgResult<Finish<T>>`; it may use
/// `?`, which rolls back. Evaluates to `PgResult<T>`.
macro_rules! in_transaction {
    ($pool:expr, |$tx:ident| $body:block) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let result: $crate::server::store::postgres::PgResult<_> = async {
                let mut $tx = $pool.begin().await?;
                let finish: $crate::server::store::postgres::PgResult<_> = async { $body }.await;
                match finish? {
                    $crate::server::store::postgres::Finish::Commit(value) => {
                        $tx.commit().await?;
                        Ok(value)
                    }
                    $crate::server::store::postgres::Finish::Rollback(value) => {
                        $tx.rollback().await?;
                        Ok(value)
                    }
                }
            }
            .await;
            match result {
                Err(err)
                    if err.is_retryable()
                        && attempt < $crate::server::store::postgres::MAX_ATTEMPTS =>
                {
                    tracing::debug!(error = ?err, attempt, "transaction lost a race; retrying");
                    tokio::time::sleep($crate::server::store::postgres::backoff(attempt)).await;
                }
                other => break other,
            }
        }
    }};
}
pub(super) use in_transaction;

/// A timestamp as stored: truncated to whole milliseconds, the precision of `ts()`.
pub(super) fn at(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

/// A bound given as RFC 3339 text (history filters and cursors), as a timestamp.
pub(super) fn parse_bound(text: &str) -> PgResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| PgError::Store(StoreError::Corrupt(format!("timestamp {text}: {e}"))))
}

pub(super) fn corrupt(what: &str, value: &str) -> PgError {
    PgError::Store(StoreError::Corrupt(format!("unexpected {what}: {value}")))
}

/// A wrong password (query or consumption): counts it; the `max`-th locks the row until
/// `lock_until` and restarts the count. One atomic UPDATE: concurrent failures each count.
/// `table`, `counter` and `lock` are column names from this module, never input.
pub(super) async fn count_failure(
    pool: &PgPool,
    table: &'static str,
    counter: &'static str,
    lock: &'static str,
    id: i64,
    max: i64,
    lock_until: DateTime<Utc>,
) -> PgResult<Option<DateTime<Utc>>> {
    let lock_until = at(lock_until);
    let sql = format!(
        "UPDATE {table} SET
             {lock} = CASE WHEN {counter} + 1 >= $1 THEN $2 ELSE {lock} END,
             {counter} = CASE WHEN {counter} + 1 >= $1 THEN 0 ELSE {counter} + 1 END
         WHERE id = $3
         RETURNING COALESCE({lock} = $2, FALSE)"
    );
    let locked: Option<bool> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(max)
        .bind(lock_until)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok((locked == Some(true)).then_some(lock_until))
}

/// Splits the store's own settings off a URL's query string: `max_connections=N`.
/// The rest is left for the driver.
fn pool_settings(url: &str) -> Result<(String, u32), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), DEFAULT_MAX_CONNECTIONS));
    };
    let mut max = DEFAULT_MAX_CONNECTIONS;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("max_connections", n)) => {
                max =
                    n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        StoreError::UnsupportedUrl(format!("max_connections={n}"))
                    })?;
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, max))
}

impl PostgresStore {
    /// Connects to the database the URL names (it must exist; migrations create the tables).
    pub async fn connect(
        url: &str,
        clock: crate::server::clock::Clock,
    ) -> Result<Self, StoreError> {
        let (url, max_connections) = pool_settings(url)?;
        let options = PgConnectOptions::from_str(&url)
            .map_err(|e| StoreError::UnsupportedUrl(e.to_string()))?
            .application_name("yikatong");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // A server restarted behind a proxy leaves dead connections; check on checkout
            // (sqlx's default) and recycle idle ones.
            .idle_timeout(Duration::from_secs(300))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(PostgresStore { pool, clock })
    }

    async fn load_demo_tx(&self, demo: &DemoCampus, profile: &str) -> PgResult<()> {
        let now = at(self.clock.now());
        let mut tx = self.pool.begin().await?;
        upsert_profile(&mut tx, profile, now).await?;

        let mut merchant_ids = Vec::with_capacity(demo.merchants.len());
        for m in &demo.merchants {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO merchants (code, name_zh, name_en, category, place, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&m.code)
            .bind(&m.name_zh)
            .bind(&m.name_en)
            .bind(m.category.as_str())
            .bind(&m.place)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            merchant_ids.push(id);
        }
        let index = |ids: &[i64], what: &str, i: Option<usize>| -> PgResult<Option<i64>> {
            i.map(|i| {
                ids.get(i)
                    .copied()
                    .ok_or_else(|| PgError::Store(StoreError::Corrupt(format!("no {what} #{i}"))))
            })
            .transpose()
        };

        let mut device_ids = Vec::with_capacity(demo.devices.len());
        for d in &demo.devices {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO devices (code, kind, merchant_id, place, created_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&d.code)
            .bind(d.kind.as_str())
            .bind(index(&merchant_ids, "merchant", d.merchant)?)
            .bind(&d.place)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            device_ids.push(id);
        }

        for s in &demo.staff {
            sqlx::query(
                "INSERT INTO staff_users (username, display_name, role, merchant_id, password_hash, created_at, totp_secret, password_changed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
            )
            .bind(&s.username)
            .bind(&s.display_name)
            .bind(s.role.as_str())
            .bind(index(&merchant_ids, "merchant", s.merchant)?)
            .bind(&s.password_hash)
            .bind(now)
            .bind(&s.totp_secret)
            .execute(&mut *tx)
            .await?;
        }

        for h in &demo.holders {
            let (_, account_id, live_card) = insert_holder(&mut tx, h).await?;

            // The history goes in as one statement per holder (arrays unnested), not one
            // round trip per entry.
            let mut balance = Money::ZERO;
            let n = h.entries.len();
            let (mut kinds, mut amounts, mut afters, mut channels) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            let (mut merchants, mut devices, mut cards, mut memos, mut times) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for e in &h.entries {
                balance = balance
                    .checked_add(e.amount)
                    .filter(|b| !b.is_negative())
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("demo history overdraws {}", h.student_no))
                    })?;
                let device_id = index(&device_ids, "device", e.device)?;
                kinds.push(e.kind.as_str());
                amounts.push(e.amount.fen());
                afters.push(balance.fen());
                channels.push(e.channel.map(|c| c.as_str()));
                merchants.push(index(&merchant_ids, "merchant", e.merchant)?);
                devices.push(device_id);
                cards.push(device_id.and(live_card));
                memos.push(e.memo.as_str());
                times.push(at(e.created_at));
            }
            sqlx::query(
                "INSERT INTO journal_entries (account_id, kind, amount, balance_after, channel, merchant_id,
                     device_id, card_id, memo, created_at)
                 SELECT $1, e.kind, e.amount, e.balance_after, e.channel, e.merchant_id, e.device_id,
                        e.card_id, e.memo, e.created_at
                 FROM UNNEST($2::text[], $3::bigint[], $4::bigint[], $5::text[],
                     $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::timestamptz[])
                     WITH ORDINALITY AS e (kind, amount, balance_after, channel, merchant_id, device_id,
                         card_id, memo, created_at, n)
                 ORDER BY e.n",
            )
            .bind(account_id)
            .bind(&kinds)
            .bind(&amounts)
            .bind(&afters)
            .bind(&channels)
            .bind(&merchants)
            .bind(&devices)
            .bind(&cards)
            .bind(&memos)
            .bind(&times)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE accounts SET balance = $1 WHERE id = $2")
                .bind(balance.fen())
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn ledger_check_inner(&self) -> PgResult<LedgerCheck> {
        let rows = sqlx::query(
            "SELECT a.id, a.balance, COALESCE(SUM(j.amount), 0)::bigint AS journal_sum, COUNT(j.id) AS entries
             FROM accounts a LEFT JOIN journal_entries j ON j.account_id = a.id
             GROUP BY a.id, a.balance ORDER BY a.id",
        )
        .fetch_all(&self.pool)
        .await?;
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
            let id: i64 = row.try_get("id")?;
            let balance = Money::from_fen(row.try_get("balance")?);
            let sum = Money::from_fen(row.try_get("journal_sum")?);
            let entries: i64 = row.try_get("entries")?;
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
            "SELECT a.id, a.spent_fen, (SELECT COALESCE(-SUM(amount), 0)::bigint FROM journal_entries
                 WHERE account_id = a.id AND kind IN ('payment', 'refund') AND created_at >= a.spent_since)
             FROM accounts a WHERE a.spent_since IS NOT NULL ORDER BY a.id",
        )
        .fetch_all(&self.pool)
        .await?;
        check.spent_mismatches = spent
            .into_iter()
            .filter(|(_, running, sum)| running != sum)
            .map(|(id, running, sum)| (id, Money::from_fen(running), Money::from_fen(sum)))
            .collect();
        Ok(check)
    }
}

/// Inserts one cardholder with the account and cards, inside the caller's transaction.
/// Returns (holder id, account id, the active card's id).
pub(super) async fn insert_holder(
    conn: &mut PgConnection,
    h: &NewHolder,
) -> PgResult<(i64, i64, Option<i64>)> {
    let created = at(h.created_at);
    let holder_id: i64 = sqlx::query_scalar(
        "INSERT INTO cardholders (student_no, name, kind, department, class_name, id_doc_kind,
             id_doc_hash, id_doc_masked, phone_masked, query_pw_hash, query_pw_is_initial, created_at,
             personal_pins)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
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
    .bind(created)
    .bind(h.personal_pins.join(","))
    .fetch_one(&mut *conn)
    .await?;

    let account_id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (holder_id, single_limit, daily_limit, consumption_pw_hash, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(holder_id)
    .bind(h.single_limit.fen())
    .bind(h.daily_limit.fen())
    .bind(&h.consumption_pw_hash)
    .bind(created)
    .fetch_one(&mut *conn)
    .await?;

    let mut live_card: Option<i64> = None;
    for c in &h.cards {
        let card_id: i64 = sqlx::query_scalar(
            "INSERT INTO cards (holder_id, card_no, chip_serial, status, issued_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(holder_id)
        .bind(&c.card_no)
        .bind(&c.chip_serial)
        .bind(c.status.as_str())
        .bind(at(c.issued_at))
        .fetch_one(&mut *conn)
        .await?;
        if matches!(c.status, crate::model::CardStatus::Active) {
            live_card = Some(card_id);
        }
    }
    Ok((holder_id, account_id, live_card))
}

pub(super) async fn upsert_profile(
    conn: &mut PgConnection,
    profile: &str,
    now: DateTime<Utc>,
) -> PgResult<()> {
    sqlx::query(
        "INSERT INTO campus_profile (id, profile, updated_at) VALUES (1, $1::jsonb, $2)
         ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
    )
    .bind(profile)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // sqlx takes an advisory lock for the run: servers starting together migrate once.
        sqlx::migrate!("../migrations/postgres")
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
        let text: Option<String> =
            sqlx::query_scalar("SELECT profile::text FROM campus_profile WHERE id = 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(PgError::from)?;
        text.map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))
        })
        .transpose()
    }

    async fn save_campus_profile(&self, profile: &CampusProfile) -> Result<(), StoreError> {
        let text = serde_json::to_string(profile)
            .map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))?;
        let mut conn = self.pool.acquire().await.map_err(PgError::from)?;
        Ok(upsert_profile(&mut conn, &text, at(self.clock.now())).await?)
    }

    async fn holder_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cardholders")
            .fetch_one(&self.pool)
            .await
            .map_err(PgError::from)?)
    }

    async fn load_demo(&self, demo: &DemoCampus) -> Result<(), StoreError> {
        let profile = serde_json::to_string(&demo.profile)
            .map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))?;
        Ok(self.load_demo_tx(demo, &profile).await?)
    }

    async fn ledger_check(&self) -> Result<LedgerCheck, StoreError> {
        Ok(self.ledger_check_inner().await?)
    }
}

/// Creating and dropping whole databases, for throw-away test databases (the integration
/// tests and the ledger property test make one per test). `admin_url` names a role allowed to
/// create databases; `name` must be a plain identifier (lower-case letters, digits, `_`).
pub mod admin {
    use super::{PgError, PgResult};
    use crate::server::store::StoreError;
    use sqlx::Connection;

    fn check_name(name: &str) -> PgResult<()> {
        let plain = !name.is_empty()
            && name.len() < 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if plain {
            Ok(())
        } else {
            Err(PgError::Store(StoreError::UnsupportedUrl(format!(
                "not a plain database name: {name}"
            ))))
        }
    }

    /// The URL of database `name` on the server `admin_url` points at (same role).
    pub fn database_url(admin_url: &str, name: &str) -> Result<String, StoreError> {
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (admin_url, None),
        };
        let authority_end = base
            .find("://")
            .map(|i| i + 3)
            .and_then(|start| base[start..].find('/').map(|i| start + i))
            .unwrap_or(base.len());
        let mut url = format!("{}/{name}", &base[..authority_end]);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        Ok(url)
    }

    /// Creates an empty database; an existing one is left as it is.
    pub async fn create_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
        check_name(name)?;
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&mut conn)
                .await
                .map_err(PgError::from)?;
        if !exists {
            let created = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .map_err(PgError::from);
            // 42P04: created by someone else in the meantime; that is fine.
            if let Err(err) = created
                && err.sqlstate().as_deref() != Some("42P04")
            {
                return Err(err.into());
            }
        }
        conn.close().await.map_err(PgError::from)?;
        Ok(())
    }

    /// Drops a database, ending its open connections first.
    pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
        check_name(name)?;
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .map_err(PgError::from)?;
        conn.close().await.map_err(PgError::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::PasswordHasher;
    use crate::server::store::sqlite::ts;
    use crate::server::store::testing::{ScratchDb, admin_url};
    use secrecy::SecretString;

    async fn demo_store(url: &str) -> PostgresStore {
        let store = PostgresStore::connect(url, crate::server::clock::test_clock())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let hasher = PasswordHasher::new(SecretString::from("p"), 2);
        let demo =
            crate::server::demo::build(&hasher, b"k", 2, crate::server::clock::test_now()).unwrap();
        store.load_demo(&demo).await.unwrap();
        store
    }

    #[test]
    fn pool_settings_are_taken_off_the_url() {
        assert_eq!(
            pool_settings("postgres://u@h/db").unwrap(),
            ("postgres://u@h/db".to_string(), DEFAULT_MAX_CONNECTIONS)
        );
        assert_eq!(
            pool_settings("postgres://u@h/db?sslmode=disable&max_connections=32").unwrap(),
            ("postgres://u@h/db?sslmode=disable".to_string(), 32)
        );
        assert!(pool_settings("postgres://u@h/db?max_connections=0").is_err());
        assert_eq!(
            admin::database_url("postgres://u:p@h:5432/postgres?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            admin::database_url("postgres://u@h", "x").unwrap(),
            "postgres://u@h/x"
        );
    }

    #[test]
    fn stored_timestamps_print_like_sqlite() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T08:09:10.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(ts(at(t)), "2026-03-01T08:09:10.123Z");
        assert_eq!(at(at(t)), at(t));
    }

    #[tokio::test]
    async fn journal_and_audit_are_append_only() {
        let Some(admin) = admin_url() else { return };
        let db = ScratchDb::create(&admin).await;
        let store = demo_store(&db.url).await;
        let update = sqlx::query("UPDATE journal_entries SET amount = 1 WHERE id = 1")
            .execute(&store.pool)
            .await;
        assert!(update.unwrap_err().to_string().contains("immutable"));
        let delete = sqlx::query("DELETE FROM journal_entries")
            .execute(&store.pool)
            .await;
        assert!(delete.unwrap_err().to_string().contains("immutable"));
        let truncate = sqlx::query("TRUNCATE journal_entries CASCADE")
            .execute(&store.pool)
            .await;
        assert!(truncate.unwrap_err().to_string().contains("immutable"));
        sqlx::query(
            "INSERT INTO audit_log (at, actor_kind, action) VALUES (now(), 'system', 'test')",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let delete = sqlx::query("DELETE FROM audit_log")
            .execute(&store.pool)
            .await;
        assert!(delete.unwrap_err().to_string().contains("append-only"));
        store.pool.close().await;
        drop(db);
    }

    #[tokio::test]
    async fn the_schema_refuses_overdrafts_and_second_live_cards() {
        let Some(admin) = admin_url() else { return };
        let db = ScratchDb::create(&admin).await;
        let store = demo_store(&db.url).await;
        let overdraft = sqlx::query("UPDATE accounts SET balance = -1 WHERE id = 1")
            .execute(&store.pool)
            .await;
        assert!(overdraft.is_err());
        let second = sqlx::query(
            "INSERT INTO cards (holder_id, card_no, chip_serial, status, issued_at) VALUES (1, 'X1', 'FFFF0000', 'active', now())",
        )
        .execute(&store.pool)
        .await;
        assert!(second.is_err(), "a holder got two live cards");
        let check = store.ledger_check().await.unwrap();
        assert!(check.is_consistent(), "{check:?}");
        assert_eq!(check.accounts, 2);
        store.pool.close().await;
        drop(db);
    }
}
