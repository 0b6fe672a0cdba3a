//! The money engine's queries: devices, payments, refunds and credits. Every refund and credit
//! is one transaction that first locks its account (`lock_account`), so concurrent changes of
//! one balance run one after the other; different accounts do not wait for each other on
//! PostgreSQL. Debits are each backend's own (`debit_in_tx` on PostgreSQL, the ledger writer on
//! SQLite), deciding with the same `domain::payments` rule.

use super::{
    ThisStore, end_bindings_tx, insert_audit, lock_account, lock_account_of_holder, set_balance,
};
use crate::audit_text::Fact;
use crate::model::{AccountStatus, Decline, DeviceKind, EntryKind, Money};
use crate::portal_model::AccessView;
use crate::server::domain::bindings::HolderEvent;
use crate::server::domain::payments::{self, CreditRefused, PaymentSeen, RefundAsk};
use crate::server::store::{
    AccessEvent, Audit, CardLookup, CardRow, CardStore, Credit, CreditOutcome, CreditStore, Debit,
    DeviceRow, Finish, LedgerStore, Payer, PaymentOutcome, Refund, StoreError, Ts,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

type Conn = super::Conn;
type DbRow = super::DbRow;

fn outcome_json(outcome: &PaymentOutcome) -> Result<String, StoreError> {
    serde_json::to_string(outcome).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn device_row(row: &DbRow) -> Result<DeviceRow, StoreError> {
    let revoked: Option<Ts> = row.try_get("revoked_at")?;
    Ok(DeviceRow {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        kind: row.try_get("kind")?,
        merchant_id: row.try_get("merchant_id")?,
        place: row.try_get("place")?,
        public_key: row.try_get("public_key")?,
        revoked: revoked.is_some(),
    })
}

/// What a payment decision reads about the payer (see `Payer`); `$2` is the day's start.
const PAYER_COLUMNS: &str = concat!(
    "a.holder_id AS payer_holder, a.id AS account_id, h.name, a.status, a.balance,
    a.single_limit, a.daily_limit, a.consumption_pw_hash, a.consumption_pw_locked_until,
    t.threshold AS auto_below, ",
    spent_today!(),
    " AS spent"
);

fn payer_row(row: &DbRow) -> Result<Payer, StoreError> {
    Ok(Payer {
        holder_id: row.try_get("payer_holder")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        status: row.try_get("status")?,
        balance: Money::from_fen(row.try_get("balance")?),
        single_limit: Money::from_fen(row.try_get("single_limit")?),
        daily_limit: Money::from_fen(row.try_get("daily_limit")?),
        spent_today: Money::from_fen(row.try_get("spent")?),
        consumption_pw_hash: row.try_get("consumption_pw_hash")?,
        consumption_pw_locked_until: row
            .try_get::<Option<Ts>, _>("consumption_pw_locked_until")?
            .map(DateTime::from),
        auto_topup_below: row
            .try_get::<Option<i64>, _>("auto_below")?
            .map(Money::from_fen),
    })
}

/// The stored outcome of an earlier request with this id (committed by now: the caller
/// holds the account lock the earlier request held while storing it, or lost a unique-key
/// race and is running again).
pub(in super::super) async fn earlier_outcome(
    conn: &mut Conn,
    device_id: i64,
    request_id: &str,
    payload_hash: &str,
) -> Result<Option<PaymentOutcome>, StoreError> {
    let earlier: Option<(String, String)> = sqlx::query_as(
        "SELECT payload_hash, outcome FROM device_requests WHERE device_id = $1 AND request_id = $2",
    )
    .bind(device_id)
    .bind(request_id)
    .fetch_optional(conn)
    .await?;
    earlier
        .map(|(hash, text)| crate::server::store::earlier_answer(&hash, &text, payload_hash))
        .transpose()
}

/// Stores a request's outcome under its id. A plain INSERT: if a concurrent copy of the
/// request stored first, this fails with a unique violation and the transaction is retried,
/// finding that outcome.
pub(in super::super) async fn store_outcome(
    conn: &mut Conn,
    device_id: i64,
    request_id: &str,
    payload_hash: &str,
    outcome: &PaymentOutcome,
    now: impl Into<Ts>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO device_requests (device_id, request_id, payload_hash, outcome, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(device_id)
    .bind(request_id)
    .bind(payload_hash)
    .bind(outcome_json(outcome)?)
    .bind(now.into())
    .execute(conn)
    .await?;
    Ok(())
}

/// A refund of one payment, in its transaction: the payment read, its account locked, and
/// `domain::payments::decide_refund` asked.
async fn refund_in_tx(conn: &mut Conn, r: &Refund) -> Result<Finish<PaymentOutcome>, StoreError> {
    if let Some(outcome) =
        earlier_outcome(conn, r.device_id, &r.request_id, &r.payload_hash).await?
    {
        return Ok(Finish::Rollback(outcome));
    }
    let row: Option<(i64, i64, EntryKind, Option<i64>, Ts)> = sqlx::query_as(
        "SELECT account_id, amount, kind, merchant_id, created_at FROM journal_entries WHERE id = $1",
    )
    .bind(r.payment_id)
    .fetch_optional(&mut *conn)
    .await?;
    let outcome = match row {
        None => PaymentOutcome::Declined {
            reason: Decline::NoSuchPayment,
        },
        Some((account_id, amount, kind, merchant_id, paid_at)) => {
            let account = lock_account(conn, account_id).await?;
            // Read after the lock: a concurrent refund of this payment has committed by now.
            if let Some(outcome) =
                earlier_outcome(conn, r.device_id, &r.request_id, &r.payload_hash).await?
            {
                return Ok(Finish::Rollback(outcome));
            }
            let refunded: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM journal_entries WHERE reverses_id = $1)",
            )
            .bind(r.payment_id)
            .fetch_one(&mut *conn)
            .await?;
            let payment = PaymentSeen {
                kind,
                merchant_id,
                paid_at: paid_at.0,
                amount: Money::from_fen(amount),
            };
            let ask = RefundAsk {
                merchant_id: r.merchant_id,
                window_start: r.window_start,
                already_reversed: refunded,
                account_status: account.status,
                balance: account.balance,
            };
            match payments::decide_refund(Some(&payment), &ask)? {
                Err(reason) => PaymentOutcome::Declined { reason },
                Ok(plan) => {
                    let journal_id: i64 = sqlx::query_scalar(
                        "INSERT INTO journal_entries (account_id, kind, amount, balance_after, merchant_id, device_id, request_id, reverses_id, memo, created_at)
                         VALUES ($1, 'refund', $2, $3, $4, $5, $6, $7, 'refund at the till', $8) RETURNING id",
                    )
                    .bind(account.id)
                    .bind(plan.entry.fen())
                    .bind(plan.balance_after.fen())
                    .bind(r.merchant_id)
                    .bind(r.device_id)
                    .bind(&r.request_id)
                    .bind(r.payment_id)
                    .bind(Ts::new(r.now))
                    .fetch_one(&mut *conn)
                    .await?;
                    set_balance(conn, account.id, account.balance, plan.balance_after).await?;
                    PaymentOutcome::Approved {
                        journal_id,
                        amount: plan.entry,
                        balance: plan.balance_after,
                    }
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
        r.now,
    )
    .await?;
    Ok(Finish::Commit(outcome))
}

/// A credit inside the caller's transaction (journal entry + balance), under the account
/// lock. Idempotent by `reference` per kind and channel: looked up after the lock, and made
/// certain by the unique index `journal_credit_once_per_reference` (a racing duplicate fails
/// and its transaction runs again, finding the first).
pub(super) async fn credit_in_tx(
    conn: &mut Conn,
    c: &Credit<'_>,
) -> Result<CreditOutcome, StoreError> {
    let account = lock_account_of_holder(conn, c.holder_id).await?;
    let earlier: Option<i64> = if c.reference.is_empty() {
        None
    } else {
        sqlx::query_scalar(
            "SELECT id FROM journal_entries
             WHERE reference = $1 AND kind = $2 AND channel IS NOT DISTINCT FROM $3",
        )
        .bind(c.reference)
        .bind(c.kind)
        .bind(c.channel)
        .fetch_optional(&mut *conn)
        .await?
    };
    let new_balance =
        match payments::decide_credit(c.amount, account.status, account.balance, earlier)? {
            Ok(balance) => balance,
            Err(CreditRefused::AlreadyCredited(journal_id)) => {
                return Ok(CreditOutcome::AlreadyCredited { journal_id });
            }
            Err(CreditRefused::AccountClosed) => return Ok(CreditOutcome::AccountClosed),
        };
    let journal_id: i64 = sqlx::query_scalar(
        "INSERT INTO journal_entries (account_id, kind, amount, balance_after, channel, merchant_id, staff_id, reference, memo, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(account.id)
    .bind(c.kind)
    .bind(c.amount.fen())
    .bind(new_balance.fen())
    .bind(c.channel)
    .bind(c.merchant_id)
    .bind(c.staff_id)
    .bind(c.reference)
    .bind(c.memo)
    .bind(Ts::new(c.now))
    .fetch_one(&mut *conn)
    .await?;
    set_balance(conn, account.id, account.balance, new_balance).await?;
    super::notices::notify_credit(conn, c.holder_id, c.kind, c.amount, new_balance, c.now).await?;
    Ok(CreditOutcome::Credited {
        journal_id,
        balance: new_balance,
    })
}

#[async_trait]
impl LedgerStore for ThisStore {
    async fn device_by_code(&self, code: &str) -> Result<Option<DeviceRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, code, kind, merchant_id, place, public_key, revoked_at FROM devices WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(device_row).transpose()?)
    }

    async fn device_nonce_first_use(
        &self,
        device_id: i64,
        nonce: &str,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // About one request in 64 prunes what the window no longer needs.
        if rand::random::<u8>() < 4 {
            sqlx::query("DELETE FROM device_nonces WHERE seen_at < $1")
                .bind(Ts::new(forget_before))
                .execute(&self.pool)
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO device_nonces (device_id, nonce, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (device_id, nonce) DO NOTHING",
        )
        .bind(device_id)
        .bind(nonce)
        .bind(Ts::new(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
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
        .await?)
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
        .bind(Ts::new(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn card_by_serial(&self, serial: &str) -> Result<Option<CardLookup>, StoreError> {
        let row: Option<(i64, i64, crate::model::CardStatus)> =
            sqlx::query_as("SELECT id, holder_id, status FROM cards WHERE chip_serial = $1")
                .bind(serial)
                .fetch_optional(&self.pool)
                .await?;
        let Some((card_id, holder_id, status)) = row else {
            return Ok(None);
        };
        Ok(Some(CardLookup {
            card_id,
            holder_id,
            status,
        }))
    }

    async fn payer(
        &self,
        holder_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<Option<Payer>, StoreError> {
        let sql = format!(
            "SELECT {PAYER_COLUMNS} FROM accounts a JOIN cardholders h ON h.id = a.holder_id
             LEFT JOIN auto_topup t ON t.holder_id = a.holder_id AND t.enabled
             WHERE a.holder_id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(Ts::new(day_start))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(payer_row).transpose()
    }

    /// One query for the hot path of every card payment: the card and its holder's payer row.
    async fn card_and_payer(
        &self,
        serial: &str,
        day_start: DateTime<Utc>,
    ) -> Result<Option<(CardLookup, Option<Payer>)>, StoreError> {
        let sql = format!(
            "SELECT c.id AS card_id, c.holder_id AS card_holder, c.status AS card_status, {PAYER_COLUMNS}
             FROM cards c LEFT JOIN accounts a ON a.holder_id = c.holder_id
             LEFT JOIN cardholders h ON h.id = a.holder_id
             LEFT JOIN auto_topup t ON t.holder_id = a.holder_id AND t.enabled
             WHERE c.chip_serial = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(serial)
            .bind(Ts::new(day_start))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let card = CardLookup {
            card_id: row.try_get("card_id")?,
            holder_id: row.try_get("card_holder")?,
            status: row.try_get("card_status")?,
        };
        let payer = match row.try_get::<Option<i64>, _>("account_id")? {
            Some(_) => Some(payer_row(&row)?),
            None => None,
        };
        Ok(Some((card, payer)))
    }

    async fn debit(&self, debit: Debit) -> Result<PaymentOutcome, StoreError> {
        // Each backend's own writer (see the module comment).
        self.debit_now(debit).await
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
        .bind(Ts::new(e.at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn refund(&self, refund: Refund) -> Result<PaymentOutcome, StoreError> {
        let refund = &refund;
        in_transaction!(self, |tx| { refund_in_tx(&mut tx, refund).await })
    }

    async fn set_consumption_password(
        &self,
        account_id: i64,
        new_hash: &str,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let audit = &audit;
        in_transaction!(self, |tx| {
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
        })
    }

    async fn access_of(&self, holder_id: i64, limit: i64) -> Result<Vec<AccessView>, StoreError> {
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
                let kind: DeviceKind = row.try_get("kind")?;
                let reason: String = row.try_get("reason")?;
                Ok(AccessView {
                    at: row.try_get::<Ts, _>("at")?.text(),
                    place: row.try_get("place")?,
                    kind,
                    method: row.try_get("method")?,
                    allowed: row.try_get("allowed")?,
                    reason: Decline::parse(&reason),
                })
            })
            .collect()
    }
}

#[async_trait]
impl CardStore for ThisStore {
    async fn cards_of(&self, holder_id: i64) -> Result<Vec<CardRow>, StoreError> {
        let rows: Vec<(i64, String, String, crate::model::CardStatus)> = sqlx::query_as(
            "SELECT id, card_no, chip_serial, status FROM cards WHERE holder_id = $1
             ORDER BY issued_at DESC, id DESC",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, card_no, chip_serial, status)| CardRow {
                id,
                card_no,
                chip_serial,
                status,
            })
            .collect())
    }

    async fn set_account_status(
        &self,
        holder_id: i64,
        status: AccountStatus,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let audit = &audit;
        in_transaction!(self, |tx| {
            // Under the account lock: a payment in flight finishes first, or sees the new status.
            let before = lock_account_of_holder(&mut tx, holder_id).await?.status;
            sqlx::query("UPDATE accounts SET status = $1, status_reason = $2 WHERE holder_id = $3")
                .bind(status)
                .bind(&audit.reason)
                .bind(holder_id)
                .execute(&mut *tx)
                .await?;
            end_bindings_tx(&mut tx, holder_id, status_event(status), now).await?;
            let mut audit = audit.clone();
            audit.before = Fact::AccountStatus(before).into();
            audit.after = Fact::AccountStatus(status).into();
            insert_audit(&mut tx, &audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }
}

/// What a new account status means for the holder's remembered phones.
fn status_event(status: AccountStatus) -> HolderEvent {
    match status {
        AccountStatus::Frozen => HolderEvent::AccountFrozen,
        AccountStatus::Closed => HolderEvent::AccountClosed,
        AccountStatus::Active => HolderEvent::AccountUnfrozen,
    }
}

#[async_trait]
impl CreditStore for ThisStore {
    async fn credit(&self, c: &Credit<'_>) -> Result<CreditOutcome, StoreError> {
        in_transaction!(self, |tx| {
            let outcome = credit_in_tx(&mut tx, c).await?;
            Ok(match outcome {
                CreditOutcome::Credited { .. } => Finish::Commit(outcome),
                _ => Finish::Rollback(outcome),
            })
        })
    }
}
