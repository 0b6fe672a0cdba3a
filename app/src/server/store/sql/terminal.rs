//! Web terminal sessions, a till's takings, top-up orders and automatic top-up.

use super::ledger::credit_in_tx;
use super::{ThisStore, insert_audit};
use crate::model::{Channel, DeviceKind, EntryKind, Money, TopupStatus};
use crate::server::store::{
    Audit, AutoTopup, Credit, CreditOutcome, DeviceDay, DeviceRow, Finish, NewOrder, OrderPaid,
    OrderRow, SaleRow, StoreError, TerminalRow, TerminalStore, TopupStore, Ts,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, Row};

type Conn = super::Conn;
type DbRow = super::DbRow;

fn terminal_row(row: &DbRow) -> Result<TerminalRow, StoreError> {
    let kind: DeviceKind = row.try_get("kind")?;
    let created_at: DateTime<Utc> = row.try_get("created_at")?;
    let ended: Option<DateTime<Utc>> = row.try_get("ended_at")?;
    let revoked: Option<DateTime<Utc>> = row.try_get("revoked_at")?;
    let issued: Option<DateTime<Utc>> = row.try_get("key_issued_at")?;
    // A credential issued after the terminal was set up (rotation) ends it.
    let rotated = match issued {
        Some(at) => at > created_at,
        None => true,
    };
    let name_zh: Option<String> = row.try_get("name_zh")?;
    let name_en: Option<String> = row.try_get("name_en")?;
    Ok(TerminalRow {
        device: DeviceRow {
            id: row.try_get("id")?,
            code: row.try_get("code")?,
            kind,
            merchant_id: row.try_get("merchant_id")?,
            place: row.try_get("place")?,
            public_key: row.try_get("public_key")?,
            revoked: revoked.is_some(),
        },
        merchant: name_zh.zip(name_en),
        created_at,
        last_seen_at: row.try_get("last_seen_at")?,
        ended: ended.is_some() || revoked.is_some() || rotated,
    })
}

#[async_trait]
impl TerminalStore for ThisStore {
    async fn create_terminal_session(
        &self,
        token_hash: &str,
        device_id: i64,
        ip: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO terminal_sessions (token_hash, device_id, created_at, last_seen_at, ip)
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(token_hash)
        .bind(device_id)
        .bind(Ts::new(now))
        .bind(ip)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn terminal_session(&self, token_hash: &str) -> Result<Option<TerminalRow>, StoreError> {
        let row = sqlx::query(
            "SELECT s.created_at, s.last_seen_at, s.ended_at, d.id, d.code, d.kind, d.merchant_id,
                    d.place, d.public_key, d.revoked_at, d.key_issued_at, m.name_zh, m.name_en
             FROM terminal_sessions s JOIN devices d ON d.id = s.device_id
             LEFT JOIN merchants m ON m.id = d.merchant_id
             WHERE s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(terminal_row).transpose()?)
    }

    async fn touch_terminal_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE terminal_sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(Ts::new(now))
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn end_terminal_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE terminal_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
        )
        .bind(Ts::new(now))
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn device_day(
        &self,
        device_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<DeviceDay, StoreError> {
        let (sales, sales_total, refunds, refunds_total): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE kind = 'payment'),
                    CAST(COALESCE(-SUM(amount) FILTER (WHERE kind = 'payment'), 0) AS BIGINT),
                    COUNT(*) FILTER (WHERE kind = 'refund'),
                    CAST(COALESCE(SUM(amount) FILTER (WHERE kind = 'refund'), 0) AS BIGINT)
             FROM journal_entries WHERE device_id = $1 AND created_at >= $2",
        )
        .bind(device_id)
        .bind(Ts::new(day_start))
        .fetch_one(&self.pool)
        .await?;
        Ok(DeviceDay {
            sales,
            sales_total: Money::from_fen(sales_total),
            refunds,
            refunds_total: Money::from_fen(refunds_total),
        })
    }

    async fn last_sale(&self, device_id: i64) -> Result<Option<SaleRow>, StoreError> {
        let row: Option<(i64, i64, DateTime<Utc>, String, bool)> = sqlx::query_as(
            "SELECT j.id, j.amount, j.created_at, h.name,
                    EXISTS (SELECT 1 FROM journal_entries x WHERE x.reverses_id = j.id)
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id
             JOIN cardholders h ON h.id = a.holder_id
             WHERE j.device_id = $1 AND j.kind = 'payment'
             ORDER BY j.created_at DESC, j.id DESC LIMIT 1",
        )
        .bind(device_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(journal_id, amount, at, holder_name, refunded)| SaleRow {
                journal_id,
                amount: Money::from_fen(-amount),
                at,
                holder_name,
                refunded,
            }),
        )
    }
}

const ORDER_COLUMNS: &str = "order_no, holder_id, channel, amount, status, provider_ref, failure, journal_id, created_at, updated_at, resolved_at IS NOT NULL AS resolved";

async fn mark_paid(
    conn: &mut Conn,
    order_no: &str,
    provider_ref: &str,
    journal_id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE topup_orders SET status = 'paid', provider_ref = $1, journal_id = $2, failure = '', updated_at = $3
         WHERE order_no = $4",
    )
    .bind(provider_ref)
    .bind(journal_id)
    .bind(Ts::new(now))
    .bind(order_no)
    .execute(conn)
    .await?;
    Ok(())
}

/// "Paid" for one order, in its transaction. The order row is locked first (then the account,
/// in `credit_in_tx`): duplicate notifications arriving together are handled one after the
/// other, and the second sees the order paid.
async fn order_paid_tx(
    conn: &mut Conn,
    order_no: &str,
    provider_ref: &str,
    now: DateTime<Utc>,
) -> Result<Finish<OrderPaid>, StoreError> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM topup_orders WHERE order_no = $1{}",
        for_update!()
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(order_no)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(order) = row.as_ref().map(OrderRow::from_row).transpose()? else {
        return Ok(Finish::Rollback(OrderPaid::NotFound));
    };
    if order.status == TopupStatus::Paid {
        return Ok(Finish::Rollback(OrderPaid::AlreadyPaid));
    }
    let memo = match order.channel {
        Channel::Auto => "automatic top-up",
        _ => "online top-up",
    };
    let outcome = credit_in_tx(
        conn,
        &Credit {
            holder_id: order.holder_id,
            amount: order.amount,
            kind: EntryKind::Topup,
            channel: Some(order.channel),
            merchant_id: None,
            staff_id: None,
            reference: order_no,
            memo,
            now,
        },
    )
    .await?;
    match outcome {
        CreditOutcome::Credited {
            journal_id,
            balance,
        } => {
            mark_paid(conn, order_no, provider_ref, journal_id, now).await?;
            Ok(Finish::Commit(OrderPaid::Credited {
                journal_id,
                balance,
            }))
        }
        // The journal already has it (cannot happen while the order row says unpaid, but the
        // journal is the truth): record the link and report a duplicate.
        CreditOutcome::AlreadyCredited { journal_id } => {
            mark_paid(conn, order_no, provider_ref, journal_id, now).await?;
            Ok(Finish::Commit(OrderPaid::AlreadyPaid))
        }
        CreditOutcome::AccountClosed => Ok(Finish::Rollback(OrderPaid::AccountClosed)),
        // Only a counter's cash top-up has a cap; a provider's credit never asks for one.
        CreditOutcome::CashCapReached { .. } => Err(StoreError::Corrupt(
            "a provider credit was refused by a cash cap".into(),
        )),
    }
}

impl ThisStore {
    async fn orders_where(
        &self,
        condition: &str,
        holder_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<OrderRow>, StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM topup_orders WHERE {condition}
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(OrderRow::from_row)
            .collect::<Result<_, _>>()?)
    }
}

#[async_trait]
impl TopupStore for ThisStore {
    async fn create_order(&self, o: &NewOrder<'_>) -> Result<bool, StoreError> {
        // ON CONFLICT DO NOTHING without a target covers both unique keys: the order number
        // and `topup_one_pending_auto` (a second automatic top-up while one is in flight).
        let done = sqlx::query(
            "INSERT INTO topup_orders (order_no, holder_id, channel, amount, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT DO NOTHING",
        )
        .bind(o.order_no)
        .bind(o.holder_id)
        .bind(o.channel.as_str())
        .bind(o.amount.fen())
        .bind(Ts::new(o.now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn order(&self, order_no: &str) -> Result<Option<OrderRow>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM topup_orders WHERE order_no = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(order_no)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(OrderRow::from_row).transpose()?)
    }

    async fn orders_of(&self, holder_id: i64, limit: i64) -> Result<Vec<OrderRow>, StoreError> {
        Ok(self
            .orders_where("holder_id = $1", Some(holder_id), limit)
            .await?)
    }

    async fn order_paid(
        &self,
        order_no: &str,
        provider_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<OrderPaid, StoreError> {
        in_transaction!(self, |tx| {
            order_paid_tx(&mut tx, order_no, provider_ref, now).await
        })
    }

    async fn order_failed(
        &self,
        order_no: &str,
        failure: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Conditional and atomic: against a concurrent "paid" (which holds the row lock) this
        // waits, re-reads the row, and changes nothing.
        let done = sqlx::query(
            "UPDATE topup_orders SET status = 'failed', failure = $1, updated_at = $2
             WHERE order_no = $3 AND status = 'pending'",
        )
        .bind(failure)
        .bind(Ts::new(now))
        .bind(order_no)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn auto_topup(&self, holder_id: i64) -> Result<Option<AutoTopup>, StoreError> {
        let row: Option<(bool, i64, i64, String, String)> = sqlx::query_as(
            "SELECT enabled, threshold, amount, card_masked, card_token FROM auto_topup WHERE holder_id = $1",
        )
        .bind(holder_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(enabled, threshold, amount, card_masked, card_token)| AutoTopup {
                enabled,
                threshold: Money::from_fen(threshold),
                amount: Money::from_fen(amount),
                card_masked,
                card_token,
            },
        ))
    }

    async fn save_auto_topup(
        &self,
        holder_id: i64,
        settings: Option<&AutoTopup>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            match settings {
                Some(s) => {
                    sqlx::query(
                        "INSERT INTO auto_topup (holder_id, enabled, threshold, amount, card_masked, card_token, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (holder_id) DO UPDATE SET enabled = excluded.enabled,
                            threshold = excluded.threshold, amount = excluded.amount,
                            card_masked = excluded.card_masked, card_token = excluded.card_token,
                            updated_at = excluded.updated_at",
                    )
                    .bind(holder_id)
                    .bind(s.enabled)
                    .bind(s.threshold.fen())
                    .bind(s.amount.fen())
                    .bind(&s.card_masked)
                    .bind(&s.card_token)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM auto_topup WHERE holder_id = $1")
                        .bind(holder_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn failed_auto_topups(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<OrderRow>, StoreError> {
        Ok(self
            .orders_where(
                "status = 'failed' AND channel = 'auto' AND resolved_at IS NULL
                 AND ($1 IS NULL OR holder_id = $1)",
                holder_id,
                200,
            )
            .await?)
    }
}
