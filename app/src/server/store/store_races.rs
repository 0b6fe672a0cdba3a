//! Races on the money paths, run on the backend under test (`store::testing`) from a
//! multi-threaded runtime, so the store really sees concurrent transactions: copies of one
//! request, one notification or one refund arriving together must change money once, and a
//! crowd of payments on one account must never overdraw it.

use super::testing::Scratch;
use super::{Credit, CreditOutcome, Db, Debit, NewOrder, OrderPaid, PaymentOutcome, Refund};
use crate::model::{Channel, Decline, EntryKind, Money, TopupStatus};
use crate::server::PasswordHasher;
use crate::server::clock::{test_clock, test_now};
use chrono::{Duration, Utc};

struct Fixture {
    db: Db,
    holder: i64,
    account: i64,
    device: i64,
    merchant: Option<i64>,
    /// Today's start on the campus clock: the day of the daily limit and its running total.
    day_start: chrono::DateTime<Utc>,
    _scratch: Scratch,
}

async fn fixture() -> Fixture {
    let (scratch, url) = Scratch::new().await;
    let db = super::open_with_clock(&url, test_clock())
        .await
        .expect("open");
    let hasher = PasswordHasher::new(secrecy::SecretString::from("p"), 1);
    let demo = crate::server::demo::build(&hasher, b"k", 2, test_now()).expect("demo");
    db.load_demo(&demo).await.expect("load demo");
    let device = db
        .device_by_code("POS-E-CANTEEN-1")
        .await
        .expect("device")
        .expect("device");
    let payer = db
        .payer(1, test_now() - Duration::days(1))
        .await
        .expect("payer")
        .expect("payer");
    Fixture {
        db,
        holder: 1,
        account: payer.account_id,
        device: device.id,
        merchant: device.merchant_id,
        day_start: crate::server::domain::calendar::day_start(test_now()),
        _scratch: scratch,
    }
}

impl Fixture {
    fn debit(&self, request_id: &str, fen: i64) -> Debit {
        let now = test_now();
        Debit {
            account_id: self.account,
            amount: Money::from_fen(fen),
            device_id: self.device,
            merchant_id: self.merchant,
            card_id: None,
            request_id: request_id.to_string(),
            payload_hash: "h".into(),
            password_ok: true,
            day_start: self.day_start,
            campus_max_single: Money::yuan(100_000),
            campus_max_daily: Money::yuan(100_000),
            offline_max: None,
            now,
        }
    }

    async fn top_up(&self, fen: i64, reference: &str) {
        let out = self
            .db
            .credit(&Credit {
                holder_id: self.holder,
                amount: Money::from_fen(fen),
                kind: EntryKind::Topup,
                channel: Some(Channel::Cash),
                merchant_id: None,
                staff_id: None,
                reference,
                memo: "",
                now: test_now(),
            })
            .await
            .expect("top-up");
        assert!(matches!(out, CreditOutcome::Credited { .. }), "{out:?}");
    }

    async fn balance(&self) -> i64 {
        let payer = self.db.payer(self.holder, test_now()).await.expect("payer");
        payer.expect("payer").balance.fen()
    }

    async fn entries(&self) -> i64 {
        let check = self.db.ledger_check().await.expect("check");
        assert!(check.is_consistent(), "{check:?}");
        check.entries
    }
}

/// Runs `n` copies of a task at once and collects their results in order.
async fn together<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let fut = task(i);
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copies_of_one_payment_charge_once() {
    let f = fixture().await;
    f.top_up(100_000, "race-topup-1").await;
    let (before, entries) = (f.balance().await, f.entries().await);
    let outcomes = together(24, |_| {
        let (db, debit) = (f.db.clone(), f.debit("same-request", 1_234));
        async move { db.debit(debit).await.expect("debit") }
    })
    .await;
    assert!(
        matches!(outcomes[0], PaymentOutcome::Approved { .. }),
        "{outcomes:?}"
    );
    assert!(outcomes.iter().all(|o| *o == outcomes[0]), "{outcomes:?}");
    assert_eq!(f.balance().await, before - 1_234);
    assert_eq!(f.entries().await, entries + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crowd_of_payments_never_overdraws() {
    let f = fixture().await;
    f.top_up(10_000, "race-topup-2").await;
    let start = f.balance().await;
    let price = 700;
    let outcomes = together(60, |i| {
        let (db, debit) = (f.db.clone(), f.debit(&format!("crowd-{i}"), price));
        async move { db.debit(debit).await.expect("debit") }
    })
    .await;
    let approved = outcomes
        .iter()
        .filter(|o| matches!(o, PaymentOutcome::Approved { .. }))
        .count() as i64;
    for o in &outcomes {
        assert!(
            matches!(o, PaymentOutcome::Approved { .. })
                || *o
                    == PaymentOutcome::Declined {
                        reason: Decline::InsufficientBalance
                    },
            "{o:?}"
        );
    }
    assert_eq!(approved, (start / price).min(60));
    assert_eq!(f.balance().await, start - approved * price);
    f.entries().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crowd_of_payments_keeps_the_daily_limit() {
    let f = fixture().await;
    f.top_up(100_000, "race-topup-daily").await;
    let payer = f.db.payer(f.holder, f.day_start).await.expect("payer");
    let before = payer.expect("payer").spent_today;
    // Room for exactly 50 payments of ¥1 today, whatever the demo history spent already.
    let cap = super::spent_for_limits(before)
        .checked_add(Money::yuan(50))
        .expect("cap");
    let outcomes = together(80, |i| {
        let mut debit = f.debit(&format!("daily-{i}"), 100);
        debit.campus_max_daily = cap;
        let db = f.db.clone();
        async move { db.debit(debit).await.expect("debit") }
    })
    .await;
    let approved = outcomes
        .iter()
        .filter(|o| matches!(o, PaymentOutcome::Approved { .. }))
        .count();
    let limited = outcomes
        .iter()
        .filter(|o| {
            **o == PaymentOutcome::Declined {
                reason: Decline::LimitExceeded,
            }
        })
        .count();
    assert_eq!((approved, limited), (50, 30), "{outcomes:?}");
    // The running total of the day agrees with the journal (`entries` checks it).
    f.entries().await;
    let after = f.db.payer(f.holder, f.day_start).await.expect("payer");
    assert_eq!(
        after.expect("payer").spent_today,
        before.checked_add(Money::yuan(50)).expect("sum")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_reference_is_credited_once() {
    let f = fixture().await;
    let before = f.balance().await;
    let outcomes = together(24, |_| {
        let db = f.db.clone();
        let holder = f.holder;
        async move {
            db.credit(&Credit {
                holder_id: holder,
                amount: Money::from_fen(5_000),
                kind: EntryKind::Topup,
                channel: Some(Channel::Wechat),
                merchant_id: None,
                staff_id: None,
                reference: "wx-notify-42",
                memo: "",
                now: test_now(),
            })
            .await
            .expect("credit")
        }
    })
    .await;
    let credited: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            CreditOutcome::Credited { journal_id, .. } => Some(*journal_id),
            _ => None,
        })
        .collect();
    assert_eq!(credited.len(), 1, "{outcomes:?}");
    for o in &outcomes {
        match o {
            CreditOutcome::Credited { .. } => {}
            CreditOutcome::AlreadyCredited { journal_id } => assert_eq!(*journal_id, credited[0]),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(f.balance().await, before + 5_000);
    f.entries().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_paid_notifications_credit_once() {
    let f = fixture().await;
    let before = f.balance().await;
    let created =
        f.db.create_order(&NewOrder {
            order_no: "B-RACE-1",
            holder_id: f.holder,
            channel: Channel::Bank,
            amount: Money::from_fen(8_800),
            now: test_now(),
        })
        .await
        .expect("order");
    assert!(created);
    // Paid notifications and a (late, wrong) failure notification all at once.
    let outcomes = together(20, |i| {
        let db = f.db.clone();
        async move {
            if i % 5 == 4 {
                let failed = db
                    .order_failed("B-RACE-1", "declined", test_now())
                    .await
                    .expect("failed");
                (None, failed)
            } else {
                let paid = db
                    .order_paid("B-RACE-1", "bank-ref", test_now())
                    .await
                    .expect("paid");
                (Some(paid), false)
            }
        }
    })
    .await;
    let credited = outcomes
        .iter()
        .filter(|(p, _)| matches!(p, Some(OrderPaid::Credited { .. })))
        .count();
    assert_eq!(credited, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|(p, _)| matches!(
            p,
            None | Some(OrderPaid::Credited { .. } | OrderPaid::AlreadyPaid)
        )),
        "{outcomes:?}"
    );
    let order = f.db.order("B-RACE-1").await.expect("order").expect("order");
    assert_eq!(order.status, TopupStatus::Paid);
    assert_eq!(f.balance().await, before + 8_800);
    f.entries().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_is_refunded_once() {
    let f = fixture().await;
    f.top_up(10_000, "race-topup-3").await;
    let PaymentOutcome::Approved { journal_id, .. } =
        f.db.debit(f.debit("to-refund", 2_500))
            .await
            .expect("debit")
    else {
        panic!("payment declined");
    };
    let before = f.balance().await;
    let outcomes = together(16, |i| {
        let db = f.db.clone();
        let refund = Refund {
            device_id: f.device,
            merchant_id: f.merchant,
            payment_id: journal_id,
            request_id: format!("refund-{i}"),
            payload_hash: "h".into(),
            window_start: test_now() - Duration::hours(1),
            now: test_now(),
        };
        async move { db.refund(refund).await.expect("refund") }
    })
    .await;
    let approved = outcomes
        .iter()
        .filter(|o| matches!(o, PaymentOutcome::Approved { .. }))
        .count();
    assert_eq!(approved, 1, "{outcomes:?}");
    for o in &outcomes {
        assert!(
            matches!(o, PaymentOutcome::Approved { .. })
                || *o
                    == PaymentOutcome::Declined {
                        reason: Decline::AlreadyRefunded
                    },
            "{o:?}"
        );
    }
    assert_eq!(f.balance().await, before + 2_500);
    f.entries().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_request_id_for_two_accounts_charges_once() {
    // Different accounts take different row locks, so here only the unique key on the
    // device's request id can make the copies agree (on PostgreSQL: the loser's insert fails,
    // its transaction runs again and finds the winner's outcome).
    let f = fixture().await;
    f.top_up(50_000, "race-topup-4").await;
    let other =
        f.db.payer(2, test_now())
            .await
            .expect("payer")
            .expect("payer");
    f.db.credit(&Credit {
        holder_id: 2,
        amount: Money::from_fen(50_000),
        kind: EntryKind::Topup,
        channel: Some(Channel::Cash),
        merchant_id: None,
        staff_id: None,
        reference: "race-topup-5",
        memo: "",
        now: test_now(),
    })
    .await
    .expect("credit");
    let entries = f.entries().await;
    let outcomes = together(16, |i| {
        let db = f.db.clone();
        let mut debit = f.debit("shared-id", 999);
        if i % 2 == 1 {
            debit.account_id = other.account_id;
        }
        async move { db.debit(debit).await.expect("debit") }
    })
    .await;
    assert!(
        matches!(outcomes[0], PaymentOutcome::Approved { .. }),
        "{outcomes:?}"
    );
    assert!(outcomes.iter().all(|o| *o == outcomes[0]), "{outcomes:?}");
    assert_eq!(f.entries().await, entries + 1);
}

#[tokio::test]
async fn a_refund_today_of_yesterdays_sale_leaves_todays_spending_alone() {
    let f = fixture().await;
    f.top_up(50_000, "refund-days-topup").await;
    let refund = |payment_id, request_id: &str| Refund {
        device_id: f.device,
        merchant_id: f.merchant,
        payment_id,
        request_id: request_id.to_string(),
        payload_hash: "h".into(),
        window_start: test_now() - Duration::days(7),
        now: test_now(),
    };
    let approved = |out: PaymentOutcome| match out {
        PaymentOutcome::Approved { journal_id, .. } => journal_id,
        other => panic!("{other:?}"),
    };
    let spent = || async {
        let payer = f.db.payer(f.holder, f.day_start).await.expect("payer");
        payer.expect("payer").spent_today
    };
    // Yesterday's sale of ¥40, then ¥10 and ¥7 paid today.
    let mut yesterday = f.debit("refund-days-yesterday", 4_000);
    yesterday.now = test_now() - Duration::days(1);
    yesterday.day_start = f.day_start - Duration::days(1);
    let old = approved(f.db.debit(yesterday).await.expect("debit"));
    approved(
        f.db.debit(f.debit("refund-days-today", 1_000))
            .await
            .expect("debit"),
    );
    let today = approved(
        f.db.debit(f.debit("refund-days-today-2", 700))
            .await
            .expect("debit"),
    );
    let before = spent().await;
    // Refunding yesterday's sale today gives the money back but leaves today's total alone.
    approved(
        f.db.refund(refund(old, "refund-days-r1"))
            .await
            .expect("refund"),
    );
    assert_eq!(spent().await, before);
    // The next payment's running total starts from that total, and agrees with the journal.
    approved(
        f.db.debit(f.debit("refund-days-today-3", 100))
            .await
            .expect("debit"),
    );
    assert_eq!(
        spent().await,
        before.checked_add(Money::yuan(1)).expect("sum")
    );
    f.entries().await;
    // Refunding one of today's sales lowers today's total by its amount.
    approved(
        f.db.refund(refund(today, "refund-days-r2"))
            .await
            .expect("refund"),
    );
    assert_eq!(
        spent().await,
        before
            .checked_add(Money::yuan(1))
            .and_then(|m| m.checked_sub(Money::yuan(7)))
            .expect("sum")
    );
    f.entries().await;
}

/// A room taken off the list while a student binds it: the student is bound to a listed room,
/// or refused; never bound to a room no longer on the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_room_is_never_removed_from_under_a_binding() {
    use super::{Actor, Audit, AuditText, BoundKind};
    use crate::model::AuditAction;
    let f = fixture().await;
    let audit = |action| Audit {
        actor: Actor::System,
        action,
        holder_id: None,
        target: AuditText::none(),
        before: AuditText::none(),
        after: AuditText::none(),
        reason: String::new(),
        ip: String::new(),
    };
    let (mut bound, mut removed) = (0, 0);
    for i in 0..24 {
        let room = format!("{i}");
        let account = format!("R-{room}");
        f.db.add_rooms(&[("R".into(), room.clone())], None, test_now())
            .await
            .expect("add");
        let outcomes = together(2, |task| {
            let (db, room, account) = (f.db.clone(), room.clone(), account.clone());
            let audit = audit(if task == 0 {
                AuditAction::UtilityBind
            } else {
                AuditAction::RoomsRemove
            });
            async move {
                if task == 0 {
                    let ok = db
                        .bind_utility_account(
                            1,
                            BoundKind::Room,
                            Some(&account),
                            Some(("R", &room)),
                            test_now(),
                            audit,
                        )
                        .await
                        .expect("bind");
                    (ok, None)
                } else {
                    let out = db
                        .remove_room("R", &room, &account, audit, test_now())
                        .await
                        .expect("remove");
                    (false, Some(out))
                }
            }
        })
        .await;
        let (did_bind, did_remove) = (outcomes[0].0, outcomes[1].1 == Some(Ok(())));
        assert!(did_bind != did_remove, "round {i}: {outcomes:?}");
        let listed = f.db.room_listed("R", &room).await.expect("listed");
        let holder_room = f.db.utility_accounts(1).await.expect("accounts").room;
        let holds = holder_room.is_some_and(|b| b.account == account);
        assert_eq!(listed, holds, "round {i}: {outcomes:?}");
        bound += usize::from(did_bind);
        removed += usize::from(did_remove);
        // The next round's binding replaces this one's.
    }
    assert_eq!(bound + removed, 24);
}
