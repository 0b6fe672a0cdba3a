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

use super::{Backend, NewHolder, StoreError, Ts};
use crate::model::Money;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// The driver types the shared SQL (`store/sql`) is compiled against here.
type Conn = sqlx::PgConnection;
type DbRow = sqlx::postgres::PgRow;
type ThisStore = PostgresStore;

/// The row lock a change takes on the row it read: concurrent changes of one row run one after
/// the other (`FOR NO KEY UPDATE` on accounts, the lock an `UPDATE` of a non-key column takes
/// anyway; `FOR UPDATE` on a card or an order).
macro_rules! for_update {
    () => {
        " FOR UPDATE"
    };
    (no_key) => {
        " FOR NO KEY UPDATE"
    };
    (key_share) => {
        " FOR KEY SHARE"
    };
}

/// `… LIKE pattern` as SQLite's: case-insensitive, no escape character.
macro_rules! like {
    ($pattern:literal) => {
        concat!(" ILIKE ", $pattern, " ESCAPE ''")
    };
}

pub struct PostgresStore {
    pub(super) pool: PgPool,
    /// The server's clock, for the timestamps the store writes itself.
    pub(super) clock: crate::server::clock::Clock,
}

/// The pool size when the URL does not say (`?max_connections=N`).
const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// How often a transaction that lost a race is run again before the error is returned.
pub(super) const MAX_ATTEMPTS: u32 = 5;

/// A short random pause before the next attempt, growing with the attempt number.
pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(rand::random_range(1..=10) * u64::from(attempt))
}

/// The month (`YYYY-MM`) of a timestamp column in campus time: UTC+8 all year (China has no
/// daylight saving), a fixed shift as on SQLite rather than a zone name.
macro_rules! campus_month {
    ($column:literal) => {
        concat!(
            "to_char((",
            $column,
            " AT TIME ZONE 'UTC') + INTERVAL '8 hours', 'YYYY-MM')"
        )
    };
}

/// Runs `$body` in a transaction bound to `$tx`, running the whole transaction again when it
/// loses a race (`StoreError::Conflict`: a serialization failure, a deadlock, or a unique key
/// another transaction took first). The body evaluates to `Result<Finish<T>, StoreError>`; it
/// may use `?`, which rolls back. Evaluates to `Result<T, StoreError>`.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:block) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let result: Result<_, $crate::server::store::StoreError> = async {
                let mut $tx = $store.pool.begin().await?;
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
            match result {
                Err($crate::server::store::StoreError::Conflict(err))
                    if attempt < $crate::server::store::postgres::MAX_ATTEMPTS =>
                {
                    tracing::debug!(error = %err, attempt, "transaction lost a race; retrying");
                    tokio::time::sleep($crate::server::store::postgres::backoff(attempt)).await;
                }
                other => break other,
            }
        }
    }};
}

/// The campus profile's column, read as JSON text (stored as JSONB).
macro_rules! profile_column {
    () => {
        "profile::text"
    };
}

/// The campus profile's JSON text as a parameter.
macro_rules! profile_param {
    () => {
        "$1::jsonb"
    };
}

/// The SQL both backends run, compiled here against PostgreSQL.
#[path = "../sql/mod.rs"]
#[allow(clippy::duplicate_mod)] // on purpose: one text of the SQL, a module per backend
mod sql;

pub mod admin;
mod ledger;

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
}

const BACKEND: Backend = Backend::Postgres;

// sqlx takes an advisory lock for the run: servers starting together migrate once.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A demo holder's history; returns the balance it leaves.
async fn insert_history(
    conn: &mut Conn,
    history: &sql::campus::History<'_>,
    h: &NewHolder,
) -> Result<Money, StoreError> {
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
        let entry = sql::campus::demo_entry(history, h, e, &mut balance)?;
        kinds.push(e.kind.as_str());
        amounts.push(e.amount.fen());
        afters.push(balance.fen());
        channels.push(e.channel.map(|c| c.as_str()));
        merchants.push(entry.merchant_id);
        devices.push(entry.device_id);
        cards.push(entry.device_id.and(history.live_card));
        memos.push(e.memo.as_str());
        times.push(Ts::new(e.created_at).0);
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
    .bind(history.account_id)
    .bind(&kinds)
    .bind(&amounts)
    .bind(&afters)
    .bind(&channels)
    .bind(&merchants)
    .bind(&devices)
    .bind(&cards)
    .bind(&memos)
    .bind(&times)
    .execute(&mut *conn)
    .await?;
    Ok(balance)
}

/// PostgreSQL's timestamp columns are typed: there is no other form to find.
async fn malformed_timestamps(_pool: &PgPool) -> Result<Vec<String>, StoreError> {
    Ok(Vec::new())
}

/// The channel the servers on one database tell each other of 深职通码 payments on.
const CODE_RESULTS: &str = "ykt_code_results";

/// `NOTIFY`: delivered to every server listening on this database, this one included.
pub(super) async fn announce(store: &PostgresStore, text: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CODE_RESULTS)
        .bind(text)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// `LISTEN` on a connection of its own, forwarded until the receiver is dropped. A lost
/// connection is made again (what was told meanwhile is missed: a code page also learns of a
/// payment at its next refresh).
pub(super) async fn announcements(
    store: &PostgresStore,
) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
    let mut listener = sqlx::postgres::PgListener::connect_with(&store.pool).await?;
    listener.listen(CODE_RESULTS).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tx.closed() => break,
                received = listener.recv() => match received {
                    Ok(notification) => {
                        if tx.send(notification.payload().to_string()).await.is_err() {
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "listening for other servers' code payments; connecting again");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
            }
        }
    });
    Ok(Some(rx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::PasswordHasher;
    use crate::server::store::Store;
    use crate::server::store::testing::{ScratchDb, admin_url};
    use chrono::{DateTime, Utc};
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
        assert_eq!(Ts::new(t).text(), "2026-03-01T08:09:10.123Z");
        assert_eq!(Ts::new(Ts::new(t).0), Ts::new(t));
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
