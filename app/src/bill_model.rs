//! What the bill pages (待缴费) send to the browser: the holder's own bills, and the card
//! office's list of every bill with its totals.

use crate::model::{BillStatus, Money};
use crate::portal_model::Problem;
use serde::{Deserialize, Serialize};

/// One bill, as its holder sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillView {
    pub id: i64,
    pub title: String,
    pub department: String,
    pub amount: Money,
    /// The campus date it is due on (`YYYY-MM-DD`).
    pub due_on: String,
    pub status: BillStatus,
    /// RFC 3339.
    pub issued_at: String,
    pub paid_at: Option<String>,
    /// The journal entry that paid it.
    pub entry_id: Option<i64>,
    /// Paid, then given back by a correction of that entry.
    pub refunded: bool,
    pub cancelled_at: Option<String>,
    pub cancel_reason: String,
}

/// The holder's bills page: what is to pay first (by due date), then the latest paid and
/// cancelled ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyBills {
    pub balance: Money,
    /// The campus date today, to mark late bills.
    pub today: String,
    pub unpaid: Vec<BillView>,
    pub settled: Vec<BillView>,
}

/// A bill just paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillPaid {
    pub bill_id: i64,
    pub title: String,
    pub amount: Money,
    pub journal_id: i64,
    pub balance: Money,
}

/// One bill, as the card office sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeBillView {
    pub bill: BillView,
    pub holder_id: i64,
    pub student_no: String,
    pub name: String,
    pub issued_by: String,
    pub cancelled_by: Option<String>,
}

/// How many bills stand at each status, and their money.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillTotals {
    pub unpaid: i64,
    pub unpaid_amount: Money,
    pub paid: i64,
    pub paid_amount: Money,
    pub cancelled: i64,
}

/// The card office's bills page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeBills {
    pub totals: BillTotals,
    pub bills: Vec<OfficeBillView>,
    /// More bills match than the page shows: the id to continue below (keyset paging).
    pub next_before: Option<i64>,
}

/// The answer to a list of bills: every bill issued, or nothing issued and each refused line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillsIssued {
    Issued {
        count: i64,
        total: Money,
    },
    /// (line of the list, counted from 1 with the header, and why).
    Refused(Vec<(i64, Problem)>),
}
