//! The SQL both backends run, written once. This folder is compiled twice, as a module of
//! `store::sqlite` and as one of `store::postgres` (`#[path]`); each parent names its driver
//! types (`Conn`, `DbRow`, `ThisStore`) and its dialect:
//!
//! - `in_transaction!`: SQLite's `BEGIN IMMEDIATE` write lock, or PostgreSQL's transaction run
//!   again when it loses a race;
//! - `for_update!()` / `for_update!(no_key)`: the row lock PostgreSQL takes on what a write
//!   read (nothing on SQLite, whose write lock already covers it); `for_update!(key_share)`:
//!   a row that must stay while the write depends on it (a listed room being bound);
//! - `like!("$N")`: a case-insensitive match of a pattern, without escape character;
//! - `campus_month!("column")`: a timestamp's month (`YYYY-MM`) in campus time;
//! - `profile_column!()`, `profile_param!()`: the campus profile's JSON, text or JSONB.
//!
//! Placeholders are `$N` (SQLite reads them by number too), timestamps are bound and read as
//! `Ts`, statuses and kinds as their enums, and aggregates are `CAST(… AS BIGINT)`. The rules
//! are not here: each write loads, asks `server::domain`, and applies the plan.
//!
//! - `campus`: the profile, the demo campus's directory and the ledger check;
//! - `portal`: logins, sessions and the holder's own data;
//! - `ledger`: devices, payments, refunds and credits;
//! - `staff`: the card office;
//! - `terminal`: the web tills and top-up orders;
//! - `bills`: bills (待缴费) issued, paid and cancelled;
//! - `announcements`: the card office's announcements;
//! - `notices`: the holder's inbox, written in the transactions of the events it tells of;
//! - `utilities`: 缴费 to billers (rooms, bindings, purchases) and the sandbox billers' meters.

mod announcements;
mod bills;
pub(super) mod campus;
mod ledger;

#[allow(unused_imports)] // PostgreSQL's debit uses them; SQLite's writer has its own.
pub(super) use ledger::{earlier_outcome, store_outcome};
pub(super) mod notices;
mod portal;
mod staff;
mod terminal;
mod utilities;

use super::{Conn, DbRow, ThisStore};
use crate::model::{AccountStatus, CardStatus, Money};
use crate::server::domain::bindings::{self, HolderEvent};
use crate::server::domain::cards::{CardChange, CardPlan, LiveCard};
use crate::server::store::{
    Actor, Attempt, Attempts, Audit, Finish, NewHolder, StoreError, SubjectKind, Ts,
};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// The time range of a filter given as RFC 3339 texts: from (inclusive), until (exclusive).
fn bounds(from: Option<&str>, until: Option<&str>) -> Result<(Option<Ts>, Option<Ts>), StoreError> {
    Ok((
        from.map(Ts::parse).transpose()?,
        until.map(Ts::parse).transpose()?,
    ))
}

/// A timestamp column as the views carry it: RFC 3339 text, exactly as SQLite stores it.
fn ts_of(row: &DbRow, column: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<Ts, _>(column)?.text())
}

fn opt_ts_of(row: &DbRow, column: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<Ts>, _>(column)?.map(Ts::text))
}

/// Writes an audit record inside the caller's transaction, with the notice it makes for the
/// holder it is about (`domain::notices::of_audit`).
async fn insert_audit(
    conn: &mut Conn,
    audit: &Audit,
    now: impl Into<Ts>,
) -> Result<(), StoreError> {
    let now: Ts = now.into();
    let (kind, id) = match audit.actor {
        Actor::Holder(id) => ("holder", Some(id)),
        Actor::Staff(id) => ("staff", Some(id)),
        Actor::Device(id) => ("device", Some(id)),
        Actor::System => ("system", None),
    };
    sqlx::query(
        "INSERT INTO audit_log (at, actor_kind, actor_id, action, holder_id, target, before_state, after_state, reason, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(now)
    .bind(kind)
    .bind(id)
    .bind(audit.action)
    .bind(audit.holder_id)
    .bind(audit.target.stored())
    .bind(audit.before.stored())
    .bind(audit.after.stored())
    .bind(&audit.reason)
    .bind(&audit.ip)
    .execute(&mut *conn)
    .await?;
    notices::notify_audit(conn, audit, now).await
}

/// Ends a subject's live sessions except `keep`, and revokes their code keys.
async fn end_sessions_tx(
    conn: &mut Conn,
    subject: SubjectKind,
    subject_id: i64,
    keep: Option<&str>,
    now: impl Into<Ts>,
) -> Result<u64, StoreError> {
    let now: Ts = now.into();
    let ended = sqlx::query(
        "UPDATE sessions SET ended_at = $1
         WHERE subject_kind = $2 AND subject_id = $3 AND ended_at IS NULL
           AND ($4 IS NULL OR token_hash <> $4)",
    )
    .bind(now)
    .bind(subject.as_str())
    .bind(subject_id)
    .bind(keep)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if subject == SubjectKind::Holder {
        sqlx::query(
            "UPDATE pay_code_keys SET revoked_at = $1
             WHERE holder_id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR session_hash <> $3)",
        )
        .bind(now)
        .bind(subject_id)
        .bind(keep)
        .execute(&mut *conn)
        .await?;
        // The browsers subscribed to push from the ended sessions hear only the security
        // notices written until now.
        notices::end_pushes_tx(conn, subject_id, keep, now).await?;
    }
    Ok(ended)
}

/// Ends a holder's live phone bindings if `event` is one that ends them
/// (`domain::bindings::ends_bindings`), inside the caller's transaction.
async fn end_bindings_tx(
    conn: &mut Conn,
    holder_id: i64,
    event: HolderEvent,
    now: impl Into<Ts>,
) -> Result<u64, StoreError> {
    if !bindings::ends_bindings(event) {
        return Ok(0);
    }
    Ok(sqlx::query(
        "UPDATE phone_bindings SET ended_at = $1, end_reason = $2
         WHERE holder_id = $3 AND ended_at IS NULL",
    )
    .bind(now.into())
    .bind(event.as_str())
    .bind(holder_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// The counter and lock columns of whose attempts (names from this module, never input).
fn attempt_columns(who: Attempts) -> (&'static str, &'static str, &'static str, i64) {
    match who {
        Attempts::Query(id) => ("cardholders", "failed_logins", "locked_until", id),
        Attempts::Consumption(id) => (
            "accounts",
            "consumption_pw_failures",
            "consumption_pw_locked_until",
            id,
        ),
        Attempts::Staff(id) => ("staff_users", "failed_logins", "locked_until", id),
    }
}

/// Reserves a password check (see `PortalStore::reserve_attempt`): one atomic UPDATE that
/// counts the attempt, and locks the row at the `max`-th, before any hashing. Concurrent
/// reservations wait on the row lock and each sees the count the one before it left.
async fn reserve_attempt(
    pool: &sqlx::Pool<<Conn as sqlx::Connection>::Database>,
    who: Attempts,
    max: i64,
    lock_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Attempt, StoreError> {
    let (table, counter, lock, id) = attempt_columns(who);
    // A lock that has run out (or a full count without one) starts the count again.
    let next = format!("CASE WHEN {lock} <= $1 OR {counter} >= $2 THEN 1 ELSE {counter} + 1 END");
    let sql = format!(
        "UPDATE {table} SET
             {lock} = CASE WHEN {next} >= $2 THEN $3 WHEN {lock} <= $1 THEN NULL ELSE {lock} END,
             {counter} = {next}
         WHERE id = $4 AND ({lock} IS NULL OR {lock} <= $1)
         RETURNING {counter}"
    );
    let nth: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(Ts::new(now))
        .bind(max)
        .bind(Ts::new(lock_until))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    if let Some(nth) = nth {
        return Ok(Attempt::Allowed { nth });
    }
    let sql = format!("SELECT {lock} FROM {table} WHERE id = $1");
    let until: Option<Option<Ts>> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(Attempt::Locked {
        until: until.flatten().map_or(now, |t| t.0),
    })
}

/// The password was right: clears the count and the lock.
async fn clear_attempts(
    pool: &sqlx::Pool<<Conn as sqlx::Connection>::Database>,
    who: Attempts,
) -> Result<(), StoreError> {
    let (table, counter, lock, id) = attempt_columns(who);
    let sql = format!(
        "UPDATE {table} SET {counter} = 0, {lock} = NULL
         WHERE id = $1 AND ({counter} <> 0 OR {lock} IS NOT NULL)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// An account's row, locked until the transaction ends (`for_update!(no_key)` on PostgreSQL,
/// the write lock on SQLite): a payment, refund or credit in flight finishes first, or waits.
/// The one place where concurrent changes of a balance are put in order.
pub(super) struct LockedAccount {
    pub id: i64,
    // Read by PostgreSQL's debit (the payment's notices); SQLite's writer reads it itself.
    #[allow(dead_code)]
    pub holder_id: i64,
    pub balance: Money,
    pub status: AccountStatus,
    // Read by PostgreSQL's debit; SQLite's ledger writer reads the row itself.
    #[allow(dead_code)]
    pub single_limit: Money,
    #[allow(dead_code)]
    pub daily_limit: Money,
}

impl<'r> sqlx::FromRow<'r, DbRow> for LockedAccount {
    fn from_row(row: &'r DbRow) -> Result<Self, sqlx::Error> {
        Ok(LockedAccount {
            id: row.try_get("id")?,
            holder_id: row.try_get("holder_id")?,
            balance: Money::from_fen(row.try_get("balance")?),
            status: row.try_get("status")?,
            single_limit: Money::from_fen(row.try_get("single_limit")?),
            daily_limit: Money::from_fen(row.try_get("daily_limit")?),
        })
    }
}

pub(super) async fn lock_account(conn: &mut Conn, id: i64) -> Result<LockedAccount, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT id, holder_id, balance, status, single_limit, daily_limit FROM accounts WHERE id = $1",
        for_update!(no_key)
    ))
    .bind(id)
    .fetch_one(conn)
    .await?)
}

async fn lock_account_of_holder(
    conn: &mut Conn,
    holder_id: i64,
) -> Result<LockedAccount, StoreError> {
    Ok(sqlx::query_as(concat!(
        "SELECT id, holder_id, balance, status, single_limit, daily_limit FROM accounts WHERE holder_id = $1",
        for_update!(no_key)
    ))
    .bind(holder_id)
    .fetch_one(conn)
    .await?)
}

/// The holder's live (active or lost) card, locked: a concurrent lost report or lift resolves
/// before or after this change, never in the middle of it.
async fn lock_live_card(conn: &mut Conn, holder_id: i64) -> Result<Option<LiveCard>, StoreError> {
    let row: Option<(i64, String, CardStatus)> = sqlx::query_as(concat!(
        "SELECT id, card_no, status FROM cards WHERE holder_id = $1 AND status IN ('active', 'lost')",
        for_update!()
    ))
    .bind(holder_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, card_no, status)| LiveCard {
        id,
        card_no,
        status,
    }))
}

/// Writes a new balance, guarded by the old one (the caller holds the row's lock, so it cannot
/// differ; if it ever did, the transaction fails instead of losing an update).
async fn set_balance(
    conn: &mut Conn,
    account_id: i64,
    old: Money,
    new: Money,
) -> Result<(), StoreError> {
    let updated = sqlx::query("UPDATE accounts SET balance = $1 WHERE id = $2 AND balance = $3")
        .bind(new.fen())
        .bind(account_id)
        .bind(old.fen())
        .execute(conn)
        .await?
        .rows_affected();
    if updated != 1 {
        return Err(StoreError::Corrupt(
            "balance changed under a row lock".into(),
        ));
    }
    Ok(())
}

/// A card status change (lost, lifted, cancelled): `lost_at` set by a lost report and cleared
/// by its lifting; `ended_at` set when the card is done with.
async fn set_card_status(
    conn: &mut Conn,
    card_id: i64,
    to: CardStatus,
    now: impl Into<Ts>,
) -> Result<(), StoreError> {
    let now: Ts = now.into();
    let query = match to {
        CardStatus::Lost | CardStatus::Active => {
            sqlx::query("UPDATE cards SET status = $1, lost_at = $2 WHERE id = $3")
                .bind(to)
                .bind((to == CardStatus::Lost).then_some(now))
        }
        CardStatus::Void | CardStatus::Cancelled => {
            sqlx::query("UPDATE cards SET status = $1, ended_at = $2 WHERE id = $3")
                .bind(to)
                .bind(Some(now))
        }
    };
    query.bind(card_id).execute(conn).await?;
    Ok(())
}

/// Applies a decided change of the live card (`domain::cards`: a lost report, its lifting, a
/// cancellation) with its audit record; a refusal rolls back.
async fn apply_card_change(
    conn: &mut Conn,
    holder_id: i64,
    decided: Result<CardPlan, CardChange>,
    audit: &Audit,
    now: DateTime<Utc>,
) -> Result<Finish<CardChange>, StoreError> {
    let plan = match decided {
        Ok(plan) => plan,
        Err(refused) => return Ok(Finish::Rollback(refused)),
    };
    set_card_status(conn, plan.card_id, plan.to, now).await?;
    if plan.to == CardStatus::Lost {
        end_bindings_tx(conn, holder_id, HolderEvent::CardLost, now).await?;
    }
    let audit = Audit {
        target: plan.audit_target,
        before: plan.audit_before,
        after: plan.audit_after,
        ..audit.clone()
    };
    insert_audit(conn, &audit, now).await?;
    Ok(Finish::Commit(plan.outcome))
}

/// The end of a change that one conditional statement made or did not: with its audit record
/// when it `changed` something (true), rolled back when not (false).
async fn audited_if(
    conn: &mut Conn,
    changed: bool,
    audit: &Audit,
    now: impl Into<Ts>,
) -> Result<Finish<bool>, StoreError> {
    if !changed {
        return Ok(Finish::Rollback(false));
    }
    insert_audit(conn, audit, now).await?;
    Ok(Finish::Commit(true))
}

/// Inserts one cardholder with the account and cards, inside the caller's transaction.
/// Returns (holder id, account id, the active card's id).
pub(super) async fn insert_holder(
    conn: &mut Conn,
    h: &NewHolder,
) -> Result<(i64, i64, Option<i64>), StoreError> {
    let created = Ts::new(h.created_at);
    let holder_id: i64 = sqlx::query_scalar(
        "INSERT INTO cardholders (student_no, name, kind, department, class_name, id_doc_kind,
             id_doc_hash, id_doc_masked, phone_masked, query_pw_hash, query_pw_is_initial, created_at,
             personal_pins)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(&h.student_no)
    .bind(&h.name)
    .bind(h.kind)
    .bind(&h.department)
    .bind(&h.class_name)
    .bind(h.id_doc_kind)
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
        .bind(c.status)
        .bind(Ts::new(c.issued_at))
        .fetch_one(&mut *conn)
        .await?;
        if c.status == CardStatus::Active {
            live_card = Some(card_id);
        }
    }
    Ok((holder_id, account_id, live_card))
}
