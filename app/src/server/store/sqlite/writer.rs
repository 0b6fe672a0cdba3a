//! SQLite: the ledger writer. Every debit (a payment at a till) is written by one OS thread
//! that owns its own synchronous connection to the database file (`rusqlite`, prepared
//! statements kept in its cache).
//!
//! Why a thread of its own: sqlx runs each SQLite connection on a worker thread and every SQL
//! statement is a hand-off to that thread and back. A debit is about seven statements; at full
//! speed a third of the server's CPU went to the kernel switching threads. Here a debit is one
//! hand-off in (the queue) and one out (the answer), and the statements run back to back.
//!
//! Group commit: the thread takes every debit waiting (up to `MAX_BATCH`), runs each in its own
//! savepoint of one `BEGIN IMMEDIATE` transaction, commits once (one disk sync for the whole
//! group, `synchronous=FULL`), and only then answers each caller. A payment is reported
//! approved only after it is durable; a debit that fails rolls back only its own savepoint.
//! Other writes (top-ups, refunds, the counter) still go through the sqlx pool; they and this
//! thread take turns at SQLite's write lock (`busy_timeout`).

use super::ts;
use crate::model::{AccountStatus, Money};
use crate::server::domain::payments::{self, AccountNow, DebitVerdict};
use crate::server::store::{Debit, PaymentOutcome, StoreError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, named_params, params};
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The writer's queue.
pub(super) type Sender = mpsc::Sender<DebitJob>;

/// The most debits committed together.
const MAX_BATCH: usize = 256;

pub(super) struct DebitJob {
    debit: Debit,
    reply: oneshot::Sender<Result<PaymentOutcome, StoreError>>,
}

impl super::SqliteStore {
    /// A debit: queued to the writer thread, answered once its group has committed.
    pub(super) async fn debit_now(&self, debit: Debit) -> Result<PaymentOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(DebitJob { debit, reply })
            .await
            .map_err(|_| StoreError::Unavailable("ledger writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("ledger writer stopped".into()))?
    }
}

fn sql_err(err: rusqlite::Error) -> StoreError {
    StoreError::Database(err.to_string())
}

/// Opens the writer's connection to the database file the pool already created and migrated
/// (or will migrate: statements are prepared when first used) and starts the thread. The
/// thread ends when the store, the last sender, is dropped. It needs a database file: an
/// in-memory database (`sqlite::memory:`) is private to one connection and would fail the WAL
/// check below.
pub(super) fn start(path: &Path) -> Result<Sender, StoreError> {
    let conn = Connection::open(path).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    // The same settings as the pool's (see `sqlite.rs`): WAL (a property of the file, set
    // again here in case this connection is first), durable commits, foreign keys checked.
    // Checked after setting: a payment must never be acknowledged on weaker settings.
    let unavailable = |e: rusqlite::Error| StoreError::Unavailable(e.to_string());
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         PRAGMA mmap_size = 268435456;",
    )
    .map_err(unavailable)?;
    let (journal, synchronous, foreign_keys): (String, i64, i64) = conn
        .query_row(
            "SELECT (SELECT journal_mode FROM pragma_journal_mode),
                    (SELECT synchronous FROM pragma_synchronous),
                    (SELECT foreign_keys FROM pragma_foreign_keys)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(unavailable)?;
    // synchronous: 2 is FULL.
    if !journal.eq_ignore_ascii_case("wal") || synchronous != 2 || foreign_keys != 1 {
        return Err(StoreError::Unavailable(format!(
            "ledger writer settings not applied: journal_mode={journal} synchronous={synchronous} foreign_keys={foreign_keys}"
        )));
    }
    let (sender, jobs) = mpsc::channel(4096);
    std::thread::Builder::new()
        .name("ledger-writer".into())
        .spawn(move || run(conn, jobs))
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Ok(sender)
}

fn run(mut conn: Connection, mut jobs: mpsc::Receiver<DebitJob>) {
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match write_batch(&mut conn, &batch) {
            Ok(outcomes) => {
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, size = batch.len(), "ledger group commit failed");
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Database(err.to_string())));
                }
            }
        }
    }
}

/// One transaction for the whole batch; a savepoint per debit.
fn write_batch(
    conn: &mut Connection,
    batch: &[DebitJob],
) -> Result<Vec<Result<PaymentOutcome, StoreError>>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_err)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        let step = |sql: &str| tx.prepare_cached(sql).and_then(|mut s| s.execute([]));
        step("SAVEPOINT debit").map_err(sql_err)?;
        match debit(&tx, &job.debit) {
            Ok(outcome) => {
                step("RELEASE debit").map_err(sql_err)?;
                outcomes.push(Ok(outcome));
            }
            Err(err) => {
                step("ROLLBACK TO debit").map_err(sql_err)?;
                step("RELEASE debit").map_err(sql_err)?;
                outcomes.push(Err(err));
            }
        }
    }
    // Dropping an uncommitted transaction (an error above) rolls it back.
    tx.commit().map_err(sql_err)?;
    Ok(outcomes)
}

/// The payment's notices (`domain::notices::after_payment`), with the SQL of `sql::notices`.
fn notify_payment(
    conn: &Connection,
    holder_id: i64,
    d: &Debit,
    balances: (Money, Money),
    now: &str,
) -> Result<(), StoreError> {
    use super::sql::notices::{INSERT_SQL, PREFS_SQL, PrefsRow, prefs_of};
    let row: Option<PrefsRow> = conn
        .prepare_cached(PREFS_SQL)
        .and_then(|mut s| {
            s.query_row(named_params! {"$1": holder_id}, |r| {
                Ok(PrefsRow {
                    payment_above: r.get(0)?,
                    low_balance_below: r.get(1)?,
                    topups: r.get(2)?,
                    bills: r.get(3)?,
                    utilities: r.get(4)?,
                    email_payments: r.get(5)?,
                    email_low_balance: r.get(6)?,
                    email_topups: r.get(7)?,
                    email_bills: r.get(8)?,
                    email_utilities: r.get(9)?,
                    push_payments: r.get(10)?,
                    push_low_balance: r.get(11)?,
                    push_topups: r.get(12)?,
                    push_bills: r.get(13)?,
                    push_utilities: r.get(14)?,
                })
            })
            .optional()
        })
        .map_err(sql_err)?;
    let notices = crate::server::domain::notices::after_payment(
        &prefs_of(row),
        d.amount,
        balances.0,
        balances.1,
        d.merchant_id,
    );
    for n in notices {
        conn.prepare_cached(INSERT_SQL)
            .and_then(|mut s| {
                s.execute(named_params! {
                    "$1": holder_id,
                    "$2": n.kind.as_str(),
                    "$3": n.kind.security(),
                    "$4": n.amount.map(Money::fen),
                    "$5": n.balance.map(Money::fen),
                    "$6": n.merchant_id,
                    "$7": now,
                })
            })
            .map_err(sql_err)?;
    }
    Ok(())
}

fn outcome_json(outcome: &PaymentOutcome) -> Result<String, StoreError> {
    serde_json::to_string(outcome).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// One debit under the write lock: re-checks status, limits and balance, writes the journal
/// entry and the balance, and stores the outcome under the request id.
fn debit(conn: &Connection, d: &Debit) -> Result<PaymentOutcome, StoreError> {
    let now = ts(d.now);
    // A duplicate that raced us to the lock: its outcome is the answer.
    let earlier: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT payload_hash, outcome FROM device_requests WHERE device_id = ?1 AND request_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![d.device_id, d.request_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(sql_err)?;
    if let Some((hash, text)) = earlier {
        return super::super::earlier_answer(&hash, &text, &d.payload_hash);
    }
    let (status, balance, single_limit, daily_limit, spent, holder_id): (
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = conn
        .prepare_cached(concat!(
            "SELECT a.status, a.balance, a.single_limit, a.daily_limit, ",
            spent_today!(),
            ", a.holder_id FROM accounts a WHERE a.id = $1"
        ))
        .and_then(|mut s| {
            // By name: SQLite numbers `$N` parameters in order of appearance, not by N.
            s.query_row(
                named_params! {"$1": d.account_id, "$2": ts(d.day_start)},
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
        })
        .map_err(sql_err)?;
    let account = AccountNow {
        status: AccountStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unexpected account status: {status}")))?,
        balance: Money::from_fen(balance),
        single_limit: Money::from_fen(single_limit),
        daily_limit: Money::from_fen(daily_limit),
        spent_today: Money::from_fen(spent),
    };
    let outcome = match payments::decide_debit(&d.ask(), &account)? {
        // The sale will come again with the password: nothing to remember yet.
        DebitVerdict::Decline(reason) if !payments::remember_decline(reason) => {
            return Ok(PaymentOutcome::Declined { reason });
        }
        DebitVerdict::Decline(reason) => PaymentOutcome::Declined { reason },
        DebitVerdict::Approve(plan) => {
            let journal_id: i64 = conn
                .prepare_cached(
                    "INSERT INTO journal_entries (account_id, kind, amount, balance_after, merchant_id, device_id, card_id, request_id, created_at)
                     VALUES (?1, 'payment', ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
                )
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            d.account_id,
                            plan.entry.fen(),
                            plan.balance_after.fen(),
                            d.merchant_id,
                            d.device_id,
                            d.card_id,
                            d.request_id,
                            now
                        ],
                        |r| r.get(0),
                    )
                })
                .map_err(sql_err)?;
            // After the entry (whose trigger marked the running total unknown): the new balance
            // and today's running total, guarded by the old balance like every balance write.
            let updated = conn
                .prepare_cached(
                    "UPDATE accounts SET balance = ?1, spent_since = ?4, spent_fen = ?5
                     WHERE id = ?2 AND balance = ?3",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        plan.balance_after.fen(),
                        d.account_id,
                        account.balance.fen(),
                        ts(d.day_start),
                        plan.spent_after.fen()
                    ])
                })
                .map_err(sql_err)?;
            if updated != 1 {
                return Err(StoreError::Corrupt(
                    "balance changed under a write lock".into(),
                ));
            }
            notify_payment(
                conn,
                holder_id,
                d,
                (account.balance, plan.balance_after),
                &now,
            )?;
            PaymentOutcome::Approved {
                journal_id,
                amount: d.amount,
                balance: plan.balance_after,
            }
        }
    };
    let outcome_text = outcome_json(&outcome)?;
    conn.prepare_cached(
        "INSERT INTO device_requests (device_id, request_id, payload_hash, outcome, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            d.device_id,
            d.request_id,
            d.payload_hash,
            outcome_text,
            now
        ])
    })
    .map_err(sql_err)?;
    Ok(outcome)
}
