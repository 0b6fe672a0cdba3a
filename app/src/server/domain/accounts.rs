//! A holder's account: frozen and unfrozen by the office, and closed for good with its balance
//! paid out to the holder's bank account.

use crate::audit_text::{AuditText, Fact};
use crate::model::{AccountStatus, Money};
use crate::portal_model::Problem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closing {
    Closed {
        paid_out: Money,
        journal_id: Option<i64>,
    },
    AlreadyClosed,
    /// Money is on the account and this closing may not pay it out (one person alone): it
    /// goes to a second staff member instead.
    NotEmpty,
    /// Money is on its way to or from the account (a correction or a cash top-up awaiting
    /// approval, a top-up order not answered, a bill not paid): settle it first (a bill is
    /// paid from the balance or cancelled).
    MoneyInFlight,
}

/// What a freeze or unfreeze writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezePlan {
    pub status: AccountStatus,
    /// Kept on the account while frozen (the office's reason), cleared when unfrozen.
    pub status_reason: String,
    pub audit_before: AuditText,
    pub audit_after: AuditText,
}

/// Freezing (`frozen`) or unfreezing: any open account, never a closed one (`None`).
pub fn decide_freeze(before: AccountStatus, frozen: bool, reason: &str) -> Option<FreezePlan> {
    if before == AccountStatus::Closed {
        return None;
    }
    let status = if frozen {
        AccountStatus::Frozen
    } else {
        AccountStatus::Active
    };
    Some(FreezePlan {
        status,
        status_reason: if frozen { reason.into() } else { String::new() },
        audit_before: Fact::AccountStatus(before).into(),
        audit_after: Fact::AccountStatus(status).into(),
    })
}

/// What closing writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosePlan {
    /// The balance paid out (a payout entry and its bank transfer), when there is any.
    pub payout: Option<Money>,
    pub audit_before: AuditText,
    pub audit_after: AuditText,
}

impl ClosePlan {
    pub fn outcome(&self, journal_id: Option<i64>) -> Closing {
        Closing::Closed {
            paid_out: self.payout.unwrap_or(Money::ZERO),
            journal_id,
        }
    }
}

/// Whether closing takes a second staff member: whenever money goes out (a positive balance).
pub fn payout_needs_second_person(balance: Money) -> bool {
    balance > Money::ZERO
}

/// Recording a payout account: for an account that is not closed (frozen ones included: a
/// frozen account is often one about to be closed), and not while a closing waits for
/// approval (the approver approves the payout to the account as it was asked for).
pub fn payout_account_refusal(status: AccountStatus, closing_pending: bool) -> Option<Problem> {
    if status == AccountStatus::Closed {
        Some(Problem::AccountNotActive)
    } else if closing_pending {
        Some(Problem::ClosingPending)
    } else {
        None
    }
}

/// Who may approve a payout: not whoever recorded the account it goes to (nor, by
/// `audit::second_person`, whoever asked for the closing).
pub fn payout_approver_refusal(account_recorded_by: Option<i64>, approver: i64) -> Option<Problem> {
    (account_recorded_by == Some(approver)).then_some(Problem::SameApprover)
}

/// Where a payout may go: only to the account recorded at the counter against the holder's
/// identity document. An account with money on it cannot close without one; a bank account
/// named when closing (a batch file's column) must be the recorded one.
pub fn payout_account_problem(
    balance: Money,
    recorded: Option<&str>,
    given: Option<&str>,
) -> Option<Problem> {
    match (recorded, given) {
        (None, _) if payout_needs_second_person(balance) => Some(Problem::NoPayoutAccount),
        (recorded, Some(given)) if recorded != Some(given) => Some(Problem::PayoutAccountDiffers),
        _ => None,
    }
}

/// Closing: once; the whole balance is paid out under `reference`. Run under the account's
/// lock, so a payment in flight has finished (and is paid out with the rest) or sees it closed,
/// and money still on its way (`money_in_flight`, read under the same lock) keeps it open.
/// Without `allow_payout` (one person closing alone) an account with money on it is refused
/// (`NotEmpty`), whatever the balance was when the closing was asked for.
pub fn decide_close(
    status: AccountStatus,
    balance: Money,
    reference: &str,
    allow_payout: bool,
    money_in_flight: bool,
) -> Result<ClosePlan, Closing> {
    if status == AccountStatus::Closed {
        return Err(Closing::AlreadyClosed);
    }
    if money_in_flight {
        return Err(Closing::MoneyInFlight);
    }
    if !allow_payout && payout_needs_second_person(balance) {
        return Err(Closing::NotEmpty);
    }
    Ok(ClosePlan {
        payout: (balance > Money::ZERO).then_some(balance),
        audit_before: AuditText::from(Fact::AccountStatus(status)).and(Fact::Balance(balance)),
        audit_after: AuditText::from(Fact::AccountStatus(AccountStatus::Closed))
            .and(Fact::PaidOut(balance))
            .and(Fact::Reference(reference.into())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountStatus::*;

    #[test]
    fn freeze_decisions() {
        // (case, before, frozen, want: (status, reason kept) or refused)
        let cases = [
            ("freeze", Active, true, Some((Frozen, "lost and found"))),
            (
                "freeze again",
                Frozen,
                true,
                Some((Frozen, "lost and found")),
            ),
            (
                "unfreeze clears the reason",
                Frozen,
                false,
                Some((Active, "")),
            ),
            (
                "unfreeze an active account",
                Active,
                false,
                Some((Active, "")),
            ),
            ("never a closed account", Closed, true, None),
            ("nor unfreeze one", Closed, false, None),
        ];
        for (case, before, frozen, want) in cases {
            let got = decide_freeze(before, frozen, "lost and found");
            assert_eq!(
                got.as_ref().map(|p| (p.status, p.status_reason.as_str())),
                want,
                "{case}"
            );
            if let Some(p) = got {
                assert_eq!(
                    (p.audit_before, p.audit_after),
                    (
                        Fact::AccountStatus(before).into(),
                        Fact::AccountStatus(p.status).into()
                    )
                );
            }
        }
    }

    #[test]
    fn close_decisions() {
        let y = |fen| Money::from_fen(fen);
        let plan = decide_close(Frozen, y(12_345), "PO-1", true, false).unwrap();
        assert_eq!(plan.payout, Some(y(12_345)));
        assert_eq!(
            plan.audit_before.text(true),
            "account frozen; balance ¥123.45"
        );
        assert_eq!(
            plan.audit_after.text(true),
            "account closed; paid out ¥123.45; reference PO-1"
        );
        assert_eq!(
            plan.audit_after.text(false),
            "账户已销户；退还 ¥123.45；转账参考号 PO-1"
        );
        assert_eq!(
            plan.outcome(Some(7)),
            Closing::Closed {
                paid_out: y(12_345),
                journal_id: Some(7)
            }
        );

        let empty = decide_close(Active, Money::ZERO, "PO-2", false, false).unwrap();
        assert_eq!(empty.payout, None);
        assert_eq!(
            empty.outcome(None),
            Closing::Closed {
                paid_out: Money::ZERO,
                journal_id: None
            }
        );

        assert_eq!(
            decide_close(Closed, y(100), "PO-3", true, false),
            Err(Closing::AlreadyClosed)
        );
    }

    #[test]
    fn money_on_its_way_keeps_an_account_open() {
        for allow_payout in [true, false] {
            assert_eq!(
                decide_close(Active, Money::ZERO, "PO-7", allow_payout, true),
                Err(Closing::MoneyInFlight)
            );
        }
        // Closed already says so first.
        assert_eq!(
            decide_close(Closed, Money::ZERO, "PO-8", true, true),
            Err(Closing::AlreadyClosed)
        );
    }

    #[test]
    fn one_person_closes_only_an_empty_account() {
        assert_eq!(
            decide_close(Active, Money::from_fen(1), "PO-4", false, false),
            Err(Closing::NotEmpty)
        );
        assert!(decide_close(Active, Money::ZERO, "PO-5", false, false).is_ok());
        assert!(decide_close(Active, Money::from_fen(1), "PO-6", true, false).is_ok());
    }

    #[test]
    fn a_payout_account_is_recorded_until_the_account_closes_and_not_during_a_closing() {
        let cases = [
            (Active, false, None),
            (Frozen, false, None),
            (Active, true, Some(Problem::ClosingPending)),
            (Closed, false, Some(Problem::AccountNotActive)),
            (Closed, true, Some(Problem::AccountNotActive)),
        ];
        for (status, pending, want) in cases {
            assert_eq!(
                payout_account_refusal(status, pending),
                want,
                "{status:?} {pending}"
            );
        }
    }

    #[test]
    fn whoever_recorded_the_account_does_not_approve_the_payout() {
        assert_eq!(
            payout_approver_refusal(Some(7), 7),
            Some(Problem::SameApprover)
        );
        assert_eq!(payout_approver_refusal(Some(7), 8), None);
        assert_eq!(payout_approver_refusal(None, 8), None);
    }

    #[test]
    fn payouts_go_only_to_the_recorded_account() {
        let (some, none) = (Money::from_fen(500), Money::ZERO);
        let (acct, other) = (Some("6222021234567890"), Some("6222029999999999"));
        // (case, balance, recorded, given, want)
        let cases = [
            (
                "money, none recorded",
                some,
                None,
                None,
                Some(Problem::NoPayoutAccount),
            ),
            (
                "money, none recorded, one given",
                some,
                None,
                acct,
                Some(Problem::NoPayoutAccount),
            ),
            ("money, recorded", some, acct, None, None),
            ("money, recorded and given", some, acct, acct, None),
            (
                "money, another given",
                some,
                acct,
                other,
                Some(Problem::PayoutAccountDiffers),
            ),
            ("empty, none recorded", none, None, None, None),
            (
                "empty, one given that is not recorded",
                none,
                None,
                acct,
                Some(Problem::PayoutAccountDiffers),
            ),
            (
                "empty, another given",
                none,
                acct,
                other,
                Some(Problem::PayoutAccountDiffers),
            ),
        ];
        for (case, balance, recorded, given, want) in cases {
            assert_eq!(
                payout_account_problem(balance, recorded, given),
                want,
                "{case}"
            );
        }
    }

    #[test]
    fn money_going_out_takes_two_people() {
        for (fen, two) in [(0, false), (1, true), (123_456, true)] {
            assert_eq!(
                payout_needs_second_person(Money::from_fen(fen)),
                two,
                "{fen}"
            );
        }
    }
}
