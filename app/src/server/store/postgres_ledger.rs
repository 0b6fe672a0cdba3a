//! PostgreSQL: the money engine's queries. Every debit, refund and credit is one transaction
//! that first locks its account row (`FOR NO KEY UPDATE`), so concurrent changes of one
//! balance run one after the other; different accounts do not wait for each other. SQLite's
//! group-commit writer task is not needed here: PostgreSQL already flushes the WAL of
//! concurrently committing transactions together.

use super::postgres::{
    Finish, PgError, PgResult, PostgresStore, at, corrupt, count_failure, in_transaction,
};
use super::postgres_portal::{account_status, insert_audit};
use super::sqlite::ts;
use super::{
    AccessEvent, Audit, CardLookup, CardRow, CardStore, Credit, CreditOutcome, CreditStore, Debit,
    DebitAccount, DeviceRow, LedgerStore, Payer, PaymentOutcome, Refund, StoreError,
};
use crate::model::{AccountStatus, CardStatus, Decline, DeviceKind, Money};
use crate::portal_model::AccessView;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

fn outcome_json(outcome: &PaymentOutcome) -> PgResult<String> {
    serde_json::to_string(outcome).map_err(|e| PgError::Store(StoreError::Corrupt(e.to_string())))
}

fn overflow() -> PgError {
    PgError::Store(StoreError::Corrupt("overflow".into()))
}

pub(super) fn device_kind(text: &str) -> PgResult<DeviceKind> {
    DeviceKind::parse(text).ok_or_else(|| corrupt("device kind", text))
}

fn device_row(row: &PgRow) -> PgResult<DeviceRow> {
    let kind: String = row.try_get("kind")?;
    let revoked: Option<DateTime<Utc>> = row.try_get("revoked_at")?;
    Ok(DeviceRow {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        kind: device_kind(&kind)?,
        merchant_id: row.try_get("merchant_id")?,
        place: row.try_get("place")?,
        public_key: row.try_get("public_key")?,
        revoked: revoked.is_some(),
    })
}

/// The account's row, locked until the transaction ends: the one place where concurrent
/// changes of a balance are put in order.
struct LockedAccount {
    id: i64,
    balance: Money,
    status: String,
    single_limit: Money,
    daily_limit: Money,
}

async fn lock_account(conn: &mut PgConnection, id: i64) -> PgResult<LockedAccount> {
    let row = sqlx::query(
        "SELECT id, balance, status, single_limit, daily_limit FROM accounts WHERE id = $1
         FOR NO KEY UPDATE",
    )
    .bind(id)
    .fetch_one(conn)
    .await?;
    locked_account(&row)
}

async fn lock_account_of_holder(
    conn: &mut PgConnection,
    holder_id: i64,
) -> PgResult<LockedAccount> {
    let row = sqlx::query(
        "SELECT id, balance, status, single_limit, daily_limit FROM accounts WHERE holder_id = $1
         FOR NO KEY UPDATE",
    )
    .bind(holder_id)
    .fetch_one(conn)
    .await?;
    locked_account(&row)
}

fn locked_account(row: &PgRow) -> PgResult<LockedAccount> {
    Ok(LockedAccount {
        id: row.try_get("id")?,
        balance: Money::from_fen(row.try_get("balance")?),
        status: row.try_get("status")?,
        single_limit: Money::from_fen(row.try_get("single_limit")?),
        daily_limit: Money::from_fen(row.try_get("daily_limit")?),
    })
}

/// Writes a new balance, guarded by the old one (we hold the row lock, so it cannot differ;
/// if it ever did, the transaction fails instead of losing an update).
pub(super) async fn set_balance(
    conn: &mut PgConnection,
    account_id: i64,
    old: Money,
    new: Money,
) -> PgResult<()> {
    let updated = sqlx::query("UPDATE accounts SET balance = $1 WHERE id = $2 AND balance = $3")
        .bind(new.fen())
        .bind(account_id)
        .bind(old.fen())
        .execute(conn)
        .await?
        .rows_affected();
    if updated != 1 {
        return Err(PgError::Store(StoreError::Corrupt(
            "balance changed under a row lock".into(),
        )));
    }
    Ok(())
}

/// The stored outcome of an earlier request with this id (committed by now: the caller
/// holds the account lock the earlier request held while storing it, or lost a unique-key
/// race and is running again).
async fn earlier_outcome(
    conn: &mut PgConnection,
    device_id: i64,
    request_id: &str,
) -> PgResult<Option<PaymentOutcome>> {
    let earlier: Option<String> = sqlx::query_scalar(
        "SELECT outcome FROM device_requests WHERE device_id = $1 AND request_id = $2",
    )
    .bind(device_id)
    .bind(request_id)
    .fetch_optional(conn)
    .await?;
    earlier
        .map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| PgError::Store(StoreError::Corrupt(e.to_string())))
        })
        .transpose()
}

/// Stores a request's outcome under its id. A plain INSERT: if a concurrent copy of the
/// request stored first, this fails with a unique violation and the transaction is retried,
/// finding that outcome.
async fn store_outcome(
    conn: &mut PgConnection,
    device_id: i64,
    request_id: &str,
    payload_hash: &str,
    outcome: &PaymentOutcome,
    now: DateTime<Utc>,
) -> PgResult<()> {
    sqlx::query(
        "INSERT INTO device_requests (device_id, request_id, payload_hash, outcome, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(device_id)
    .bind(request_id)
    .bind(payload_hash)
    .bind(outcome_json(outcome)?)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Spending today (payments less refunds) on an account, read under its lock.
async fn spent_since(
    conn: &mut PgConnection,
    account_id: i64,
    since: DateTime<Utc>,
) -> PgResult<Money> {
    let spent: i64 = sqlx::query_scalar(concat!(
        "SELECT ",
        postgres_spent_today!(),
        " FROM accounts a WHERE a.id = $1"
    ))
    .bind(account_id)
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok(Money::from_fen(spent))
}

/// One debit: re-checks status, limits and balance under the account lock, writes the journal
/// entry and the balance, and stores the outcome under the request id.
async fn debit_in_tx(conn: &mut PgConnection, d: &Debit) -> PgResult<Finish<PaymentOutcome>> {
    let now = at(d.now);
    // A retry of a request already answered: its outcome, and no lock taken.
    if let Some(outcome) = earlier_outcome(conn, d.device_id, &d.request_id).await? {
        return Ok(Finish::Rollback(outcome));
    }
    let account = lock_account(conn, d.account_id).await?;
    // A copy of this request may have committed while we waited for the lock.
    if let Some(outcome) = earlier_outcome(conn, d.device_id, &d.request_id).await? {
        return Ok(Finish::Rollback(outcome));
    }
    let spent = spent_since(conn, account.id, at(d.day_start)).await?;
    let decline = d.decide(&DebitAccount {
        status: &account.status,
        balance: account.balance,
        single_limit: account.single_limit,
        daily_limit: account.daily_limit,
        spent_today: spent,
    })?;
    let outcome = match decline {
        // The sale will come again with the password: nothing to remember yet.
        Some(Decline::PasswordRequired) => {
            return Ok(Finish::Rollback(PaymentOutcome::Declined {
                reason: Decline::PasswordRequired,
            }));
        }
        Some(reason) => PaymentOutcome::Declined { reason },
        None => {
            let new_balance = account.balance.checked_sub(d.amount).ok_or_else(overflow)?;
            let debit = d.amount.checked_neg().ok_or_else(overflow)?;
            let journal_id: i64 = sqlx::query_scalar(
                "INSERT INTO journal_entries (account_id, kind, amount, balance_after, merchant_id, device_id, card_id, request_id, created_at)
                 VALUES ($1, 'payment', $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(account.id)
            .bind(debit.fen())
            .bind(new_balance.fen())
            .bind(d.merchant_id)
            .bind(d.device_id)
            .bind(d.card_id)
            .bind(&d.request_id)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            // After the entry (whose trigger marked the running total unknown): the new
            // balance and today's running total, guarded by the old balance.
            let updated = sqlx::query(
                "UPDATE accounts SET balance = $1, spent_since = $4, spent_fen = $5
                 WHERE id = $2 AND balance = $3",
            )
            .bind(new_balance.fen())
            .bind(account.id)
            .bind(account.balance.fen())
            .bind(at(d.day_start))
            .bind(spent.checked_add(d.amount).ok_or_else(overflow)?.fen())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if updated != 1 {
                return Err(PgError::Store(StoreError::Corrupt(
                    "balance changed under a row lock".into(),
                )));
            }
            PaymentOutcome::Approved {
                journal_id,
                amount: d.amount,
                balance: new_balance,
            }
        }
    };
    store_outcome(
        conn,
        d.device_id,
        &d.request_id,
        &d.payload_hash,
        &outcome,
        now,
    )
    .await?;
    Ok(Finish::Commit(outcome))
}

/// A refund of one payment, in its transaction.
async fn refund_in_tx(conn: &mut PgConnection, r: &Refund) -> PgResult<Finish<PaymentOutcome>> {
    let now = at(r.now);
    if let Some(outcome) = earlier_outcome(conn, r.device_id, &r.request_id).await? {
        return Ok(Finish::Rollback(outcome));
    }
    let row = sqlx::query(
        "SELECT account_id, amount, kind, merchant_id, created_at FROM journal_entries WHERE id = $1",
    )
    .bind(r.payment_id)
    .fetch_optional(&mut *conn)
    .await?;
    let decline = |reason| PaymentOutcome::Declined { reason };
    let outcome = match row {
        None => decline(Decline::NoSuchPayment),
        Some(row) => {
            let kind: String = row.try_get("kind")?;
            let merchant: Option<i64> = row.try_get("merchant_id")?;
            let paid_at: DateTime<Utc> = row.try_get("created_at")?;
            let account = lock_account(conn, row.try_get("account_id")?).await?;
            // Read after the lock: a concurrent refund of this payment has committed by now.
            if let Some(outcome) = earlier_outcome(conn, r.device_id, &r.request_id).await? {
                return Ok(Finish::Rollback(outcome));
            }
            let refunded: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM journal_entries WHERE reverses_id = $1)",
            )
            .bind(r.payment_id)
            .fetch_one(&mut *conn)
            .await?;
            if kind != "payment" || merchant.is_none() || merchant != r.merchant_id {
                decline(Decline::NoSuchPayment)
            } else if refunded {
                decline(Decline::AlreadyRefunded)
            } else if paid_at < r.window_start {
                decline(Decline::RefundWindowPassed)
            } else if account.status == "closed" {
                decline(Decline::AccountClosed)
            } else {
                let amount = Money::from_fen(row.try_get("amount")?)
                    .checked_neg()
                    .ok_or_else(overflow)?;
                let new_balance = account.balance.checked_add(amount).ok_or_else(overflow)?;
                let journal_id: i64 = sqlx::query_scalar(
                    "INSERT INTO journal_entries (account_id, kind, amount, balance_after, merchant_id, device_id, request_id, reverses_id, memo, created_at)
                     VALUES ($1, 'refund', $2, $3, $4, $5, $6, $7, 'refund at the till', $8) RETURNING id",
                )
                .bind(account.id)
                .bind(amount.fen())
                .bind(new_balance.fen())
                .bind(r.merchant_id)
                .bind(r.device_id)
                .bind(&r.request_id)
                .bind(r.payment_id)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
                set_balance(conn, account.id, account.balance, new_balance).await?;
                PaymentOutcome::Approved {
                    journal_id,
                    amount,
                    balance: new_balance,
                }
            }
        }
    };
    store_outcome(
        conn,
        r.device_id,
        &r.request_id,
        &r.payload_hash,
        &outcome,
        now,
    )
    .await?;
    Ok(Finish::Commit(outcome))
}

/// A credit inside the caller's transaction (journal entry + balance), under the account
/// lock. Idempotent by `reference` per kind and channel: looked up after the lock, and made
/// certain by the unique index `journal_credit_once_per_reference` (a racing duplicate fails
/// and its transaction runs again, finding the first).
pub(super) async fn credit_in_tx(
    conn: &mut PgConnection,
    c: &Credit<'_>,
) -> PgResult<CreditOutcome> {
    if c.amount.fen() <= 0 {
        return Err(PgError::Store(StoreError::Corrupt(
            "a credit must be positive".into(),
        )));
    }
    let account = lock_account_of_holder(conn, c.holder_id).await?;
    if !c.reference.is_empty() {
        let earlier: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM journal_entries
             WHERE reference = $1 AND kind = $2 AND channel IS NOT DISTINCT FROM $3",
        )
        .bind(c.reference)
        .bind(c.kind.as_str())
        .bind(c.channel.map(|ch| ch.as_str()))
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(journal_id) = earlier {
            return Ok(CreditOutcome::AlreadyCredited { journal_id });
        }
    }
    if account.status == "closed" {
        return Ok(CreditOutcome::AccountClosed);
    }
    let new_balance = account
        .balance
        .checked_add(c.amount)
        .ok_or_else(|| PgError::Store(StoreError::Corrupt("balance overflow".into())))?;
    let journal_id: i64 = sqlx::query_scalar(
        "INSERT INTO journal_entries (account_id, kind, amount, balance_after, channel, merchant_id, staff_id, reference, memo, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(account.id)
    .bind(c.kind.as_str())
    .bind(c.amount.fen())
    .bind(new_balance.fen())
    .bind(c.channel.map(|ch| ch.as_str()))
    .bind(c.merchant_id)
    .bind(c.staff_id)
    .bind(c.reference)
    .bind(c.memo)
    .bind(at(c.now))
    .fetch_one(&mut *conn)
    .await?;
    set_balance(conn, account.id, account.balance, new_balance).await?;
    Ok(CreditOutcome::Credited {
        journal_id,
        balance: new_balance,
    })
}

impl PostgresStore {
    async fn payer_inner(
        &self,
        holder_id: i64,
        day_start: DateTime<Utc>,
    ) -> PgResult<Option<Payer>> {
        let row = sqlx::query(
            concat!(
                "SELECT a.id, h.name, a.status, a.balance, a.single_limit, a.daily_limit, a.consumption_pw_hash,
                    a.consumption_pw_locked_until, t.threshold AS auto_below, ",
                postgres_spent_today!(),
                " AS spent
             FROM accounts a JOIN cardholders h ON h.id = a.holder_id
             LEFT JOIN auto_topup t ON t.holder_id = a.holder_id AND t.enabled
             WHERE a.holder_id = $1"
            ),
        )
        .bind(holder_id)
        .bind(at(day_start))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let status: String = row.try_get("status")?;
        Ok(Some(Payer {
            holder_id,
            account_id: row.try_get("id")?,
            name: row.try_get("name")?,
            status: account_status(&status)?,
            balance: Money::from_fen(row.try_get("balance")?),
            single_limit: Money::from_fen(row.try_get("single_limit")?),
            daily_limit: Money::from_fen(row.try_get("daily_limit")?),
            spent_today: Money::from_fen(row.try_get("spent")?),
            consumption_pw_hash: row.try_get("consumption_pw_hash")?,
            consumption_pw_locked_until: row.try_get("consumption_pw_locked_until")?,
            auto_topup_below: row
                .try_get::<Option<i64>, _>("auto_below")?
                .map(Money::from_fen),
        }))
    }

    async fn access_of_inner(&self, holder_id: i64, limit: i64) -> PgResult<Vec<AccessView>> {
        let rows = sqlx::query(
            "SELECT e.at, d.place, d.kind, e.method, e.allowed, e.reason
             FROM access_events e JOIN devices d ON d.id = e.device_id
             WHERE e.holder_id = $1 ORDER BY e.at DESC, e.id DESC LIMIT $2",
        )
        .bind(holder_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let reason: String = row.try_get("reason")?;
                Ok(AccessView {
                    at: ts(row.try_get("at")?),
                    place: row.try_get("place")?,
                    kind: device_kind(&kind)?,
                    method: row.try_get("method")?,
                    allowed: row.try_get("allowed")?,
                    reason: Decline::parse(&reason),
                })
            })
            .collect()
    }
}

#[async_trait]
impl LedgerStore for PostgresStore {
    async fn device_by_code(&self, code: &str) -> Result<Option<DeviceRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, code, kind, merchant_id, place, public_key, revoked_at FROM devices WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(PgError::from)?;
        Ok(row.as_ref().map(device_row).transpose()?)
    }

    async fn set_device_public_key(
        &self,
        device_id: i64,
        public_key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE devices SET public_key = $1, key_issued_at = $2, revoked_at = NULL WHERE id = $3",
        )
        .bind(public_key)
        .bind(at(now))
        .bind(device_id)
        .execute(&self.pool)
        .await
        .map_err(PgError::from)?;
        Ok(())
    }

    async fn earlier_request(
        &self,
        device_id: i64,
        request_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT payload_hash, outcome FROM device_requests WHERE device_id = $1 AND request_id = $2",
        )
        .bind(device_id)
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(PgError::from)?)
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
            "INSERT INTO device_requests (device_id, request_id, payload_hash, outcome, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(device_id)
        .bind(request_id)
        .bind(payload_hash)
        .bind(outcome)
        .bind(at(now))
        .execute(&self.pool)
        .await
        .map_err(PgError::from)?;
        Ok(())
    }

    async fn card_by_serial(&self, serial: &str) -> Result<Option<CardLookup>, StoreError> {
        let row: Option<(i64, i64, String)> =
            sqlx::query_as("SELECT id, holder_id, status FROM cards WHERE chip_serial = $1")
                .bind(serial)
                .fetch_optional(&self.pool)
                .await
                .map_err(PgError::from)?;
        let Some((card_id, holder_id, status)) = row else {
            return Ok(None);
        };
        Ok(Some(CardLookup {
            card_id,
            holder_id,
            status: CardStatus::parse(&status).ok_or_else(|| corrupt("card status", &status))?,
        }))
    }

    async fn payer(
        &self,
        holder_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<Option<Payer>, StoreError> {
        Ok(self.payer_inner(holder_id, day_start).await?)
    }

    async fn consumption_pw_failed(
        &self,
        account_id: i64,
        max: i64,
        lock_until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(count_failure(
            &self.pool,
            "accounts",
            "consumption_pw_failures",
            "consumption_pw_locked_until",
            account_id,
            max,
            lock_until,
        )
        .await?)
    }

    async fn consumption_pw_ok(&self, account_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE accounts SET consumption_pw_failures = 0 WHERE id = $1 AND consumption_pw_failures <> 0",
        )
        .bind(account_id)
        .execute(&self.pool)
        .await
        .map_err(PgError::from)?;
        Ok(())
    }

    async fn debit(&self, debit: Debit) -> Result<PaymentOutcome, StoreError> {
        let debit = &debit;
        Ok(in_transaction!(self.pool, |tx| {
            debit_in_tx(&mut tx, debit).await
        })?)
    }

    async fn record_access(&self, e: &AccessEvent<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_events (device_id, holder_id, card_id, method, allowed, reason, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.device_id)
        .bind(e.holder_id)
        .bind(e.card_id)
        .bind(e.method)
        .bind(e.allowed)
        .bind(e.reason)
        .bind(at(e.at))
        .execute(&self.pool)
        .await
        .map_err(PgError::from)?;
        Ok(())
    }

    async fn refund(&self, refund: Refund) -> Result<PaymentOutcome, StoreError> {
        let refund = &refund;
        Ok(in_transaction!(self.pool, |tx| {
            refund_in_tx(&mut tx, refund).await
        })?)
    }

    async fn set_consumption_password(
        &self,
        account_id: i64,
        new_hash: &str,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let audit = &audit;
        Ok(in_transaction!(self.pool, |tx| {
            sqlx::query(
                "UPDATE accounts SET consumption_pw_hash = $1, consumption_pw_is_initial = FALSE,
                        consumption_pw_failures = 0, consumption_pw_locked_until = NULL WHERE id = $2",
            )
            .bind(new_hash)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })?)
    }

    async fn access_of(&self, holder_id: i64, limit: i64) -> Result<Vec<AccessView>, StoreError> {
        Ok(self.access_of_inner(holder_id, limit).await?)
    }
}

#[async_trait]
impl CardStore for PostgresStore {
    async fn cards_of(&self, holder_id: i64) -> Result<Vec<CardRow>, StoreError> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, card_no, chip_serial, status FROM cards WHERE holder_id = $1
             ORDER BY issued_at DESC, id DESC",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await
        .map_err(PgError::from)?;
        Ok(rows
            .into_iter()
            .map(|(id, card_no, chip_serial, status)| {
                Ok(CardRow {
                    id,
                    card_no,
                    chip_serial,
                    status: CardStatus::parse(&status)
                        .ok_or_else(|| corrupt("card status", &status))?,
                })
            })
            .collect::<PgResult<_>>()?)
    }

    async fn set_account_status(
        &self,
        holder_id: i64,
        status: AccountStatus,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let audit = &audit;
        Ok(in_transaction!(self.pool, |tx| {
            // Under the account lock: a payment in flight finishes first, or sees the new status.
            let before = lock_account_of_holder(&mut tx, holder_id).await?.status;
            sqlx::query("UPDATE accounts SET status = $1, status_reason = $2 WHERE holder_id = $3")
                .bind(status.as_str())
                .bind(&audit.reason)
                .bind(holder_id)
                .execute(&mut *tx)
                .await?;
            let mut audit = audit.clone();
            audit.before = before;
            audit.after = status.as_str().into();
            insert_audit(&mut tx, &audit, now).await?;
            Ok(Finish::Commit(()))
        })?)
    }
}

#[async_trait]
impl CreditStore for PostgresStore {
    async fn credit(&self, c: &Credit<'_>) -> Result<CreditOutcome, StoreError> {
        Ok(in_transaction!(self.pool, |tx| {
            let outcome = credit_in_tx(&mut tx, c).await?;
            Ok(match outcome {
                CreditOutcome::Credited { .. } => Finish::Commit(outcome),
                _ => Finish::Rollback(outcome),
            })
        })?)
    }
}
