//! Copies a whole SQLite database into an empty PostgreSQL database, keeping every id, then
//! checks that the copy holds the same money before committing it.
//!
//! How: both schemas are migrated to the latest version first. The SQLite side is read in one
//! transaction (one consistent snapshot, even if a server were still writing). Every table is
//! copied in foreign-key order, in batches of `BATCH` rows (one `INSERT … SELECT FROM UNNEST`
//! per batch), all in one PostgreSQL transaction. Before that transaction commits, the copy is
//! verified: the same number of rows in every table, and for every account the same balance,
//! journal sum and journal entry count on both sides, with each balance equal to its journal
//! sum. Any difference rolls the whole copy back. Identity sequences are then moved past the
//! copied ids so new rows do not collide.
//!
//! The list of tables and columns below is checked against both live schemas before anything
//! is copied: a table or column added by a later migration and not listed here stops the copy
//! with a message, instead of being left behind silently.

use super::Ts;
use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row, SqliteConnection};
use std::collections::BTreeMap;

/// How a column's values are read from SQLite and written to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// INTEGER → BIGINT.
    Int,
    /// TEXT → TEXT.
    Text,
    /// INTEGER 0/1 → BOOLEAN.
    Bool,
    /// RFC 3339 TEXT → TIMESTAMPTZ.
    Time,
    /// JSON TEXT → JSONB.
    Json,
}

use Kind::{Bool, Int, Json, Text, Time};

/// Every table, parents before children, with every column.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "campus_profile",
        &[("id", Int), ("profile", Json), ("updated_at", Time)],
    ),
    (
        "cardholders",
        &[
            ("id", Int),
            ("student_no", Text),
            ("name", Text),
            ("kind", Text),
            ("department", Text),
            ("class_name", Text),
            ("id_doc_kind", Text),
            ("id_doc_hash", Text),
            ("id_doc_masked", Text),
            ("phone_masked", Text),
            ("query_pw_hash", Text),
            ("query_pw_is_initial", Bool),
            ("query_pw_changed_at", Time),
            ("failed_logins", Int),
            ("locked_until", Time),
            ("created_at", Time),
            ("personal_pins", Text),
        ],
    ),
    (
        "accounts",
        &[
            ("id", Int),
            ("holder_id", Int),
            ("balance", Int),
            ("status", Text),
            ("status_reason", Text),
            ("single_limit", Int),
            ("daily_limit", Int),
            ("consumption_pw_hash", Text),
            ("consumption_pw_is_initial", Bool),
            ("consumption_pw_failures", Int),
            ("consumption_pw_locked_until", Time),
            ("created_at", Time),
            ("closed_at", Time),
            // The day's running total (migration 0009). Copying the journal afterwards marks
            // it unknown again on PostgreSQL (the trigger); the first payment sums the day.
            ("spent_since", Time),
            ("spent_fen", Int),
        ],
    ),
    (
        "cards",
        &[
            ("id", Int),
            ("holder_id", Int),
            ("card_no", Text),
            ("chip_serial", Text),
            ("status", Text),
            ("issued_at", Time),
            ("lost_at", Time),
            ("ended_at", Time),
        ],
    ),
    (
        "merchants",
        &[
            ("id", Int),
            ("code", Text),
            ("name_zh", Text),
            ("name_en", Text),
            ("category", Text),
            ("place", Text),
            ("active", Bool),
            ("created_at", Time),
        ],
    ),
    (
        "devices",
        &[
            ("id", Int),
            ("code", Text),
            ("kind", Text),
            ("merchant_id", Int),
            ("place", Text),
            ("key_hash", Text),
            ("key_issued_at", Time),
            ("revoked_at", Time),
            ("created_at", Time),
            ("public_key", Text),
        ],
    ),
    (
        "staff_users",
        &[
            ("id", Int),
            ("username", Text),
            ("display_name", Text),
            ("role", Text),
            ("merchant_id", Int),
            ("password_hash", Text),
            ("totp_secret", Text),
            ("active", Bool),
            ("failed_logins", Int),
            ("locked_until", Time),
            ("created_at", Time),
            ("totp_last_step", Int),
            ("password_changed_at", Time),
        ],
    ),
    (
        "journal_entries",
        &[
            ("id", Int),
            ("account_id", Int),
            ("kind", Text),
            ("amount", Int),
            ("balance_after", Int),
            ("channel", Text),
            ("merchant_id", Int),
            ("device_id", Int),
            ("staff_id", Int),
            ("card_id", Int),
            ("request_id", Text),
            ("reverses_id", Int),
            ("reference", Text),
            ("memo", Text),
            ("created_at", Time),
        ],
    ),
    (
        "sessions",
        &[
            ("token_hash", Text),
            ("subject_kind", Text),
            ("subject_id", Int),
            ("created_at", Time),
            ("last_seen_at", Time),
            ("expires_at", Time),
            ("ip", Text),
            ("user_agent", Text),
            ("ended_at", Time),
        ],
    ),
    (
        "audit_log",
        &[
            ("id", Int),
            ("at", Time),
            ("actor_kind", Text),
            ("actor_id", Int),
            ("action", Text),
            ("holder_id", Int),
            ("target", Text),
            ("before_state", Text),
            ("after_state", Text),
            ("reason", Text),
            ("ip", Text),
        ],
    ),
    (
        "closing_requests",
        &[
            ("id", Int),
            ("holder_id", Int),
            ("bank_account", Text),
            ("reason", Text),
            ("requested_by", Int),
            ("requested_at", Time),
            ("status", Text),
            ("decided_by", Int),
            ("decided_at", Time),
        ],
    ),
    (
        "admin_requests",
        &[
            ("id", Int),
            ("kind", Text),
            ("target", Text),
            ("payload", Text),
            ("before_state", Text),
            ("after_state", Text),
            ("reason", Text),
            ("requested_by", Int),
            ("requested_at", Time),
            ("status", Text),
            ("decided_by", Int),
            ("decided_at", Time),
        ],
    ),
    (
        "cash_counts",
        &[
            ("id", Int),
            ("staff_id", Int),
            ("counted", Int),
            ("note", Text),
            ("counted_at", Time),
        ],
    ),
    (
        "cash_requests",
        &[
            ("id", Int),
            ("holder_id", Int),
            ("amount", Int),
            ("receipt_no", Text),
            ("reason", Text),
            ("requested_by", Int),
            ("requested_at", Time),
            ("status", Text),
            ("decided_by", Int),
            ("decided_at", Time),
        ],
    ),
    (
        "payout_accounts",
        &[
            ("holder_id", Int),
            ("bank_account", Text),
            ("account_masked", Text),
            ("recorded_by", Int),
            ("recorded_at", Time),
        ],
    ),
    (
        "staff_enrolments",
        &[
            ("token_hash", Text),
            ("staff_id", Int),
            ("totp_secret", Text),
            ("created_at", Time),
            ("expires_at", Time),
            ("used_at", Time),
        ],
    ),
    (
        "device_nonces",
        &[("device_id", Int), ("nonce", Text), ("seen_at", Time)],
    ),
    (
        "login_throttle",
        &[("key", Text), ("window_start", Time), ("failures", Int)],
    ),
    (
        "pay_code_keys",
        &[
            ("key_id", Int),
            ("holder_id", Int),
            ("session_hash", Text),
            ("secret", Text),
            ("created_at", Time),
            ("revoked_at", Time),
        ],
    ),
    (
        "pay_code_uses",
        &[("key_id", Int), ("step", Int), ("used_at", Time)],
    ),
    (
        "phone_bindings",
        &[
            ("key_id", Int),
            ("holder_id", Int),
            ("token_hash", Text),
            ("secret", Text),
            ("device_name", Text),
            ("created_at", Time),
            ("expires_at", Time),
            ("last_used_at", Time),
            ("ended_at", Time),
            ("end_reason", Text),
        ],
    ),
    (
        "phone_code_uses",
        &[("key_id", Int), ("step", Int), ("used_at", Time)],
    ),
    (
        "device_requests",
        &[
            ("device_id", Int),
            ("request_id", Text),
            ("payload_hash", Text),
            ("outcome", Text),
            ("created_at", Time),
        ],
    ),
    (
        "access_events",
        &[
            ("id", Int),
            ("device_id", Int),
            ("holder_id", Int),
            ("card_id", Int),
            ("method", Text),
            ("allowed", Bool),
            ("reason", Text),
            ("at", Time),
        ],
    ),
    (
        "terminal_sessions",
        &[
            ("token_hash", Text),
            ("device_id", Int),
            ("created_at", Time),
            ("last_seen_at", Time),
            ("ip", Text),
            ("ended_at", Time),
        ],
    ),
    (
        "topup_orders",
        &[
            ("id", Int),
            ("order_no", Text),
            ("holder_id", Int),
            ("channel", Text),
            ("amount", Int),
            ("status", Text),
            ("provider_ref", Text),
            ("failure", Text),
            ("journal_id", Int),
            ("created_at", Time),
            ("updated_at", Time),
            ("resolved_at", Time),
            ("resolved_by", Int),
            ("resolution", Text),
        ],
    ),
    (
        "auto_topup",
        &[
            ("holder_id", Int),
            ("enabled", Bool),
            ("threshold", Int),
            ("amount", Int),
            ("card_masked", Text),
            ("card_token", Text),
            ("updated_at", Time),
        ],
    ),
    (
        "found_cards",
        &[
            ("id", Int),
            ("card_id", Int),
            ("holder_id", Int),
            ("place", Text),
            ("found_at", Time),
            ("recorded_by", Int),
            ("returned_at", Time),
            ("returned_by", Int),
        ],
    ),
    (
        "reversal_requests",
        &[
            ("id", Int),
            ("journal_id", Int),
            ("holder_id", Int),
            ("amount", Int),
            ("reason", Text),
            ("requested_by", Int),
            ("requested_at", Time),
            ("status", Text),
            ("decided_by", Int),
            ("decided_at", Time),
            ("correction_id", Int),
        ],
    ),
    (
        "payouts",
        &[
            ("id", Int),
            ("journal_id", Int),
            ("holder_id", Int),
            ("amount", Int),
            ("bank_account", Text),
            ("reference", Text),
            ("created_at", Time),
        ],
    ),
    (
        "bills",
        &[
            ("id", Int),
            ("holder_id", Int),
            ("title", Text),
            ("department", Text),
            ("amount", Int),
            ("due_on", Text),
            ("status", Text),
            ("issued_by", Int),
            ("issued_at", Time),
            ("entry_id", Int),
            ("paid_at", Time),
            ("cancelled_by", Int),
            ("cancelled_at", Time),
            ("cancel_reason", Text),
        ],
    ),
    ("rooms", &[("building", Text), ("room", Text)]),
    (
        "utility_accounts",
        &[
            ("holder_id", Int),
            ("kind", Text),
            ("account", Text),
            ("bound_at", Time),
        ],
    ),
    (
        "utility_purchases",
        &[
            ("id", Int),
            ("reference", Text),
            ("holder_id", Int),
            ("request_key", Text),
            ("biller", Text),
            ("utility", Text),
            ("account", Text),
            ("quantity", Int),
            ("amount", Int),
            ("status", Text),
            ("entry_id", Int),
            ("refund_id", Int),
            ("biller_ref", Text),
            ("failure", Text),
            ("created_at", Time),
            ("settled_at", Time),
            ("next_ask_at", Time),
            ("overdue_at", Time),
            ("conflicted_at", Time),
        ],
    ),
    (
        "utility_autobuy",
        &[
            ("holder_id", Int),
            ("utility", Text),
            ("room", Text),
            ("below_milli", Int),
            ("quantity", Int),
            ("saved_at", Time),
        ],
    ),
    (
        "sandbox_meters",
        &[
            ("utility", Text),
            ("account", Text),
            ("milli", Int),
            ("as_of", Time),
            ("per_hour_milli", Int),
            ("offline", Bool),
        ],
    ),
    (
        "sandbox_deliveries",
        &[
            ("reference", Text),
            ("utility", Text),
            ("account", Text),
            ("quantity", Int),
            ("amount", Int),
            ("delivered", Bool),
            ("reason", Text),
            ("biller_ref", Text),
            ("at", Time),
        ],
    ),
    (
        "notices",
        &[
            ("id", Int),
            ("holder_id", Int),
            ("kind", Text),
            ("security", Bool),
            ("amount", Int),
            ("balance", Int),
            ("merchant_id", Int),
            ("created_at", Time),
            ("read_at", Time),
            ("dispatched", Bool),
        ],
    ),
    (
        "notice_emails",
        &[
            ("holder_id", Int),
            ("address", Text),
            ("token_hash", Text),
            ("requested_at", Time),
            ("confirmed_at", Time),
        ],
    ),
    // Before the deliveries that name them.
    (
        "push_subscriptions",
        &[
            ("id", Int),
            ("holder_id", Int),
            ("endpoint", Text),
            ("p256dh", Text),
            ("auth", Text),
            ("label", Text),
            ("session_hash", Text),
            ("browser_hash", Text),
            ("created_at", Time),
            ("ended_at", Time),
        ],
    ),
    (
        "notice_deliveries",
        &[
            ("id", Int),
            ("holder_id", Int),
            ("notice_id", Int),
            ("address", Text),
            ("subject", Text),
            ("body", Text),
            ("idempotency_key", Text),
            ("status", Text),
            ("attempts", Int),
            ("next_at", Time),
            ("lease_until", Time),
            ("last_error", Text),
            ("created_at", Time),
            ("sent_at", Time),
            ("channel", Text),
            ("subscription_id", Int),
        ],
    ),
    (
        "known_browsers",
        &[
            ("holder_id", Int),
            ("browser_hash", Text),
            ("first_seen_at", Time),
            ("last_seen_at", Time),
        ],
    ),
    (
        "notice_prefs",
        &[
            ("holder_id", Int),
            ("payment_above", Int),
            ("low_balance_below", Int),
            ("topups", Bool),
            ("bills", Bool),
            ("utilities", Bool),
            ("saved_at", Time),
            ("email_payments", Bool),
            ("email_low_balance", Bool),
            ("email_topups", Bool),
            ("email_bills", Bool),
            ("email_utilities", Bool),
            ("push_payments", Bool),
            ("push_low_balance", Bool),
            ("push_topups", Bool),
            ("push_bills", Bool),
            ("push_utilities", Bool),
        ],
    ),
    (
        "announcements",
        &[
            ("id", Int),
            ("title_zh", Text),
            ("title_en", Text),
            ("body_zh", Text),
            ("body_en", Text),
            ("starts_at", Time),
            ("ends_at", Time),
            ("audience", Text),
            ("department", Text),
            ("created_by", Int),
            ("created_at", Time),
            ("withdrawn_by", Int),
            ("withdrawn_at", Time),
            ("withdraw_reason", Text),
        ],
    ),
];

/// Tables whose `id` is a PostgreSQL identity (its sequence is moved past the copied ids).
const IDENTITY_TABLES: &[&str] = &[
    "cardholders",
    "accounts",
    "cards",
    "merchants",
    "devices",
    "staff_users",
    "journal_entries",
    "audit_log",
    "access_events",
    "topup_orders",
    "found_cards",
    "reversal_requests",
    "payouts",
    "closing_requests",
    "cash_requests",
    "cash_counts",
    "admin_requests",
    "bills",
    "announcements",
    "utility_purchases",
    "notices",
    "notice_deliveries",
    "push_subscriptions",
];

/// Rows per INSERT.
const BATCH: usize = 2_000;

/// What was copied and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// (table, rows) in copy order.
    pub tables: Vec<(String, i64)>,
    pub accounts: i64,
    pub entries: i64,
    /// The sum of all balances, which equals the sum of all journal entries, in fen.
    pub total_balance: i64,
}

fn refuse(message: String) -> StoreError {
    StoreError::CopyRefused(message)
}

/// One column's values for a batch, as PostgreSQL arrays want them.
enum Values {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    Time(Vec<Option<DateTime<Utc>>>),
}

impl Values {
    fn new(kind: Kind) -> Values {
        match kind {
            Int => Values::Int(Vec::new()),
            Text | Json => Values::Text(Vec::new()),
            Bool => Values::Bool(Vec::new()),
            Time => Values::Time(Vec::new()),
        }
    }

    fn push(
        &mut self,
        row: &sqlx::sqlite::SqliteRow,
        i: usize,
        table: &str,
    ) -> Result<(), StoreError> {
        match self {
            Values::Int(v) => v.push(row.try_get(i)?),
            Values::Text(v) => v.push(row.try_get(i)?),
            Values::Bool(v) => v.push(row.try_get::<Option<i64>, _>(i)?.map(|b| b != 0)),
            Values::Time(v) => {
                let text: Option<String> = row.try_get(i)?;
                v.push(
                    text.as_deref()
                        .map(|t| Ts::parse(t).map(|t| t.0))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(format!("{table}: {e}")))?,
                );
            }
        }
        Ok(())
    }

    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        match self {
            Values::Int(v) => query.bind(v),
            Values::Text(v) => query.bind(v),
            Values::Bool(v) => query.bind(v),
            Values::Time(v) => query.bind(v),
        }
    }
}

fn pg_array_type(kind: Kind) -> &'static str {
    match kind {
        Int => "bigint[]",
        Text | Json => "text[]",
        Bool => "boolean[]",
        Time => "timestamptz[]",
    }
}

/// Refuses to copy when a live schema has a table or column the list above does not know.
async fn check_schemas(
    lite: &mut SqliteConnection,
    pg: &mut PgConnection,
) -> Result<(), StoreError> {
    let known: BTreeMap<&str, Vec<&str>> = TABLES
        .iter()
        .map(|(t, cols)| (*t, cols.iter().map(|(c, _)| *c).collect()))
        .collect();
    let lite_tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *lite)
    .await?;
    let pg_tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
           AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(&mut *pg)
    .await?;
    for (side, tables) in [("SQLite", &lite_tables), ("PostgreSQL", &pg_tables)] {
        for table in tables {
            let Some(cols) = known.get(table.as_str()) else {
                return Err(refuse(format!(
                    "the {side} database has a table the copy does not know: {table}"
                )));
            };
            let live: Vec<String> = if side == "SQLite" {
                sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
                    .bind(table)
                    .fetch_all(&mut *lite)
                    .await?
            } else {
                sqlx::query_scalar(
                    "SELECT column_name::text FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1",
                )
                .bind(table)
                .fetch_all(&mut *pg)
                .await?
            };
            if let Some(extra) = live.iter().find(|c| !cols.contains(&c.as_str())) {
                return Err(refuse(format!(
                    "the {side} table {table} has a column the copy does not know: {extra}"
                )));
            }
            if let Some(missing) = cols.iter().find(|c| !live.iter().any(|l| l == *c)) {
                return Err(refuse(format!(
                    "the {side} table {table} lacks the column {missing}"
                )));
            }
        }
    }
    for (table, _) in TABLES {
        if !lite_tables.iter().any(|t| t == table) || !pg_tables.iter().any(|t| t == table) {
            return Err(refuse(format!("table {table} is missing on one side")));
        }
    }
    Ok(())
}

/// Copies one table in batches; returns the number of rows.
async fn copy_table(
    lite: &mut SqliteConnection,
    pg: &mut PgConnection,
    table: &str,
    columns: &[(&str, Kind)],
) -> Result<i64, StoreError> {
    let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
    let select = format!(
        "SELECT rowid, {} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT {BATCH}",
        names.join(", ")
    );
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, k))| format!("${}::{}", i + 1, pg_array_type(*k)))
        .collect();
    let picks: Vec<String> = columns
        .iter()
        .map(|(c, k)| match k {
            Json => format!("u.{c}::jsonb"),
            _ => format!("u.{c}"),
        })
        .collect();
    let insert = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM UNNEST({}) AS u ({})",
        names.join(", "),
        picks.join(", "),
        arrays.join(", "),
        names.join(", ")
    );
    let mut last_rowid = i64::MIN;
    let mut copied = 0i64;
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(select.clone()))
            .bind(last_rowid)
            .fetch_all(&mut *lite)
            .await?;
        let Some(last) = rows.last() else { break };
        last_rowid = last.try_get(0)?;
        let mut values: Vec<Values> = columns.iter().map(|(_, k)| Values::new(*k)).collect();
        for row in &rows {
            for (i, v) in values.iter_mut().enumerate() {
                v.push(row, i + 1, table)?;
            }
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
        for v in values {
            query = v.bind(query);
        }
        query.execute(&mut *pg).await?;
        copied += rows.len() as i64;
        if rows.len() < BATCH {
            break;
        }
    }
    Ok(copied)
}

/// Per account: (balance, journal sum, journal entries).
type AccountLedger = BTreeMap<i64, (i64, i64, i64)>;

const LEDGER_SQL: &str =
    "SELECT a.id, a.balance, CAST(COALESCE(SUM(j.amount), 0) AS BIGINT) AS total, COUNT(j.id) AS n
     FROM accounts a LEFT JOIN journal_entries j ON j.account_id = a.id
     GROUP BY a.id, a.balance ORDER BY a.id";

fn ledger_rows<R: Row>(rows: Vec<R>) -> Result<AccountLedger, StoreError>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>(0)?,
                (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?),
            ))
        })
        .collect()
}

async fn copy_checked(
    lite_store: &SqliteStore,
    pg_store: &PostgresStore,
) -> Result<CopyReport, StoreError> {
    let mut lite = lite_store.pool.begin().await?;
    let mut pg = pg_store.pool.begin().await?;
    check_schemas(&mut lite, &mut pg).await?;

    // Only into an empty database: a copy never mixes with other data.
    for (table, _) in TABLES {
        let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {table})"
        )))
        .fetch_one(&mut *pg)
        .await?;
        if any {
            return Err(refuse(format!(
                "the PostgreSQL database is not empty (table {table} has rows); copy into a new database"
            )));
        }
    }

    // The source must balance: a ledger that does not is fixed at the source, not moved.
    let source = ledger_rows(sqlx::query(LEDGER_SQL).fetch_all(&mut *lite).await?)?;
    if let Some((id, (balance, total, _))) = source.iter().find(|(_, (b, t, _))| b != t) {
        return Err(refuse(format!(
            "the SQLite ledger does not balance: account {id} has balance {balance} but its journal sums to {total}"
        )));
    }

    let mut report = CopyReport {
        tables: Vec::new(),
        accounts: 0,
        entries: 0,
        total_balance: 0,
    };
    for (table, columns) in TABLES {
        let rows = copy_table(&mut lite, &mut pg, table, columns).await?;
        tracing::info!(table, rows, "copied");
        report.tables.push((table.to_string(), rows));
    }
    for table in IDENTITY_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
        )))
        .execute(&mut *pg)
        .await?;
    }

    // Verify inside the transaction: a difference rolls everything back.
    for (table, rows) in &report.tables {
        let lite_rows: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *lite)
                .await?;
        let pg_rows: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *pg)
                .await?;
        if lite_rows != *rows || pg_rows != *rows {
            return Err(refuse(format!(
                "{table}: {lite_rows} rows in SQLite, {rows} copied, {pg_rows} in PostgreSQL"
            )));
        }
    }
    let copied = ledger_rows(sqlx::query(LEDGER_SQL).fetch_all(&mut *pg).await?)?;
    if copied != source {
        let differs = source
            .iter()
            .find(|(id, v)| copied.get(id) != Some(v))
            .map(|(id, _)| *id);
        return Err(refuse(format!(
            "the copied ledger differs from the source (first at account {differs:?})"
        )));
    }
    for (balance, total, entries) in copied.values() {
        if balance != total {
            return Err(refuse("a copied balance differs from its journal".into()));
        }
        report.accounts += 1;
        report.entries += entries;
        report.total_balance = report
            .total_balance
            .checked_add(*balance)
            .ok_or_else(|| refuse("total balance overflows".into()))?;
    }
    let journal_total: i64 =
        sqlx::query_scalar("SELECT COALESCE(SUM(amount), 0)::bigint FROM journal_entries")
            .fetch_one(&mut *pg)
            .await?;
    if journal_total != report.total_balance {
        return Err(refuse(format!(
            "balances total {} but the journal totals {journal_total}",
            report.total_balance
        )));
    }
    pg.commit().await?;
    lite.rollback().await?;
    Ok(report)
}

/// Copies the SQLite database at `sqlite_url` into the empty PostgreSQL database at
/// `postgres_url` (both migrated first), verified before it commits. See the module comment.
pub async fn copy_sqlite_to_postgres(
    sqlite_url: &str,
    postgres_url: &str,
) -> Result<CopyReport, StoreError> {
    if !sqlite_url.starts_with("sqlite:") {
        return Err(StoreError::UnsupportedUrl(format!(
            "the source must be a sqlite:// URL, not {sqlite_url}"
        )));
    }
    if !(postgres_url.starts_with("postgres:") || postgres_url.starts_with("postgresql:")) {
        return Err(StoreError::UnsupportedUrl(
            "the target must be a postgres:// URL".into(),
        ));
    }
    // Connecting would create a missing file: a mistyped path must not copy an empty campus.
    let path = sqlite_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if !std::path::Path::new(path).is_file() {
        return Err(StoreError::CopyRefused(format!(
            "no SQLite database at {path}"
        )));
    }
    let lite = SqliteStore::connect(sqlite_url, crate::server::clock::Clock::system()).await?;
    lite.migrate().await?;
    let pg = PostgresStore::connect(postgres_url, crate::server::clock::Clock::system()).await?;
    pg.migrate().await?;
    copy_checked(&lite, &pg).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditAction;
    use crate::server::PasswordHasher;
    use crate::server::store::testing::{ScratchDb, admin_url};

    /// A demo campus in SQLite, and an empty PostgreSQL database; `None` on an SQLite-only run.
    async fn source_and_target() -> Option<(tempfile::TempDir, String, SqliteStore, ScratchDb)> {
        let admin = admin_url()?;
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/s.db", dir.path().display());
        let lite = SqliteStore::connect(&url, crate::server::clock::test_clock())
            .await
            .expect("sqlite");
        lite.migrate().await.expect("migrate");
        let hasher = PasswordHasher::new(secrecy::SecretString::from("p"), 1);
        let demo = crate::server::demo::build(&hasher, b"k", 2, crate::server::clock::test_now())
            .expect("demo");
        lite.load_demo(&demo).await.expect("load");
        let target = ScratchDb::create(&admin).await;
        Some((dir, url, lite, target))
    }

    async fn target_is_empty(url: &str) -> bool {
        let pg = PostgresStore::connect(url, crate::server::clock::test_clock())
            .await
            .expect("pg");
        pg.migrate().await.expect("migrate");
        let empty = pg.holder_count().await.expect("count") == 0
            && pg.campus_profile().await.expect("profile").is_none();
        pg.pool.close().await;
        empty
    }

    #[tokio::test]
    async fn a_source_ledger_that_does_not_balance_is_not_copied() {
        let Some((_dir, url, lite, target)) = source_and_target().await else {
            return;
        };
        sqlx::query("UPDATE accounts SET balance = balance + 1 WHERE id = 2")
            .execute(&lite.pool)
            .await
            .expect("tamper");
        let err = copy_sqlite_to_postgres(&url, &target.url)
            .await
            .expect_err("copied a broken ledger");
        assert!(err.to_string().contains("does not balance"), "{err}");
        assert!(target_is_empty(&target.url).await);
    }

    #[tokio::test]
    async fn a_column_the_copy_does_not_know_stops_it() {
        let Some((_dir, url, lite, target)) = source_and_target().await else {
            return;
        };
        sqlx::query("ALTER TABLE cards ADD COLUMN colour TEXT")
            .execute(&lite.pool)
            .await
            .expect("alter");
        let err = copy_sqlite_to_postgres(&url, &target.url)
            .await
            .expect_err("copied an unknown column");
        assert!(err.to_string().contains("colour"), "{err}");
        assert!(target_is_empty(&target.url).await);
    }

    fn staff_audit(
        staff: i64,
        action: crate::model::AuditAction,
        holder: Option<i64>,
    ) -> super::super::Audit {
        super::super::Audit {
            actor: super::super::Actor::Staff(staff),
            action,
            holder_id: holder,
            target: Default::default(),
            before: Default::default(),
            after: Default::default(),
            reason: "copy test".into(),
            ip: String::new(),
        }
    }

    #[tokio::test]
    async fn the_card_office_tables_are_copied() {
        use crate::model::{EntryKind, StaffRole};
        use crate::server::store::{AuditQuery, Correction, NewStaffUser, StaffStore};
        let Some((_dir, url, lite, target)) = source_and_target().await else {
            return;
        };
        // The card office's rows in the source: a found card returned and one open, a
        // correction written and a request pending, a staff member's TOTP step and password
        // change.
        let op = lite
            .staff_auth("operator")
            .await
            .expect("op")
            .expect("op")
            .id;
        let payments: Vec<i64> = lite
            .staff_entries(1, 500)
            .await
            .expect("entries")
            .iter()
            .filter(|e| e.kind == EntryKind::Payment)
            .map(|e| e.id)
            .take(2)
            .collect();
        assert_eq!(payments.len(), 2, "the demo history has payments");
        let now = crate::server::clock::test_now();
        let corrected = lite
            .correct_payment(
                payments[0],
                "copy",
                op,
                None,
                now,
                staff_audit(op, AuditAction::MoneyCorrection, Some(1)),
            )
            .await
            .expect("correct");
        assert!(
            matches!(corrected, Correction::Corrected { .. }),
            "{corrected:?}"
        );
        let entry = lite
            .journal_entry(payments[1])
            .await
            .expect("e")
            .expect("e");
        let request = lite
            .request_correction(
                &entry,
                "copy",
                op,
                now,
                staff_audit(op, AuditAction::MoneyCorrectionRequested, Some(1)),
            )
            .await
            .expect("request")
            .expect("filed");
        let (card, holder, _) = lite
            .card_by_number("DEC00000")
            .await
            .expect("c")
            .expect("c");
        let found = |at| {
            lite.record_found_card(
                card,
                holder,
                "食堂",
                op,
                at,
                staff_audit(op, AuditAction::CardFound, Some(holder)),
            )
        };
        assert!(found(now).await.expect("found"));
        let first = lite.found_cards(true).await.expect("found")[0].id;
        assert!(
            lite.found_card_returned(
                first,
                op,
                now,
                staff_audit(op, AuditAction::CardFoundReturned, Some(holder))
            )
            .await
            .expect("returned")
        );
        assert!(
            found(now + chrono::Duration::seconds(1))
                .await
                .expect("found")
        );
        assert!(lite.staff_login_succeeded(op, 4_242).await.expect("login"));
        let new_staff = lite
            .create_staff(
                &NewStaffUser {
                    username: "copied",
                    display_name: "Copied",
                    role: StaffRole::Operator,
                    merchant_id: None,
                    password_hash: "pw",
                    totp_secret: "TOTPSECRET",
                    enrolment: None,
                },
                now,
                staff_audit(op, AuditAction::StaffCreate, None),
            )
            .await
            .expect("staff")
            .expect("created");
        // Their own password (a new staff member must change the initial one).
        lite.set_staff_password(
            new_staff,
            "own-pw",
            "no-session",
            now,
            staff_audit(op, AuditAction::StaffPassword, None),
        )
        .await
        .expect("password");

        // A closed account: its payout and the bank account finance pays it to.
        let closed = lite
            .close_account(
                2,
                "PO-COPY",
                "6222021234567890",
                op,
                now,
                staff_audit(op, AuditAction::AccountClose, Some(2)),
            )
            .await
            .expect("close");
        assert!(matches!(closed, super::super::Closing::Closed { .. }));

        let report = copy_sqlite_to_postgres(&url, &target.url)
            .await
            .expect("copy");
        let rows = |table: &str| {
            report
                .tables
                .iter()
                .find(|(t, _)| t == table)
                .map(|(_, n)| *n)
        };
        assert_eq!(rows("found_cards"), Some(2));
        assert_eq!(rows("reversal_requests"), Some(1));
        assert_eq!(rows("payouts"), Some(1));
        let pg = PostgresStore::connect(&target.url, crate::server::clock::test_clock())
            .await
            .expect("pg");
        let (day, later) = (
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(1),
        );
        assert_eq!(
            pg.payouts(day, later).await.expect("payouts"),
            lite.payouts(day, later).await.expect("payouts")
        );

        // The same rows, to the character.
        assert_eq!(
            pg.found_cards(false).await.expect("found"),
            lite.found_cards(false).await.expect("found")
        );
        assert_eq!(
            pg.pending_reversals(None).await.expect("pending"),
            lite.pending_reversals(None).await.expect("pending")
        );
        assert_eq!(
            pg.staff_users().await.expect("staff"),
            lite.staff_users().await.expect("staff")
        );
        let all = AuditQuery {
            limit: 10_000,
            ..AuditQuery::default()
        };
        assert_eq!(
            pg.audit_records(&all).await.expect("audit"),
            lite.audit_records(&all).await.expect("audit")
        );
        for h in [1, 2] {
            assert_eq!(
                pg.staff_entries(h, 10_000).await.expect("entries"),
                lite.staff_entries(h, 10_000).await.expect("entries")
            );
        }
        let secret = |s: Option<super::super::StaffAuth>| s.and_then(|s| s.totp_secret);
        assert_eq!(
            secret(pg.staff_by_id(new_staff).await.expect("s")),
            Some("TOTPSECRET".into())
        );
        let changed: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT password_changed_at FROM staff_users WHERE id = $1")
                .bind(new_staff)
                .fetch_one(&pg.pool)
                .await
                .expect("changed");
        assert_eq!(
            changed.map(crate::server::store::ts::text),
            Some(crate::server::store::ts::text(now))
        );
        // The TOTP step came along: the code used before the move is not good after it.
        assert!(!pg.staff_login_succeeded(op, 4_242).await.expect("login"));
        assert!(pg.staff_login_succeeded(op, 4_243).await.expect("login"));
        // The request is still pending, and its approval corrects the payment once.
        let approved = pg
            .correct_payment(
                payments[1],
                "copy",
                op,
                Some(request),
                crate::server::clock::test_now(),
                staff_audit(op, AuditAction::MoneyCorrection, Some(1)),
            )
            .await
            .expect("approve");
        assert!(
            matches!(approved, Correction::Corrected { .. }),
            "{approved:?}"
        );
        // Identity sequences moved past the copied ids.
        let open = pg.found_cards(true).await.expect("found")[0].id;
        assert!(
            pg.found_card_returned(
                open,
                op,
                crate::server::clock::test_now(),
                staff_audit(op, AuditAction::CardFoundReturned, Some(holder))
            )
            .await
            .expect("returned")
        );
        assert!(
            pg.record_found_card(
                card,
                holder,
                "图书馆",
                op,
                crate::server::clock::test_now(),
                staff_audit(op, AuditAction::CardFound, Some(holder))
            )
            .await
            .expect("found")
        );
        let ids: Vec<i64> = pg
            .found_cards(false)
            .await
            .expect("found")
            .iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.iter().filter(|id| **id > open).count() == 1, "{ids:?}");
        let again = pg
            .request_correction(
                &entry,
                "again",
                op,
                crate::server::clock::test_now(),
                staff_audit(op, AuditAction::MoneyCorrectionRequested, Some(1)),
            )
            .await
            .expect("request")
            .expect("filed");
        assert!(again > request);
        assert!(pg.ledger_check().await.expect("check").is_consistent());
        pg.pool.close().await;
    }
}
