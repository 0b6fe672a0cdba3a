//! An operator's shifts at the counter. An operator ends a shift by counting the cash they took
//! and recording the count. The shift is then the cash top-ups they credited since their
//! previous count (or since the start of the period), set against what they counted. What is
//! credited after the last count is the open shift. Auditors read every operator's shifts; a
//! difference is cash missing (negative) or cash not credited to anyone (positive).

use super::{Broken, add, sub};
use crate::model::Money;
use chrono::{DateTime, Utc};

/// The largest cash count an operator can record (a typo guard).
pub const MAX_COUNT: Money = Money::yuan(1_000_000);

/// A count an operator may record: an amount from zero to `MAX_COUNT`, and a note of at most
/// 200 characters.
pub fn count_ok(counted: Money, note: &str) -> bool {
    counted >= Money::ZERO && counted <= MAX_COUNT && note.trim().chars().count() <= 200
}

/// A cash top-up an operator credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashIn {
    pub staff_id: i64,
    pub at: DateTime<Utc>,
    pub amount: Money,
}

/// A count an operator recorded at the end of a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashCount {
    pub staff_id: i64,
    pub at: DateTime<Utc>,
    pub counted: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    pub staff_id: i64,
    /// The previous count; `None`: the start of the period.
    pub from: Option<DateTime<Utc>>,
    /// The count that ended it; `None`: still open.
    pub until: Option<DateTime<Utc>>,
    pub topups: i64,
    pub cash_in: Money,
    pub counted: Option<Money>,
    /// `counted - cash_in`, once counted.
    pub difference: Option<Money>,
}

/// Every operator's shifts in a period, by operator and then in time order: one per count,
/// and the open one when anything was credited after the last count. A top-up at the very
/// moment of a count belongs to the shift that count ends.
pub fn shifts(cash_in: &[CashIn], counts: &[CashCount]) -> Result<Vec<Shift>, Broken> {
    let mut staff: Vec<i64> = cash_in
        .iter()
        .map(|c| c.staff_id)
        .chain(counts.iter().map(|c| c.staff_id))
        .collect();
    staff.sort_unstable();
    staff.dedup();
    let mut out = Vec::new();
    for id in staff {
        let mut mine: Vec<&CashCount> = counts.iter().filter(|c| c.staff_id == id).collect();
        mine.sort_by_key(|c| c.at);
        let mut from = None;
        for count in mine {
            let (topups, total) = taken(cash_in, id, from, Some(count.at))?;
            out.push(Shift {
                staff_id: id,
                from,
                until: Some(count.at),
                topups,
                cash_in: total,
                counted: Some(count.counted),
                difference: Some(sub(count.counted, total, "shift difference")?),
            });
            from = Some(count.at);
        }
        let (topups, total) = taken(cash_in, id, from, None)?;
        if topups > 0 {
            out.push(Shift {
                staff_id: id,
                from,
                until: None,
                topups,
                cash_in: total,
                counted: None,
                difference: None,
            });
        }
    }
    Ok(out)
}

/// The number and sum of one operator's top-ups in `(after, until]`.
fn taken(
    cash_in: &[CashIn],
    staff_id: i64,
    after: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<(i64, Money), Broken> {
    let mut n = 0;
    let mut total = Money::ZERO;
    for c in cash_in.iter().filter(|c| {
        c.staff_id == staff_id && after.is_none_or(|a| c.at > a) && until.is_none_or(|u| c.at <= u)
    }) {
        n += 1;
        total = add(total, c.amount, "shift total")?;
    }
    Ok((n, total))
}

/// An operator's open shift: what they credited since their last count (nothing yet: an empty
/// shift starting then).
pub fn open_shift(
    staff_id: i64,
    cash_in: &[CashIn],
    counts: &[CashCount],
) -> Result<Shift, Broken> {
    let all = shifts(cash_in, counts)?;
    let last_count = all
        .iter()
        .filter(|s| s.staff_id == staff_id)
        .filter_map(|s| s.until)
        .max();
    Ok(all
        .into_iter()
        .find(|s| s.staff_id == staff_id && s.until.is_none())
        .unwrap_or(Shift {
            staff_id,
            from: last_count,
            until: None,
            topups: 0,
            cash_in: Money::ZERO,
            counted: None,
            difference: None,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 14, h, m, 0).unwrap()
    }
    fn cash(staff_id: i64, h: u32, m: u32, yuan: i64) -> CashIn {
        CashIn {
            staff_id,
            at: at(h, m),
            amount: Money::yuan(yuan),
        }
    }
    fn count(staff_id: i64, h: u32, m: u32, yuan: i64) -> CashCount {
        CashCount {
            staff_id,
            at: at(h, m),
            counted: Money::yuan(yuan),
        }
    }

    #[test]
    fn each_count_ends_a_shift_and_what_follows_is_open() {
        let cash_in = [
            cash(1, 1, 0, 100),
            cash(1, 2, 0, 50),
            // At the very moment of the count: in the shift it ends.
            cash(1, 4, 0, 20),
            cash(1, 5, 0, 30),
            cash(2, 3, 0, 200),
        ];
        let counts = [count(1, 4, 0, 160), count(2, 6, 0, 200)];
        let got = shifts(&cash_in, &counts).unwrap();
        // (staff, from, until, top-ups, cash in, counted, difference)
        let want = [
            (1, None, Some(at(4, 0)), 3, 170, Some(160), Some(-10)),
            (1, Some(at(4, 0)), None, 1, 30, None, None),
            (2, None, Some(at(6, 0)), 1, 200, Some(200), Some(0)),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (s, (staff, from, until, n, cash_in, counted, diff)) in got.iter().zip(want) {
            assert_eq!(
                (s.staff_id, s.from, s.until, s.topups, s.cash_in),
                (staff, from, until, n, Money::yuan(cash_in)),
                "{s:?}"
            );
            assert_eq!(s.counted, counted.map(Money::yuan), "{s:?}");
            assert_eq!(s.difference, diff.map(Money::yuan), "{s:?}");
        }
    }

    #[test]
    fn counts_in_any_order_and_a_count_with_nothing_taken() {
        let counts = [count(3, 9, 0, 0), count(3, 8, 0, 5)];
        let got = shifts(&[cash(3, 8, 30, 40)], &counts).unwrap();
        let summary: Vec<_> = got
            .iter()
            .map(|s| (s.until, s.topups, s.difference))
            .collect();
        assert_eq!(
            summary,
            [
                (Some(at(8, 0)), 0, Some(Money::yuan(5))),
                (Some(at(9, 0)), 1, Some(Money::yuan(-40))),
            ]
        );
        assert!(shifts(&[], &[]).unwrap().is_empty());
    }

    #[test]
    fn a_count_is_an_amount_up_to_the_maximum_with_a_short_note() {
        let long = "注".repeat(201);
        let cases = [
            (Money::ZERO, "", true),
            (MAX_COUNT, "交班", true),
            (Money::from_fen(MAX_COUNT.fen() + 1), "", false),
            (Money::from_fen(-1), "", false),
            (Money::yuan(10), long.as_str(), false),
        ];
        for (counted, note, ok) in cases {
            assert_eq!(count_ok(counted, note), ok, "{counted:?}");
        }
    }

    #[test]
    fn the_open_shift_starts_at_the_last_count() {
        let cash_in = [cash(1, 1, 0, 10), cash(1, 3, 0, 7)];
        let counts = [count(1, 2, 0, 10)];
        let open = open_shift(1, &cash_in, &counts).unwrap();
        assert_eq!(
            (open.from, open.topups, open.cash_in),
            (Some(at(2, 0)), 1, Money::yuan(7))
        );
        let nothing = open_shift(1, &cash_in[..1], &counts).unwrap();
        assert_eq!((nothing.from, nothing.topups), (Some(at(2, 0)), 0));
        let fresh = open_shift(9, &cash_in, &counts).unwrap();
        assert_eq!(
            (fresh.from, fresh.topups, fresh.cash_in),
            (None, 0, Money::ZERO)
        );
    }
}
