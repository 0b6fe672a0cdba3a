//! Correcting a payment at the counter: the money goes back to the holder as a correction
//! entry. Above the office's threshold it needs a second person's approval of a request, and
//! the approval is what runs the correction.

use super::{Broken, add, neg};
use crate::audit_text::{AuditText, Fact, Phrase};
use crate::model::{AccountStatus, Money};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correction {
    Corrected {
        journal_id: i64,
        balance: Money,
    },
    AlreadyReversed,
    AccountClosed,
    /// The approval request was decided already (approved or withdrawn).
    RequestDecided,
}

/// What a correction writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrectionPlan {
    /// The correction entry (positive: the payment's amount back).
    pub entry: Money,
    pub balance_after: Money,
}

impl CorrectionPlan {
    /// The correction's entry, what it credited and the balance after.
    pub fn audit_after(&self, journal_id: i64) -> AuditText {
        AuditText::from(Fact::Entry(journal_id))
            .and(Fact::Credit(self.entry))
            .and(Fact::Balance(self.balance_after))
    }

    pub fn outcome(&self, journal_id: i64) -> Correction {
        Correction::Corrected {
            journal_id,
            balance: self.balance_after,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorrectionVerdict {
    Correct(CorrectionPlan),
    /// The payment was refunded or corrected meanwhile: the approval request is closed as
    /// rejected (with this audit text), not left pending for ever.
    RejectRequest {
        audit_after: AuditText,
    },
    Refuse(Correction),
}

/// The text of a request closed because its payment was reversed meanwhile.
pub fn reversed_meanwhile() -> AuditText {
    Fact::Said(Phrase::ReversedMeanwhile).into()
}

/// A correction of one payment (`payment_amount` as stored, negative), read under the account
/// lock: once per payment, never into a closed account.
pub fn decide_correction(
    payment_amount: Money,
    already_reversed: bool,
    on_request: bool,
    status: AccountStatus,
    balance: Money,
) -> Result<CorrectionVerdict, Broken> {
    if already_reversed {
        return Ok(if on_request {
            CorrectionVerdict::RejectRequest {
                audit_after: reversed_meanwhile(),
            }
        } else {
            CorrectionVerdict::Refuse(Correction::AlreadyReversed)
        });
    }
    if status == AccountStatus::Closed {
        return Ok(CorrectionVerdict::Refuse(Correction::AccountClosed));
    }
    let entry = neg(payment_amount, "amount overflow")?;
    Ok(CorrectionVerdict::Correct(CorrectionPlan {
        entry,
        balance_after: add(balance, entry, "balance overflow")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountStatus::*;

    #[test]
    fn correction_decisions() {
        let y = |yuan: i64| Money::from_fen(yuan * 100);
        let plan = CorrectionVerdict::Correct(CorrectionPlan {
            entry: y(12),
            balance_after: y(20),
        });
        // (case, reversed, on request, status, want)
        let cases = [
            ("corrects", false, false, Active, plan.clone()),
            ("on approval", false, true, Frozen, plan.clone()),
            (
                "reversed before",
                true,
                false,
                Active,
                CorrectionVerdict::Refuse(Correction::AlreadyReversed),
            ),
            (
                "reversed before an approval",
                true,
                true,
                Active,
                CorrectionVerdict::RejectRequest {
                    audit_after: reversed_meanwhile(),
                },
            ),
            (
                "reversed wins over closed",
                true,
                false,
                Closed,
                CorrectionVerdict::Refuse(Correction::AlreadyReversed),
            ),
            (
                "closed account",
                false,
                true,
                Closed,
                CorrectionVerdict::Refuse(Correction::AccountClosed),
            ),
        ];
        for (case, reversed, on_request, status, want) in cases {
            assert_eq!(
                decide_correction(y(-12), reversed, on_request, status, y(8)).unwrap(),
                want,
                "{case}"
            );
        }
        let p = CorrectionPlan {
            entry: y(12),
            balance_after: y(20),
        };
        assert_eq!(
            p.audit_after(41).text(true),
            "entry #41; +¥12.00; balance ¥20.00"
        );
        assert_eq!(
            p.outcome(41),
            Correction::Corrected {
                journal_id: 41,
                balance: y(20)
            }
        );
        assert!(decide_correction(Money::from_fen(i64::MIN), false, false, Active, y(0)).is_err());
    }
}
