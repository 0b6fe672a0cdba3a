//! Property tests of the ledger on a real store: random sequences of top-ups, payments,
//! retried payments, till refunds, purchases from a biller (sent again, delivered or failed and
//! refunded, outcomes repeated) and days going by, checked against a simple model after every
//! step. SQLite by default; with
//! `YIKATONG_TEST_BACKEND=postgres` each case runs on a throw-away PostgreSQL database (see
//! `store::testing`).
//! Invariants: a balance never goes negative, it always equals the sum of its journal entries,
//! the day's running total equals the day's entries, a payment is approved exactly when the
//! model (with its daily limit) says so, a payment is refunded at most once, and a retried
//! request id never charges twice; a purchase counts towards the holder's daily limit, a form
//! sent again never charges twice, and a failed delivery is refunded exactly once.

use super::PasswordHasher;
use super::domain::calendar::day_start;
use super::domain::utilities::Outcome;
use super::store::testing::Scratch;
use super::store::{
    Actor, Audit, Credit, CreditOutcome, Db, Debit, NewPurchase, PaymentOutcome, PurchaseStart,
};
use crate::audit_text::AuditText;
use crate::model::{AuditAction, Channel, Decline, EntryKind, Money, Utility};
use crate::portal_model::Problem;
use chrono::SubsecRound;
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Op {
    Topup(i64),
    /// Amount in fen and a request id drawn from a small pool, so ids repeat.
    Pay(i64, u8),
    /// A payment made yesterday that reaches the server only now (a till that was offline, or
    /// a batch that crossed midnight): it counts towards yesterday's limit, not today's.
    LatePay(i64, u8),
    /// Refunds the n-th approved payment (modulo how many there are).
    Refund(u8),
    /// The campus clock moves to the next day: the daily limit starts again.
    NextDay,
    /// Buys this many kWh (at ¥0.62) with a form key drawn from a small pool, so keys repeat.
    Buy(i64, u8),
    /// A biller's outcome for the n-th purchase (modulo how many there are): delivered, or
    /// failed. Outcomes repeat and contradict each other.
    Settle(u8, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..=30_000).prop_map(Op::Topup),
        (1i64..=60_000, 0u8..12).prop_map(|(fen, id)| Op::Pay(fen, id)),
        (1i64..=2_000, 0u8..12).prop_map(|(fen, id)| Op::Pay(fen, id)),
        (1i64..=2_000, 0u8..12).prop_map(|(fen, id)| Op::LatePay(fen, id)),
        any::<u8>().prop_map(Op::Refund),
        Just(Op::NextDay),
        (1i64..=400, 0u8..6).prop_map(|(kwh, key)| Op::Buy(kwh, key)),
        (any::<u8>(), any::<bool>()).prop_map(|(n, ok)| Op::Settle(n, ok)),
    ]
}

async fn fresh_store(url: &str) -> (Db, i64, super::store::DeviceRow) {
    let db = super::store::open_with_clock(url, crate::server::clock::test_clock())
        .await
        .unwrap();
    let hasher = PasswordHasher::new(secrecy::SecretString::from("p"), 1);
    let demo = super::demo::build(&hasher, b"k", 1, crate::server::clock::test_now()).unwrap();
    db.load_demo(&demo).await.unwrap();
    let device = db.device_by_code("POS-E-CANTEEN-1").await.unwrap().unwrap();
    (db, 1, device)
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (scratch, url) = Scratch::new().await;
        let result = check_ops(&url, ops).await;
        drop(scratch);
        result
    })
}

/// A purchase charged in the model: its reference, amount, and the outcome that settled it.
struct Bought {
    reference: String,
    fen: i64,
    /// The campus day it was charged on.
    day: i64,
    settled: Option<bool>,
}

/// An approved payment in the model.
struct Paid {
    journal_id: i64,
    fen: i64,
    /// The model's day it was made on.
    day: i64,
    refunded: bool,
}

async fn check_ops(url: &str, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (db, holder, device) = fresh_store(url).await;
    let profile = db.campus_profile().await.unwrap().unwrap();
    // Whole milliseconds, as the stores keep them, so "exactly 7 days ago" is exact.
    let base = crate::server::clock::test_now().trunc_subsecs(3);
    let at = |day: i64| base + chrono::Duration::days(day);
    let start_of = |day: i64| day_start(at(day));
    let account_id = db
        .payer(holder, start_of(0))
        .await
        .unwrap()
        .unwrap()
        .account_id;
    let mut balance = db.ledger_check().await.unwrap().total_balance.fen();
    let mut day = 0i64;
    // What the daily limit of day `d` counts: everything paid since `d` began, less the till
    // refunds made since (a late payment is judged with what was paid after its day too).
    // The demo history before the test: what was paid since yesterday and since today began.
    let mut history = HashMap::new();
    for d in [-1, 0] {
        let payer = db.payer(holder, start_of(d)).await.unwrap().unwrap();
        history.insert(d, payer.spent_today.fen());
    }
    // The model's payments and purchases (+) and refunds (−): the day each was made and the
    // day of the sale it belongs to (a refund's is the reversed sale's). Since day `d` counts
    // what was made since and belongs to a sale since: a refund of an earlier day's sale does
    // not raise the allowance.
    let mut moves: Vec<(i64, i64, i64)> = Vec::new();
    let spent_since = |moves: &[(i64, i64, i64)], d: i64| -> i64 {
        history.get(&d).copied().unwrap_or(0)
            + moves
                .iter()
                .filter(|(on, sale_day, _)| *on >= d && *sale_day >= d)
                .map(|(_, _, fen)| fen)
                .sum::<i64>()
    };
    let mut seen: HashMap<u8, PaymentOutcome> = HashMap::new();
    let mut paid: Vec<Paid> = Vec::new();
    // The holder's own daily limit holds purchases (there is no password to lift it).
    let daily_limit = db
        .payer(holder, start_of(0))
        .await
        .unwrap()
        .unwrap()
        .daily_limit
        .min(profile.max_daily_limit)
        .fen();
    let mut keys: HashMap<u8, (String, i64)> = HashMap::new();
    let mut bought: Vec<Bought> = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Topup(fen) => {
                let reference = format!("t{step}");
                let out = db
                    .credit(&Credit {
                        holder_id: holder,
                        amount: Money::from_fen(fen),
                        kind: EntryKind::Topup,
                        channel: Some(Channel::Wechat),
                        merchant_id: None,
                        staff_id: None,
                        reference: &reference,
                        memo: "",
                        now: at(day),
                    })
                    .await
                    .unwrap();
                balance += fen;
                let credited =
                    matches!(out, CreditOutcome::Credited { balance: b, .. } if b.fen() == balance);
                prop_assert!(credited, "top-up: {:?}", out);
            }
            Op::Pay(fen, id) | Op::LatePay(fen, id) => {
                let on = if matches!(op, Op::LatePay(..)) {
                    day - 1
                } else {
                    day
                };
                let out = db
                    .debit(Debit {
                        account_id,
                        amount: Money::from_fen(fen),
                        device_id: device.id,
                        merchant_id: device.merchant_id,
                        card_id: None,
                        request_id: format!("r{id}"),
                        payload_hash: "h".into(),
                        password_ok: true,
                        day_start: start_of(on),
                        campus_max_single: profile.max_single_limit,
                        campus_max_daily: profile.max_daily_limit,
                        offline_max: None,
                        now: at(on),
                    })
                    .await
                    .unwrap();
                if let Some(first) = seen.get(&id) {
                    // A retry: the first answer again, and no money moves.
                    prop_assert_eq!(&out, first);
                } else {
                    let spent_on = spent_since(&moves, on);
                    prop_assert!(spent_on >= 0, "step {step}: spent {spent_on}");
                    let expected = if fen > profile.max_single_limit.fen()
                        || spent_on + fen > profile.max_daily_limit.fen()
                    {
                        Some(Decline::LimitExceeded)
                    } else if fen > balance {
                        Some(Decline::InsufficientBalance)
                    } else {
                        None
                    };
                    match (&out, expected) {
                        (
                            PaymentOutcome::Approved {
                                balance: b,
                                journal_id,
                                ..
                            },
                            None,
                        ) => {
                            balance -= fen;
                            moves.push((on, on, fen));
                            prop_assert_eq!(b.fen(), balance);
                            paid.push(Paid {
                                journal_id: *journal_id,
                                fen,
                                day: on,
                                refunded: false,
                            });
                        }
                        (PaymentOutcome::Declined { reason }, Some(want)) => {
                            prop_assert_eq!(*reason, want)
                        }
                        (got, want) => {
                            prop_assert!(false, "step {step}: got {got:?}, model says {want:?}")
                        }
                    }
                    seen.insert(id, out);
                }
            }
            Op::Refund(_) if paid.is_empty() => {}
            Op::Refund(n) => {
                let index = usize::from(n) % paid.len();
                let payment = &mut paid[index];
                let out = db
                    .refund(super::store::Refund {
                        device_id: device.id,
                        merchant_id: device.merchant_id,
                        payment_id: payment.journal_id,
                        request_id: format!("f{step}"),
                        payload_hash: "h".into(),
                        window_start: at(day) - super::ledger::REFUND_WINDOW,
                        now: at(day),
                    })
                    .await
                    .unwrap();
                let declined = |reason| PaymentOutcome::Declined { reason };
                if payment.refunded {
                    prop_assert_eq!(out, declined(Decline::AlreadyRefunded));
                } else if day - payment.day > super::ledger::REFUND_WINDOW.num_days() {
                    prop_assert_eq!(out, declined(Decline::RefundWindowPassed));
                } else {
                    balance += payment.fen;
                    // Made today; it counts only where its sale counts.
                    moves.push((day, payment.day, -payment.fen));
                    let refunded_ok = matches!(out, PaymentOutcome::Approved { balance: b, .. } if b.fen() == balance);
                    prop_assert!(refunded_ok, "refund: {:?}", out);
                    payment.refunded = true;
                }
            }
            Op::NextDay => day += 1,
            Op::Buy(kwh, key) => {
                let fen = 62 * kwh;
                let audit = Audit {
                    actor: Actor::Holder(holder),
                    action: AuditAction::UtilityPurchase,
                    holder_id: Some(holder),
                    target: AuditText::none(),
                    before: AuditText::none(),
                    after: AuditText::none(),
                    reason: String::new(),
                    ip: String::new(),
                };
                let out = db
                    .start_purchase(
                        &NewPurchase {
                            holder_id: holder,
                            request_key: format!("k{key}"),
                            reference: format!("E{step}"),
                            biller: "sandbox-dorm".into(),
                            utility: Utility::Electricity,
                            account: "1-101".into(),
                            quantity: kwh,
                            amount: Money::from_fen(fen),
                            campus_max_daily: profile.max_daily_limit,
                            day_start: start_of(day),
                        },
                        at(day),
                        audit,
                    )
                    .await
                    .unwrap();
                if let Some((first, first_kwh)) = keys.get(&key) {
                    // The same form again: the first purchase if it is the same one, nothing
                    // charged; another purchase under a used form is refused.
                    if *first_kwh == kwh {
                        let same =
                            matches!(&out, Ok(PurchaseStart::Earlier(p)) if &p.reference == first);
                        prop_assert!(same, "step {step}: {out:?}");
                    } else {
                        prop_assert_eq!(&out, &Err(Problem::PurchaseFormUsed), "step {}", step);
                    }
                } else {
                    let spent = spent_since(&moves, day);
                    prop_assert!(spent >= 0, "step {step}: spent {spent}");
                    let expected = if spent + fen > daily_limit {
                        Some(Problem::PurchaseOverDailyLimit {
                            left: Money::from_fen((daily_limit - spent).max(0)),
                        })
                    } else if fen > balance {
                        Some(Problem::PurchaseAboveBalance)
                    } else {
                        None
                    };
                    match (&out, expected) {
                        (
                            Ok(PurchaseStart::Charged {
                                purchase,
                                balance: b,
                            }),
                            None,
                        ) => {
                            balance -= fen;
                            moves.push((day, day, fen));
                            prop_assert_eq!(b.fen(), balance);
                            keys.insert(key, (purchase.reference.clone(), kwh));
                            bought.push(Bought {
                                reference: purchase.reference.clone(),
                                fen,
                                day,
                                settled: None,
                            });
                        }
                        (Err(problem), Some(want)) => prop_assert_eq!(problem, &want),
                        (got, want) => {
                            prop_assert!(false, "step {step}: got {got:?}, model says {want:?}")
                        }
                    }
                }
            }
            Op::Settle(_, _) if bought.is_empty() => {}
            Op::Settle(n, delivered) => {
                let index = usize::from(n) % bought.len();
                let purchase = &mut bought[index];
                let outcome = if delivered {
                    Outcome::Delivered {
                        biller_ref: format!("B{step}"),
                    }
                } else {
                    Outcome::Failed {
                        reason: "meter full".into(),
                    }
                };
                db.settle_purchase(
                    "sandbox-dorm",
                    &purchase.reference,
                    Money::from_fen(purchase.fen),
                    &outcome,
                    at(day),
                )
                .await
                .unwrap();
                // Only the first outcome counts; a failure gives the money back, once, and
                // counts only where its purchase counts (like a till refund).
                if purchase.settled.is_none() {
                    purchase.settled = Some(delivered);
                    if !delivered {
                        balance += purchase.fen;
                        moves.push((day, purchase.day, -purchase.fen));
                    }
                }
            }
        }
        let check = db.ledger_check().await.unwrap();
        prop_assert!(check.is_consistent(), "step {step}: {check:?}");
        prop_assert_eq!(check.total_balance.fen(), balance);
        prop_assert!(balance >= 0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn ledger_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops)?;
    }
}
