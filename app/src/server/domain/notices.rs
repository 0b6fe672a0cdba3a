//! Which events make a notice in the cardholder's inbox, and what the holder may choose.
//!
//! A notice is written by the store in the same transaction as its event, so it exists exactly
//! when the event committed. The store loads the holder's choices (`NoticePrefs`, the defaults
//! when none were saved), asks here, and inserts what comes back:
//! - a payment at a till: `after_payment` (above the holder's amount, and the balance crossing
//!   below the holder's threshold);
//! - a top-up credited: `after_credit`;
//! - anything with an audit record about the holder (a lost report, a password changed, a bill
//!   issued, a purchase refunded): `of_audit`, then `wanted`.
//!
//! Security notices (`NoticeKind::security`) are always made.
//!
//! Notices and their e-mails are kept a year and a day, then deleted (`kept_since`): the holder's
//! account of every movement is the journal, kept for good; a notice only told of it, and an
//! e-mail copy holds an address. One whose e-mail is still being tried is kept until it is
//! sent or given up.

use crate::model::{AuditAction, EntryKind, Money, NoticeKind};
use crate::notice_model::{ChannelChoices, NoticePrefs};
use crate::portal_model::Problem;

/// The most notices (and e-mails) deleted in one turn, so that a first run over years of them
/// holds no lock for long.
pub const PRUNE_BATCH: i64 = 5_000;

/// Notices and e-mails written before this moment are deleted at `now`: they are kept a year
/// and a day on the calendar, so that last year's notice of the same day is still there.
pub fn kept_since(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    now.checked_sub_months(chrono::Months::new(12))
        .unwrap_or(now - chrono::Duration::days(366))
        - chrono::Duration::days(1)
}

/// A notice to insert for the holder the event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewNotice {
    pub kind: NoticeKind,
    pub amount: Option<Money>,
    pub balance: Option<Money>,
    pub merchant_id: Option<i64>,
}

impl NewNotice {
    pub fn plain(kind: NoticeKind) -> Self {
        Self {
            kind,
            amount: None,
            balance: None,
            merchant_id: None,
        }
    }
}

/// The highest threshold a holder may set (for a payment or a low balance).
pub const MAX_THRESHOLD: Money = Money::yuan(2_000);

/// The notices of an approved payment of `amount` at `merchant_id` that took the balance from
/// `before` to `after`: the payment, if it is above the holder's amount; the low balance, if
/// this payment took it below the holder's threshold (once, when it crosses: the next payment
/// below it says nothing more until a top-up lifts it again).
pub fn after_payment(
    prefs: &NoticePrefs,
    amount: Money,
    before: Money,
    after: Money,
    merchant_id: Option<i64>,
) -> Vec<NewNotice> {
    let mut out = Vec::new();
    if prefs.payment_above.is_some_and(|above| amount > above) {
        out.push(NewNotice {
            kind: NoticeKind::Payment,
            amount: Some(amount),
            balance: Some(after),
            merchant_id,
        });
    }
    out.extend(low_balance(prefs, before, after));
    out
}

/// The low-balance notice of any debit (a till payment, a bill paid, a 缴费 purchase) that
/// took the balance from `before` to `after`: when it crosses below the holder's threshold
/// (once: the next debit below it says nothing more until a credit lifts it again).
pub fn low_balance(prefs: &NoticePrefs, before: Money, after: Money) -> Option<NewNotice> {
    let below = prefs.low_balance_below?;
    (before >= below && after < below).then_some(NewNotice {
        kind: NoticeKind::LowBalance,
        amount: Some(below),
        balance: Some(after),
        merchant_id: None,
    })
}

/// The notice of money credited: a top-up (online, cash at the counter, automatic), if the
/// holder wants those. Other credits (a refund, a correction) come with their own records.
pub fn after_credit(
    prefs: &NoticePrefs,
    kind: EntryKind,
    amount: Money,
    balance: Money,
) -> Option<NewNotice> {
    (kind == EntryKind::Topup && prefs.topups).then_some(NewNotice {
        kind: NoticeKind::Topup,
        amount: Some(amount),
        balance: Some(balance),
        merchant_id: None,
    })
}

/// The notice an audited action makes for the holder it is about, if any.
pub fn of_audit(action: AuditAction) -> Option<NoticeKind> {
    use AuditAction as A;
    Some(match action {
        A::CardReportLost => NoticeKind::CardLost,
        A::CardLiftLost => NoticeKind::CardLifted,
        A::CardFound => NoticeKind::CardFound,
        A::CardReplace => NoticeKind::CardReplaced,
        A::HolderChangeQueryPassword
        | A::HolderChangeConsumptionPassword
        | A::PasswordResetQuery
        | A::PasswordResetConsumption => NoticeKind::PasswordChanged,
        A::HolderPhoneBound => NoticeKind::PhoneBound,
        A::AccountFreeze => NoticeKind::AccountFrozen,
        A::AccountUnfreeze => NoticeKind::AccountUnfrozen,
        A::BillIssue => NoticeKind::BillIssued,
        A::UtilityRefund => NoticeKind::PurchaseRefunded,
        A::TopupAutoFailed => NoticeKind::AutoTopupFailed,
        _ => return None,
    })
}

/// Whether the holder gets a notice of this kind (the thresholds of payments and low balances
/// are `after_payment`'s).
pub fn wanted(kind: NoticeKind, prefs: &NoticePrefs) -> bool {
    match kind {
        _ if kind.security() => true,
        NoticeKind::Payment => prefs.payment_above.is_some(),
        NoticeKind::LowBalance => prefs.low_balance_below.is_some(),
        NoticeKind::Topup | NoticeKind::AutoTopupFailed => prefs.topups,
        NoticeKind::BillIssued => prefs.bills,
        NoticeKind::PurchaseRefunded => prefs.utilities,
        _ => true,
    }
}

/// A way a notice reaches the holder beside the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// To their confirmed address.
    Email,
    /// To their subscribed browsers (Web Push).
    Push,
}

impl Channel {
    /// As stored with a delivery.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Push => "push",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        [Channel::Email, Channel::Push]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// Whether a notice the holder has in the inbox also goes by `channel`: a security notice
/// always, the others as the holder chose for that channel.
pub fn by_channel(kind: NoticeKind, prefs: &NoticePrefs, channel: Channel) -> bool {
    let e = match channel {
        Channel::Email => &prefs.email,
        Channel::Push => &prefs.push,
    };
    match kind {
        _ if kind.security() => true,
        NoticeKind::Payment => e.payments,
        NoticeKind::LowBalance => e.low_balance,
        NoticeKind::Topup | NoticeKind::AutoTopupFailed => e.topups,
        NoticeKind::BillIssued => e.bills,
        NoticeKind::PurchaseRefunded => e.utilities,
        _ => true,
    }
}

/// The preferences form as sent: `payments` is `every`, `above` or `none`; `email` and `push`
/// the boxes ticked for e-mail and for push.
#[derive(Debug, Clone, Default)]
pub struct PrefsForm<'a> {
    pub payments: &'a str,
    pub payment_above: &'a str,
    pub low_balance: bool,
    pub low_balance_below: &'a str,
    pub topups: bool,
    pub bills: bool,
    pub utilities: bool,
    pub email: ChannelChoices,
    pub push: ChannelChoices,
}

/// Reads the preferences form: an amount above which payments are told (¥0.01 up to
/// `MAX_THRESHOLD`), and a low-balance threshold in the same range.
pub fn read_prefs(form: &PrefsForm<'_>) -> Result<NoticePrefs, Problem> {
    let refused = Problem::NoticeAmount { max: MAX_THRESHOLD };
    let amount = |text: &str| -> Result<Money, Problem> {
        match Money::parse_yuan(text) {
            Ok(m) if m > Money::ZERO && m <= MAX_THRESHOLD => Ok(m),
            _ => Err(refused.clone()),
        }
    };
    let payment_above = match form.payments {
        "every" => Some(Money::ZERO),
        "above" => Some(amount(form.payment_above)?),
        "none" => None,
        _ => return Err(refused),
    };
    let low_balance_below = if form.low_balance {
        Some(amount(form.low_balance_below)?)
    } else {
        None
    };
    Ok(NoticePrefs {
        payment_above,
        low_balance_below,
        topups: form.topups,
        bills: form.bills,
        utilities: form.utilities,
        email: form.email,
        push: form.push,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_kept_a_year_and_a_day() {
        let at = |text: &str| {
            chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&chrono::Utc))
                .expect("time")
        };
        let cases = [
            ("2026-12-07T02:00:00Z", "2025-12-06T02:00:00Z"),
            // Across a leap day: a year and a day back on the calendar.
            ("2028-03-01T00:00:00Z", "2027-02-28T00:00:00Z"),
            ("2028-02-29T09:30:00Z", "2027-02-27T09:30:00Z"),
            ("2029-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
        ];
        for (now, since) in cases {
            assert_eq!(kept_since(at(now)), at(since), "{now}");
        }
    }

    fn y(yuan: i64) -> Money {
        Money::yuan(yuan)
    }

    fn prefs(payment_above: Option<i64>, low: Option<i64>) -> NoticePrefs {
        NoticePrefs {
            payment_above: payment_above.map(y),
            low_balance_below: low.map(y),
            ..NoticePrefs::default()
        }
    }

    #[test]
    fn a_payment_tells_what_the_holder_asked_for() {
        use NoticeKind::{LowBalance, Payment};
        // (prefs, amount, balance before, the kinds of notice)
        let cases: &[(&str, NoticePrefs, i64, i64, &[NoticeKind])] = &[
            (
                "the defaults: every payment",
                NoticePrefs::default(),
                5,
                100,
                &[Payment],
            ),
            (
                "above 50: 50 is not above",
                prefs(Some(50), None),
                50,
                100,
                &[],
            ),
            (
                "above 50: 51 is",
                prefs(Some(50), None),
                51,
                100,
                &[Payment],
            ),
            ("no payment notices", prefs(None, None), 500, 1000, &[]),
            (
                "crossing below 20",
                prefs(None, Some(20)),
                10,
                25,
                &[LowBalance],
            ),
            (
                "landing exactly on 20 is not below",
                prefs(None, Some(20)),
                5,
                25,
                &[],
            ),
            (
                "already below: said once",
                prefs(None, Some(20)),
                5,
                19,
                &[],
            ),
            (
                "from exactly 20 to below",
                prefs(None, Some(20)),
                1,
                20,
                &[LowBalance],
            ),
            (
                "both",
                prefs(Some(0), Some(20)),
                30,
                40,
                &[Payment, LowBalance],
            ),
        ];
        for (case, prefs, amount, before, want) in cases {
            let got: Vec<NoticeKind> =
                after_payment(prefs, y(*amount), y(*before), y(before - amount), Some(7))
                    .iter()
                    .map(|n| n.kind)
                    .collect();
            assert_eq!(&got, want, "{case}");
        }
        let paid = after_payment(&NoticePrefs::default(), y(12), y(100), y(88), Some(7));
        assert_eq!(
            paid,
            vec![NewNotice {
                kind: Payment,
                amount: Some(y(12)),
                balance: Some(y(88)),
                merchant_id: Some(7),
            }]
        );
    }

    #[test]
    fn any_debit_crossing_the_threshold_is_told_once() {
        // (threshold, before, after, told)
        let cases = [
            (Some(20), 25, 19, true),
            (Some(20), 20, 0, true),
            (Some(20), 25, 20, false),
            (Some(20), 19, 10, false),
            (Some(20), 10, 30, false),
            (None, 25, 5, false),
        ];
        for (below, before, after, told) in cases {
            let got = low_balance(&prefs(None, below), y(before), y(after));
            assert_eq!(got.is_some(), told, "{below:?} {before} → {after}");
            if let Some(n) = got {
                assert_eq!(
                    (n.kind, n.amount, n.balance),
                    (NoticeKind::LowBalance, below.map(y), Some(y(after)))
                );
            }
        }
    }

    #[test]
    fn top_ups_are_told_when_wanted_and_other_credits_not() {
        let off = NoticePrefs {
            topups: false,
            ..NoticePrefs::default()
        };
        let on = NoticePrefs::default();
        assert_eq!(
            after_credit(&on, EntryKind::Topup, y(50), y(80)).map(|n| (n.kind, n.amount)),
            Some((NoticeKind::Topup, Some(y(50))))
        );
        assert_eq!(after_credit(&off, EntryKind::Topup, y(50), y(80)), None);
        assert_eq!(after_credit(&on, EntryKind::Refund, y(50), y(80)), None);
        assert_eq!(after_credit(&on, EntryKind::Correction, y(50), y(80)), None);
    }

    #[test]
    fn security_notices_cannot_be_switched_off() {
        let nothing = NoticePrefs {
            payment_above: None,
            low_balance_below: None,
            topups: false,
            bills: false,
            utilities: false,
            email: NONE,
            push: NONE,
        };
        for action in AuditAction::ALL {
            let Some(kind) = of_audit(*action) else {
                continue;
            };
            assert_eq!(wanted(kind, &nothing), kind.security(), "{action:?}");
            for channel in [Channel::Email, Channel::Push] {
                let default = NoticePrefs::default();
                assert_eq!(
                    by_channel(kind, &nothing, channel),
                    kind.security(),
                    "{action:?}"
                );
                assert!(by_channel(kind, &default, channel), "{action:?}");
            }
            assert!(wanted(kind, &NoticePrefs::default()), "{action:?}");
        }
        assert_eq!(
            of_audit(AuditAction::CardReportLost),
            Some(NoticeKind::CardLost)
        );
        assert_eq!(
            of_audit(AuditAction::PasswordResetQuery),
            Some(NoticeKind::PasswordChanged)
        );
        assert_eq!(of_audit(AuditAction::StaffCreate), None);
        assert_eq!(of_audit(AuditAction::UtilityPurchase), None);
    }

    const NONE: ChannelChoices = ChannelChoices {
        payments: false,
        low_balance: false,
        topups: false,
        bills: false,
        utilities: false,
    };

    #[test]
    fn each_event_goes_by_each_channel_as_chosen_for_it() {
        use NoticeKind::*;
        // The one choice ticked for e-mail; push the opposite, to show the two are apart.
        let only = |pick: fn(&mut ChannelChoices)| {
            let mut email = NONE;
            pick(&mut email);
            let push = ChannelChoices {
                payments: !email.payments,
                low_balance: !email.low_balance,
                topups: !email.topups,
                bills: !email.bills,
                utilities: !email.utilities,
            };
            NoticePrefs {
                email,
                push,
                ..NoticePrefs::default()
            }
        };
        // (the one choice ticked, the kinds it sends by e-mail beside the security ones)
        type Pick = fn(&mut ChannelChoices);
        let cases: [(Pick, &[NoticeKind]); 5] = [
            (|e| e.payments = true, &[Payment]),
            (|e| e.low_balance = true, &[LowBalance]),
            (|e| e.topups = true, &[Topup, AutoTopupFailed]),
            (|e| e.bills = true, &[BillIssued]),
            (|e| e.utilities = true, &[PurchaseRefunded]),
        ];
        let kinds = [
            Payment,
            LowBalance,
            Topup,
            AutoTopupFailed,
            BillIssued,
            PurchaseRefunded,
            CardLost,
            PasswordChanged,
            PhoneBound,
        ];
        for (pick, sent) in cases {
            let prefs = only(pick);
            for kind in kinds {
                assert_eq!(
                    by_channel(kind, &prefs, Channel::Email),
                    kind.security() || sent.contains(&kind),
                    "{kind:?} with {:?}",
                    prefs.email
                );
                assert_eq!(
                    by_channel(kind, &prefs, Channel::Push),
                    kind.security() || !sent.contains(&kind),
                    "{kind:?} with {:?}",
                    prefs.push
                );
                // The inbox is not the e-mail's choice.
                assert!(wanted(kind, &prefs), "{kind:?}");
            }
        }
    }

    #[test]
    fn the_form_is_read_or_refused() {
        let refused = Err(Problem::NoticeAmount { max: MAX_THRESHOLD });
        let form = |payments, above, low, below| PrefsForm {
            payments,
            payment_above: above,
            low_balance: low,
            low_balance_below: below,
            topups: true,
            bills: false,
            utilities: true,
            email: ChannelChoices {
                payments: false,
                ..ChannelChoices::default()
            },
            push: ChannelChoices {
                bills: false,
                ..ChannelChoices::default()
            },
        };
        let ok = |above: Option<Money>, below: Option<Money>| {
            Ok(NoticePrefs {
                payment_above: above,
                low_balance_below: below,
                topups: true,
                bills: false,
                utilities: true,
                email: ChannelChoices {
                    payments: false,
                    ..ChannelChoices::default()
                },
                push: ChannelChoices {
                    bills: false,
                    ..ChannelChoices::default()
                },
            })
        };
        let cases = [
            (
                form("every", "", true, "20"),
                ok(Some(Money::ZERO), Some(y(20))),
            ),
            (
                form("above", "49.5", false, ""),
                ok(Some(Money::from_fen(4950)), None),
            ),
            (form("none", "junk", false, "junk"), ok(None, None)),
            (form("above", "", false, ""), refused.clone()),
            (form("above", "0", false, ""), refused.clone()),
            (form("above", "2000.01", false, ""), refused.clone()),
            (
                form("above", "2000", true, "2000"),
                ok(Some(y(2000)), Some(y(2000))),
            ),
            (form("every", "", true, "0"), refused.clone()),
            (form("every", "", true, "-5"), refused.clone()),
            (form("some", "", false, ""), refused.clone()),
        ];
        for (i, (form, want)) in cases.iter().enumerate() {
            assert_eq!(&read_prefs(form), want, "case {i}");
        }
    }
}
