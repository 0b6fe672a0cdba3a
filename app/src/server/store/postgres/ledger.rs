//! PostgreSQL's debit: one transaction per payment that locks the account row first
//! (`FOR NO KEY UPDATE`), so concurrent payments on one account run one after the other and
//! payments on different accounts do not wait for each other. SQLite's group-commit writer is
//! not needed here: PostgreSQL already flushes the WAL of concurrently committing transactions
//! together. The decision is `domain::payments::decide_debit`, as on SQLite.

use super::{PostgresStore, Ts};
use crate::model::Money;
use crate::server::domain::payments::{self, AccountNow, DebitVerdict};
use crate::server::store::{Debit, Finish, PaymentOutcome, StoreError};
use sqlx::PgConnection;

impl PostgresStore {
    pub(super) async fn debit_now(&self, debit: Debit) -> Result<PaymentOutcome, StoreError> {
        let debit = &debit;
        in_transaction!(self, |tx| { debit_in_tx(&mut tx, debit).await })
    }
}

/// One debit: re-checks status, limits and balance under the account lock, writes the journal
/// entry and the balance, and stores the outcome under the request id.
async fn debit_in_tx(
    conn: &mut PgConnection,
    d: &Debit,
) -> Result<Finish<PaymentOutcome>, StoreError> {
    // A retry of a request already answered: its outcome, and no lock taken.
    if let Some(outcome) =
        super::sql::earlier_outcome(conn, d.device_id, &d.request_id, &d.payload_hash).await?
    {
        return Ok(Finish::Rollback(outcome));
    }
    let account = super::sql::lock_account(conn, d.account_id).await?;
    // A copy of this request may have committed while we waited for the lock.
    if let Some(outcome) =
        super::sql::earlier_outcome(conn, d.device_id, &d.request_id, &d.payload_hash).await?
    {
        return Ok(Finish::Rollback(outcome));
    }
    let spent: i64 = sqlx::query_scalar(concat!(
        "SELECT ",
        spent_today!(),
        " FROM accounts a WHERE a.id = $1"
    ))
    .bind(account.id)
    .bind(Ts::new(d.day_start))
    .fetch_one(&mut *conn)
    .await?;
    let now = AccountNow {
        status: account.status,
        balance: account.balance,
        single_limit: account.single_limit,
        daily_limit: account.daily_limit,
        spent_today: Money::from_fen(spent),
    };
    let outcome = match payments::decide_debit(&d.ask(), &now)? {
        // The sale will come again with the password: nothing to remember yet.
        DebitVerdict::Decline(reason) if !payments::remember_decline(reason) => {
            return Ok(Finish::Rollback(PaymentOutcome::Declined { reason }));
        }
        DebitVerdict::Decline(reason) => PaymentOutcome::Declined { reason },
        DebitVerdict::Approve(plan) => {
            let journal_id: i64 = sqlx::query_scalar(
                "INSERT INTO journal_entries (account_id, kind, amount, balance_after, merchant_id, device_id, card_id, request_id, created_at)
                 VALUES ($1, 'payment', $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(account.id)
            .bind(plan.entry.fen())
            .bind(plan.balance_after.fen())
            .bind(d.merchant_id)
            .bind(d.device_id)
            .bind(d.card_id)
            .bind(&d.request_id)
            .bind(Ts::new(d.now))
            .fetch_one(&mut *conn)
            .await?;
            // After the entry (whose trigger marked the running total unknown): the new
            // balance and today's running total, guarded by the old balance.
            let updated = sqlx::query(
                "UPDATE accounts SET balance = $1, spent_since = $4, spent_fen = $5
                 WHERE id = $2 AND balance = $3",
            )
            .bind(plan.balance_after.fen())
            .bind(account.id)
            .bind(account.balance.fen())
            .bind(Ts::new(d.day_start))
            .bind(plan.spent_after.fen())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if updated != 1 {
                return Err(StoreError::Corrupt(
                    "balance changed under a row lock".into(),
                ));
            }
            super::sql::notices::notify_payment(
                conn,
                account.holder_id,
                d.amount,
                (account.balance, plan.balance_after),
                d.merchant_id,
                d.now,
            )
            .await?;
            PaymentOutcome::Approved {
                journal_id,
                amount: d.amount,
                balance: plan.balance_after,
            }
        }
    };
    super::sql::store_outcome(
        conn,
        d.device_id,
        &d.request_id,
        &d.payload_hash,
        &outcome,
        d.now,
    )
    .await?;
    Ok(Finish::Commit(outcome))
}
