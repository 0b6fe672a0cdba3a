//! Notices: inserted inside the transaction of the event they tell of, read by the inbox.

use super::{Conn, ThisStore, ts_of};
use crate::model::{Localized, Money};
use crate::notice_model::{NoticePrefs, NoticeView};
use crate::server::domain::notices::{self as rules, NewNotice};
use crate::server::store::{Audit, NoticeStore, StoreError, Ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// The holder's choices as stored, or the defaults (the same SQL as the SQLite writer's).
pub(in crate::server::store) const PREFS_SQL: &str =
    "SELECT payment_above, low_balance_below, topups, bills, utilities
     FROM notice_prefs WHERE holder_id = $1";

/// One notice (the same SQL as the SQLite writer's).
pub(in crate::server::store) const INSERT_SQL: &str =
    "INSERT INTO notices (holder_id, kind, security, amount, balance, merchant_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// A stored choice row: (payment above, low balance below, top-ups, bills, utilities).
pub(in crate::server::store) type PrefsRow = (Option<i64>, Option<i64>, bool, bool, bool);

pub(in crate::server::store) fn prefs_of(row: Option<PrefsRow>) -> NoticePrefs {
    match row {
        None => NoticePrefs::default(),
        Some((above, below, topups, bills, utilities)) => NoticePrefs {
            payment_above: above.map(Money::from_fen),
            low_balance_below: below.map(Money::from_fen),
            topups,
            bills,
            utilities,
        },
    }
}

/// The holder's choices, inside the caller's transaction.
pub(super) async fn load_prefs(conn: &mut Conn, holder_id: i64) -> Result<NoticePrefs, StoreError> {
    let row: Option<PrefsRow> = sqlx::query_as(PREFS_SQL)
        .bind(holder_id)
        .fetch_optional(conn)
        .await?;
    Ok(prefs_of(row))
}

/// Inserts the decided notices for a holder inside the caller's transaction.
pub(super) async fn insert_notices(
    conn: &mut Conn,
    holder_id: i64,
    notices: &[NewNotice],
    now: impl Into<Ts>,
) -> Result<(), StoreError> {
    let now: Ts = now.into();
    for n in notices {
        sqlx::query(INSERT_SQL)
            .bind(holder_id)
            .bind(n.kind)
            .bind(n.kind.security())
            .bind(n.amount.map(Money::fen))
            .bind(n.balance.map(Money::fen))
            .bind(n.merchant_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The notices of an approved payment (`domain::notices::after_payment`), inside its
/// transaction. PostgreSQL's debit calls this; SQLite's ledger writer runs the same SQL.
#[allow(dead_code)] // SQLite's writer has its own.
pub(in crate::server::store) async fn notify_payment(
    conn: &mut Conn,
    holder_id: i64,
    amount: Money,
    (before, after): (Money, Money),
    merchant_id: Option<i64>,
    now: impl Into<Ts>,
) -> Result<(), StoreError> {
    let prefs = load_prefs(conn, holder_id).await?;
    let notices = rules::after_payment(&prefs, amount, before, after, merchant_id);
    insert_notices(conn, holder_id, &notices, now).await
}

/// The notice of a credit (`domain::notices::after_credit`), inside its transaction.
pub(super) async fn notify_credit(
    conn: &mut Conn,
    holder_id: i64,
    kind: crate::model::EntryKind,
    amount: Money,
    balance: Money,
    now: impl Into<Ts>,
) -> Result<(), StoreError> {
    let prefs = load_prefs(conn, holder_id).await?;
    let notices: Vec<NewNotice> = rules::after_credit(&prefs, kind, amount, balance)
        .into_iter()
        .collect();
    insert_notices(conn, holder_id, &notices, now).await
}

/// The low-balance notice of a debit other than a till's (a bill paid, a 缴费 purchase), inside
/// its transaction (`domain::notices::low_balance`).
pub(super) async fn notify_debit(
    conn: &mut Conn,
    holder_id: i64,
    (before, after): (Money, Money),
    now: impl Into<Ts>,
) -> Result<(), StoreError> {
    let prefs = load_prefs(conn, holder_id).await?;
    let notices: Vec<NewNotice> = rules::low_balance(&prefs, before, after)
        .into_iter()
        .collect();
    insert_notices(conn, holder_id, &notices, now).await
}

/// A notice without money of `kind` for a holder, if they want it (`domain::notices::wanted`),
/// inside the caller's transaction.
pub(super) async fn notify_kind(
    conn: &mut Conn,
    holder_id: i64,
    kind: crate::model::NoticeKind,
    now: impl Into<Ts>,
) -> Result<(), StoreError> {
    if !kind.security() {
        let prefs = load_prefs(conn, holder_id).await?;
        if !rules::wanted(kind, &prefs) {
            return Ok(());
        }
    }
    insert_notices(conn, holder_id, &[NewNotice::plain(kind)], now).await
}

/// The notice an audit record makes for the holder it is about (`domain::notices::of_audit`),
/// inside the audit's transaction.
pub(super) async fn notify_audit(
    conn: &mut Conn,
    audit: &Audit,
    now: Ts,
) -> Result<(), StoreError> {
    match (audit.holder_id, rules::of_audit(audit.action)) {
        (Some(holder_id), Some(kind)) => notify_kind(conn, holder_id, kind, now).await,
        _ => Ok(()),
    }
}

#[async_trait]
impl NoticeStore for ThisStore {
    async fn notices(&self, holder_id: i64, limit: i64) -> Result<Vec<NoticeView>, StoreError> {
        let rows = sqlx::query(
            "SELECT n.id, n.kind, n.amount, n.balance, n.created_at, n.read_at, m.name_zh, m.name_en
             FROM notices n LEFT JOIN merchants m ON m.id = n.merchant_id
             WHERE n.holder_id = $1 ORDER BY n.id DESC LIMIT $2",
        )
        .bind(holder_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let name_zh: Option<String> = row.try_get("name_zh")?;
                let name_en: Option<String> = row.try_get("name_en")?;
                Ok(NoticeView {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    at: ts_of(row, "created_at")?,
                    amount: row
                        .try_get::<Option<i64>, _>("amount")?
                        .map(Money::from_fen),
                    balance: row
                        .try_get::<Option<i64>, _>("balance")?
                        .map(Money::from_fen),
                    place: name_zh.zip(name_en).map(|(zh, en)| Localized::new(zh, en)),
                    read: row.try_get::<Option<Ts>, _>("read_at")?.is_some(),
                })
            })
            .collect()
    }

    async fn unread_notices(&self, holder_id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM notices WHERE holder_id = $1 AND read_at IS NULL",
        )
        .bind(holder_id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn mark_notices_read(
        &self,
        holder_id: i64,
        up_to: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE notices SET read_at = $1 WHERE holder_id = $2 AND id <= $3 AND read_at IS NULL",
        )
        .bind(Ts::new(now))
        .bind(holder_id)
        .bind(up_to)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn notice_prefs(&self, holder_id: i64) -> Result<NoticePrefs, StoreError> {
        load_prefs(&mut *self.pool.acquire().await?, holder_id).await
    }

    async fn save_notice_prefs(
        &self,
        holder_id: i64,
        prefs: &NoticePrefs,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO notice_prefs (holder_id, payment_above, low_balance_below, topups, bills,
                 utilities, saved_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (holder_id) DO UPDATE SET payment_above = excluded.payment_above,
                 low_balance_below = excluded.low_balance_below, topups = excluded.topups,
                 bills = excluded.bills, utilities = excluded.utilities, saved_at = excluded.saved_at",
        )
        .bind(holder_id)
        .bind(prefs.payment_above.map(Money::fen))
        .bind(prefs.low_balance_below.map(Money::fen))
        .bind(prefs.topups)
        .bind(prefs.bills)
        .bind(prefs.utilities)
        .bind(Ts::new(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
