//! Bills (待缴费): issuing, paying from the balance, cancelling, and the lists. Issuing and
//! paying lock the holder's account first (`lock_account_of_holder`), so two issues of the same
//! bill, or two payments of one bill, run one after the other and the second sees the first.

use super::{ThisStore, insert_audit, lock_account_of_holder, opt_ts_of, set_balance, ts_of};
use crate::bill_model::{BillTotals, BillView, OfficeBillView};
use crate::model::{BillStatus, Money, NoticeKind};
use crate::portal_model::Problem;
use crate::server::domain::bills::{self as rules, BillDraft, BillNow};
use crate::server::store::{
    Audit, BillFilter, BillPayOutcome, BillStore, Finish, IssueOutcome, NewBill, StoreError, Ts,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

type DbRow = super::DbRow;

const BILL_COLUMNS: &str = "b.id, b.title, b.department, b.amount, b.due_on, b.status, b.issued_at,
    b.paid_at, b.entry_id, b.cancelled_at, b.cancel_reason,
    EXISTS (SELECT 1 FROM journal_entries r WHERE r.reverses_id = b.entry_id) AS refunded";

const OFFICE_COLUMNS: &str = "h.id AS holder_id, h.student_no, h.name,
    i.display_name AS issued_by_name, c.display_name AS cancelled_by_name";

const OFFICE_FROM: &str = "bills b JOIN cardholders h ON h.id = b.holder_id
    JOIN staff_users i ON i.id = b.issued_by LEFT JOIN staff_users c ON c.id = b.cancelled_by";

fn bill_row(row: &DbRow) -> Result<BillView, StoreError> {
    Ok(BillView {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        department: row.try_get("department")?,
        amount: Money::from_fen(row.try_get("amount")?),
        due_on: row.try_get("due_on")?,
        status: row.try_get("status")?,
        issued_at: ts_of(row, "issued_at")?,
        paid_at: opt_ts_of(row, "paid_at")?,
        entry_id: row.try_get("entry_id")?,
        refunded: row.try_get("refunded")?,
        cancelled_at: opt_ts_of(row, "cancelled_at")?,
        cancel_reason: row.try_get("cancel_reason")?,
    })
}

fn office_row(row: &DbRow) -> Result<OfficeBillView, StoreError> {
    Ok(OfficeBillView {
        bill: bill_row(row)?,
        holder_id: row.try_get("holder_id")?,
        student_no: row.try_get("student_no")?,
        name: row.try_get("name")?,
        issued_by: row.try_get("issued_by_name")?,
        cancelled_by: row.try_get("cancelled_by_name")?,
    })
}

#[async_trait]
impl BillStore for ThisStore {
    async fn issue_bills(
        &self,
        bills: &[NewBill],
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<IssueOutcome, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            let mut refused: Vec<(i64, Problem)> = Vec::new();
            let mut ids: Vec<i64> = Vec::with_capacity(bills.len());
            let mut holders: Vec<i64> = Vec::with_capacity(bills.len());
            let mut drafts: Vec<&BillDraft> = Vec::with_capacity(bills.len());
            // Accounts are locked in one order (by student number) whatever the list's order,
            // so two lists naming the same holders cannot deadlock on PostgreSQL.
            let mut in_order: Vec<&NewBill> = bills.iter().collect();
            in_order.sort_by(|a, b| a.student_no.cmp(&b.student_no));
            for bill in in_order {
                let holder: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM cardholders WHERE student_no = $1")
                        .bind(&bill.student_no)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(holder_id) = holder else {
                    refused.push((bill.line, Problem::UnknownHolder));
                    continue;
                };
                let account = lock_account_of_holder(&mut tx, holder_id).await?;
                // Counted after the lock: a concurrent issue of the same bill has committed.
                let same_unpaid: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM bills WHERE holder_id = $1 AND status = 'unpaid'
                       AND title = $2 AND amount = $3 AND due_on = $4)",
                )
                .bind(holder_id)
                .bind(&bill.draft.title)
                .bind(bill.draft.amount.fen())
                .bind(bill.draft.due_on.to_string())
                .fetch_one(&mut *tx)
                .await?;
                if let Err(problem) = rules::decide_issue(account.status, same_unpaid) {
                    refused.push((bill.line, problem));
                    continue;
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO bills (holder_id, title, department, amount, due_on, issued_by, issued_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(holder_id)
                .bind(&bill.draft.title)
                .bind(&bill.draft.department)
                .bind(bill.draft.amount.fen())
                .bind(bill.draft.due_on.to_string())
                .bind(staff_id)
                .bind(Ts::new(now))
                .fetch_one(&mut *tx)
                .await?;
                ids.push(id);
                holders.push(holder_id);
                drafts.push(&bill.draft);
            }
            if !refused.is_empty() {
                refused.sort_by_key(|(line, _)| *line);
                return Ok(Finish::Rollback(Err(refused)));
            }
            let issued: Vec<(i64, &BillDraft)> = ids.iter().copied().zip(drafts).collect();
            let mut audit = audit.clone();
            audit.after = rules::issued_audit(&issued)?;
            // One bill's record is in its holder's trail too (and its notice comes with it);
            // the holders of a list's bills each hear of theirs once.
            if let [holder_id] = holders[..] {
                audit.holder_id = Some(holder_id);
            }
            insert_audit(&mut tx, &audit, now).await?;
            if audit.holder_id.is_none() {
                let mut told = holders.clone();
                told.sort_unstable();
                told.dedup();
                for holder_id in told {
                    super::notices::notify_kind(&mut tx, holder_id, NoticeKind::BillIssued, now)
                        .await?;
                }
            }
            Ok(Finish::Commit(Ok(ids)))
        })
    }

    async fn pay_bill(
        &self,
        holder_id: i64,
        bill_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Result<BillPayOutcome, Problem>, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            let account = lock_account_of_holder(&mut tx, holder_id).await?;
            // Read after the account's lock: a concurrent payment of this bill has committed.
            let bill: Option<(i64, BillStatus, i64, String)> = sqlx::query_as(concat!(
                "SELECT holder_id, status, amount, title FROM bills WHERE id = $1",
                for_update!()
            ))
            .bind(bill_id)
            .fetch_optional(&mut *tx)
            .await?;
            let now_bill = bill.as_ref().map(|(holder_id, status, amount, _)| BillNow {
                holder_id: *holder_id,
                status: *status,
                amount: Money::from_fen(*amount),
            });
            let plan =
                match rules::decide_pay(now_bill, holder_id, account.status, account.balance)? {
                    Ok(plan) => plan,
                    Err(problem) => return Ok(Finish::Rollback(Err(problem))),
                };
            let title = bill.map(|b| b.3).unwrap_or_default();
            let journal_id: i64 = sqlx::query_scalar(
                "INSERT INTO journal_entries (account_id, kind, amount, balance_after, reference, memo, created_at)
                 VALUES ($1, 'fee', $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(account.id)
            .bind(plan.entry.fen())
            .bind(plan.balance_after.fen())
            .bind(rules::entry_reference(bill_id))
            .bind(&title)
            .bind(Ts::new(now))
            .fetch_one(&mut *tx)
            .await?;
            let updated = sqlx::query(
                "UPDATE bills SET status = 'paid', entry_id = $1, paid_at = $2
                 WHERE id = $3 AND status = 'unpaid'",
            )
            .bind(journal_id)
            .bind(Ts::new(now))
            .bind(bill_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated != 1 {
                return Err(StoreError::Corrupt(format!(
                    "bill {bill_id} changed under its account's lock"
                )));
            }
            set_balance(&mut tx, account.id, account.balance, plan.balance_after).await?;
            super::notices::notify_debit(
                &mut tx,
                holder_id,
                (account.balance, plan.balance_after),
                now,
            )
            .await?;
            let mut audit = audit.clone();
            audit.after = plan.audit_after(bill_id, journal_id);
            insert_audit(&mut tx, &audit, now).await?;
            Ok(Finish::Commit(Ok(BillPayOutcome {
                journal_id,
                balance: plan.balance_after,
                title,
                amount: plan.amount,
            })))
        })
    }

    async fn cancel_bill(
        &self,
        bill_id: i64,
        staff_id: i64,
        reason: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Result<i64, Problem>, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            let bill: Option<(i64, BillStatus)> = sqlx::query_as(concat!(
                "SELECT holder_id, status FROM bills WHERE id = $1",
                for_update!()
            ))
            .bind(bill_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Err(problem) = rules::decide_cancel(bill.map(|b| b.1)) {
                return Ok(Finish::Rollback(Err(problem)));
            }
            let holder_id = bill.map_or(0, |b| b.0);
            sqlx::query(
                "UPDATE bills SET status = 'cancelled', cancelled_by = $1, cancelled_at = $2,
                        cancel_reason = $3
                 WHERE id = $4 AND status = 'unpaid'",
            )
            .bind(staff_id)
            .bind(Ts::new(now))
            .bind(reason)
            .bind(bill_id)
            .execute(&mut *tx)
            .await?;
            let mut audit = audit.clone();
            audit.holder_id = Some(holder_id);
            insert_audit(&mut tx, &audit, now).await?;
            Ok(Finish::Commit(Ok(holder_id)))
        })
    }

    async fn bills_of(
        &self,
        holder_id: i64,
        settled: i64,
    ) -> Result<(Vec<BillView>, Vec<BillView>), StoreError> {
        let sql = format!(
            "SELECT {BILL_COLUMNS} FROM bills b WHERE b.holder_id = $1 AND b.status = 'unpaid'
             ORDER BY b.due_on, b.id"
        );
        let unpaid = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .fetch_all(&self.pool)
            .await?;
        let sql = format!(
            "SELECT {BILL_COLUMNS} FROM bills b WHERE b.holder_id = $1 AND b.status <> 'unpaid'
             ORDER BY b.id DESC LIMIT $2"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(settled)
            .fetch_all(&self.pool)
            .await?;
        Ok((
            unpaid.iter().map(bill_row).collect::<Result<_, _>>()?,
            done.iter().map(bill_row).collect::<Result<_, _>>()?,
        ))
    }

    async fn bills(&self, f: &BillFilter) -> Result<Vec<OfficeBillView>, StoreError> {
        let pattern = format!("%{}%", f.q.trim());
        let sql = format!(
            concat!(
                "SELECT {cols}, {office} FROM {from}
                 WHERE ($1 IS NULL OR b.status = $1)
                   AND ($2 = '' OR h.student_no = $2 OR b.title",
                like!("$3"),
                " OR b.department",
                like!("$3"),
                ")
                   AND ($4 IS NULL OR b.id < $4)
                 ORDER BY b.id DESC LIMIT $5"
            ),
            cols = BILL_COLUMNS,
            office = OFFICE_COLUMNS,
            from = OFFICE_FROM
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(f.status)
            .bind(f.q.trim())
            .bind(pattern)
            .bind(f.before)
            .bind(f.limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(office_row).collect()
    }

    async fn bill_totals(&self) -> Result<BillTotals, StoreError> {
        let rows: Vec<(BillStatus, i64, i64)> = sqlx::query_as(
            "SELECT status, CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(amount), 0) AS BIGINT)
             FROM bills GROUP BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut totals = BillTotals::default();
        for (status, count, sum) in rows {
            match status {
                BillStatus::Unpaid => {
                    totals.unpaid = count;
                    totals.unpaid_amount = Money::from_fen(sum);
                }
                BillStatus::Paid => {
                    totals.paid = count;
                    totals.paid_amount = Money::from_fen(sum);
                }
                BillStatus::Cancelled => totals.cancelled = count,
            }
        }
        Ok(totals)
    }
}
