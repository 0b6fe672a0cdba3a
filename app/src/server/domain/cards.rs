//! A holder's card: issuing a first one or a replacement at the counter, cancelling it, and
//! the lost report the holder makes and lifts. One live (active or lost) card per holder.

use super::{Broken, neg, sub};
use crate::audit_text::{AuditText, Fact};
use crate::model::{AccountStatus, CardStatus, Money};

/// The outcome of issuing or replacing a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardIssue {
    Issued {
        /// The card it replaced (now void), if any.
        replaced: Option<String>,
        balance: Money,
    },
    /// Issuing needs no live card; replacing needs one.
    HasLiveCard,
    NoLiveCard,
    /// The chip serial or card number belongs to another card.
    Taken,
    AccountClosed,
    /// The replacement fee is more than the balance.
    FeeAboveBalance,
}

/// The outcome of a card state change (a lost report, its lifting, a cancellation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardChange {
    Changed {
        card_no: String,
        from: CardStatus,
        to: CardStatus,
    },
    NoCard,
    WrongState(CardStatus),
}

/// A holder's live card as loaded (locked) by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCard {
    pub id: i64,
    pub card_no: String,
    pub status: CardStatus,
}

/// What the counter asks for.
#[derive(Debug, Clone, Copy)]
pub struct IssueAsk<'a> {
    pub card_no: &'a str,
    /// A replacement of the live card (else a first card).
    pub replace: bool,
    pub fee: Money,
}

/// What an issue writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuePlan {
    /// The live card to void (a replacement).
    pub void: Option<LiveCard>,
    /// The fee's journal entry: (amount, negative; balance after).
    pub fee_entry: Option<(Money, Money)>,
    pub fee_memo: String,
    pub balance_after: Money,
    /// The audit record's before and after.
    pub audit_before: Option<AuditText>,
    pub audit_after: AuditText,
}

impl IssuePlan {
    pub fn outcome(&self) -> CardIssue {
        CardIssue::Issued {
            replaced: self.void.as_ref().map(|c| c.card_no.clone()),
            balance: self.balance_after,
        }
    }
}

/// Issuing or replacing a card: the account open, a live card only for a replacement, the
/// number and serial free, and the fee within the balance.
pub fn decide_issue(
    ask: &IssueAsk<'_>,
    account: AccountStatus,
    balance: Money,
    live: Option<LiveCard>,
    number_taken: bool,
) -> Result<Result<IssuePlan, CardIssue>, Broken> {
    if account == AccountStatus::Closed {
        return Ok(Err(CardIssue::AccountClosed));
    }
    match (&live, ask.replace) {
        (Some(_), false) => return Ok(Err(CardIssue::HasLiveCard)),
        (None, true) => return Ok(Err(CardIssue::NoLiveCard)),
        _ => {}
    }
    if number_taken {
        return Ok(Err(CardIssue::Taken));
    }
    if ask.fee > balance {
        return Ok(Err(CardIssue::FeeAboveBalance));
    }
    let (fee_entry, balance_after, audit_after) = if ask.fee > Money::ZERO {
        let after = sub(balance, ask.fee, "fee overflow")?;
        (
            Some((neg(ask.fee, "fee overflow")?, after)),
            after,
            new_card(ask.card_no).and(Fact::Fee(ask.fee)),
        )
    } else {
        (None, balance, new_card(ask.card_no))
    };
    Ok(Ok(IssuePlan {
        audit_before: live.as_ref().map(|c| {
            AuditText::from(Fact::Card(c.card_no.clone())).and(Fact::CardStatus(c.status))
        }),
        void: live,
        fee_entry,
        fee_memo: replacement_memo(ask.card_no),
        balance_after,
        audit_after,
    }))
}

/// A card just issued, as its audit record says it.
fn new_card(card_no: &str) -> AuditText {
    AuditText::from(Fact::Card(card_no.into())).and(Fact::CardStatus(CardStatus::Active))
}

/// The memo of a replacement's fee entry, which names the new card.
pub fn replacement_memo(card_no: &str) -> String {
    format!("{REPLACEMENT_MEMO}{card_no}")
}

const REPLACEMENT_MEMO: &str = "card replacement ";

/// The new card a fee entry's memo names (for its receipt); `None` for any other memo.
pub fn replaced_by(memo: &str) -> Option<&str> {
    memo.strip_prefix(REPLACEMENT_MEMO)
        .filter(|no| !no.is_empty())
}

/// A state change of the live card and its audit texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPlan {
    pub card_id: i64,
    pub to: CardStatus,
    pub outcome: CardChange,
    pub audit_target: AuditText,
    pub audit_before: AuditText,
    pub audit_after: AuditText,
}

fn change(card: LiveCard, to: CardStatus) -> CardPlan {
    CardPlan {
        card_id: card.id,
        to,
        audit_target: Fact::Card(card.card_no.clone()).into(),
        audit_before: Fact::CardStatus(card.status).into(),
        audit_after: Fact::CardStatus(to).into(),
        outcome: CardChange::Changed {
            card_no: card.card_no,
            from: card.status,
            to,
        },
    }
}

/// The holder reports the live card lost (`lost`), or lifts the report: active → lost, or
/// lost → active, and nothing else.
pub fn decide_lost(live: Option<LiveCard>, lost: bool) -> Result<CardPlan, CardChange> {
    let card = live.ok_or(CardChange::NoCard)?;
    let (expected, to) = if lost {
        (CardStatus::Active, CardStatus::Lost)
    } else {
        (CardStatus::Lost, CardStatus::Active)
    };
    if card.status != expected {
        return Err(CardChange::WrongState(card.status));
    }
    Ok(change(card, to))
}

/// The counter cancels the live card, lost or not.
pub fn decide_cancel(live: Option<LiveCard>) -> Result<CardPlan, CardChange> {
    Ok(change(
        live.ok_or(CardChange::NoCard)?,
        CardStatus::Cancelled,
    ))
}

#[cfg(test)]
mod memo_tests {
    use super::*;

    #[test]
    fn a_fee_memo_names_the_new_card_and_gives_it_back() {
        assert_eq!(replacement_memo("31000010"), "card replacement 31000010");
        let table = [
            ("card replacement 31000010", Some("31000010")),
            ("card replacement ", None),
            ("cash receipt C1", None),
            ("", None),
        ];
        for (memo, want) in table {
            assert_eq!(replaced_by(memo), want, "{memo}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(status: CardStatus) -> Option<LiveCard> {
        Some(LiveCard {
            id: 9,
            card_no: "31000003".into(),
            status,
        })
    }

    fn y(yuan: i64) -> Money {
        Money::from_fen(yuan * 100)
    }

    #[test]
    fn issue_refusals() {
        use AccountStatus::{Active, Closed, Frozen};
        use CardStatus::Lost;
        let live = card(CardStatus::Active);
        let first = |fee| IssueAsk {
            card_no: "31000010",
            replace: false,
            fee,
        };
        let again = |fee| IssueAsk {
            card_no: "31000010",
            replace: true,
            fee,
        };
        // (case, ask, account, balance, live, taken, refused with)
        let cases = [
            (
                "closed account",
                first(Money::ZERO),
                Closed,
                y(0),
                None,
                false,
                CardIssue::AccountClosed,
            ),
            (
                "closed before live card",
                again(y(20)),
                Closed,
                y(50),
                live.clone(),
                true,
                CardIssue::AccountClosed,
            ),
            (
                "first card while one is live",
                first(Money::ZERO),
                Active,
                y(5),
                live.clone(),
                false,
                CardIssue::HasLiveCard,
            ),
            (
                "a lost card is live too",
                first(Money::ZERO),
                Active,
                y(5),
                card(Lost),
                false,
                CardIssue::HasLiveCard,
            ),
            (
                "replacing nothing",
                again(y(20)),
                Active,
                y(50),
                None,
                false,
                CardIssue::NoLiveCard,
            ),
            (
                "number taken",
                again(y(20)),
                Frozen,
                y(50),
                card(Lost),
                true,
                CardIssue::Taken,
            ),
            (
                "fee above balance",
                again(y(20)),
                Active,
                y(19),
                card(Lost),
                false,
                CardIssue::FeeAboveBalance,
            ),
        ];
        for (case, ask, account, balance, live, taken, want) in cases {
            assert_eq!(
                decide_issue(&ask, account, balance, live, taken).unwrap(),
                Err(want),
                "{case}"
            );
        }
    }

    #[test]
    fn a_replacement_voids_the_old_card_and_charges_the_fee() {
        let ask = IssueAsk {
            card_no: "31000010",
            replace: true,
            fee: y(20),
        };
        let plan = decide_issue(
            &ask,
            AccountStatus::Frozen,
            y(20),
            card(CardStatus::Lost),
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(plan.void, card(CardStatus::Lost));
        assert_eq!(plan.fee_entry, Some((y(-20), y(0))));
        assert_eq!(plan.balance_after, y(0));
        assert_eq!(plan.fee_memo, "card replacement 31000010");
        assert_eq!(
            plan.audit_before.as_ref().map(|t| t.text(true)).as_deref(),
            Some("card 31000003; lost")
        );
        assert_eq!(
            plan.audit_after.text(true),
            "card 31000010; active; fee ¥20.00"
        );
        assert_eq!(
            plan.outcome(),
            CardIssue::Issued {
                replaced: Some("31000003".into()),
                balance: y(0)
            }
        );
    }

    #[test]
    fn a_first_card_without_fee_writes_no_entry() {
        let ask = IssueAsk {
            card_no: "31000010",
            replace: false,
            fee: Money::ZERO,
        };
        let plan = decide_issue(&ask, AccountStatus::Active, y(3), None, false)
            .unwrap()
            .unwrap();
        assert_eq!(plan.void, None);
        assert_eq!(plan.fee_entry, None);
        assert_eq!(plan.audit_before, None);
        assert_eq!(plan.audit_after.text(true), "card 31000010; active");
        assert_eq!(
            plan.outcome(),
            CardIssue::Issued {
                replaced: None,
                balance: y(3)
            }
        );
    }

    #[test]
    fn lost_reports_and_lifts() {
        use CardStatus::*;
        let cases = [
            (
                "report an active card",
                card(Active),
                true,
                Ok((Active, Lost)),
            ),
            ("lift a report", card(Lost), false, Ok((Lost, Active))),
            (
                "report twice",
                card(Lost),
                true,
                Err(CardChange::WrongState(Lost)),
            ),
            (
                "lift an active card",
                card(Active),
                false,
                Err(CardChange::WrongState(Active)),
            ),
            ("no card", None, true, Err(CardChange::NoCard)),
            ("no card to lift", None, false, Err(CardChange::NoCard)),
        ];
        for (case, live, lost, want) in cases {
            let got = decide_lost(live, lost).map(|p| match p.outcome {
                CardChange::Changed { from, to, .. } => (from, to),
                other => panic!("{case}: {other:?}"),
            });
            assert_eq!(got, want, "{case}");
        }
        let plan = decide_lost(card(Active), true).unwrap();
        assert_eq!(
            (
                plan.card_id,
                plan.audit_target.text(true),
                plan.audit_before.text(false),
                plan.audit_after.text(false)
            ),
            (9, "card 31000003".into(), "正常".into(), "已挂失".into())
        );
    }

    #[test]
    fn cancelling_takes_any_live_card() {
        for status in [CardStatus::Active, CardStatus::Lost] {
            let plan = decide_cancel(card(status)).unwrap();
            assert_eq!(plan.to, CardStatus::Cancelled);
            assert_eq!(plan.audit_before, Fact::CardStatus(status).into());
            assert_eq!(plan.audit_after.text(true), "cancelled");
        }
        assert_eq!(decide_cancel(None), Err(CardChange::NoCard));
    }
}
