//! What every staff change that touches money, cards or passwords records: who (the session),
//! what (the action and its before and after, written by the store from each decision's plan),
//! and why: the reason the staff member types, which this module checks.

use crate::portal_model::Problem;

/// The reason typed for a change, trimmed: 2 to 200 characters.
pub fn reason(text: &str) -> Result<&str, Problem> {
    let t = text.trim();
    let n = t.chars().count();
    if !(2..=200).contains(&n) {
        return Err(Problem::ReasonRequired);
    }
    Ok(t)
}

/// A second person's decision on a two-person request (a correction, a closing with a
/// payout, a large cash top-up): only while it is `pending`, never by the one who asked. An
/// approval carries the reason the one who asked gave; a rejection needs its own (`typed`).
/// Returns the reason.
pub fn second_person<'a>(
    pending: bool,
    requested_by: i64,
    asked_why: &'a str,
    decider: i64,
    approve: bool,
    typed: &'a str,
) -> Result<&'a str, Problem> {
    if !pending {
        return Err(Problem::ApprovalDecided);
    }
    if requested_by == decider {
        return Err(Problem::SameApprover);
    }
    if approve {
        Ok(asked_why)
    } else {
        reason(typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_person_decides_a_pending_request_once() {
        // (case, pending, decider, approve, typed reason, want); asked by 7 "for 退学".
        let cases = [
            ("approved by another", true, 8, true, "", Ok("退学")),
            (
                "rejected with a reason",
                true,
                8,
                false,
                "金额不符",
                Ok("金额不符"),
            ),
            (
                "rejected without one",
                true,
                8,
                false,
                " ",
                Err(Problem::ReasonRequired),
            ),
            (
                "by the one who asked",
                true,
                7,
                true,
                "",
                Err(Problem::SameApprover),
            ),
            (
                "nor rejected by them",
                true,
                7,
                false,
                "撤回",
                Err(Problem::SameApprover),
            ),
            (
                "decided already",
                false,
                8,
                true,
                "",
                Err(Problem::ApprovalDecided),
            ),
        ];
        for (case, pending, decider, approve, typed, want) in cases {
            let got = second_person(pending, 7, "退学", decider, approve, typed);
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn a_reason_is_two_to_two_hundred_characters() {
        let long = "由".repeat(200);
        let too_long = "由".repeat(201);
        let cases = [
            ("", Err(Problem::ReasonRequired)),
            ("  ", Err(Problem::ReasonRequired)),
            (" 挂 ", Err(Problem::ReasonRequired)),
            ("补卡", Ok("补卡")),
            ("  学生证件核验 ", Ok("学生证件核验")),
            (long.as_str(), Ok(long.as_str())),
            (too_long.as_str(), Err(Problem::ReasonRequired)),
        ];
        for (text, want) in cases {
            assert_eq!(reason(text), want, "{text:?}");
        }
    }
}
