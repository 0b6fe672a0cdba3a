//! SQLite: web terminal sessions, a till's takings, top-up orders and automatic top-up.

use super::sqlite::{SqliteStore, db_err, parse_ts, ts};
use super::sqlite_ledger::credit_in_tx;
use super::sqlite_portal::insert_audit;
use super::{
    Audit, AutoTopup, Credit, CreditOutcome, DeviceDay, DeviceRow, NewOrder, OrderPaid, OrderRow,
    SaleRow, StoreError, TerminalRow, TerminalStore, TopupStore,
};
use crate::model::{Channel, DeviceKind, EntryKind, Money, TopupStatus};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

#[async_trait]
impl TerminalStore for SqliteStore {
    async fn create_terminal_session(
        &self,
        token_hash: &str,
        device_id: i64,
        ip: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO terminal_sessions (token_hash, device_id, created_at, last_seen_at, ip) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(device_id)
        .bind(ts(now))
        .bind(ts(now))
        .bind(ip)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn terminal_session(&self, token_hash: &str) -> Result<Option<TerminalRow>, StoreError> {
        let row = sqlx::query(
            "SELECT s.created_at, s.last_seen_at, s.ended_at, d.id, d.code, d.kind, d.merchant_id,
                    d.place, d.public_key, d.revoked_at, d.key_issued_at, m.name_zh, m.name_en
             FROM terminal_sessions s JOIN devices d ON d.id = s.device_id
             LEFT JOIN merchants m ON m.id = d.merchant_id
             WHERE s.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind").map_err(db_err)?;
        let created_at = parse_ts(&row.try_get::<String, _>("created_at").map_err(db_err)?)?;
        let ended: Option<String> = row.try_get("ended_at").map_err(db_err)?;
        let revoked: Option<String> = row.try_get("revoked_at").map_err(db_err)?;
        let issued: Option<String> = row.try_get("key_issued_at").map_err(db_err)?;
        // A credential issued after the terminal was set up (rotation) ends it.
        let rotated = match issued.as_deref() {
            Some(at) => parse_ts(at)? > created_at,
            None => true,
        };
        let name_zh: Option<String> = row.try_get("name_zh").map_err(db_err)?;
        let name_en: Option<String> = row.try_get("name_en").map_err(db_err)?;
        Ok(Some(TerminalRow {
            device: DeviceRow {
                id: row.try_get("id").map_err(db_err)?,
                code: row.try_get("code").map_err(db_err)?,
                kind: DeviceKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("device kind {kind}")))?,
                merchant_id: row.try_get("merchant_id").map_err(db_err)?,
                place: row.try_get("place").map_err(db_err)?,
                public_key: row.try_get("public_key").map_err(db_err)?,
                revoked: revoked.is_some(),
            },
            merchant: name_zh.zip(name_en),
            created_at,
            last_seen_at: parse_ts(&row.try_get::<String, _>("last_seen_at").map_err(db_err)?)?,
            ended: ended.is_some() || revoked.is_some() || rotated,
        }))
    }

    async fn touch_terminal_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE terminal_sessions SET last_seen_at = ? WHERE token_hash = ?")
            .bind(ts(now))
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn end_terminal_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE terminal_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
        )
        .bind(ts(now))
        .bind(token_hash)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn device_day(
        &self,
        device_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<DeviceDay, StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(kind = 'payment'), 0) AS sales,
                    COALESCE(-SUM(CASE WHEN kind = 'payment' THEN amount END), 0) AS sales_total,
                    COALESCE(SUM(kind = 'refund'), 0) AS refunds,
                    COALESCE(SUM(CASE WHEN kind = 'refund' THEN amount END), 0) AS refunds_total
             FROM journal_entries WHERE device_id = ? AND created_at >= ?",
        )
        .bind(device_id)
        .bind(ts(day_start))
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(DeviceDay {
            sales: row.try_get("sales").map_err(db_err)?,
            sales_total: Money::from_fen(row.try_get("sales_total").map_err(db_err)?),
            refunds: row.try_get("refunds").map_err(db_err)?,
            refunds_total: Money::from_fen(row.try_get("refunds_total").map_err(db_err)?),
        })
    }

    async fn last_sale(&self, device_id: i64) -> Result<Option<SaleRow>, StoreError> {
        let row = sqlx::query(
            "SELECT j.id, j.amount, j.created_at, h.name,
                    EXISTS (SELECT 1 FROM journal_entries x WHERE x.reverses_id = j.id) AS refunded
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id
             JOIN cardholders h ON h.id = a.holder_id
             WHERE j.device_id = ? AND j.kind = 'payment'
             ORDER BY j.created_at DESC, j.id DESC LIMIT 1",
        )
        .bind(device_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|row| {
            Ok(SaleRow {
                journal_id: row.try_get("id").map_err(db_err)?,
                amount: Money::from_fen(-row.try_get::<i64, _>("amount").map_err(db_err)?),
                at: parse_ts(&row.try_get::<String, _>("created_at").map_err(db_err)?)?,
                holder_name: row.try_get("name").map_err(db_err)?,
                refunded: row.try_get("refunded").map_err(db_err)?,
            })
        })
        .transpose()
    }
}

const ORDER_COLUMNS: &str = "order_no, holder_id, channel, amount, status, provider_ref, failure, journal_id, created_at, updated_at, resolved_at";

fn order_row(row: &SqliteRow) -> Result<OrderRow, StoreError> {
    let channel: String = row.try_get("channel").map_err(db_err)?;
    let status: String = row.try_get("status").map_err(db_err)?;
    let resolved: Option<String> = row.try_get("resolved_at").map_err(db_err)?;
    Ok(OrderRow {
        order_no: row.try_get("order_no").map_err(db_err)?,
        holder_id: row.try_get("holder_id").map_err(db_err)?,
        channel: Channel::parse(&channel)
            .ok_or_else(|| StoreError::Corrupt(format!("channel {channel}")))?,
        amount: Money::from_fen(row.try_get("amount").map_err(db_err)?),
        status: TopupStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("order status {status}")))?,
        provider_ref: row.try_get("provider_ref").map_err(db_err)?,
        failure: row.try_get("failure").map_err(db_err)?,
        journal_id: row.try_get("journal_id").map_err(db_err)?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at").map_err(db_err)?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at").map_err(db_err)?)?,
        resolved: resolved.is_some(),
    })
}

#[async_trait]
impl TopupStore for SqliteStore {
    async fn create_order(&self, o: &NewOrder<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO topup_orders (order_no, holder_id, channel, amount, status, created_at, updated_at)
             VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(o.order_no)
        .bind(o.holder_id)
        .bind(o.channel.as_str())
        .bind(o.amount.fen())
        .bind(ts(o.now))
        .bind(ts(o.now))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn order(&self, order_no: &str) -> Result<Option<OrderRow>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM topup_orders WHERE order_no = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(order_no)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(order_row).transpose()
    }

    async fn orders_of(&self, holder_id: i64, limit: i64) -> Result<Vec<OrderRow>, StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM topup_orders WHERE holder_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(order_row).collect()
    }

    async fn order_paid(
        &self,
        order_no: &str,
        provider_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<OrderPaid, StoreError> {
        let mut tx = self.write_tx().await?;
        let sql = format!("SELECT {ORDER_COLUMNS} FROM topup_orders WHERE order_no = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(order_no)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let Some(order) = row.as_ref().map(order_row).transpose()? else {
            return Ok(OrderPaid::NotFound);
        };
        if order.status == TopupStatus::Paid {
            return Ok(OrderPaid::AlreadyPaid);
        }
        let memo = match order.channel {
            Channel::Auto => "automatic top-up",
            _ => "online top-up",
        };
        let outcome = credit_in_tx(
            &mut tx,
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
        let (journal_id, balance) = match outcome {
            CreditOutcome::Credited {
                journal_id,
                balance,
            } => (journal_id, balance),
            // The journal already has it (cannot happen while the order row says unpaid, but
            // the journal is the truth): record the link and report a duplicate.
            CreditOutcome::AlreadyCredited { journal_id } => {
                mark_paid(&mut tx, order_no, provider_ref, journal_id, now).await?;
                tx.commit().await.map_err(db_err)?;
                return Ok(OrderPaid::AlreadyPaid);
            }
            CreditOutcome::AccountClosed => return Ok(OrderPaid::AccountClosed),
        };
        mark_paid(&mut tx, order_no, provider_ref, journal_id, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(OrderPaid::Credited {
            journal_id,
            balance,
        })
    }

    async fn order_failed(
        &self,
        order_no: &str,
        failure: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE topup_orders SET status = 'failed', failure = ?, updated_at = ?
             WHERE order_no = ? AND status = 'pending'",
        )
        .bind(failure)
        .bind(ts(now))
        .bind(order_no)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn auto_topup(&self, holder_id: i64) -> Result<Option<AutoTopup>, StoreError> {
        let row = sqlx::query(
            "SELECT enabled, threshold, amount, card_masked, card_token FROM auto_topup WHERE holder_id = ?",
        )
        .bind(holder_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|row| {
            Ok(AutoTopup {
                enabled: row.try_get("enabled").map_err(db_err)?,
                threshold: Money::from_fen(row.try_get("threshold").map_err(db_err)?),
                amount: Money::from_fen(row.try_get("amount").map_err(db_err)?),
                card_masked: row.try_get("card_masked").map_err(db_err)?,
                card_token: row.try_get("card_token").map_err(db_err)?,
            })
        })
        .transpose()
    }

    async fn save_auto_topup(
        &self,
        holder_id: i64,
        settings: Option<&AutoTopup>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        match settings {
            Some(s) => {
                sqlx::query(
                    "INSERT INTO auto_topup (holder_id, enabled, threshold, amount, card_masked, card_token, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?)
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
                .bind(ts(now))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            None => {
                sqlx::query("DELETE FROM auto_topup WHERE holder_id = ?")
                    .bind(holder_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn failed_auto_topups(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<OrderRow>, StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM topup_orders
             WHERE status = 'failed' AND channel = 'auto' AND resolved_at IS NULL AND (?1 IS NULL OR holder_id = ?1)
             ORDER BY created_at DESC, id DESC LIMIT 200"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(order_row).collect()
    }
}

async fn mark_paid(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    order_no: &str,
    provider_ref: &str,
    journal_id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE topup_orders SET status = 'paid', provider_ref = ?, journal_id = ?, failure = '', updated_at = ?
         WHERE order_no = ?",
    )
    .bind(provider_ref)
    .bind(journal_id)
    .bind(ts(now))
    .bind(order_no)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}
