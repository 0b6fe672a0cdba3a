//! Property tests of the ledger on a real store: random sequences of top-ups, payments,
//! retried payments, till refunds and days going by, checked against a simple model after
//! every step. SQLite by default; with
//! `YIKATONG_TEST_BACKEND=postgres` each case runs on a throw-away PostgreSQL database (see
//! `store::testing`).
//! Invariants: a balance never goes negative, it always equals the sum of its journal entries,
//! the day's running total equals the day's entries, a payment is approved exactly when the
//! model (with its daily limit) says so, a payment is refunded at most once, and a retried
//! request id never charges twice.

use super::PasswordHasher;
use super::portal::{campus_tz, local_midnight};
use super::store::testing::Scratch;
use super::store::{Credit, CreditOutcome, Db, Debit, PaymentOutcome};
use crate::model::{Channel, Decline, EntryKind, Money};
use chrono::Utc;
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Op {
    Topup(i64),
    /// Amount in fen and a request id drawn from a small pool, so ids repeat.
    Pay(i64, u8),
    /// Refunds the n-th approved payment (modulo how many there are).
    Refund(u8),
    /// The campus clock moves to the next day: the daily limit starts again.
    NextDay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..=30_000).prop_map(Op::Topup),
        (1i64..=60_000, 0u8..12).prop_map(|(fen, id)| Op::Pay(fen, id)),
        (1i64..=2_000, 0u8..12).prop_map(|(fen, id)| Op::Pay(fen, id)),
        any::<u8>().prop_map(Op::Refund),
        Just(Op::NextDay),
    ]
}

async fn fresh_store(url: &str) -> (Db, i64, super::store::DeviceRow) {
    let db = super::store::open(url).await.unwrap();
    let hasher = PasswordHasher::new(secrecy::SecretString::from("p"), 1);
    let demo = super::demo::build(&hasher, b"k", 1, Utc::now()).unwrap();
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

async fn check_ops(url: &str, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (db, holder, device) = fresh_store(url).await;
    let profile = db.campus_profile().await.unwrap().unwrap();
    let mut now = Utc::now();
    let mut day_start = local_midnight(now.with_timezone(&campus_tz()).date_naive());
    let payer = db.payer(holder, day_start).await.unwrap().unwrap();
    let mut balance = payer.balance.fen();
    let mut spent_today = payer.spent_today.fen();
    let mut seen: HashMap<u8, PaymentOutcome> = HashMap::new();
    // Approved payments: (journal id, amount in fen, refunded).
    let mut paid: Vec<(i64, i64, bool)> = Vec::new();
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
                        now,
                    })
                    .await
                    .unwrap();
                balance += fen;
                let credited =
                    matches!(out, CreditOutcome::Credited { balance: b, .. } if b.fen() == balance);
                prop_assert!(credited, "top-up: {:?}", out);
            }
            Op::Pay(fen, id) => {
                let request = format!("r{id}");
                let out = db
                    .debit(Debit {
                        account_id: payer.account_id,
                        amount: Money::from_fen(fen),
                        device_id: device.id,
                        merchant_id: device.merchant_id,
                        card_id: None,
                        request_id: request.clone(),
                        payload_hash: "h".into(),
                        password_ok: true,
                        day_start,
                        campus_max_single: profile.max_single_limit,
                        campus_max_daily: profile.max_daily_limit,
                        now,
                    })
                    .await
                    .unwrap();
                if let Some(first) = seen.get(&id) {
                    // A retry: the first answer again, and no money moves.
                    prop_assert_eq!(&out, first);
                } else {
                    let expected = if fen > profile.max_single_limit.fen()
                        || spent_today + fen > profile.max_daily_limit.fen()
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
                            spent_today += fen;
                            prop_assert_eq!(b.fen(), balance);
                            paid.push((*journal_id, fen, false));
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
                let (payment_id, fen, refunded) = paid[index];
                let out = db
                    .refund(super::store::Refund {
                        device_id: device.id,
                        merchant_id: device.merchant_id,
                        payment_id,
                        request_id: format!("f{step}"),
                        payload_hash: "h".into(),
                        window_start: now - chrono::Duration::days(7),
                        now,
                    })
                    .await
                    .unwrap();
                if refunded {
                    prop_assert_eq!(
                        out,
                        PaymentOutcome::Declined {
                            reason: Decline::AlreadyRefunded
                        }
                    );
                } else {
                    balance += fen;
                    // A refund counts on the day it is made, even for an earlier day's sale.
                    spent_today -= fen;
                    let refunded_ok = matches!(out, PaymentOutcome::Approved { balance: b, .. } if b.fen() == balance);
                    prop_assert!(refunded_ok, "refund: {:?}", out);
                    paid[index].2 = true;
                }
            }
            Op::NextDay => {
                now += chrono::Duration::days(1);
                day_start = local_midnight(now.with_timezone(&campus_tz()).date_naive());
                spent_today = 0;
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
