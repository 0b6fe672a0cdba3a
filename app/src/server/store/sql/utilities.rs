//! 缴费 to billers: the room list, bindings, purchases charged and settled, and the sandbox
//! billers' meters. A purchase and its settlement lock the holder's account first
//! (`lock_account_of_holder`), so the same purchase sent twice, or two outcomes of one
//! delivery, run one after the other and the second sees the first.

use super::{ThisStore, insert_audit, lock_account_of_holder, opt_ts_of, set_balance, ts_of};
use crate::model::AuditAction;
use crate::model::{Money, PurchaseStatus, Utility};
use crate::portal_model::Problem;
use crate::server::domain::utilities::{
    self as rules, BuyerNow, Meter, Outcome, PurchaseNow, Settle,
};
use crate::server::store::{
    Audit, AutoBuy, AutoBuySetting, Bound, BoundKind, Finish, NewPurchase, PurchaseRow,
    PurchaseStart, SandboxDelivery, Settled, StoreError, Ts, UtilityAccounts, UtilityStore,
    WaitingRow,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

type DbRow = super::DbRow;

const COLUMNS: &str = "id, reference, holder_id, biller, utility, account, quantity, amount,
    status, entry_id, refund_id, biller_ref, failure, created_at, settled_at";

fn purchase_row(row: &DbRow) -> Result<PurchaseRow, StoreError> {
    Ok(PurchaseRow {
        id: row.try_get("id")?,
        reference: row.try_get("reference")?,
        holder_id: row.try_get("holder_id")?,
        biller: row.try_get("biller")?,
        utility: row.try_get("utility")?,
        account: row.try_get("account")?,
        quantity: row.try_get("quantity")?,
        amount: Money::from_fen(row.try_get("amount")?),
        status: row.try_get("status")?,
        entry_id: row.try_get("entry_id")?,
        refund_id: row.try_get("refund_id")?,
        biller_ref: row.try_get("biller_ref")?,
        failure: row.try_get("failure")?,
        created_at: ts_of(row, "created_at")?,
        settled_at: opt_ts_of(row, "settled_at")?,
    })
}

async fn purchase_by(
    conn: &mut super::Conn,
    reference: &str,
) -> Result<Option<PurchaseRow>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM utility_purchases WHERE reference = $1"
    )))
    .bind(reference)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(purchase_row).transpose()
}

fn delivery_row(row: &DbRow) -> Result<SandboxDelivery, StoreError> {
    Ok(SandboxDelivery {
        reference: row.try_get("reference")?,
        utility: row.try_get("utility")?,
        account: row.try_get("account")?,
        quantity: row.try_get("quantity")?,
        amount: Money::from_fen(row.try_get("amount")?),
        delivered: row.try_get("delivered")?,
        reason: row.try_get("reason")?,
        biller_ref: row.try_get("biller_ref")?,
    })
}

const DELIVERY_COLUMNS: &str =
    "reference, utility, account, quantity, amount, delivered, reason, biller_ref";

#[async_trait]
impl UtilityStore for ThisStore {
    async fn buildings(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT building FROM rooms ORDER BY building")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn add_rooms(
        &self,
        rooms: &[(String, String)],
        audit: Option<Audit>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        in_transaction!(self, |tx| {
            let mut added = 0;
            for (building, room) in rooms {
                added += sqlx::query(
                    "INSERT INTO rooms (building, room) VALUES ($1, $2)
                     ON CONFLICT (building, room) DO NOTHING",
                )
                .bind(building)
                .bind(room)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            }
            if let Some(mut audit) = audit.clone() {
                (audit.target, audit.after) = rules::rooms_added_audit(rooms.len(), added);
                insert_audit(&mut tx, &audit, now).await?;
            }
            Ok(Finish::Commit(added))
        })
    }

    async fn rooms_by_building(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT building, COUNT(*) AS rooms FROM rooms GROUP BY building ORDER BY building",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("building")?, row.try_get("rooms")?)))
            .collect()
    }

    async fn remove_room(
        &self,
        building: &str,
        room: &str,
        account: &str,
        audit: Audit,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Problem>, StoreError> {
        in_transaction!(self, |tx| {
            // The row first: a student binding the room meanwhile holds it
            // (`bind_utility_account`), so the count below sees that binding.
            let removed = sqlx::query("DELETE FROM rooms WHERE building = $1 AND room = $2")
                .bind(building)
                .bind(room)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let holders: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM utility_accounts WHERE kind = 'room' AND account = $1",
            )
            .bind(account)
            .fetch_one(&mut *tx)
            .await?;
            if let Err(refused) = rules::room_removable(removed == 1, holders) {
                return Ok(Finish::Rollback(Err(refused)));
            }
            insert_audit(&mut tx, &audit, now).await?;
            Ok(Finish::Commit(Ok(())))
        })
    }

    async fn room_listed(&self, building: &str, room: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM rooms WHERE building = $1 AND room = $2)",
        )
        .bind(building)
        .bind(room)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn bind_utility_account(
        &self,
        holder_id: i64,
        kind: BoundKind,
        account: Option<&str>,
        listed: Option<(&str, &str)>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            if let Some((building, room)) = listed {
                let held = sqlx::query(concat!(
                    "SELECT 1 FROM rooms WHERE building = $1 AND room = $2",
                    for_update!(key_share)
                ))
                .bind(building)
                .bind(room)
                .fetch_optional(&mut *tx)
                .await?;
                if held.is_none() {
                    return Ok(Finish::Rollback(false));
                }
            }
            sqlx::query("DELETE FROM utility_accounts WHERE holder_id = $1 AND kind = $2")
                .bind(holder_id)
                .bind(kind.as_str())
                .execute(&mut *tx)
                .await?;
            if let Some(account) = account {
                sqlx::query(
                    "INSERT INTO utility_accounts (holder_id, kind, account, bound_at)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(holder_id)
                .bind(kind.as_str())
                .bind(account)
                .bind(Ts::new(now))
                .execute(&mut *tx)
                .await?;
            }
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(true))
        })
    }

    async fn utility_accounts(&self, holder_id: i64) -> Result<UtilityAccounts, StoreError> {
        let rows: Vec<(String, String, Ts)> = sqlx::query_as(
            "SELECT kind, account, bound_at FROM utility_accounts WHERE holder_id = $1",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await?;
        let find = |kind: BoundKind| {
            rows.iter()
                .find(|(k, _, _)| k == kind.as_str())
                .map(|(_, account, at)| Bound {
                    account: account.clone(),
                    bound_at: at.0,
                })
        };
        Ok(UtilityAccounts {
            room: find(BoundKind::Room),
            network: find(BoundKind::Network),
        })
    }

    async fn start_purchase(
        &self,
        p: &NewPurchase,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Result<PurchaseStart, Problem>, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            let account = lock_account_of_holder(&mut tx, p.holder_id).await?;
            // Read after the account's lock: the same purchase sent twice has committed.
            let earlier = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM utility_purchases WHERE holder_id = $1 AND request_key = $2"
            )))
            .bind(p.holder_id)
            .bind(&p.request_key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = earlier {
                let earlier = purchase_row(&row)?;
                let same = rules::same_purchase(
                    (earlier.utility, earlier.quantity, &earlier.account),
                    (p.utility, p.quantity, &p.account),
                );
                return Ok(Finish::Rollback(if same {
                    Ok(PurchaseStart::Earlier(earlier))
                } else {
                    Err(Problem::PurchaseFormUsed)
                }));
            }
            let spent: i64 = sqlx::query_scalar(concat!(
                "SELECT ",
                spent_today!(),
                " FROM accounts a WHERE a.id = $1"
            ))
            .bind(account.id)
            .bind(Ts::new(p.day_start))
            .fetch_one(&mut *tx)
            .await?;
            let buyer = BuyerNow {
                status: account.status,
                balance: account.balance,
                daily_limit: account.daily_limit,
                spent_today: Money::from_fen(spent),
                campus_max_daily: p.campus_max_daily,
            };
            let plan = match rules::decide_purchase(p.amount, &buyer)? {
                Ok(plan) => plan,
                Err(problem) => return Ok(Finish::Rollback(Err(problem))),
            };
            let entry_id: i64 = sqlx::query_scalar(
                "INSERT INTO journal_entries (account_id, kind, amount, balance_after, reference, memo, created_at)
                 VALUES ($1, 'purchase', $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(account.id)
            .bind(plan.entry.fen())
            .bind(plan.balance_after.fen())
            .bind(rules::entry_reference(&p.reference))
            .bind(&p.account)
            .bind(Ts::new(now))
            .fetch_one(&mut *tx)
            .await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO utility_purchases (reference, holder_id, request_key, biller, utility,
                        account, quantity, amount, entry_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
            )))
            .bind(&p.reference)
            .bind(p.holder_id)
            .bind(&p.request_key)
            .bind(&p.biller)
            .bind(p.utility)
            .bind(&p.account)
            .bind(p.quantity)
            .bind(p.amount.fen())
            .bind(entry_id)
            .bind(Ts::new(now))
            .fetch_one(&mut *tx)
            .await?;
            set_balance(&mut tx, account.id, account.balance, plan.balance_after).await?;
            super::notices::notify_debit(
                &mut tx,
                p.holder_id,
                (account.balance, plan.balance_after),
                now,
            )
            .await?;
            let mut audit = audit.clone();
            audit.after =
                rules::purchase_audit(p.utility, p.quantity, &p.account, p.amount, entry_id);
            insert_audit(&mut tx, &audit, now).await?;
            Ok(Finish::Commit(Ok(PurchaseStart::Charged {
                purchase: purchase_row(&row)?,
                balance: plan.balance_after,
            })))
        })
    }

    async fn settle_purchase(
        &self,
        biller: &str,
        reference: &str,
        notified_amount: Money,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<Settled, StoreError> {
        in_transaction!(self, |tx| {
            let Some(first) = purchase_by(&mut tx, reference)
                .await?
                .filter(|p| p.biller == biller)
            else {
                return Ok(Finish::Rollback(Settled::Unknown));
            };
            let account = lock_account_of_holder(&mut tx, first.holder_id).await?;
            // Read again under the account's lock: another outcome of this delivery has
            // committed.
            let purchase = purchase_by(&mut tx, reference)
                .await?
                .ok_or_else(|| StoreError::Corrupt("purchase vanished".into()))?;
            let now_purchase = PurchaseNow {
                status: purchase.status,
                amount: purchase.amount,
                balance: account.balance,
            };
            let settle = match rules::decide_outcome(&now_purchase, notified_amount, outcome)? {
                Ok(settle) => settle,
                Err(refused) => return Ok(Finish::Rollback(Settled::Refused(refused))),
            };
            match &settle {
                Settle::Deliver => {
                    let biller_ref = match outcome {
                        Outcome::Delivered { biller_ref } => rules::biller_ref_text(biller_ref),
                        Outcome::Failed { .. } => String::new(),
                    };
                    sqlx::query(
                        "UPDATE utility_purchases SET status = 'delivered', biller_ref = $1,
                                settled_at = $2
                         WHERE id = $3 AND status = 'pending'",
                    )
                    .bind(biller_ref)
                    .bind(Ts::new(now))
                    .bind(purchase.id)
                    .execute(&mut *tx)
                    .await?;
                }
                Settle::Refund {
                    entry,
                    balance_after,
                } => {
                    let reason = match outcome {
                        Outcome::Failed { reason } => rules::failure_text(reason),
                        Outcome::Delivered { .. } => rules::failure_text(""),
                    };
                    let refund_id: i64 = sqlx::query_scalar(
                        "INSERT INTO journal_entries (account_id, kind, amount, balance_after, reverses_id,
                                reference, memo, created_at)
                         VALUES ($1, 'refund', $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(account.id)
                    .bind(entry.fen())
                    .bind(balance_after.fen())
                    .bind(purchase.entry_id)
                    .bind(rules::entry_reference(reference))
                    .bind(&reason)
                    .bind(Ts::new(now))
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE utility_purchases SET status = 'refunded', refund_id = $1,
                                failure = $2, settled_at = $3
                         WHERE id = $4 AND status = 'pending'",
                    )
                    .bind(refund_id)
                    .bind(&reason)
                    .bind(Ts::new(now))
                    .bind(purchase.id)
                    .execute(&mut *tx)
                    .await?;
                    set_balance(&mut tx, account.id, account.balance, *balance_after).await?;
                    let audit = Audit::of_purchase(
                        AuditAction::UtilityRefund,
                        purchase.holder_id,
                        &purchase.reference,
                        rules::refund_audit(
                            (purchase.utility, purchase.quantity, &purchase.account),
                            *entry,
                            refund_id,
                            reason.clone(),
                        ),
                    );
                    insert_audit(&mut tx, &audit, now).await?;
                }
                Settle::Repeated => {
                    return Ok(Finish::Rollback(Settled::Done {
                        settle,
                        purchase: Box::new(purchase),
                    }));
                }
                // Nothing changes but the record for the operators to follow up: one, however
                // often the biller says it.
                Settle::Contradicts(settled) => {
                    let first = sqlx::query(
                        "UPDATE utility_purchases SET conflicted_at = $1
                         WHERE id = $2 AND conflicted_at IS NULL",
                    )
                    .bind(Ts::new(now))
                    .bind(purchase.id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if !first {
                        return Ok(Finish::Rollback(Settled::Done {
                            settle,
                            purchase: Box::new(purchase),
                        }));
                    }
                    let audit = Audit::of_purchase(
                        AuditAction::UtilityConflict,
                        purchase.holder_id,
                        &purchase.reference,
                        rules::conflict_audit(*settled, outcome),
                    );
                    insert_audit(&mut tx, &audit, now).await?;
                }
            }
            let purchase = purchase_by(&mut tx, reference)
                .await?
                .ok_or_else(|| StoreError::Corrupt("purchase vanished".into()))?;
            if purchase.status == PurchaseStatus::Pending {
                return Err(StoreError::Corrupt(format!(
                    "purchase {reference} changed under its account's lock"
                )));
            }
            Ok(Finish::Commit(Settled::Done {
                settle,
                purchase: Box::new(purchase),
            }))
        })
    }

    async fn purchase(&self, reference: &str) -> Result<Option<PurchaseRow>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        purchase_by(&mut conn, reference).await
    }

    async fn purchases_for(
        &self,
        kind: BoundKind,
        account: &str,
        limit: i64,
    ) -> Result<Vec<PurchaseRow>, StoreError> {
        // What is bought for this kind of account (one utility named twice for the network).
        let utilities = kind.utilities();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM utility_purchases
             WHERE utility IN ($3, $4) AND account = $1
             ORDER BY created_at DESC, id DESC LIMIT $2"
        )))
        .bind(account)
        .bind(limit)
        .bind(utilities[0])
        .bind(utilities[utilities.len() - 1])
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(purchase_row).collect()
    }

    async fn purchases_of_biller(
        &self,
        biller: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<PurchaseRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM utility_purchases
             WHERE biller = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id"
        )))
        .bind(biller)
        .bind(Ts::new(from))
        .bind(Ts::new(until))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(purchase_row).collect()
    }

    async fn pending_purchases(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<PurchaseRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM utility_purchases
             WHERE status = 'pending' AND created_at < $1
               AND (next_ask_at IS NULL OR next_ask_at <= $2 OR next_ask_at > $3)
             ORDER BY created_at, id"
        )))
        .bind(Ts::new(before))
        .bind(Ts::new(now))
        .bind(Ts::new(horizon))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(purchase_row).collect()
    }

    async fn waiting_purchases(&self, limit: i64) -> Result<Vec<WaitingRow>, StoreError> {
        let columns: Vec<String> = COLUMNS
            .split(',')
            .map(|c| format!("p.{c} AS {c}", c = c.trim()))
            .collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {}, h.student_no, p.next_ask_at, p.overdue_at
             FROM utility_purchases p JOIN cardholders h ON h.id = p.holder_id
             WHERE p.status = 'pending'
             ORDER BY p.created_at, p.id LIMIT $1",
            columns.join(", ")
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WaitingRow {
                    purchase: purchase_row(row)?,
                    student_no: row.try_get("student_no")?,
                    next_ask_at: opt_ts_of(row, "next_ask_at")?,
                    overdue_at: opt_ts_of(row, "overdue_at")?,
                })
            })
            .collect()
    }

    async fn claim_purchase_ask(
        &self,
        id: i64,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        next_ask: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE utility_purchases SET next_ask_at = $1
             WHERE id = $2 AND status = 'pending'
               AND (next_ask_at IS NULL OR next_ask_at <= $3 OR next_ask_at > $4)",
        )
        .bind(Ts::new(next_ask))
        .bind(id)
        .bind(Ts::new(now))
        .bind(Ts::new(horizon))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    async fn report_overdue_purchase(
        &self,
        id: i64,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        in_transaction!(self, |tx| {
            let first = sqlx::query(
                "UPDATE utility_purchases SET overdue_at = $1
                 WHERE id = $2 AND status = 'pending' AND overdue_at IS NULL",
            )
            .bind(Ts::new(now))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if first {
                insert_audit(&mut tx, audit, now).await?;
            }
            Ok(Finish::Commit(first))
        })
    }

    async fn save_autobuy(
        &self,
        holder_id: i64,
        utility: Utility,
        setting: Option<&AutoBuySetting>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            sqlx::query("DELETE FROM utility_autobuy WHERE holder_id = $1 AND utility = $2")
                .bind(holder_id)
                .bind(utility)
                .execute(&mut *tx)
                .await?;
            if let Some(setting) = setting {
                sqlx::query(
                    "INSERT INTO utility_autobuy (holder_id, utility, room, below_milli, quantity, saved_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(holder_id)
                .bind(utility)
                .bind(&setting.room)
                .bind(setting.below_milli)
                .bind(setting.quantity)
                .bind(Ts::new(now))
                .execute(&mut *tx)
                .await?;
            }
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn autobuys(&self, holder_id: Option<i64>) -> Result<Vec<AutoBuy>, StoreError> {
        let rows: Vec<(i64, Utility, i64, i64, String)> = sqlx::query_as(
            "SELECT b.holder_id, b.utility, b.below_milli, b.quantity, b.room
             FROM utility_autobuy b
             JOIN utility_accounts r
               ON r.holder_id = b.holder_id AND r.kind = 'room' AND r.account = b.room
             WHERE $1 IS NULL OR b.holder_id = $1
             ORDER BY b.holder_id, b.utility",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(holder_id, utility, below_milli, quantity, room)| AutoBuy {
                    holder_id,
                    utility,
                    below_milli,
                    quantity,
                    room,
                },
            )
            .collect())
    }

    async fn sandbox_meter(
        &self,
        utility: Utility,
        account: &str,
    ) -> Result<Option<Meter>, StoreError> {
        let row: Option<(i64, Ts, i64, bool)> = sqlx::query_as(
            "SELECT milli, as_of, per_hour_milli, offline FROM sandbox_meters
             WHERE utility = $1 AND account = $2",
        )
        .bind(utility)
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(milli, as_of, per_hour_milli, offline)| Meter {
            milli,
            as_of: as_of.0,
            per_hour_milli,
            offline,
        }))
    }

    async fn sandbox_ensure_meter(
        &self,
        utility: Utility,
        account: &str,
        initial: &Meter,
    ) -> Result<Meter, StoreError> {
        sqlx::query(
            "INSERT INTO sandbox_meters (utility, account, milli, as_of, per_hour_milli, offline)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (utility, account) DO NOTHING",
        )
        .bind(utility)
        .bind(account)
        .bind(initial.milli)
        .bind(Ts::new(initial.as_of))
        .bind(initial.per_hour_milli)
        .bind(initial.offline)
        .execute(&self.pool)
        .await?;
        self.sandbox_meter(utility, account)
            .await?
            .ok_or_else(|| StoreError::Corrupt("sandbox meter vanished".into()))
    }

    async fn sandbox_set_meter(
        &self,
        utility: Utility,
        account: &str,
        meter: &Meter,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sandbox_meters (utility, account, milli, as_of, per_hour_milli, offline)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (utility, account) DO UPDATE
                SET milli = excluded.milli, as_of = excluded.as_of,
                    per_hour_milli = excluded.per_hour_milli, offline = excluded.offline",
        )
        .bind(utility)
        .bind(account)
        .bind(meter.milli)
        .bind(Ts::new(meter.as_of))
        .bind(meter.per_hour_milli)
        .bind(meter.offline)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sandbox_deliver(
        &self,
        d: &SandboxDelivery,
        add_milli: i64,
        initial: &Meter,
        now: DateTime<Utc>,
    ) -> Result<SandboxDelivery, StoreError> {
        in_transaction!(self, |tx| {
            // The meter's row first (made as `initial` if new), locked: deliveries to one meter
            // run one after the other.
            sqlx::query(
                "INSERT INTO sandbox_meters (utility, account, milli, as_of, per_hour_milli, offline)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (utility, account) DO NOTHING",
            )
            .bind(d.utility)
            .bind(&d.account)
            .bind(initial.milli)
            .bind(Ts::new(initial.as_of))
            .bind(initial.per_hour_milli)
            .bind(initial.offline)
            .execute(&mut *tx)
            .await?;
            let (milli, as_of, per_hour_milli, offline): (i64, Ts, i64, bool) =
                sqlx::query_as(concat!(
                    "SELECT milli, as_of, per_hour_milli, offline FROM sandbox_meters
                 WHERE utility = $1 AND account = $2",
                    for_update!()
                ))
                .bind(d.utility)
                .bind(&d.account)
                .fetch_one(&mut *tx)
                .await?;
            let earlier = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {DELIVERY_COLUMNS} FROM sandbox_deliveries WHERE reference = $1"
            )))
            .bind(&d.reference)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = earlier {
                return Ok(Finish::Rollback(delivery_row(&row)?));
            }
            let meter = Meter {
                milli,
                as_of: as_of.0,
                per_hour_milli,
                offline,
            };
            let mut recorded = d.clone();
            match meter.fill(now, add_milli, d.utility) {
                Ok(filled) => {
                    sqlx::query(
                        "UPDATE sandbox_meters SET milli = $1, as_of = $2
                         WHERE utility = $3 AND account = $4",
                    )
                    .bind(filled.milli)
                    .bind(Ts::new(filled.as_of))
                    .bind(d.utility)
                    .bind(&d.account)
                    .execute(&mut *tx)
                    .await?;
                    recorded.delivered = true;
                    recorded.reason = String::new();
                }
                Err(reason) => {
                    recorded.delivered = false;
                    recorded.reason = reason;
                }
            }
            sqlx::query(
                "INSERT INTO sandbox_deliveries (reference, utility, account, quantity, amount,
                        delivered, reason, biller_ref, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&recorded.reference)
            .bind(recorded.utility)
            .bind(&recorded.account)
            .bind(recorded.quantity)
            .bind(recorded.amount.fen())
            .bind(recorded.delivered)
            .bind(&recorded.reason)
            .bind(&recorded.biller_ref)
            .bind(Ts::new(now))
            .execute(&mut *tx)
            .await?;
            Ok(Finish::Commit(recorded))
        })
    }

    async fn sandbox_deliveries(
        &self,
        utilities: &[Utility],
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SandboxDelivery>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM sandbox_deliveries
             WHERE at >= $1 AND at < $2 ORDER BY at, reference"
        )))
        .bind(Ts::new(from))
        .bind(Ts::new(until))
        .fetch_all(&self.pool)
        .await?;
        let all: Vec<SandboxDelivery> = rows.iter().map(delivery_row).collect::<Result<_, _>>()?;
        Ok(all
            .into_iter()
            .filter(|d| utilities.contains(&d.utility))
            .collect())
    }

    async fn sandbox_delivery(
        &self,
        reference: &str,
    ) -> Result<Option<SandboxDelivery>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM sandbox_deliveries WHERE reference = $1"
        )))
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(delivery_row).transpose()
    }
}
