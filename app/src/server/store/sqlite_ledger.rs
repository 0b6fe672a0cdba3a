//! SQLite: the money engine's queries. Debits are written by `sqlite_writer` in `BEGIN IMMEDIATE`:
//! SQLite has one writer at a time, so taking the write lock first serialises payments on the
//! whole database and no two debits can both see the same balance.

use super::sqlite::{SqliteStore, db_err, parse_ts, ts};
use super::{
    AccessEvent, Audit, CardLookup, CardRow, CardStore, Credit, CreditOutcome, CreditStore, Debit,
    DeviceRow, LedgerStore, Payer, PaymentOutcome, Refund, StoreError,
};
use crate::model::{AccountStatus, CardStatus, Decline, DeviceKind, Money};
use crate::portal_model::AccessView;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Row, Sqlite, Transaction};

/// What a payment decision reads about the payer (see `Payer`); `?2` is the day's start.
const PAYER_COLUMNS: &str = concat!(
    "a.holder_id AS payer_holder, a.id AS account_id, h.name, a.status, a.balance,
    a.single_limit, a.daily_limit, a.consumption_pw_hash, a.consumption_pw_locked_until,
    t.threshold AS auto_below, ",
    sqlite_spent_today!(),
    " AS spent"
);
const PAYER_FROM: &str = "FROM accounts a JOIN cardholders h ON h.id = a.holder_id
    LEFT JOIN auto_topup t ON t.holder_id = a.holder_id AND t.enabled = 1";

fn payer_row(row: &sqlx::sqlite::SqliteRow) -> Result<Payer, StoreError> {
    let status: String = row.try_get("status").map_err(db_err)?;
    let locked: Option<String> = row.try_get("consumption_pw_locked_until").map_err(db_err)?;
    Ok(Payer {
        holder_id: row.try_get("payer_holder").map_err(db_err)?,
        account_id: row.try_get("account_id").map_err(db_err)?,
        name: row.try_get("name").map_err(db_err)?,
        status: AccountStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("account status {status}")))?,
        balance: Money::from_fen(row.try_get("balance").map_err(db_err)?),
        single_limit: Money::from_fen(row.try_get("single_limit").map_err(db_err)?),
        daily_limit: Money::from_fen(row.try_get("daily_limit").map_err(db_err)?),
        spent_today: Money::from_fen(row.try_get("spent").map_err(db_err)?),
        consumption_pw_hash: row.try_get("consumption_pw_hash").map_err(db_err)?,
        consumption_pw_locked_until: locked.as_deref().map(parse_ts).transpose()?,
        auto_topup_below: row
            .try_get::<Option<i64>, _>("auto_below")
            .map_err(db_err)?
            .map(Money::from_fen),
    })
}

fn outcome_json(outcome: &PaymentOutcome) -> Result<String, StoreError> {
    serde_json::to_string(outcome).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl LedgerStore for SqliteStore {
    async fn device_by_code(&self, code: &str) -> Result<Option<DeviceRow>, StoreError> {
        let row = sqlx::query("SELECT id, code, kind, merchant_id, place, public_key, revoked_at FROM devices WHERE code = ?")
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind").map_err(db_err)?;
        let revoked: Option<String> = row.try_get("revoked_at").map_err(db_err)?;
        Ok(Some(DeviceRow {
            id: row.try_get("id").map_err(db_err)?,
            code: row.try_get("code").map_err(db_err)?,
            kind: DeviceKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("device kind {kind}")))?,
            merchant_id: row.try_get("merchant_id").map_err(db_err)?,
            place: row.try_get("place").map_err(db_err)?,
            public_key: row.try_get("public_key").map_err(db_err)?,
            revoked: revoked.is_some(),
        }))
    }

    async fn set_device_public_key(
        &self,
        device_id: i64,
        public_key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE devices SET public_key = ?, key_issued_at = ?, revoked_at = NULL WHERE id = ?",
        )
        .bind(public_key)
        .bind(ts(now))
        .bind(device_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn earlier_request(
        &self,
        device_id: i64,
        request_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT payload_hash, outcome FROM device_requests WHERE device_id = ? AND request_id = ?")
            .bind(device_id)
            .bind(request_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| {
            Ok((
                r.try_get("payload_hash").map_err(db_err)?,
                r.try_get("outcome").map_err(db_err)?,
            ))
        })
        .transpose()
    }

    async fn remember_request(
        &self,
        device_id: i64,
        request_id: &str,
        payload_hash: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO device_requests (device_id, request_id, payload_hash, outcome, created_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(device_id)
        .bind(request_id)
        .bind(payload_hash)
        .bind(outcome)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn card_by_serial(&self, serial: &str) -> Result<Option<CardLookup>, StoreError> {
        let row = sqlx::query("SELECT id, holder_id, status FROM cards WHERE chip_serial = ?")
            .bind(serial)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let status: String = row.try_get("status").map_err(db_err)?;
        Ok(Some(CardLookup {
            card_id: row.try_get("id").map_err(db_err)?,
            holder_id: row.try_get("holder_id").map_err(db_err)?,
            status: CardStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("card status {status}")))?,
        }))
    }

    async fn payer(
        &self,
        holder_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<Option<Payer>, StoreError> {
        let sql = format!("SELECT {PAYER_COLUMNS} {PAYER_FROM} WHERE a.holder_id = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(ts(day_start))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(payer_row).transpose()
    }

    async fn card_and_payer(
        &self,
        serial: &str,
        day_start: DateTime<Utc>,
    ) -> Result<Option<(CardLookup, Option<Payer>)>, StoreError> {
        let sql = format!(
            "SELECT c.id AS card_id, c.holder_id AS card_holder, c.status AS card_status, {PAYER_COLUMNS}
             FROM cards c LEFT JOIN accounts a ON a.holder_id = c.holder_id
             LEFT JOIN cardholders h ON h.id = a.holder_id
             LEFT JOIN auto_topup t ON t.holder_id = a.holder_id AND t.enabled = 1
             WHERE c.chip_serial = ?1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(serial)
            .bind(ts(day_start))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let status: String = row.try_get("card_status").map_err(db_err)?;
        let card = CardLookup {
            card_id: row.try_get("card_id").map_err(db_err)?,
            holder_id: row.try_get("card_holder").map_err(db_err)?,
            status: CardStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("card status {status}")))?,
        };
        let has_payer: Option<i64> = row.try_get("account_id").map_err(db_err)?;
        let payer = match has_payer {
            Some(_) => Some(payer_row(&row)?),
            None => None,
        };
        Ok(Some((card, payer)))
    }

    async fn consumption_pw_failed(
        &self,
        account_id: i64,
        max: i64,
        lock_until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        super::sqlite::count_failure(
            &self.pool,
            "accounts",
            "consumption_pw_failures",
            "consumption_pw_locked_until",
            account_id,
            max,
            lock_until,
        )
        .await
    }

    async fn consumption_pw_ok(&self, account_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET consumption_pw_failures = 0 WHERE id = ? AND consumption_pw_failures <> 0")
            .bind(account_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn debit(&self, debit: Debit) -> Result<PaymentOutcome, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer
            .send(super::sqlite_writer::DebitJob { debit, reply })
            .await
            .map_err(|_| StoreError::Unavailable("ledger writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("ledger writer stopped".into()))?
    }

    async fn record_access(&self, e: &AccessEvent<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_events (device_id, holder_id, card_id, method, allowed, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.device_id)
        .bind(e.holder_id)
        .bind(e.card_id)
        .bind(e.method)
        .bind(e.allowed)
        .bind(e.reason)
        .bind(ts(e.at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn refund(&self, refund: Refund) -> Result<PaymentOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let outcome = refund_in_tx(&mut tx, &refund).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(outcome)
    }

    async fn set_consumption_password(
        &self,
        account_id: i64,
        new_hash: &str,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE accounts SET consumption_pw_hash = ?, consumption_pw_is_initial = 0,
                    consumption_pw_failures = 0, consumption_pw_locked_until = NULL WHERE id = ?",
        )
        .bind(new_hash)
        .bind(account_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        super::sqlite_portal::insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn access_of(&self, holder_id: i64, limit: i64) -> Result<Vec<AccessView>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.at, d.place, d.kind, e.method, e.allowed, e.reason
             FROM access_events e JOIN devices d ON d.id = e.device_id
             WHERE e.holder_id = ? ORDER BY e.at DESC, e.id DESC LIMIT ?",
        )
        .bind(holder_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind").map_err(db_err)?;
                let reason: String = row.try_get("reason").map_err(db_err)?;
                Ok(AccessView {
                    at: row.try_get("at").map_err(db_err)?,
                    place: row.try_get("place").map_err(db_err)?,
                    kind: DeviceKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("device kind {kind}")))?,
                    method: row.try_get("method").map_err(db_err)?,
                    allowed: row.try_get("allowed").map_err(db_err)?,
                    reason: Decline::parse(&reason),
                })
            })
            .collect()
    }
}

#[async_trait]
impl CardStore for SqliteStore {
    async fn cards_of(&self, holder_id: i64) -> Result<Vec<CardRow>, StoreError> {
        let rows = sqlx::query("SELECT id, card_no, chip_serial, status FROM cards WHERE holder_id = ? ORDER BY issued_at DESC, id DESC")
            .bind(holder_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status").map_err(db_err)?;
                Ok(CardRow {
                    id: row.try_get("id").map_err(db_err)?,
                    card_no: row.try_get("card_no").map_err(db_err)?,
                    chip_serial: row.try_get("chip_serial").map_err(db_err)?,
                    status: CardStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("card status {status}")))?,
                })
            })
            .collect()
    }

    async fn set_account_status(
        &self,
        holder_id: i64,
        status: AccountStatus,
        mut audit: Audit,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        let before: String = sqlx::query_scalar("SELECT status FROM accounts WHERE holder_id = ?")
            .bind(holder_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("UPDATE accounts SET status = ?, status_reason = ? WHERE holder_id = ?")
            .bind(status.as_str())
            .bind(&audit.reason)
            .bind(holder_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        audit.before = before;
        audit.after = status.as_str().into();
        super::sqlite_portal::insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl CreditStore for SqliteStore {
    async fn credit(&self, c: &Credit<'_>) -> Result<CreditOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let outcome = credit_in_tx(&mut tx, c).await?;
        if matches!(outcome, CreditOutcome::Credited { .. }) {
            tx.commit().await.map_err(db_err)?;
        }
        Ok(outcome)
    }
}

/// A credit inside the caller's write transaction (journal entry + balance). Idempotent by
/// `reference` per kind and channel.
pub(super) async fn credit_in_tx(
    tx: &mut Transaction<'_, Sqlite>,
    c: &Credit<'_>,
) -> Result<CreditOutcome, StoreError> {
    if c.amount.fen() <= 0 {
        return Err(StoreError::Corrupt("a credit must be positive".into()));
    }
    if !c.reference.is_empty() {
        let earlier: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM journal_entries WHERE reference = ? AND kind = ? AND channel IS ?",
        )
        .bind(c.reference)
        .bind(c.kind.as_str())
        .bind(c.channel.map(|ch| ch.as_str()))
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?;
        if let Some(journal_id) = earlier {
            return Ok(CreditOutcome::AlreadyCredited { journal_id });
        }
    }
    let row = sqlx::query("SELECT id, balance, status FROM accounts WHERE holder_id = ?")
        .bind(c.holder_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    let account_id: i64 = row.try_get("id").map_err(db_err)?;
    let balance = Money::from_fen(row.try_get("balance").map_err(db_err)?);
    let status: String = row.try_get("status").map_err(db_err)?;
    if status == "closed" {
        return Ok(CreditOutcome::AccountClosed);
    }
    let new_balance = balance
        .checked_add(c.amount)
        .ok_or_else(|| StoreError::Corrupt("balance overflow".into()))?;
    let journal_id: i64 = sqlx::query_scalar(
        "INSERT INTO journal_entries (account_id, kind, amount, balance_after, channel, merchant_id, staff_id, reference, memo, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(account_id)
    .bind(c.kind.as_str())
    .bind(c.amount.fen())
    .bind(new_balance.fen())
    .bind(c.channel.map(|ch| ch.as_str()))
    .bind(c.merchant_id)
    .bind(c.staff_id)
    .bind(c.reference)
    .bind(c.memo)
    .bind(ts(c.now))
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    set_balance(tx, account_id, balance, new_balance).await?;
    Ok(CreditOutcome::Credited {
        journal_id,
        balance: new_balance,
    })
}

/// Writes a new balance, guarded by the old one: even outside a serialised transaction a lost
/// update is impossible.
pub(super) async fn set_balance(
    tx: &mut Transaction<'_, Sqlite>,
    account_id: i64,
    old: Money,
    new: Money,
) -> Result<(), StoreError> {
    let updated = sqlx::query("UPDATE accounts SET balance = ? WHERE id = ? AND balance = ?")
        .bind(new.fen())
        .bind(account_id)
        .bind(old.fen())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    if updated != 1 {
        return Err(StoreError::Corrupt(
            "balance changed under a write lock".into(),
        ));
    }
    Ok(())
}

/// The stored outcome of an earlier request with this id, read inside a write transaction (a
/// duplicate that raced us to the lock).
async fn earlier_outcome(
    tx: &mut Transaction<'_, Sqlite>,
    device_id: i64,
    request_id: &str,
) -> Result<Option<PaymentOutcome>, StoreError> {
    let earlier: Option<String> = sqlx::query_scalar(
        "SELECT outcome FROM device_requests WHERE device_id = ? AND request_id = ?",
    )
    .bind(device_id)
    .bind(request_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?;
    earlier
        .map(|text| serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

async fn store_outcome(
    tx: &mut Transaction<'_, Sqlite>,
    device_id: i64,
    request_id: &str,
    payload_hash: &str,
    outcome: &PaymentOutcome,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO device_requests (device_id, request_id, payload_hash, outcome, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(device_id)
        .bind(request_id)
        .bind(payload_hash)
        .bind(outcome_json(outcome)?)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A refund inside its write transaction.
async fn refund_in_tx(
    tx: &mut Transaction<'_, Sqlite>,
    r: &Refund,
) -> Result<PaymentOutcome, StoreError> {
    let now = ts(r.now);
    if let Some(outcome) = earlier_outcome(tx, r.device_id, &r.request_id).await? {
        return Ok(outcome);
    }
    let row = sqlx::query(
        "SELECT j.account_id, j.amount, j.kind, j.merchant_id, j.created_at, a.balance, a.status,
                EXISTS (SELECT 1 FROM journal_entries x WHERE x.reverses_id = j.id) AS refunded
         FROM journal_entries j JOIN accounts a ON a.id = j.account_id WHERE j.id = ?",
    )
    .bind(r.payment_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?;
    let decline = |reason| PaymentOutcome::Declined { reason };
    let outcome = match row {
        None => decline(Decline::NoSuchPayment),
        Some(row) => {
            let kind: String = row.try_get("kind").map_err(db_err)?;
            let merchant: Option<i64> = row.try_get("merchant_id").map_err(db_err)?;
            let at = parse_ts(&row.try_get::<String, _>("created_at").map_err(db_err)?)?;
            let status: String = row.try_get("status").map_err(db_err)?;
            let refunded: bool = row.try_get("refunded").map_err(db_err)?;
            if kind != "payment" || merchant.is_none() || merchant != r.merchant_id {
                decline(Decline::NoSuchPayment)
            } else if refunded {
                decline(Decline::AlreadyRefunded)
            } else if at < r.window_start {
                decline(Decline::RefundWindowPassed)
            } else if status == "closed" {
                decline(Decline::AccountClosed)
            } else {
                let account_id: i64 = row.try_get("account_id").map_err(db_err)?;
                let amount = Money::from_fen(row.try_get("amount").map_err(db_err)?)
                    .checked_neg()
                    .ok_or_else(|| StoreError::Corrupt("overflow".into()))?;
                let balance = Money::from_fen(row.try_get("balance").map_err(db_err)?);
                let new_balance = balance
                    .checked_add(amount)
                    .ok_or_else(|| StoreError::Corrupt("overflow".into()))?;
                let journal_id: i64 = sqlx::query_scalar(
                    "INSERT INTO journal_entries (account_id, kind, amount, balance_after, merchant_id, device_id, request_id, reverses_id, memo, created_at)
                     VALUES (?, 'refund', ?, ?, ?, ?, ?, ?, 'refund at the till', ?) RETURNING id",
                )
                .bind(account_id)
                .bind(amount.fen())
                .bind(new_balance.fen())
                .bind(r.merchant_id)
                .bind(r.device_id)
                .bind(&r.request_id)
                .bind(r.payment_id)
                .bind(&now)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                set_balance(tx, account_id, balance, new_balance).await?;
                PaymentOutcome::Approved {
                    journal_id,
                    amount,
                    balance: new_balance,
                }
            }
        }
    };
    store_outcome(
        tx,
        r.device_id,
        &r.request_id,
        &r.payload_hash,
        &outcome,
        &now,
    )
    .await?;
    Ok(outcome)
}
