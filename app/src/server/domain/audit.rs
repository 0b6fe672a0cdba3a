//! What every staff change that touches money, cards or passwords records: who (the session),
//! what (the action and its before and after, written by the store from each decision's plan),
//! and why: the reason the staff member types, which this module checks.

use crate::audit_text::{AuditText, Fact};
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
/// payout, a large cash top-up, an administrator's change): only while it is `pending`, and
/// never approved by the one who asked (who may withdraw it: a rejection changes nothing). An
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
    if approve && requested_by == decider {
        return Err(Problem::SameApprover);
    }
    if approve {
        Ok(asked_why)
    } else {
        reason(typed)
    }
}

/// What an audit record says of a change to a document (the campus profile): every top-level
/// field that differs, with its value (as JSON) before and after. Equal documents give nothing.
pub fn changed_fields<T: serde::Serialize>(before: &T, after: &T) -> (AuditText, AuditText) {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return (AuditText::none(), AuditText::none());
    };
    let field = |key: &String, value: Option<&serde_json::Value>| {
        Fact::Field(key.clone(), value.cloned().unwrap_or_default().to_string())
    };
    let (mut was, mut now) = (AuditText::none(), AuditText::none());
    for (key, value) in &a {
        if b.get(key) != Some(value) {
            was = was.and(field(key, b.get(key)));
            now = now.and(field(key, Some(value)));
        }
    }
    for (key, value) in &b {
        if !a.contains_key(key) {
            was = was.and(field(key, Some(value)));
            now = now.and(field(key, None));
        }
    }
    (was, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_document_is_recorded_field_by_field() {
        use serde_json::json;
        let before = json!({"a": 1, "b": {"x": 1}, "gone": true, "same": "s"});
        let after = json!({"a": 2, "b": {"x": 2}, "new": [1], "same": "s"});
        let (b, a) = changed_fields(&before, &after);
        let f = |k: &str, v: &str| Fact::Field(k.into(), v.into());
        assert_eq!(
            b.0,
            [
                f("a", "1"),
                f("b", r#"{"x":1}"#),
                f("new", "null"),
                f("gone", "true")
            ]
        );
        assert_eq!(
            a.0,
            [
                f("a", "2"),
                f("b", r#"{"x":2}"#),
                f("new", "[1]"),
                f("gone", "null")
            ]
        );
        assert_eq!(a.text(true), r#"a: 2; b: {"x":2}; new: [1]; gone: null"#);
        let (b, a) = changed_fields(&before, &before);
        assert!(b.is_empty() && a.is_empty());
    }

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
            ("withdrawn by them", true, 7, false, "撤回", Ok("撤回")),
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
