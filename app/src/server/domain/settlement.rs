//! The settlement of a biller's day: our purchases of that day and the biller's confirmations,
//! matched by reference, with every difference listed for the card office to follow up.
//!
//! A purchase matches when the biller's record has the same amount and the same outcome: we
//! count it delivered and the biller delivered it, or we refunded it and the biller did not
//! deliver (or has no record of it). Everything else is a difference:
//! - we count it delivered and the biller has no delivery (`MissingAtBiller`), or says it
//!   failed (`FailedButCharged`): the student paid for nothing;
//! - we refunded it and the biller delivered it (`DeliveredButRefunded`): the campus gave it
//!   away;
//! - the amounts differ (`AmountDiffers`);
//! - the biller delivered something we have no purchase for (`UnknownToUs`);
//! - the biller lists one reference more than once (`ListedTwice`);
//! - the outcome has not come yet (`Pending`).

use crate::model::{DifferenceKind, Money, PurchaseStatus};
use std::collections::HashMap;

/// One of our purchases of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ours {
    pub reference: String,
    pub amount: Money,
    pub status: PurchaseStatus,
}

/// One delivery as the biller reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theirs {
    pub reference: String,
    pub amount: Money,
    pub delivered: bool,
}

/// A difference to follow up: what, which reference, our amount and the biller's (as the
/// report shows it).
pub use crate::utility_model::DifferenceView as Difference;

/// The day's settlement (the view the report shows).
pub use crate::utility_model::Settlement;

/// Matches the day's purchases with the biller's records, by reference. A reference the biller
/// lists more than once counts once (the first record), and is listed as a difference of its
/// own (`ListedTwice`, with the amount of each further record): a biller that records one
/// delivery twice may bill the campus twice.
pub fn settle(ours: &[Ours], theirs: &[Theirs]) -> Settlement {
    let mut by_reference: HashMap<&str, &Theirs> = HashMap::new();
    let mut s = Settlement::default();
    let mut again: Vec<Difference> = Vec::new();
    for t in theirs {
        match by_reference.entry(t.reference.as_str()) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(t);
            }
            std::collections::hash_map::Entry::Occupied(_) => again.push(Difference {
                kind: DifferenceKind::ListedTwice,
                reference: t.reference.clone(),
                ours: None,
                theirs: Some(t.amount),
            }),
        }
    }
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let add = |total: &mut Money, amount: Money| {
        *total = total.checked_add(amount).unwrap_or(*total);
    };
    for o in ours {
        s.purchases += 1;
        add(&mut s.charged, o.amount);
        match o.status {
            PurchaseStatus::Delivered => add(&mut s.delivered, o.amount),
            PurchaseStatus::Refunded => add(&mut s.refunded, o.amount),
            PurchaseStatus::Pending => {}
        }
        let t = by_reference.get(o.reference.as_str()).copied();
        if t.is_some() {
            seen.insert(o.reference.as_str());
        }
        let kind = match (o.status, t) {
            (PurchaseStatus::Pending, _) => Some(DifferenceKind::Pending),
            (_, Some(t)) if t.amount != o.amount => Some(DifferenceKind::AmountDiffers),
            (PurchaseStatus::Delivered, None) => Some(DifferenceKind::MissingAtBiller),
            (PurchaseStatus::Delivered, Some(t)) if !t.delivered => {
                Some(DifferenceKind::FailedButCharged)
            }
            (PurchaseStatus::Refunded, Some(t)) if t.delivered => {
                Some(DifferenceKind::DeliveredButRefunded)
            }
            _ => None,
        };
        match kind {
            None => s.matched += 1,
            Some(kind) => s.differences.push(Difference {
                kind,
                reference: o.reference.clone(),
                ours: Some(o.amount),
                theirs: t.map(|t| t.amount),
            }),
        }
    }
    for t in by_reference.values().filter(|t| t.delivered) {
        s.confirmed += 1;
        add(&mut s.confirmed_amount, t.amount);
    }
    let mut unknown: Vec<&Theirs> = by_reference
        .values()
        .copied()
        .filter(|t| t.delivered && !seen.contains(t.reference.as_str()))
        .collect();
    unknown.sort_by(|a, b| a.reference.cmp(&b.reference));
    s.differences
        .extend(unknown.into_iter().map(|t| Difference {
            kind: DifferenceKind::UnknownToUs,
            reference: t.reference.clone(),
            ours: None,
            theirs: Some(t.amount),
        }));
    s.differences.extend(again);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use DifferenceKind::*;
    use PurchaseStatus::{Delivered, Refunded};

    fn ours(reference: &str, fen: i64, status: PurchaseStatus) -> Ours {
        Ours {
            reference: reference.into(),
            amount: Money::from_fen(fen),
            status,
        }
    }

    fn theirs(reference: &str, fen: i64, delivered: bool) -> Theirs {
        Theirs {
            reference: reference.into(),
            amount: Money::from_fen(fen),
            delivered,
        }
    }

    #[test]
    fn each_purchase_matches_or_is_a_difference() {
        // (ours, theirs, the difference or None when it matches)
        let cases: &[(Option<Ours>, Option<Theirs>, Option<DifferenceKind>)] = &[
            (
                Some(ours("A", 100, Delivered)),
                Some(theirs("A", 100, true)),
                None,
            ),
            (
                Some(ours("A", 100, Refunded)),
                Some(theirs("A", 100, false)),
                None,
            ),
            (Some(ours("A", 100, Refunded)), None, None),
            (Some(ours("A", 100, Delivered)), None, Some(MissingAtBiller)),
            (
                Some(ours("A", 100, Delivered)),
                Some(theirs("A", 100, false)),
                Some(FailedButCharged),
            ),
            (
                Some(ours("A", 100, Refunded)),
                Some(theirs("A", 100, true)),
                Some(DeliveredButRefunded),
            ),
            (
                Some(ours("A", 100, Delivered)),
                Some(theirs("A", 90, true)),
                Some(AmountDiffers),
            ),
            (
                Some(ours("A", 100, Refunded)),
                Some(theirs("A", 90, false)),
                Some(AmountDiffers),
            ),
            (
                Some(ours("A", 100, PurchaseStatus::Pending)),
                None,
                Some(Pending),
            ),
            (
                Some(ours("A", 100, PurchaseStatus::Pending)),
                Some(theirs("A", 100, true)),
                Some(Pending),
            ),
            (None, Some(theirs("Z", 100, true)), Some(UnknownToUs)),
            // A failed delivery we never charged moved nothing.
            (None, Some(theirs("Z", 100, false)), None),
        ];
        for (i, (o, t, want)) in cases.iter().enumerate() {
            let s = settle(
                &o.iter().cloned().collect::<Vec<_>>(),
                &t.iter().cloned().collect::<Vec<_>>(),
            );
            let got: Vec<DifferenceKind> = s.differences.iter().map(|d| d.kind).collect();
            assert_eq!(got, want.iter().copied().collect::<Vec<_>>(), "case {i}");
            assert_eq!(
                s.matched,
                i64::from(o.is_some() && want.is_none()),
                "case {i}"
            );
        }
    }

    #[test]
    fn the_day_adds_up() {
        let s = settle(
            &[
                ours("A", 3100, Delivered),
                ours("B", 620, Refunded),
                ours("C", 840, Delivered),
                ours("D", 500, PurchaseStatus::Pending),
            ],
            &[
                theirs("A", 3100, true),
                theirs("A", 9999, true),
                theirs("B", 620, false),
                theirs("C", 840, true),
                theirs("X", 1240, true),
            ],
        );
        assert_eq!(s.purchases, 4);
        assert_eq!(s.charged, Money::from_fen(5060));
        assert_eq!(s.delivered, Money::from_fen(3940));
        assert_eq!(s.refunded, Money::from_fen(620));
        assert_eq!(
            (s.confirmed, s.confirmed_amount),
            (3, Money::from_fen(5180))
        );
        assert_eq!(s.matched, 3);
        assert_eq!(
            s.differences,
            vec![
                Difference {
                    kind: Pending,
                    reference: "D".into(),
                    ours: Some(Money::from_fen(500)),
                    theirs: None
                },
                Difference {
                    kind: UnknownToUs,
                    reference: "X".into(),
                    ours: None,
                    theirs: Some(Money::from_fen(1240))
                },
                // The first record of A counts; the second is listed.
                Difference {
                    kind: ListedTwice,
                    reference: "A".into(),
                    ours: None,
                    theirs: Some(Money::from_fen(9999))
                },
            ]
        );
    }

    #[test]
    fn a_reference_listed_again_is_a_difference_each_time() {
        let s = settle(
            &[ours("A", 100, Delivered)],
            &[
                theirs("A", 100, true),
                theirs("A", 100, true),
                theirs("B", 50, false),
                theirs("B", 50, true),
            ],
        );
        // A matches once; B's first record (not delivered) counts, so nothing is unknown.
        assert_eq!((s.matched, s.confirmed), (1, 1));
        let got: Vec<(DifferenceKind, &str)> = s
            .differences
            .iter()
            .map(|d| (d.kind, d.reference.as_str()))
            .collect();
        assert_eq!(got, vec![(ListedTwice, "A"), (ListedTwice, "B")]);
    }
}
