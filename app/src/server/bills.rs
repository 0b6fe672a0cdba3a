//! Bills (待缴费): the card office issues them (one at the counter, or a list), lists and
//! cancels them; the holder sees theirs and pays one from the card balance. The rules are
//! `domain::bills`; this module reads the forms and asks the store.

use super::AppState;
use super::auth::{Client, HolderSession};
use super::domain::audit::reason;
use super::domain::bills::check_draft;
use super::domain::calendar::campus_date;
use super::staff::StaffSession;
use super::store::{Actor, Audit, BillFilter, NewBill};
use crate::audit_text::{AuditText, Fact, Phrase};
use crate::bill_model::{BillPaid, BillsIssued, MyBills, OfficeBills};
use crate::error::AppError;
use crate::model::{AuditAction, BillStatus, Money};
use crate::portal_model::Problem;

/// The most lines a list of bills may have.
pub const MAX_LIST: usize = 2_000;
/// Bills on one page of the office's list.
const PAGE: i64 = 100;
/// Paid and cancelled bills the holder's page shows.
const SETTLED_SHOWN: i64 = 20;

/// A list's columns, by their English and Chinese names: the student (or staff) number, what
/// the bill is for, who issues it, the amount in yuan and the due date.
const COLUMNS: &[&[&str]] = &[
    &["student_no", "学号", "工号"],
    &["title", "项目", "名目"],
    &["department", "开单部门", "部门"],
    &["amount", "金额"],
    &["due_on", "截止日期", "缴费期限"],
];

/// Issues one bill typed at the counter. Answers its number.
pub async fn issue_one(
    state: &AppState,
    staff: &StaffSession,
    student_no: &str,
    title: &str,
    department: &str,
    amount: &str,
    due_on: &str,
) -> Result<i64, AppError> {
    let now = state.now();
    let draft = check_draft(title, department, amount, due_on, campus_date(now))?;
    let student_no = student_no.trim();
    let bill = NewBill {
        line: 1,
        student_no: student_no.to_string(),
        draft,
    };
    let audit = staff.audit(
        AuditAction::BillIssue,
        None,
        Fact::Holder(student_no.to_string()),
        "",
    );
    match state.db.issue_bills(&[bill], staff.id, now, audit).await? {
        Ok(ids) => ids
            .first()
            .copied()
            .ok_or_else(|| super::internal("no bill issued")),
        Err(refused) => Err(AppError::Rejected(
            refused
                .into_iter()
                .next()
                .map_or(Problem::NoSuchBill, |(_, p)| p),
        )),
    }
}

/// Issues a list of bills (CSV, one bill per line): every one, or none and each refused line.
pub async fn issue_list(
    state: &AppState,
    staff: &StaffSession,
    csv: &str,
    file_name: &str,
) -> Result<BillsIssued, AppError> {
    let now = state.now();
    let today = campus_date(now);
    let rows = super::csv::read_table(csv, COLUMNS, &[0, 1, 2, 3, 4])?;
    if rows.is_empty() {
        return Err(AppError::Rejected(Problem::ImportEmpty));
    }
    if rows.len() > MAX_LIST {
        return Err(AppError::Rejected(Problem::ImportTooLarge {
            max: MAX_LIST as i64,
        }));
    }
    let mut bills = Vec::with_capacity(rows.len());
    let mut refused = Vec::new();
    for (line, v) in rows {
        let line = line as i64;
        match check_draft(&v[1], &v[2], &v[3], &v[4], today) {
            Ok(draft) => bills.push(NewBill {
                line,
                student_no: v[0].trim().to_string(),
                draft,
            }),
            Err(problem) => refused.push((line, problem)),
        }
    }
    if !refused.is_empty() {
        return Ok(BillsIssued::Refused(refused));
    }
    let total = bills
        .iter()
        .try_fold(Money::ZERO, |sum, b| sum.checked_add(b.draft.amount))
        .ok_or_else(|| {
            AppError::Rejected(Problem::EnrolField {
                field: "amount".into(),
            })
        })?;
    let numbers: Vec<String> = bills.iter().map(|b| b.student_no.clone()).collect();
    let source = file_name.trim().chars().take(100).collect::<String>();
    let audit = staff.audit(
        AuditAction::BillIssue,
        None,
        Fact::Holders(numbers),
        &source,
    );
    Ok(
        match state.db.issue_bills(&bills, staff.id, now, audit).await? {
            Ok(ids) => BillsIssued::Issued {
                count: ids.len() as i64,
                total,
            },
            Err(refused) => BillsIssued::Refused(refused),
        },
    )
}

/// Cancels an unpaid bill, with the reason.
pub async fn cancel(
    state: &AppState,
    staff: &StaffSession,
    bill_id: i64,
    why: &str,
) -> Result<(), AppError> {
    let why = reason(why)?;
    let audit = staff.audit(AuditAction::BillCancel, None, Fact::Bill(bill_id), why);
    state
        .db
        .cancel_bill(bill_id, staff.id, why, state.now(), audit)
        .await?
        .map(|_| ())
        .map_err(AppError::Rejected)
}

/// The office's list: by status (`""` for all), a student number or words of a title or
/// department, from bill `before` down.
pub async fn office_list(
    state: &AppState,
    status: &str,
    q: &str,
    before: Option<i64>,
) -> Result<OfficeBills, AppError> {
    let status = match status.trim() {
        "" | "all" => None,
        s => Some(BillStatus::parse(s).ok_or_else(|| AppError::Invalid("bad status".into()))?),
    };
    let filter = BillFilter {
        status,
        q: q.trim().chars().take(40).collect(),
        before,
        // One more than shown, to know whether there is a next page.
        limit: PAGE + 1,
    };
    let mut bills = state.db.bills(&filter).await?;
    let next_before = if bills.len() as i64 > PAGE {
        bills.truncate(PAGE as usize);
        bills.last().map(|b| b.bill.id)
    } else {
        None
    };
    Ok(OfficeBills {
        totals: state.db.bill_totals().await?,
        bills,
        next_before,
    })
}

/// The holder's own bills.
pub async fn mine(state: &AppState, s: &HolderSession) -> Result<MyBills, AppError> {
    let (unpaid, settled) = state.db.bills_of(s.holder_id, SETTLED_SHOWN).await?;
    let balance = state
        .db
        .dashboard(s.holder_id, super::domain::calendar::day_start(state.now()))
        .await?
        .map(|d| d.balance)
        .ok_or(AppError::NotFound)?;
    Ok(MyBills {
        balance,
        today: campus_date(state.now()).to_string(),
        unpaid,
        settled,
    })
}

/// The holder pays one of their bills from the balance.
pub async fn pay(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    bill_id: i64,
) -> Result<BillPaid, AppError> {
    let audit = Audit {
        actor: Actor::Holder(s.holder_id),
        action: AuditAction::BillPay,
        holder_id: Some(s.holder_id),
        target: Fact::Bill(bill_id).into(),
        before: AuditText::none(),
        after: AuditText::none(),
        reason: Phrase::SelfService.stored(),
        ip: client.ip.clone(),
    };
    let paid = state
        .db
        .pay_bill(s.holder_id, bill_id, state.now(), audit)
        .await?
        .map_err(AppError::Rejected)?;
    Ok(BillPaid {
        bill_id,
        title: paid.title,
        amount: paid.amount,
        journal_id: paid.journal_id,
        balance: paid.balance,
    })
}
