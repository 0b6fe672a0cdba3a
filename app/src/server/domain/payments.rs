//! Money moving through a till or coming in: the debit of a sale, the refund of one, a credit
//! (top-up, cash at the counter). Each store loads the account under its write lock and asks
//! here; the checks in `ledger::pay` ran earlier on a snapshot, these are the ones that count.

use super::{Broken, add, neg, sub};
use crate::model::{AccountStatus, Decline, EntryKind, Money};
use chrono::{DateTime, Utc};

/// What counts towards the daily limits of what was paid today: never less than nothing. The
/// stores count payments and purchases less the refunds of today's ones (`spent_sum!`); a
/// refund made today of an earlier day's sale gives the money back but does not raise today's
/// allowance. This guard keeps that true of any total a store might load.
pub fn spent_for_limits(spent_today: Money) -> Money {
    spent_today.max(Money::ZERO)
}

/// The sale a till asks for.
#[derive(Debug, Clone, Copy)]
pub struct DebitAsk {
    pub amount: Money,
    /// The consumption password was checked for this payment.
    pub password_ok: bool,
    /// The campus's own ceilings, above every holder's limits.
    pub campus_max_single: Money,
    pub campus_max_daily: Money,
    /// Paid with a code a remembered phone made offline: without the consumption password it
    /// pays at most this much (the campus's offline amount).
    pub offline_max: Option<Money>,
}

/// The most a single sale may take without the consumption password: the holder's own single
/// limit, and no more than the campus's offline amount for a code a phone made offline (a
/// copied phone secret is worth little without the password).
pub fn single_without_password(single_limit: Money, offline_max: Option<Money>) -> Money {
    match offline_max {
        Some(cap) => single_limit.min(cap),
        None => single_limit,
    }
}

/// The account as it is under the write lock.
#[derive(Debug, Clone, Copy)]
pub struct AccountNow {
    pub status: AccountStatus,
    pub balance: Money,
    pub single_limit: Money,
    pub daily_limit: Money,
    /// Paid today (payments less till refunds) before this debit.
    pub spent_today: Money,
}

/// What an approved debit writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebitPlan {
    /// The journal entry's amount (negative).
    pub entry: Money,
    pub balance_after: Money,
    /// Today's running total after this sale.
    pub spent_after: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebitVerdict {
    Approve(DebitPlan),
    Decline(Decline),
}

/// Where a sale stands against the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitCheck {
    Within,
    /// Over the holder's own single or daily limit: the consumption password lifts them.
    NeedsPassword,
    /// Over the campus's ceiling: nothing lifts it.
    OverCeiling,
}

/// The limits on a sale of `amount` by a holder who paid `spent_today` so far: the campus
/// ceilings first, then the holder's own limits. The till's early check (`ledger::pay`) and
/// the decision under the write lock both ask here.
pub fn check_limits(
    amount: Money,
    spent_today: Money,
    single_limit: Money,
    daily_limit: Money,
    campus_max_single: Money,
    campus_max_daily: Money,
) -> Result<LimitCheck, Broken> {
    // A total beyond what an i64 of fen holds is beyond every ceiling: a clean decline, not
    // an arithmetic failure (a hostile till can send any amount).
    let Some(after_today) = spent_for_limits(spent_today).checked_add(amount) else {
        return Ok(LimitCheck::OverCeiling);
    };
    Ok(
        if amount > campus_max_single || after_today > campus_max_daily {
            LimitCheck::OverCeiling
        } else if amount > single_limit || after_today > daily_limit {
            LimitCheck::NeedsPassword
        } else {
            LimitCheck::Within
        },
    )
}

/// The decision on a sale: approve it with what to write, or the reason to decline.
pub fn decide_debit(ask: &DebitAsk, account: &AccountNow) -> Result<DebitVerdict, Broken> {
    let limits = check_limits(
        ask.amount,
        account.spent_today,
        single_without_password(account.single_limit, ask.offline_max),
        account.daily_limit,
        ask.campus_max_single,
        ask.campus_max_daily,
    )?;
    let decline = if account.status == AccountStatus::Frozen {
        Some(Decline::AccountFrozen)
    } else if account.status == AccountStatus::Closed {
        Some(Decline::AccountClosed)
    } else if limits == LimitCheck::OverCeiling {
        Some(Decline::LimitExceeded)
    } else if limits == LimitCheck::NeedsPassword && !ask.password_ok {
        Some(Decline::PasswordRequired)
    } else if ask.amount > account.balance {
        Some(Decline::InsufficientBalance)
    } else {
        None
    };
    Ok(match decline {
        Some(reason) => DebitVerdict::Decline(reason),
        None => DebitVerdict::Approve(DebitPlan {
            entry: neg(ask.amount, "amount overflow")?,
            balance_after: sub(account.balance, ask.amount, "balance overflow")?,
            spent_after: add(account.spent_today, ask.amount, "daily total overflow")?,
        }),
    })
}

/// A declined sale that is remembered under its request id (a replay gets the same answer).
/// "Password required" is not: the sale comes again, with the password.
pub fn remember_decline(reason: Decline) -> bool {
    reason != Decline::PasswordRequired
}

/// The payment a till asks to refund, as the journal has it.
#[derive(Debug, Clone, Copy)]
pub struct PaymentSeen {
    pub kind: EntryKind,
    pub merchant_id: Option<i64>,
    pub paid_at: DateTime<Utc>,
    /// As stored: negative.
    pub amount: Money,
}

/// The refund asked for, and what the store read under the account lock.
#[derive(Debug, Clone, Copy)]
pub struct RefundAsk {
    /// The till's merchant.
    pub merchant_id: Option<i64>,
    /// Payments before this are too old to refund at the till.
    pub window_start: DateTime<Utc>,
    pub already_reversed: bool,
    pub account_status: AccountStatus,
    pub balance: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundPlan {
    /// The journal entry's amount (positive: the money goes back).
    pub entry: Money,
    pub balance_after: Money,
}

/// A refund at the till: only of this merchant's own payment, once, inside the window, to an
/// account still open.
pub fn decide_refund(
    payment: Option<&PaymentSeen>,
    ask: &RefundAsk,
) -> Result<Result<RefundPlan, Decline>, Broken> {
    let Some(p) = payment else {
        return Ok(Err(Decline::NoSuchPayment));
    };
    Ok(
        if p.kind != EntryKind::Payment
            || p.merchant_id.is_none()
            || p.merchant_id != ask.merchant_id
        {
            Err(Decline::NoSuchPayment)
        } else if ask.already_reversed {
            Err(Decline::AlreadyRefunded)
        } else if p.paid_at < ask.window_start {
            Err(Decline::RefundWindowPassed)
        } else if ask.account_status == AccountStatus::Closed {
            Err(Decline::AccountClosed)
        } else {
            let entry = neg(p.amount, "amount overflow")?;
            Ok(RefundPlan {
                entry,
                balance_after: add(ask.balance, entry, "balance overflow")?,
            })
        },
    )
}

/// Why a credit is not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditRefused {
    /// The reference was credited before (its journal id): nothing changes.
    AlreadyCredited(i64),
    AccountClosed,
}

/// A credit (top-up, counter cash, correction credit): once per reference, never to a closed
/// account. Returns the balance after it.
pub fn decide_credit(
    amount: Money,
    status: AccountStatus,
    balance: Money,
    earlier: Option<i64>,
) -> Result<Result<Money, CreditRefused>, Broken> {
    if amount <= Money::ZERO {
        // The services never ask for one; a zero or negative credit is a bug, not a refusal.
        return Err(Broken("a credit must be positive"));
    }
    Ok(if let Some(journal_id) = earlier {
        Err(CreditRefused::AlreadyCredited(journal_id))
    } else if status == AccountStatus::Closed {
        Err(CreditRefused::AccountClosed)
    } else {
        Ok(add(balance, amount, "balance overflow")?)
    })
}

/// How much cash one operator may take in top-ups in one campus day. Above it, another
/// operator (or tomorrow) takes the money: one person alone cannot put an unbounded amount of
/// unbacked credit on cards.
pub const OPERATOR_DAILY_CASH_CAP: Money = Money::yuan(20_000);

/// The journal memo of a cash top-up.
pub fn cash_memo(receipt_no: &str) -> String {
    format!("cash receipt {receipt_no}")
}

/// Whether a cash top-up needs a second staff member: when it takes what the holder got in
/// cash today (`today`) above the campus's threshold, so that splitting a large sum into
/// smaller top-ups does not avoid the second person.
pub fn cash_needs_second_person(amount: Money, today: Money, approval_above: Money) -> bool {
    amount
        .checked_add(today)
        .is_none_or(|total| total > approval_above)
}

/// Whether a cash top-up of `amount` keeps an operator who took `taken` today within `cap`.
/// A sum beyond an i64 of fen is beyond every cap.
pub fn within_cash_cap(taken: Money, amount: Money, cap: Money) -> bool {
    taken.checked_add(amount).is_some_and(|total| total <= cap)
}

/// Whether new limits raise either of the holder's own limits. Lowering is free; raising
/// takes the query password (SPEC: holders may lower their limits themselves; raising them
/// back is a decision the card's owner confirms).
pub fn raises_limits(
    old_single: Money,
    old_daily: Money,
    new_single: Money,
    new_daily: Money,
) -> bool {
    new_single > old_single || new_daily > old_daily
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn y(yuan: i64) -> Money {
        Money::from_fen(yuan * 100)
    }

    fn ask(amount: i64, password_ok: bool) -> DebitAsk {
        DebitAsk {
            amount: y(amount),
            password_ok,
            campus_max_single: y(500),
            campus_max_daily: y(1000),
            offline_max: None,
        }
    }

    fn offline(amount: i64, password_ok: bool, cap: i64) -> DebitAsk {
        DebitAsk {
            offline_max: Some(y(cap)),
            ..ask(amount, password_ok)
        }
    }

    fn account(status: AccountStatus, balance: i64, spent: i64) -> AccountNow {
        AccountNow {
            status,
            balance: y(balance),
            single_limit: y(50),
            daily_limit: y(100),
            spent_today: y(spent),
        }
    }

    #[test]
    fn debit_decisions() {
        use AccountStatus::*;
        use Decline::*;
        // (case, ask, account, declined with)
        let cases = [
            (
                "frozen first",
                ask(10, true),
                account(Frozen, 100, 0),
                Some(AccountFrozen),
            ),
            (
                "closed",
                ask(10, true),
                account(Closed, 100, 0),
                Some(AccountClosed),
            ),
            (
                "campus single ceiling",
                ask(501, true),
                account(Active, 900, 0),
                Some(LimitExceeded),
            ),
            (
                "campus daily ceiling",
                ask(20, true),
                account(Active, 900, 990),
                Some(LimitExceeded),
            ),
            (
                "over own single limit",
                ask(51, false),
                account(Active, 900, 0),
                Some(PasswordRequired),
            ),
            (
                "over own daily limit",
                ask(20, false),
                account(Active, 900, 90),
                Some(PasswordRequired),
            ),
            (
                "password lifts own limits",
                ask(51, true),
                account(Active, 900, 0),
                None,
            ),
            (
                "offline code within the offline amount",
                offline(30, false, 30),
                account(Active, 900, 0),
                None,
            ),
            (
                "offline code above the offline amount",
                offline(31, false, 30),
                account(Active, 900, 0),
                Some(PasswordRequired),
            ),
            (
                "offline code above the offline amount, with the password",
                offline(31, true, 30),
                account(Active, 900, 0),
                None,
            ),
            (
                "offline amount above the holder's own limit: the own limit holds",
                offline(51, false, 80),
                account(Active, 900, 0),
                Some(PasswordRequired),
            ),
            (
                "offline code still counts towards the daily limit",
                offline(20, false, 30),
                account(Active, 900, 90),
                Some(PasswordRequired),
            ),
            (
                "balance short",
                ask(30, false),
                account(Active, 29, 0),
                Some(InsufficientBalance),
            ),
            (
                "an amount whose daily total overflows is over the ceiling",
                DebitAsk {
                    amount: Money::from_fen(i64::MAX),
                    ..ask(0, true)
                },
                account(Active, 900, 10),
                Some(LimitExceeded),
            ),
            (
                "exact balance",
                ask(30, false),
                account(Active, 30, 0),
                None,
            ),
            (
                "at the daily limit",
                ask(10, false),
                account(Active, 900, 90),
                None,
            ),
            // A total below nothing (the stores never load one) does not raise today's
            // allowance.
            (
                "negative spent counts as zero",
                ask(51, false),
                account(Active, 900, -40),
                Some(PasswordRequired),
            ),
        ];
        for (case, ask, account, want) in cases {
            let got = decide_debit(&ask, &account).unwrap();
            match (got, want) {
                (DebitVerdict::Decline(reason), Some(w)) => assert_eq!(reason, w, "{case}"),
                (DebitVerdict::Approve(_), None) => {}
                (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn an_approved_debit_plans_entry_balance_and_running_total() {
        let got = decide_debit(&ask(12, false), &account(AccountStatus::Active, 100, 30)).unwrap();
        assert_eq!(
            got,
            DebitVerdict::Approve(DebitPlan {
                entry: y(-12),
                balance_after: y(88),
                spent_after: y(42),
            })
        );
        let near_max = AccountNow {
            spent_today: Money::from_fen(i64::MAX),
            ..account(AccountStatus::Active, 100, 0)
        };
        // A running total that cannot grow is over every ceiling: declined, never wrapped.
        assert_eq!(
            decide_debit(&ask(1, true), &near_max),
            Ok(DebitVerdict::Decline(Decline::LimitExceeded))
        );
    }

    #[test]
    fn only_password_required_is_not_remembered() {
        for reason in Decline::ALL {
            assert_eq!(
                remember_decline(*reason),
                *reason != Decline::PasswordRequired
            );
        }
    }

    #[test]
    fn refund_decisions() {
        let t = |h| Utc.with_ymd_and_hms(2026, 10, 14, h, 0, 0).unwrap();
        let payment = PaymentSeen {
            kind: EntryKind::Payment,
            merchant_id: Some(7),
            paid_at: t(3),
            amount: y(-12),
        };
        let base = RefundAsk {
            merchant_id: Some(7),
            window_start: t(2),
            already_reversed: false,
            account_status: AccountStatus::Active,
            balance: y(10),
        };
        let cases = [
            (
                "refunds",
                Some(payment),
                base,
                Ok(RefundPlan {
                    entry: y(12),
                    balance_after: y(22),
                }),
            ),
            (
                "frozen may be refunded",
                Some(payment),
                RefundAsk {
                    account_status: AccountStatus::Frozen,
                    ..base
                },
                Ok(RefundPlan {
                    entry: y(12),
                    balance_after: y(22),
                }),
            ),
            ("no such entry", None, base, Err(Decline::NoSuchPayment)),
            (
                "not a payment",
                Some(PaymentSeen {
                    kind: EntryKind::Topup,
                    ..payment
                }),
                base,
                Err(Decline::NoSuchPayment),
            ),
            (
                "another merchant's",
                Some(payment),
                RefundAsk {
                    merchant_id: Some(8),
                    ..base
                },
                Err(Decline::NoSuchPayment),
            ),
            (
                "refunded before",
                Some(payment),
                RefundAsk {
                    already_reversed: true,
                    ..base
                },
                Err(Decline::AlreadyRefunded),
            ),
            (
                "too old",
                Some(payment),
                RefundAsk {
                    window_start: t(4),
                    ..base
                },
                Err(Decline::RefundWindowPassed),
            ),
            (
                "closed account",
                Some(payment),
                RefundAsk {
                    account_status: AccountStatus::Closed,
                    ..base
                },
                Err(Decline::AccountClosed),
            ),
        ];
        for (case, payment, ask, want) in cases {
            assert_eq!(
                decide_refund(payment.as_ref(), &ask).unwrap(),
                want,
                "{case}"
            );
        }
        let no_merchant = PaymentSeen {
            merchant_id: None,
            ..payment
        };
        let ask_none = RefundAsk {
            merchant_id: None,
            ..base
        };
        assert_eq!(
            decide_refund(Some(&no_merchant), &ask_none).unwrap(),
            Err(Decline::NoSuchPayment)
        );
    }

    #[test]
    fn credit_decisions() {
        use AccountStatus::*;
        let cases = [
            ("credits", y(5), Active, None, Ok(y(15))),
            (
                "frozen accounts take top-ups",
                y(5),
                Frozen,
                None,
                Ok(y(15)),
            ),
            (
                "closed",
                y(5),
                Closed,
                None,
                Err(CreditRefused::AccountClosed),
            ),
            (
                "reference seen before, even when closed since",
                y(5),
                Closed,
                Some(42),
                Err(CreditRefused::AlreadyCredited(42)),
            ),
        ];
        for (case, amount, status, earlier, want) in cases {
            assert_eq!(
                decide_credit(amount, status, y(10), earlier).unwrap(),
                want,
                "{case}"
            );
        }
        assert!(decide_credit(Money::ZERO, Active, y(10), None).is_err());
        assert!(decide_credit(y(-1), Active, y(10), None).is_err());
    }

    #[test]
    fn raising_either_limit_is_a_raise() {
        for (case, new_single, new_daily, raise) in [
            ("the same", 50, 100, false),
            ("both lower", 30, 80, false),
            ("single higher", 60, 100, true),
            ("daily higher", 50, 120, true),
            ("one up, one down", 60, 80, true),
        ] {
            assert_eq!(
                raises_limits(y(50), y(100), y(new_single), y(new_daily)),
                raise,
                "{case}"
            );
        }
    }

    #[test]
    fn large_cash_top_ups_take_two_people() {
        let y = Money::yuan;
        // (amount, already today, threshold, two people)
        for (amount, today, above, two) in [
            (y(999), y(0), y(1000), false),
            (y(1000), y(0), y(1000), false),
            (Money::from_fen(100_001), y(0), y(1000), true),
            (y(2000), y(0), y(1000), true),
            (y(1), y(0), Money::ZERO, true),
            // Split: the second half takes the day over the threshold.
            (y(600), y(500), y(1000), true),
            (y(500), y(500), y(1000), false),
            (y(1), Money::from_fen(i64::MAX), y(1000), true),
        ] {
            assert_eq!(
                cash_needs_second_person(amount, today, above),
                two,
                "{amount:?} {today:?} {above:?}"
            );
        }
    }

    #[test]
    fn an_operator_takes_cash_up_to_the_daily_cap() {
        for (case, taken, amount, within) in [
            ("first of the day", 0, 2000, true),
            ("up to the cap exactly", 18_000, 2000, true),
            ("one fen over", 18_000, 2001, false),
            ("already at the cap", 20_000, 1, false),
        ] {
            assert_eq!(
                within_cash_cap(y(taken), y(amount), OPERATOR_DAILY_CASH_CAP),
                within,
                "{case}"
            );
        }
        assert!(!within_cash_cap(
            Money::from_fen(i64::MAX),
            y(1),
            OPERATOR_DAILY_CASH_CAP
        ));
    }
}
