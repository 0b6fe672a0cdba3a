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

#[cfg(test)]
mod tests {
    use super::*;

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
