//! The store's part of bills (待缴费): issuing them at the counter, the holder paying one from
//! the balance, cancelling an unpaid one, and the lists. Each write loads under the account's
//! lock, asks `server::domain::bills`, and applies the plan with its audit record in the same
//! transaction (the SQL is `sql/bills.rs`, the same on both backends).

use super::{Audit, StoreError};
use crate::bill_model::{BillTotals, BillView, OfficeBillView};
use crate::model::BillStatus;
use crate::portal_model::Problem;
use crate::server::domain::bills::BillDraft;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A bill to issue, to the holder with this student (or staff) number.
#[derive(Debug, Clone)]
pub struct NewBill {
    /// The line of the list it came from (1 for a bill typed at the counter).
    pub line: i64,
    pub student_no: String,
    pub draft: BillDraft,
}

/// Bills issued together: their ids in order, or nothing issued and why each line was refused.
pub type IssueOutcome = Result<Vec<i64>, Vec<(i64, Problem)>>;

/// A bill paid: its `fee` entry and the balance after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillPayOutcome {
    pub journal_id: i64,
    pub balance: crate::model::Money,
    /// What the bill was for, and its amount.
    pub title: String,
    pub amount: crate::model::Money,
}

/// Which bills the card office lists.
#[derive(Debug, Clone, Default)]
pub struct BillFilter {
    pub status: Option<BillStatus>,
    /// A student number, exactly, or part of a title or department.
    pub q: String,
    /// Only bills with a smaller id (the next page).
    pub before: Option<i64>,
    pub limit: i64,
}

#[async_trait]
pub trait BillStore: Send + Sync {
    /// Issues every bill or none, in one transaction, with one audit record for the whole
    /// issue (its `after` says what was issued: `domain::bills::issued_audit`).
    async fn issue_bills(
        &self,
        bills: &[NewBill],
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<IssueOutcome, StoreError>;

    /// Pays bill `bill_id` of `holder_id` from the balance.
    async fn pay_bill(
        &self,
        holder_id: i64,
        bill_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Result<BillPayOutcome, Problem>, StoreError>;

    /// Cancels an unpaid bill. Answers the bill's holder.
    async fn cancel_bill(
        &self,
        bill_id: i64,
        staff_id: i64,
        reason: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Result<i64, Problem>, StoreError>;

    /// A holder's unpaid bills (by due date) and the latest `settled` paid or cancelled ones.
    async fn bills_of(
        &self,
        holder_id: i64,
        settled: i64,
    ) -> Result<(Vec<BillView>, Vec<BillView>), StoreError>;

    /// The card office's list, newest first.
    async fn bills(&self, filter: &BillFilter) -> Result<Vec<OfficeBillView>, StoreError>;

    async fn bill_totals(&self) -> Result<BillTotals, StoreError>;
}
