//! Notices: inserted inside the transaction of the event they tell of, read by the inbox.

use super::{Conn, DbRow, ThisStore, ts_of};
use crate::model::{Localized, Money};
use crate::notice_model::{ChannelChoices, NoticePrefs, NoticeView};
use crate::portal_model::Problem;
use crate::server::domain::delivery;
use crate::server::domain::notices::{self as rules, Channel, NewNotice};
use crate::server::domain::push;
use crate::server::store::{
    Audit, FailedDelivery, Finish, NewDelivery, NewSubscription, NoticeEmail, NoticeStore,
    PushSubscription, StoreError, Taken, Tried, Ts, Undispatched,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// The holder's choices as stored, or the defaults (the same SQL as the SQLite writer's).
pub(in crate::server::store) const PREFS_SQL: &str =
    "SELECT payment_above, low_balance_below, topups, bills, utilities, email_payments,
            email_low_balance, email_topups, email_bills, email_utilities, push_payments,
            push_low_balance, push_topups, push_bills, push_utilities
     FROM notice_prefs WHERE holder_id = $1";

/// One notice (the same SQL as the SQLite writer's).
pub(in crate::server::store) const INSERT_SQL: &str =
    "INSERT INTO notices (holder_id, kind, security, amount, balance, merchant_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// A stored choice row, as `PREFS_SQL` reads it.
#[derive(sqlx::FromRow)]
pub(in crate::server::store) struct PrefsRow {
    pub(in crate::server::store) payment_above: Option<i64>,
    pub(in crate::server::store) low_balance_below: Option<i64>,
    pub(in crate::server::store) topups: bool,
    pub(in crate::server::store) bills: bool,
    pub(in crate::server::store) utilities: bool,
    pub(in crate::server::store) email_payments: bool,
    pub(in crate::server::store) email_low_balance: bool,
    pub(in crate::server::store) email_topups: bool,
    pub(in crate::server::store) email_bills: bool,
    pub(in crate::server::store) email_utilities: bool,
    pub(in crate::server::store) push_payments: bool,
    pub(in crate::server::store) push_low_balance: bool,
    pub(in crate::server::store) push_topups: bool,
    pub(in crate::server::store) push_bills: bool,
    pub(in crate::server::store) push_utilities: bool,
}

pub(in crate::server::store) fn prefs_of(row: Option<PrefsRow>) -> NoticePrefs {
    match row {
        None => NoticePrefs::default(),
        Some(r) => NoticePrefs {
            payment_above: r.payment_above.map(Money::from_fen),
            low_balance_below: r.low_balance_below.map(Money::from_fen),
            topups: r.topups,
            bills: r.bills,
            utilities: r.utilities,
            email: ChannelChoices {
                payments: r.email_payments,
                low_balance: r.email_low_balance,
                topups: r.email_topups,
                bills: r.email_bills,
                utilities: r.email_utilities,
            },
            push: ChannelChoices {
                payments: r.push_payments,
                low_balance: r.push_low_balance,
                topups: r.push_topups,
                bills: r.push_bills,
                utilities: r.push_utilities,
            },
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

fn notice_of(row: &DbRow) -> Result<NoticeView, StoreError> {
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
}

const NOTICE_COLUMNS: &str = "n.id, n.holder_id, n.kind, n.security, n.amount, n.balance,
    n.created_at, n.read_at, m.name_zh, m.name_en";

/// Drops the holder's e-mails still waiting to go (to an address being changed or removed),
/// inside the caller's transaction.
async fn drop_waiting(conn: &mut Conn, holder_id: i64) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM notice_deliveries
         WHERE holder_id = $1 AND status = 'pending' AND channel = 'email'",
    )
    .bind(holder_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the push subscriptions `which` selects (an SQL condition on `push_subscriptions`,
/// with `$1` the holder and `$2` the given parameter) and what still waits to be pushed to them,
/// inside the caller's transaction; a finished push keeps its row, without its subscription.
/// Answers how many were forgotten.
async fn forget_subscriptions(
    conn: &mut Conn,
    which: &'static str,
    holder_id: i64,
    param: Option<&str>,
) -> Result<u64, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM notice_deliveries WHERE status = 'pending' AND subscription_id IN (
             SELECT id FROM push_subscriptions WHERE {which})"
    )))
    .bind(holder_id)
    .bind(param)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM push_subscriptions WHERE {which}"
    )))
    .bind(holder_id)
    .bind(param)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Ends the holder's browsers subscribed from sessions other than `keep` (a session token's
/// hash; `None`: all of them) when those sessions are ended (a password changed or reset, "log
/// out everywhere else"), inside the caller's transaction. They still get the security notices
/// written until now (the password changed: the student hears of it everywhere), nothing after;
/// what else waited for them is dropped, and they are deleted a day later
/// (`purge_ended_pushes`).
pub(in crate::server::store) async fn end_pushes_tx(
    conn: &mut Conn,
    holder_id: i64,
    keep: Option<&str>,
    now: Ts,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM notice_deliveries WHERE status = 'pending' AND subscription_id IN (
             SELECT id FROM push_subscriptions
             WHERE holder_id = $1 AND ended_at IS NULL AND ($2 IS NULL OR session_hash <> $2))
           AND NOT COALESCE((SELECT n.security FROM notices n
                             WHERE n.id = notice_deliveries.notice_id), FALSE)",
    )
    .bind(holder_id)
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE push_subscriptions SET ended_at = $3
         WHERE holder_id = $1 AND ended_at IS NULL AND ($2 IS NULL OR session_hash <> $2)",
    )
    .bind(holder_id)
    .bind(keep)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// At a holder's login in a browser: the browser's subscriptions are theirs to keep with this
/// session (a password changed here later keeps them; one ended by a change elsewhere lives
/// again, the login having proved the password), and another holder's subscriptions in this
/// browser are forgotten (a shared computer shows this holder nothing of the last one's).
pub(in crate::server::store) async fn login_pushes_tx(
    conn: &mut Conn,
    holder_id: i64,
    browser_hash: &str,
    session_hash: &str,
) -> Result<(), StoreError> {
    forget_subscriptions(
        conn,
        "holder_id <> $1 AND browser_hash = $2",
        holder_id,
        Some(browser_hash),
    )
    .await?;
    sqlx::query(
        "UPDATE push_subscriptions SET session_hash = $3, ended_at = NULL
         WHERE holder_id = $1 AND browser_hash = $2",
    )
    .bind(holder_id)
    .bind(browser_hash)
    .bind(session_hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts a delivery inside the caller's transaction; a key used already (the same notice
/// dispatched twice) adds nothing, and so does a push whose subscription is no longer its
/// holder's (forgotten, or moved to another holder since it was read).
async fn insert_delivery(conn: &mut Conn, d: &NewDelivery, now: Ts) -> Result<(), StoreError> {
    // A subscription being moved or forgotten meanwhile: on PostgreSQL the foreign key waits
    // for that transaction and then refuses the row, and the notice is dispatched again.
    sqlx::query(
        "INSERT INTO notice_deliveries (holder_id, notice_id, address, subject, body,
             idempotency_key, status, next_at, created_at, channel, subscription_id)
         SELECT $1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10
         WHERE $10 IS NULL OR EXISTS (SELECT 1 FROM push_subscriptions
                                      WHERE id = $10 AND holder_id = $1)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(d.holder_id)
    .bind(d.notice_id)
    .bind(&d.address)
    .bind(&d.subject)
    .bind(&d.body)
    .bind(&d.key)
    .bind(Ts::new(d.next_at))
    .bind(now)
    .bind(d.channel.as_str())
    .bind(d.subscription_id)
    .execute(conn)
    .await?;
    Ok(())
}

fn channel_of(text: String) -> Result<Channel, StoreError> {
    Channel::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("delivery channel {text}")))
}

#[async_trait]
impl NoticeStore for ThisStore {
    async fn notices(&self, holder_id: i64, limit: i64) -> Result<Vec<NoticeView>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTICE_COLUMNS}
             FROM notices n LEFT JOIN merchants m ON m.id = n.merchant_id
             WHERE n.holder_id = $1 ORDER BY n.id DESC LIMIT $2"
        )))
        .bind(holder_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notice_of).collect()
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
                 utilities, email_payments, email_low_balance, email_topups, email_bills,
                 email_utilities, push_payments, push_low_balance, push_topups, push_bills,
                 push_utilities, saved_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (holder_id) DO UPDATE SET payment_above = excluded.payment_above,
                 low_balance_below = excluded.low_balance_below, topups = excluded.topups,
                 bills = excluded.bills, utilities = excluded.utilities,
                 email_payments = excluded.email_payments,
                 email_low_balance = excluded.email_low_balance,
                 email_topups = excluded.email_topups, email_bills = excluded.email_bills,
                 email_utilities = excluded.email_utilities,
                 push_payments = excluded.push_payments,
                 push_low_balance = excluded.push_low_balance,
                 push_topups = excluded.push_topups, push_bills = excluded.push_bills,
                 push_utilities = excluded.push_utilities, saved_at = excluded.saved_at",
        )
        .bind(holder_id)
        .bind(prefs.payment_above.map(Money::fen))
        .bind(prefs.low_balance_below.map(Money::fen))
        .bind(prefs.topups)
        .bind(prefs.bills)
        .bind(prefs.utilities)
        .bind(prefs.email.payments)
        .bind(prefs.email.low_balance)
        .bind(prefs.email.topups)
        .bind(prefs.email.bills)
        .bind(prefs.email.utilities)
        .bind(prefs.push.payments)
        .bind(prefs.push.low_balance)
        .bind(prefs.push.topups)
        .bind(prefs.push.bills)
        .bind(prefs.push.utilities)
        .bind(Ts::new(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn notice_email(&self, holder_id: i64) -> Result<Option<NoticeEmail>, StoreError> {
        let row: Option<(String, Option<Ts>)> =
            sqlx::query_as("SELECT address, confirmed_at FROM notice_emails WHERE holder_id = $1")
                .bind(holder_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(address, confirmed_at)| NoticeEmail {
            address,
            confirmed: confirmed_at.is_some(),
        }))
    }

    async fn request_notice_email(
        &self,
        holder_id: i64,
        address: &str,
        token_hash: &str,
        confirmation: &NewDelivery,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Problem>, StoreError> {
        let at = Ts::new(now);
        in_transaction!(self, |tx| {
            let last: Option<Ts> = sqlx::query_scalar(concat!(
                "SELECT requested_at FROM notice_emails WHERE holder_id = $1",
                for_update!()
            ))
            .bind(holder_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Err(problem) = delivery::may_ask_again(last.map(|t| t.0), now) {
                return Ok(Finish::Rollback(Err(problem)));
            }
            drop_waiting(&mut tx, holder_id).await?;
            sqlx::query(
                "INSERT INTO notice_emails (holder_id, address, token_hash, requested_at, confirmed_at)
                 VALUES ($1, $2, $3, $4, NULL)
                 ON CONFLICT (holder_id) DO UPDATE SET address = excluded.address,
                     token_hash = excluded.token_hash, requested_at = excluded.requested_at,
                     confirmed_at = NULL",
            )
            .bind(holder_id)
            .bind(address)
            .bind(token_hash)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            insert_delivery(&mut tx, confirmation, at).await?;
            Ok(Finish::Commit(Ok(())))
        })
    }

    async fn confirm_notice_email(
        &self,
        token_hash: &str,
        asked_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "UPDATE notice_emails SET confirmed_at = $1, token_hash = NULL
             WHERE token_hash = $2 AND requested_at >= $3 RETURNING holder_id",
        )
        .bind(Ts::new(now))
        .bind(token_hash)
        .bind(Ts::new(asked_since))
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn remove_notice_email(&self, holder_id: i64) -> Result<(), StoreError> {
        in_transaction!(self, |tx| {
            drop_waiting(&mut tx, holder_id).await?;
            sqlx::query("DELETE FROM notice_emails WHERE holder_id = $1")
                .bind(holder_id)
                .execute(&mut *tx)
                .await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn undispatched_notices(&self, limit: i64) -> Result<Vec<Undispatched>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTICE_COLUMNS}, e.address
             FROM notices n LEFT JOIN merchants m ON m.id = n.merchant_id
             LEFT JOIN notice_emails e ON e.holder_id = n.holder_id AND e.confirmed_at IS NOT NULL
             WHERE n.dispatched = FALSE ORDER BY n.id LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Undispatched {
                    holder_id: row.try_get("holder_id")?,
                    security: row.try_get("security")?,
                    notice: notice_of(row)?,
                    address: row.try_get("address")?,
                })
            })
            .collect()
    }

    async fn skip_stale_notices(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = Ts::new(before);
        // Read first: on SQLite an UPDATE takes the write lock, even when it changes nothing.
        let any: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM notices WHERE dispatched = FALSE AND created_at < $1)",
        )
        .bind(before)
        .fetch_one(&self.pool)
        .await?;
        if !any {
            return Ok(0);
        }
        Ok(sqlx::query(
            "UPDATE notices SET dispatched = TRUE WHERE dispatched = FALSE AND created_at < $1",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn purge_ended_pushes(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = Ts::new(before);
        in_transaction!(self, |tx| {
            sqlx::query(
                "DELETE FROM notice_deliveries WHERE status = 'pending' AND subscription_id IN (
                     SELECT id FROM push_subscriptions WHERE ended_at < $1)",
            )
            .bind(before)
            .execute(&mut *tx)
            .await?;
            let gone = sqlx::query("DELETE FROM push_subscriptions WHERE ended_at < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            Ok(Finish::Commit(gone))
        })
    }

    async fn dispatch_notice(
        &self,
        notice_id: i64,
        deliveries: &[NewDelivery],
    ) -> Result<(), StoreError> {
        let now = Ts::new(self.clock.now());
        in_transaction!(self, |tx| {
            let marked = sqlx::query(
                "UPDATE notices SET dispatched = TRUE WHERE id = $1 AND dispatched = FALSE",
            )
            .bind(notice_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if marked == 0 {
                return Ok(Finish::Rollback(()));
            }
            for d in deliveries {
                insert_delivery(&mut tx, d, now).await?;
            }
            Ok(Finish::Commit(()))
        })
    }

    async fn take_delivery(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Taken>, StoreError> {
        // The outer conditions again: on PostgreSQL, a row another server took meanwhile is
        // checked anew after its lock, and skipped.
        // A push's keys: only while its subscription is its holder's, and, once the browser's
        // session was ended, only for a security notice written before that (a delivery
        // written in the instant of the end is never sent there).
        const LIVE: &str = "s.id = notice_deliveries.subscription_id
                          AND s.holder_id = notice_deliveries.holder_id
                          AND (s.ended_at IS NULL OR EXISTS (
                              SELECT 1 FROM notices n
                              WHERE n.id = notice_deliveries.notice_id AND n.security
                                AND n.created_at <= s.ended_at))";
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE notice_deliveries SET lease_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM notice_deliveries
                           WHERE status = 'pending' AND next_at <= $2
                             AND (lease_until IS NULL OR lease_until <= $2)
                           ORDER BY next_at, id LIMIT 1)
               AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $2)
             RETURNING id, holder_id, channel, address, subject, body, idempotency_key, attempts,
                       subscription_id,
                       COALESCE((SELECT n.security FROM notices n
                                 WHERE n.id = notice_deliveries.notice_id), TRUE) AS urgent,
                       (SELECT s.p256dh FROM push_subscriptions s WHERE {LIVE}) AS p256dh,
                       (SELECT s.auth FROM push_subscriptions s WHERE {LIVE}) AS auth"
        )))
        .bind(Ts::new(lease_until))
        .bind(Ts::new(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let p256dh: Option<String> = row.try_get("p256dh")?;
            let auth: Option<String> = row.try_get("auth")?;
            Ok(Taken {
                id: row.try_get("id")?,
                holder_id: row.try_get("holder_id")?,
                channel: channel_of(row.try_get("channel")?)?,
                address: row.try_get("address")?,
                subscription_id: row.try_get("subscription_id")?,
                keys: p256dh.zip(auth),
                subject: row.try_get("subject")?,
                body: row.try_get("body")?,
                key: row.try_get("idempotency_key")?,
                attempts: row.try_get("attempts")?,
                urgent: row.try_get("urgent")?,
            })
        })
        .transpose()
    }

    async fn finish_delivery(
        &self,
        taken: &Taken,
        tried: &Tried,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = Ts::new(now);
        // Only while this sender holds it: no other took it since (`attempts` counts takes).
        // A confirmation's text (its link) is not kept once it is sent or given up.
        let query = match tried {
            Tried::Sent => sqlx::query(
                "UPDATE notice_deliveries SET status = 'sent', sent_at = $1, lease_until = NULL,
                     last_error = '', body = CASE WHEN notice_id IS NULL THEN '' ELSE body END
                 WHERE id = $2 AND attempts = $3 AND status = 'pending'",
            )
            .bind(now),
            Tried::Again { at, error } => sqlx::query(
                "UPDATE notice_deliveries SET next_at = $1, lease_until = NULL, last_error = $2
                 WHERE id = $3 AND attempts = $4 AND status = 'pending'",
            )
            .bind(Ts::new(*at))
            .bind(error.clone()),
            Tried::GaveUp { error } => sqlx::query(
                "UPDATE notice_deliveries SET status = 'failed', lease_until = NULL, last_error = $1,
                     body = CASE WHEN notice_id IS NULL THEN '' ELSE body END
                 WHERE id = $2 AND attempts = $3 AND status = 'pending'",
            )
            .bind(error.clone()),
        };
        let done = query
            .bind(taken.id)
            .bind(taken.attempts)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    async fn prune_notices(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<(u64, u64), StoreError> {
        let before = Ts::new(before);
        in_transaction!(self, |tx| {
            let deliveries = sqlx::query(
                "DELETE FROM notice_deliveries WHERE id IN (
                     SELECT id FROM notice_deliveries
                     WHERE created_at < $1 AND status <> 'pending' ORDER BY id LIMIT $2)",
            )
            .bind(before)
            .bind(limit)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let notices = sqlx::query(
                "DELETE FROM notices WHERE id IN (
                     SELECT n.id FROM notices n
                     WHERE n.created_at < $1
                       AND NOT EXISTS (SELECT 1 FROM notice_deliveries d WHERE d.notice_id = n.id)
                     ORDER BY n.id LIMIT $2)",
            )
            .bind(before)
            .bind(limit)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            Ok(Finish::Commit((notices, deliveries)))
        })
    }

    async fn failed_deliveries(&self, limit: i64) -> Result<Vec<FailedDelivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.holder_id, h.student_no, d.channel, d.address, d.subject, d.attempts,
                    d.last_error, d.created_at
             FROM notice_deliveries d JOIN cardholders h ON h.id = d.holder_id
             WHERE d.status = 'failed' ORDER BY d.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let created: Ts = row.try_get("created_at")?;
                Ok(FailedDelivery {
                    id: row.try_get("id")?,
                    holder_id: row.try_get("holder_id")?,
                    student_no: row.try_get("student_no")?,
                    channel: channel_of(row.try_get("channel")?)?,
                    address: row.try_get("address")?,
                    subject: row.try_get("subject")?,
                    attempts: row.try_get("attempts")?,
                    last_error: row.try_get("last_error")?,
                    created_at: created.0,
                })
            })
            .collect()
    }

    async fn subscribe_push(
        &self,
        holder_id: i64,
        s: &NewSubscription<'_>,
    ) -> Result<bool, StoreError> {
        let at = Ts::new(s.now);
        in_transaction!(self, |tx| {
            let held: Option<(i64, i64)> = sqlx::query_as(concat!(
                "SELECT id, holder_id FROM push_subscriptions WHERE endpoint = $1",
                for_update!()
            ))
            .bind(s.endpoint)
            .fetch_optional(&mut *tx)
            .await?;
            // Another holder's browser until now (a shared computer): theirs no longer, with
            // what still waited for them there; it becomes a new subscription. The holder's
            // own keeps its id, its keys, browser and session renewed.
            if let Some((id, holder)) = held
                && holder != holder_id
            {
                forget_subscriptions(
                    &mut tx,
                    "holder_id = $1 AND id = CAST($2 AS BIGINT)",
                    holder,
                    Some(&id.to_string()),
                )
                .await?;
            }
            // Only ever the holder's own row updated (another holder's subscribing the same
            // browser at the same moment is refused, not taken over).
            let saved = sqlx::query(
                "INSERT INTO push_subscriptions (holder_id, endpoint, p256dh, auth, label,
                     session_hash, browser_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh,
                     auth = excluded.auth, label = excluded.label,
                     session_hash = excluded.session_hash, browser_hash = excluded.browser_hash,
                     created_at = excluded.created_at, ended_at = NULL
                 WHERE push_subscriptions.holder_id = excluded.holder_id",
            )
            .bind(holder_id)
            .bind(s.endpoint)
            .bind(s.keys.0)
            .bind(s.keys.1)
            .bind(s.label)
            .bind(s.session_hash)
            .bind(s.browser_hash)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if saved != 1 {
                return Ok(Finish::Rollback(false));
            }
            // The oldest beyond the limit, with what still waits for them.
            forget_subscriptions(
                &mut tx,
                "holder_id = $1 AND ended_at IS NULL AND id NOT IN (SELECT id FROM push_subscriptions
                            WHERE holder_id = $1 AND ended_at IS NULL
                            ORDER BY created_at DESC, id DESC LIMIT CAST($2 AS BIGINT))",
                holder_id,
                Some(&push::MAX_BROWSERS.to_string()),
            )
            .await?;
            Ok(Finish::Commit(true))
        })
    }

    async fn push_subscriptions(
        &self,
        holder_id: i64,
        ended_since: Option<DateTime<Utc>>,
    ) -> Result<Vec<PushSubscription>, StoreError> {
        let rows: Vec<(i64, String, Option<String>, Ts)> = sqlx::query_as(
            "SELECT id, endpoint, label, created_at FROM push_subscriptions
             WHERE holder_id = $1 AND (ended_at IS NULL OR ended_at >= $2)
             ORDER BY created_at DESC, id DESC",
        )
        .bind(holder_id)
        .bind(ended_since.map(Ts::new))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, endpoint, label, created)| PushSubscription {
                id,
                endpoint,
                label,
                created_at: created.0,
            })
            .collect())
    }

    async fn unsubscribe_push(&self, holder_id: i64, id: i64) -> Result<bool, StoreError> {
        in_transaction!(self, |tx| {
            let n = forget_subscriptions(
                &mut tx,
                "holder_id = $1 AND id = CAST($2 AS BIGINT) AND ended_at IS NULL",
                holder_id,
                Some(&id.to_string()),
            )
            .await?;
            Ok(Finish::Commit(n > 0))
        })
    }

    async fn forget_push_subscription(&self, holder_id: i64, id: i64) -> Result<(), StoreError> {
        in_transaction!(self, |tx| {
            forget_subscriptions(
                &mut tx,
                "holder_id = $1 AND id = CAST($2 AS BIGINT)",
                holder_id,
                Some(&id.to_string()),
            )
            .await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn forget_browser_pushes(
        &self,
        holder_id: i64,
        browser_hash: &str,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| {
            forget_subscriptions(
                &mut tx,
                "holder_id = $1 AND browser_hash = $2",
                holder_id,
                Some(browser_hash),
            )
            .await?;
            Ok(Finish::Commit(()))
        })
    }
}
