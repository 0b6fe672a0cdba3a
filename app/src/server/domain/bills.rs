//! Bills (待缴费): what the card office asks one holder to pay (an exam resit, a library fine,
//! a replacement student ID), issued at the counter alone or from a list, and paid by the
//! holder from the card balance in the portal.
//!
//! The rules:
//! - a bill names what it is for, who issued it, an amount from ¥0.01 to `MAX_BILL` and a due
//!   date from today to a year ahead; the same bill (holder, title, amount, due date) is not
//!   issued twice while the first is unpaid, so a list sent twice issues nothing new;
//! - a bill is paid once, in full, from the balance (never below zero), by its own holder,
//!   while the account is active; a late bill can still be paid;
//! - a payment is a `fee` journal entry referring to the bill: money the campus charges, not
//!   a sale at a till, so it is not held to the till limits (which guard a card someone else
//!   holds), and the holder is logged in to the portal to pay it;
//! - only an unpaid bill is cancelled, with a reason; a paid one is put right with a
//!   correction of its entry at the holder page (once, and above the campus's approval amount
//!   with a second staff member, like a payment's), after which the bill shows as refunded.

use super::{Broken, neg, sub};
use crate::audit_text::{AuditText, Counted, Fact};
use crate::model::{AccountStatus, BillStatus, Money};
use crate::portal_model::Problem;
use chrono::{Duration, NaiveDate};

/// The most one bill may ask for.
pub const MAX_BILL: Money = Money::yuan(2_000);
/// The longest title and issuing department's name, in characters.
pub const MAX_TITLE: usize = 40;
pub const MAX_DEPARTMENT: usize = 30;
/// How many days ahead a due date may be.
pub const MAX_DUE_DAYS: i64 = 366;

/// A bill as typed at the counter or read from a list, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillDraft {
    pub title: String,
    pub department: String,
    pub amount: Money,
    pub due_on: NaiveDate,
}

/// Checks a bill's fields as typed: the title and the department (trimmed, not empty, not too
/// long), the amount in yuan, and the due date (`YYYY-MM-DD`, from `today` to a year ahead).
/// A refusal names the field.
pub fn check_draft(
    title: &str,
    department: &str,
    amount: &str,
    due_on: &str,
    today: NaiveDate,
) -> Result<BillDraft, Problem> {
    let field = |name: &str| Problem::EnrolField {
        field: name.to_string(),
    };
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(field("title"));
    }
    let department = department.trim();
    if department.is_empty() || department.chars().count() > MAX_DEPARTMENT {
        return Err(field("department"));
    }
    let amount = Money::parse_yuan(amount).map_err(|_| field("amount"))?;
    if amount <= Money::ZERO || amount > MAX_BILL {
        return Err(field("amount"));
    }
    let due = NaiveDate::parse_from_str(due_on.trim(), "%Y-%m-%d").map_err(|_| field("due_on"))?;
    if due < today || due > today + Duration::days(MAX_DUE_DAYS) {
        return Err(field("due_on"));
    }
    Ok(BillDraft {
        title: title.to_string(),
        department: department.to_string(),
        amount,
        due_on: due,
    })
}

/// Whether a checked bill may be issued to a holder whose account is `account` and who has
/// `same_unpaid` unpaid bills with the same title, amount and due date.
pub fn decide_issue(account: AccountStatus, same_unpaid: bool) -> Result<(), Problem> {
    if account == AccountStatus::Closed {
        Err(Problem::AccountNotActive)
    } else if same_unpaid {
        Err(Problem::BillIssuedAlready)
    } else {
        Ok(())
    }
}

/// What the audit record of bills issued together says: one bill by its number, what for and
/// how much; a list by how many, their total, and the first and last number.
pub fn issued_audit(issued: &[(i64, &BillDraft)]) -> Result<AuditText, Broken> {
    match issued {
        [(id, draft)] => Ok(AuditText::from(Fact::Bill(*id))
            .and(Fact::Text(format!(
                "{}（{}）",
                draft.title, draft.department
            )))
            .and(Fact::Amount(draft.amount))),
        _ => {
            let mut total = Money::ZERO;
            for (_, draft) in issued {
                total = super::add(total, draft.amount, "bills total overflow")?;
            }
            let mut text = AuditText::from(Fact::Count(Counted::BillsIssued, issued.len() as i64))
                .and(Fact::Amount(total));
            if let (Some((first, _)), Some((last, _))) = (issued.first(), issued.last()) {
                text = text.and(Fact::Bill(*first)).and(Fact::Bill(*last));
            }
            Ok(text)
        }
    }
}

/// A bill as the store read it under the account's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillNow {
    pub holder_id: i64,
    pub status: BillStatus,
    pub amount: Money,
}

/// What paying a bill writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillPayment {
    /// The bill's amount.
    pub amount: Money,
    /// The `fee` entry's amount (negative).
    pub entry: Money,
    pub balance_after: Money,
}

impl BillPayment {
    pub fn audit_after(&self, bill_id: i64, journal_id: i64) -> AuditText {
        AuditText::from(Fact::Bill(bill_id))
            .and(Fact::Entry(journal_id))
            .and(Fact::Amount(self.amount))
            .and(Fact::Balance(self.balance_after))
    }
}

/// Paying bill `bill` (None: no such bill) for holder `payer`, whose account is as given.
/// Someone else's bill is refused as if it did not exist.
pub fn decide_pay(
    bill: Option<BillNow>,
    payer: i64,
    account: AccountStatus,
    balance: Money,
) -> Result<Result<BillPayment, Problem>, Broken> {
    let Some(bill) = bill.filter(|b| b.holder_id == payer) else {
        return Ok(Err(Problem::NoSuchBill));
    };
    Ok(match (bill.status, account) {
        (BillStatus::Paid, _) => Err(Problem::BillPaid),
        (BillStatus::Cancelled, _) => Err(Problem::BillCancelled),
        (_, AccountStatus::Frozen | AccountStatus::Closed) => Err(Problem::AccountNotActive),
        _ if bill.amount > balance => Err(Problem::BillAboveBalance),
        _ => Ok(BillPayment {
            amount: bill.amount,
            entry: neg(bill.amount, "bill amount overflow")?,
            balance_after: sub(balance, bill.amount, "balance overflow")?,
        }),
    })
}

/// Whether a bill in `status` may be cancelled.
pub fn decide_cancel(status: Option<BillStatus>) -> Result<(), Problem> {
    match status {
        None => Err(Problem::NoSuchBill),
        Some(BillStatus::Unpaid) => Ok(()),
        Some(BillStatus::Paid) => Err(Problem::BillPaid),
        Some(BillStatus::Cancelled) => Err(Problem::BillCancelled),
    }
}

/// The journal entry's reference for a bill's payment: at most one `fee` entry carries it.
pub fn entry_reference(bill_id: i64) -> String {
    format!("bill:{bill_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn field(name: &str) -> Problem {
        Problem::EnrolField { field: name.into() }
    }

    #[test]
    fn a_draft_is_checked_field_by_field() {
        let today = day("2026-12-07");
        let ok = |title: &str, dept: &str, amount: &str, due: &str, fen: i64, due_on: &str| {
            let draft = check_draft(title, dept, amount, due, today).unwrap();
            assert_eq!(draft.amount, Money::from_fen(fen), "{amount}");
            assert_eq!(draft.due_on, day(due_on));
            assert_eq!(draft.title, title.trim());
        };
        ok(
            "补考费（高等数学）",
            "教务处",
            "60",
            "2026-12-20",
            6000,
            "2026-12-20",
        );
        ok(
            " 图书逾期 ",
            "图书馆",
            "3.5",
            "2026-12-07",
            350,
            "2026-12-07",
        );
        ok(
            "学生证补办",
            "学生处",
            "¥2000",
            "2027-12-08",
            200000,
            "2027-12-08",
        );
        let long_title = "题".repeat(41);
        let long_department = "处".repeat(31);
        // (title, department, amount, due date, the field refused)
        let cases = [
            ("", "教务处", "60", "2026-12-20", "title"),
            ("   ", "教务处", "60", "2026-12-20", "title"),
            (long_title.as_str(), "教务处", "60", "2026-12-20", "title"),
            ("补考费", "", "60", "2026-12-20", "department"),
            (
                "补考费",
                long_department.as_str(),
                "60",
                "2026-12-20",
                "department",
            ),
            ("补考费", "教务处", "0", "2026-12-20", "amount"),
            ("补考费", "教务处", "-5", "2026-12-20", "amount"),
            ("补考费", "教务处", "2000.01", "2026-12-20", "amount"),
            ("补考费", "教务处", "1.234", "2026-12-20", "amount"),
            ("补考费", "教务处", "abc", "2026-12-20", "amount"),
            ("补考费", "教务处", "60", "2026-12-06", "due_on"),
            ("补考费", "教务处", "60", "2027-12-09", "due_on"),
            ("补考费", "教务处", "60", "20/12/2026", "due_on"),
            ("补考费", "教务处", "60", "", "due_on"),
        ];
        for (title, dept, amount, due, refused) in cases {
            assert_eq!(
                check_draft(title, dept, amount, due, today),
                Err(field(refused)),
                "{title} {dept} {amount} {due}"
            );
        }
    }

    #[test]
    fn a_bill_goes_to_an_open_account_once_while_unpaid() {
        use AccountStatus::*;
        // (account, the same bill unpaid already, the verdict)
        let cases = [
            (Active, false, Ok(())),
            (Frozen, false, Ok(())),
            (Closed, false, Err(Problem::AccountNotActive)),
            (Active, true, Err(Problem::BillIssuedAlready)),
            (Closed, true, Err(Problem::AccountNotActive)),
        ];
        for (account, same, verdict) in cases {
            assert_eq!(decide_issue(account, same), verdict, "{account:?} {same}");
        }
    }

    #[test]
    fn a_bill_is_paid_once_by_its_holder_from_an_active_balance() {
        use AccountStatus::*;
        let y = Money::from_fen;
        let bill = |holder_id, status| BillNow {
            holder_id,
            status,
            amount: y(6000),
        };
        let paid = |balance_after| {
            Ok(BillPayment {
                amount: y(6000),
                entry: y(-6000),
                balance_after: y(balance_after),
            })
        };
        // (the bill, the payer, the account, the balance, the verdict)
        let cases = [
            (
                Some(bill(7, BillStatus::Unpaid)),
                7,
                Active,
                10000,
                paid(4000),
            ),
            // Exactly the balance: down to zero, never below.
            (Some(bill(7, BillStatus::Unpaid)), 7, Active, 6000, paid(0)),
            (
                Some(bill(7, BillStatus::Unpaid)),
                7,
                Active,
                5999,
                Err(Problem::BillAboveBalance),
            ),
            (
                Some(bill(7, BillStatus::Unpaid)),
                8,
                Active,
                10000,
                Err(Problem::NoSuchBill),
            ),
            (None, 7, Active, 10000, Err(Problem::NoSuchBill)),
            (
                Some(bill(7, BillStatus::Paid)),
                7,
                Active,
                10000,
                Err(Problem::BillPaid),
            ),
            (
                Some(bill(7, BillStatus::Cancelled)),
                7,
                Active,
                10000,
                Err(Problem::BillCancelled),
            ),
            (
                Some(bill(7, BillStatus::Unpaid)),
                7,
                Frozen,
                10000,
                Err(Problem::AccountNotActive),
            ),
            (
                Some(bill(7, BillStatus::Unpaid)),
                7,
                Closed,
                10000,
                Err(Problem::AccountNotActive),
            ),
            // Paid already is said first, whatever the account.
            (
                Some(bill(7, BillStatus::Paid)),
                7,
                Frozen,
                0,
                Err(Problem::BillPaid),
            ),
        ];
        for (bill, payer, account, balance, verdict) in cases {
            assert_eq!(
                decide_pay(bill, payer, account, y(balance)).unwrap(),
                verdict,
                "{bill:?} {payer} {account:?} {balance}"
            );
        }
    }

    #[test]
    fn only_an_unpaid_bill_is_cancelled() {
        let cases = [
            (Some(BillStatus::Unpaid), Ok(())),
            (Some(BillStatus::Paid), Err(Problem::BillPaid)),
            (Some(BillStatus::Cancelled), Err(Problem::BillCancelled)),
            (None, Err(Problem::NoSuchBill)),
        ];
        for (status, verdict) in cases {
            assert_eq!(decide_cancel(status), verdict, "{status:?}");
        }
    }

    #[test]
    fn the_audit_texts_name_the_bill_and_the_money() {
        let draft = BillDraft {
            title: "补考费".into(),
            department: "教务处".into(),
            amount: Money::from_fen(6000),
            due_on: day("2026-12-20"),
        };
        assert_eq!(
            issued_audit(&[(12, &draft)]).unwrap().text(true),
            "bill #12; 补考费（教务处）; amount ¥60.00"
        );
        assert_eq!(
            issued_audit(&[(12, &draft), (13, &draft), (14, &draft)])
                .unwrap()
                .text(true),
            "3 bills issued; amount ¥180.00; bill #12; bill #14"
        );
        let payment = BillPayment {
            amount: Money::from_fen(6000),
            entry: Money::from_fen(-6000),
            balance_after: Money::from_fen(4000),
        };
        assert_eq!(
            payment.audit_after(12, 99).text(true),
            "bill #12; entry #99; amount ¥60.00; balance ¥40.00"
        );
        assert_eq!(entry_reference(12), "bill:12");
    }
}
