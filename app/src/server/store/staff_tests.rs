//! The card office's store (`StaffStore`), run on the backend under test (`store::testing`):
//! the same answers, the same audit records and the same money on SQLite and PostgreSQL.

use super::testing::Scratch;
use super::{
    Actor, Attempt, Attempts, Audit, AuditQuery, CardChange, CardIssue, Closing, Correction,
    Credit, CreditOutcome, Db, Debit, DeviceInput, MerchantInput, NewCard, NewHolder, NewOrder,
    NewSession, NewStaffUser, PasswordKind, PaymentOutcome, SubjectKind,
};
use crate::audit_text::AuditText;
use crate::model::{
    AccountStatus, AuditAction, CardStatus, Channel, DeviceKind, EntryKind, HolderKind, IdDocKind,
    MerchantCategory, Money, StaffRole,
};
use crate::server::PasswordHasher;
use crate::server::clock::{test_clock, test_now};
use chrono::{DateTime, Duration, SubsecRound, Utc};

const A_NO: &str = "2024010101";
const A_CARD: &str = "31000003";
const A_SERIAL: &str = "DEC00000";
const B_CARD: &str = "31000010";

struct Fixture {
    db: Db,
    /// The demo's first holder (陈嘉怡).
    holder: i64,
    account: i64,
    operator: i64,
    operator2: i64,
    device: i64,
    merchant: Option<i64>,
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
    let record = db
        .holder_by_student_no(A_NO)
        .await
        .expect("holder")
        .expect("holder");
    let staff = |name: &'static str| {
        let db = db.clone();
        async move { db.staff_auth(name).await.expect("staff").expect("staff").id }
    };
    let (operator, operator2) = (staff("operator").await, staff("operator2").await);
    let device = db
        .device_by_code("POS-E-CANTEEN-1")
        .await
        .expect("device")
        .expect("device");
    Fixture {
        holder: record.holder_id,
        account: record.account_id,
        operator,
        operator2,
        device: device.id,
        merchant: device.merchant_id,
        db,
        _scratch: scratch,
    }
}

impl Fixture {
    fn audit(&self, action: crate::model::AuditAction, holder: Option<i64>) -> Audit {
        self.audit_by(self.operator, action, holder)
    }

    fn audit_by(
        &self,
        staff: i64,
        action: crate::model::AuditAction,
        holder: Option<i64>,
    ) -> Audit {
        Audit {
            actor: Actor::Staff(staff),
            action,
            holder_id: holder,
            target: AuditText::none(),
            before: AuditText::none(),
            after: AuditText::none(),
            reason: "test".into(),
            ip: "127.0.0.1".into(),
        }
    }

    /// How many audit records there are.
    async fn audits(&self) -> usize {
        self.db
            .audit_records(&AuditQuery {
                limit: 100_000,
                ..AuditQuery::default()
            })
            .await
            .expect("audit")
            .len()
    }

    async fn balance(&self, holder: i64) -> Money {
        self.db
            .holder_record(holder)
            .await
            .expect("record")
            .expect("record")
            .balance
    }

    async fn consistent(&self) {
        let check = self.db.ledger_check().await.expect("check");
        assert!(check.is_consistent(), "{check:?}");
    }

    async fn cash(&self, holder: i64, fen: i64, reference: &str) -> CreditOutcome {
        self.cash_capped(
            holder,
            fen,
            reference,
            crate::server::domain::payments::OPERATOR_DAILY_CASH_CAP,
        )
        .await
    }

    async fn cash_capped(
        &self,
        holder: i64,
        fen: i64,
        reference: &str,
        cap: Money,
    ) -> CreditOutcome {
        self.db
            .cash_topup(
                &Credit {
                    holder_id: holder,
                    amount: Money::from_fen(fen),
                    kind: EntryKind::Topup,
                    channel: Some(Channel::Cash),
                    merchant_id: None,
                    staff_id: Some(self.operator),
                    reference,
                    memo: "cash at the counter",
                    now: test_now(),
                },
                crate::server::domain::calendar::day_start(test_now()),
                cap,
                self.audit(AuditAction::MoneyCashTopup, Some(holder)),
            )
            .await
            .expect("cash top-up")
    }

    /// A payment at the canteen till; its journal id.
    async fn pay(&self, request_id: &str, fen: i64) -> i64 {
        let now = test_now();
        let outcome = self
            .db
            .debit(Debit {
                account_id: self.account,
                amount: Money::from_fen(fen),
                device_id: self.device,
                merchant_id: self.merchant,
                card_id: None,
                request_id: request_id.into(),
                payload_hash: "h".into(),
                password_ok: true,
                day_start: now - Duration::hours(1),
                campus_max_single: Money::yuan(100_000),
                campus_max_daily: Money::yuan(100_000),
                offline_max: None,
                now,
            })
            .await
            .expect("debit");
        match outcome {
            PaymentOutcome::Approved { journal_id, .. } => journal_id,
            other => panic!("payment declined: {other:?}"),
        }
    }
}

fn new_holder(student_no: &str, card_no: &str, serial: &str) -> NewHolder {
    NewHolder {
        student_no: student_no.into(),
        name: "赵新生".into(),
        kind: HolderKind::Student,
        department: "计算机学院".into(),
        class_name: "软件26级1班".into(),
        id_doc_kind: IdDocKind::Passport,
        id_doc_hash: format!("hash-{student_no}"),
        id_doc_masked: "E1****78".into(),
        phone_masked: "138******00".into(),
        query_pw_hash: "q-hash".into(),
        query_pw_is_initial: true,
        consumption_pw_hash: "c-hash".into(),
        personal_pins: vec!["p1".into(), "p2".into()],
        single_limit: Money::yuan(50),
        daily_limit: Money::yuan(200),
        created_at: test_now(),
        cards: vec![NewCard {
            card_no: card_no.into(),
            chip_serial: serial.into(),
            status: CardStatus::Active,
            issued_at: test_now(),
        }],
        entries: Vec::new(),
    }
}

fn card(card_no: &str, serial: &str) -> NewCard {
    NewCard {
        card_no: card_no.into(),
        chip_serial: serial.into(),
        status: CardStatus::Active,
        issued_at: test_now(),
    }
}

/// A DTO timestamp: RFC 3339 UTC with milliseconds, as SQLite stores it.
fn assert_ts(text: &str) {
    let parsed = DateTime::parse_from_rfc3339(text).expect("rfc 3339");
    assert_eq!(text.len(), "2026-03-01T08:09:10.123Z".len(), "{text}");
    assert!(text.ends_with('Z'), "{text}");
    assert_eq!(
        parsed
            .with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        text
    );
}

#[tokio::test]
async fn enrolment_is_all_or_nothing_with_one_audit_record() {
    let f = fixture().await;
    let audits = f.audits().await;
    f.db.enrol(
        &[
            new_holder("2026990001", "88000001", "ENR00001"),
            new_holder("2026990002", "88000002", "ENR00002"),
        ],
        f.audit(AuditAction::HolderEnrol, None),
    )
    .await
    .expect("enrol");
    assert_eq!(f.audits().await, audits + 1);
    let r =
        f.db.holder_by_student_no("2026990001")
            .await
            .expect("lookup")
            .expect("enrolled");
    assert_eq!(r.name, "赵新生");
    assert_eq!(r.kind, HolderKind::Student);
    assert_eq!(r.id_doc_kind, IdDocKind::Passport);
    assert_eq!(r.id_doc_hash, "hash-2026990001");
    assert_eq!(r.balance, Money::ZERO);
    assert_eq!(r.status, AccountStatus::Active);
    assert_eq!(
        (r.single_limit, r.daily_limit),
        (Money::yuan(50), Money::yuan(200))
    );
    assert!(r.query_pw_is_initial && r.consumption_pw_is_initial);
    assert_eq!((r.failed_logins, r.locked_until), (0, None));
    let same =
        f.db.holder_record(r.holder_id)
            .await
            .expect("record")
            .expect("record");
    assert_eq!(same.student_no, "2026990001");
    assert_eq!(same.account_id, r.account_id);
    let cards = f.db.card_views(r.holder_id).await.expect("cards");
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].card_no, "88000001");
    assert_eq!(cards[0].status, CardStatus::Active);
    assert_ts(&cards[0].issued_at);
    assert_eq!(cards[0].ended_at, None);
    let hits = f.db.search_holders("新生", 10).await.expect("search");
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0].card_no.as_deref(), Some("88000001"));
    let hits = f.db.search_holders("ENR00002", 10).await.expect("search");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].student_no, "2026990002");
    assert!(
        f.db.holder_by_student_no("2026990009")
            .await
            .expect("lookup")
            .is_none()
    );

    // A batch with one student number already taken enrols nobody and audits nothing.
    let err =
        f.db.enrol(
            &[
                new_holder("2026990003", "88000003", "ENR00003"),
                new_holder("2026990001", "88000004", "ENR00004"),
            ],
            f.audit(AuditAction::HolderEnrol, None),
        )
        .await;
    assert!(err.is_err());
    assert!(
        f.db.holder_by_student_no("2026990003")
            .await
            .expect("lookup")
            .is_none()
    );
    assert_eq!(f.audits().await, audits + 1);
}

#[tokio::test]
async fn cards_are_issued_replaced_with_a_fee_and_cancelled() {
    let f = fixture().await;
    assert!(matches!(
        f.cash(f.holder, 10_000, "R-CARD-1").await,
        CreditOutcome::Credited { .. }
    ));
    let audits = f.audits().await;
    let before = f.balance(f.holder).await;
    let fee = Money::yuan(20);
    let issue = |c: NewCard, replace: bool, fee: Money| {
        let (db, audit, op, holder) = (
            f.db.clone(),
            f.audit(AuditAction::CardIssue, Some(f.holder)),
            f.operator,
            f.holder,
        );
        async move {
            db.issue_card(holder, &c, replace, fee, op, audit)
                .await
                .expect("issue")
        }
    };
    assert_eq!(
        issue(card("88000100", "NEW00100"), false, Money::ZERO).await,
        CardIssue::HasLiveCard
    );
    assert_eq!(
        issue(card(B_CARD, "NEW00101"), true, fee).await,
        CardIssue::Taken
    );
    assert_eq!(
        issue(card("88000102", "DEC00001"), true, fee).await,
        CardIssue::Taken
    );
    assert_eq!(
        issue(card("88000103", "NEW00103"), true, Money::yuan(1_000_000)).await,
        CardIssue::FeeAboveBalance
    );
    assert_eq!(f.audits().await, audits, "refusals are not audited");

    let issued = issue(card("88000104", "NEW00104"), true, fee).await;
    let after = before.checked_sub(fee).expect("fee");
    assert_eq!(
        issued,
        CardIssue::Issued {
            replaced: Some(A_CARD.into()),
            balance: after
        }
    );
    assert_eq!(f.balance(f.holder).await, after);
    assert_eq!(f.audits().await, audits + 1);
    let log = f.db.audit_of_holder(f.holder, 1).await.expect("audit");
    assert_eq!(log[0].action, "card.issue");
    assert_eq!(
        AuditText::show(&log[0].before, true),
        format!("card {A_CARD}; active")
    );
    assert_eq!(
        AuditText::show(&log[0].after, false),
        "卡 88000104；正常；工本费 ¥20.00"
    );
    assert!(
        log[0].actor.starts_with("staff operator ("),
        "{}",
        log[0].actor
    );
    assert_eq!(log[0].holder.as_deref(), Some(A_NO));
    assert_ts(&log[0].at);
    let cards = f.db.card_views(f.holder).await.expect("cards");
    let old = cards
        .iter()
        .find(|c| c.card_no == A_CARD)
        .expect("old card");
    assert_eq!(old.status, CardStatus::Void);
    assert_ts(old.ended_at.as_deref().expect("ended"));
    assert_eq!(cards[0].card_no, "88000104");
    assert_eq!(cards[0].status, CardStatus::Active);
    let entries = f.db.staff_entries(f.holder, 1).await.expect("entries");
    assert_eq!(entries[0].kind, EntryKind::Fee);
    assert_eq!(entries[0].amount, Money::from_fen(-fee.fen()));
    assert_eq!(entries[0].balance_after, after);
    assert_eq!(entries[0].memo, "card replacement 88000104");
    assert_ts(&entries[0].at);
    f.consistent().await;

    // Cancelled: no live card, so a new one is issued (not replaced), without a fee.
    let audits = f.audits().await;
    let cancelled =
        f.db.cancel_card(
            f.holder,
            test_now(),
            f.audit(AuditAction::CardCancel, Some(f.holder)),
        )
        .await
        .expect("cancel");
    assert_eq!(
        cancelled,
        CardChange::Changed {
            card_no: "88000104".into(),
            from: CardStatus::Active,
            to: CardStatus::Cancelled
        }
    );
    let again =
        f.db.cancel_card(
            f.holder,
            test_now(),
            f.audit(AuditAction::CardCancel, Some(f.holder)),
        )
        .await
        .expect("cancel");
    assert_eq!(again, CardChange::NoCard);
    assert_eq!(f.audits().await, audits + 1);
    let log = f.db.audit_of_holder(f.holder, 1).await.expect("audit");
    assert_eq!(
        (
            AuditText::show(&log[0].target, true),
            AuditText::show(&log[0].before, true),
            AuditText::show(&log[0].after, true)
        ),
        ("card 88000104".into(), "active".into(), "cancelled".into())
    );
    assert_eq!(
        issue(card("88000105", "NEW00105"), true, Money::ZERO).await,
        CardIssue::NoLiveCard
    );
    assert_eq!(
        issue(card("88000105", "NEW00105"), false, Money::ZERO).await,
        CardIssue::Issued {
            replaced: None,
            balance: after
        }
    );
    assert_eq!(f.audits().await, audits + 2);
    let (id, holder, no) =
        f.db.card_by_number("NEW00105")
            .await
            .expect("card")
            .expect("card");
    assert_eq!((holder, no.as_str()), (f.holder, "88000105"));
    assert_eq!(
        f.db.card_by_number("88000105").await.expect("card"),
        Some((id, f.holder, "88000105".into()))
    );
    f.consistent().await;
}

#[tokio::test]
async fn passwords_are_reset_and_lockouts_lifted() {
    let f = fixture().await;
    let audits = f.audits().await;
    let until = test_now() + Duration::minutes(30);
    let now = test_now();
    let query = Attempts::Query(f.holder);
    assert_eq!(
        f.db.reserve_attempt(query, 2, until, now)
            .await
            .expect("reserve"),
        Attempt::Allowed { nth: 1 }
    );
    assert_eq!(
        f.db.reserve_attempt(query, 2, until, now)
            .await
            .expect("reserve"),
        Attempt::Allowed { nth: 2 }
    );
    // The second reservation locked it: the third is not counted, and says until when.
    assert!(matches!(
        f.db.reserve_attempt(query, 2, until, now).await.expect("reserve"),
        Attempt::Locked { until: u } if (u - until).num_milliseconds().abs() < 1
    ));
    assert_eq!(
        f.db.reserve_attempt(Attempts::Consumption(f.account), 1, until, now)
            .await
            .expect("reserve"),
        Attempt::Allowed { nth: 1 }
    );
    let r = f.db.holder_record(f.holder).await.expect("r").expect("r");
    assert!(r.locked_until.is_some() && r.consumption_pw_locked_until.is_some());

    f.db.lift_lockout(
        f.holder,
        PasswordKind::Query,
        f.audit(AuditAction::LockoutLiftQuery, Some(f.holder)),
    )
    .await
    .expect("lift");
    let r = f.db.holder_record(f.holder).await.expect("r").expect("r");
    assert_eq!((r.failed_logins, r.locked_until), (0, None));
    assert!(
        r.consumption_pw_locked_until.is_some(),
        "only the query lock was lifted"
    );
    f.db.lift_lockout(
        f.holder,
        PasswordKind::Consumption,
        f.audit(AuditAction::LockoutLiftQuery, Some(f.holder)),
    )
    .await
    .expect("lift");
    let r = f.db.holder_record(f.holder).await.expect("r").expect("r");
    assert_eq!(
        (r.consumption_pw_failures, r.consumption_pw_locked_until),
        (0, None)
    );

    // A query password reset ends the holder's sessions.
    f.db.create_session(&NewSession {
        token_hash: "tok-reset".into(),
        subject: SubjectKind::Holder,
        subject_id: f.holder,
        now: test_now(),
        ip: String::new(),
        user_agent: String::new(),
    })
    .await
    .expect("session");
    f.db.set_consumption_password(
        f.account,
        "changed",
        f.audit(AuditAction::HolderChangeConsumptionPassword, Some(f.holder)),
    )
    .await
    .expect("change");
    f.db.reset_password(
        f.holder,
        PasswordKind::Query,
        "new-query-hash",
        test_now(),
        f.audit(AuditAction::PasswordResetQuery, Some(f.holder)),
    )
    .await
    .expect("reset");
    let auth =
        f.db.holder_auth(f.holder)
            .await
            .expect("auth")
            .expect("auth");
    assert_eq!(auth.query_pw_hash, "new-query-hash");
    assert!(auth.must_change_password);
    let live =
        f.db.live_sessions_of(SubjectKind::Holder, f.holder)
            .await
            .expect("sessions");
    assert!(live.is_empty(), "{live:?}");
    f.db.reset_password(
        f.holder,
        PasswordKind::Consumption,
        "new-pay-hash",
        test_now(),
        f.audit(AuditAction::PasswordResetQuery, Some(f.holder)),
    )
    .await
    .expect("reset");
    let payer =
        f.db.payer(f.holder, test_now())
            .await
            .expect("payer")
            .expect("payer");
    assert_eq!(payer.consumption_pw_hash, "new-pay-hash");
    let r = f.db.holder_record(f.holder).await.expect("r").expect("r");
    assert!(r.consumption_pw_is_initial && r.query_pw_is_initial);
    assert_eq!(f.audits().await, audits + 5);
}

#[tokio::test]
async fn accounts_are_frozen_and_closed_with_the_whole_balance_paid_out() {
    let f = fixture().await;
    let audits = f.audits().await;
    assert!(
        f.db.set_frozen(
            f.holder,
            true,
            f.audit(AuditAction::AccountFreeze, Some(f.holder))
        )
        .await
        .expect("freeze")
    );
    let r = f.db.holder_record(f.holder).await.expect("r").expect("r");
    assert_eq!(
        (r.status, r.status_reason.as_str()),
        (AccountStatus::Frozen, "test")
    );
    let log = f.db.audit_of_holder(f.holder, 1).await.expect("audit");
    assert_eq!(
        (
            AuditText::show(&log[0].before, false),
            AuditText::show(&log[0].after, false)
        ),
        ("账户正常".into(), "账户冻结".into())
    );
    assert!(
        f.db.set_frozen(
            f.holder,
            false,
            f.audit(AuditAction::AccountUnfreeze, Some(f.holder))
        )
        .await
        .expect("unfreeze")
    );
    let r = f.db.holder_record(f.holder).await.expect("r").expect("r");
    assert_eq!(
        (r.status, r.status_reason.as_str()),
        (AccountStatus::Active, "")
    );

    assert!(matches!(
        f.cash(f.holder, 12_345, "R-CLOSE-1").await,
        CreditOutcome::Credited { .. }
    ));
    let balance = f.balance(f.holder).await;
    assert!(balance > Money::ZERO);
    f.db.create_session(&NewSession {
        token_hash: "tok-close".into(),
        subject: SubjectKind::Holder,
        subject_id: f.holder,
        now: test_now(),
        ip: String::new(),
        user_agent: String::new(),
    })
    .await
    .expect("session");
    let entries_before = f.db.ledger_check().await.expect("check").entries;
    let closed =
        f.db.close_account(
            f.holder,
            "BANK-PAYOUT-1",
            "6222021234567890",
            f.operator,
            test_now(),
            f.audit(AuditAction::AccountClose, Some(f.holder)),
        )
        .await
        .expect("close");
    let Closing::Closed {
        paid_out,
        journal_id: Some(journal_id),
    } = closed
    else {
        panic!("{closed:?}");
    };
    assert_eq!(paid_out, balance);
    let r = f.db.holder_record(f.holder).await.expect("r").expect("r");
    assert_eq!((r.status, r.balance), (AccountStatus::Closed, Money::ZERO));
    let entries = f.db.staff_entries(f.holder, 1).await.expect("entries");
    assert_eq!(entries[0].id, journal_id);
    assert_eq!(entries[0].kind, EntryKind::Payout);
    assert_eq!(entries[0].amount, Money::from_fen(-balance.fen()));
    assert_eq!(entries[0].balance_after, Money::ZERO);
    assert_eq!(entries[0].reference, "BANK-PAYOUT-1");
    let cards = f.db.card_views(f.holder).await.expect("cards");
    assert!(
        cards
            .iter()
            .all(|c| c.status != CardStatus::Active && c.status != CardStatus::Lost)
    );
    assert_eq!(cards[0].status, CardStatus::Cancelled);
    assert!(
        f.db.live_sessions_of(SubjectKind::Holder, f.holder)
            .await
            .expect("s")
            .is_empty()
    );
    let check = f.db.ledger_check().await.expect("check");
    assert!(check.is_consistent(), "{check:?}");
    assert_eq!(check.entries, entries_before + 1);
    let log = f.db.audit_of_holder(f.holder, 1).await.expect("audit");
    assert_eq!(
        AuditText::show(&log[0].after, true),
        format!("account closed; paid out {balance}; reference BANK-PAYOUT-1")
    );

    let audits_closed = f.audits().await;
    assert_eq!(audits_closed, audits + 4);
    assert_eq!(
        f.db.close_account(
            f.holder,
            "BANK-PAYOUT-2",
            "6222021234567890",
            f.operator,
            test_now(),
            f.audit(AuditAction::AccountClose, Some(f.holder)),
        )
        .await
        .expect("close"),
        Closing::AlreadyClosed
    );
    assert!(
        !f.db
            .set_frozen(
                f.holder,
                true,
                f.audit(AuditAction::AccountFreeze, Some(f.holder))
            )
            .await
            .expect("freeze")
    );
    assert_eq!(
        f.db.issue_card(
            f.holder,
            &card("88000200", "NEW00200"),
            false,
            Money::ZERO,
            f.operator,
            f.audit(AuditAction::CardIssue, Some(f.holder)),
        )
        .await
        .expect("issue"),
        CardIssue::AccountClosed
    );
    assert_eq!(
        f.cash(f.holder, 100, "R-CLOSE-2").await,
        CreditOutcome::AccountClosed
    );
    assert_eq!(f.audits().await, audits_closed, "refusals are not audited");

    // The other holder: whatever the balance, all of it is paid out (none: no entry).
    let b =
        f.db.holder_by_student_no("2023020215")
            .await
            .expect("b")
            .expect("b");
    let closed =
        f.db.close_account(
            b.holder_id,
            "BANK-PAYOUT-3",
            "6222021234567890",
            f.operator,
            test_now(),
            f.audit(AuditAction::AccountClose, Some(b.holder_id)),
        )
        .await
        .expect("close");
    let Closing::Closed {
        paid_out,
        journal_id,
    } = closed
    else {
        panic!("{closed:?}");
    };
    assert_eq!(paid_out, b.balance);
    assert_eq!(journal_id.is_some(), b.balance > Money::ZERO);
    assert_eq!(f.balance(b.holder_id).await, Money::ZERO);
    f.consistent().await;
}

#[tokio::test]
async fn a_found_card_is_recorded_once_until_returned() {
    let f = fixture().await;
    let audits = f.audits().await;
    let (card_id, holder, card_no) =
        f.db.card_by_number(A_SERIAL)
            .await
            .expect("card")
            .expect("card");
    assert_eq!((holder, card_no.as_str()), (f.holder, A_CARD));
    let record = || {
        let (db, audit, op) = (
            f.db.clone(),
            f.audit(AuditAction::CardFound, Some(holder)),
            f.operator,
        );
        async move {
            db.record_found_card(card_id, holder, "图书馆一楼", op, test_now(), audit)
                .await
                .expect("found")
        }
    };
    assert!(record().await);
    assert!(!record().await, "the same card twice is one record");
    assert_eq!(f.audits().await, audits + 1);
    let open = f.db.found_cards(true).await.expect("found");
    assert_eq!(open.len(), 1);
    let found = &open[0];
    assert_eq!(
        (
            found.holder_id,
            found.card_no.as_str(),
            found.student_no.as_str(),
            found.place.as_str()
        ),
        (f.holder, A_CARD, A_NO, "图书馆一楼")
    );
    assert_eq!(found.name, "陈嘉怡");
    assert_ts(&found.found_at);
    assert_eq!(found.returned_at, None);
    assert_eq!(f.db.found_cards_of(f.holder).await.expect("of").len(), 1);

    let back = |id: i64| {
        let (db, audit, op) = (
            f.db.clone(),
            f.audit(AuditAction::CardFoundReturned, Some(holder)),
            f.operator,
        );
        async move {
            db.found_card_returned(id, op, test_now(), audit)
                .await
                .expect("returned")
        }
    };
    assert!(back(found.id).await);
    assert!(!back(found.id).await);
    assert!(!back(found.id + 1000).await);
    assert_eq!(f.audits().await, audits + 2);
    assert!(f.db.found_cards(true).await.expect("found").is_empty());
    let all = f.db.found_cards(false).await.expect("found");
    assert_eq!(all.len(), 1);
    assert_ts(all[0].returned_at.as_deref().expect("returned"));
    // Lost again, found again: a new open record.
    assert!(record().await);
    assert_eq!(f.db.found_cards_of(f.holder).await.expect("of").len(), 2);
    assert_eq!(f.audits().await, audits + 3);
}

#[tokio::test]
async fn a_payment_is_corrected_once_and_a_request_is_decided_once() {
    let f = fixture().await;
    f.cash(f.holder, 50_000, "R-CORR-1").await;
    let audits = f.audits().await;

    // Corrected directly, once.
    let first = f.pay("corr-1", 1_500).await;
    let before = f.balance(f.holder).await;
    let corrected =
        f.db.correct_payment(
            first,
            "charged twice",
            f.operator,
            None,
            test_now(),
            f.audit(AuditAction::MoneyCorrection, Some(f.holder)),
        )
        .await
        .expect("correct");
    let Correction::Corrected {
        journal_id,
        balance,
    } = corrected
    else {
        panic!("{corrected:?}");
    };
    assert_eq!(
        balance,
        before.checked_add(Money::from_fen(1_500)).expect("sum")
    );
    assert_eq!(f.balance(f.holder).await, balance);
    let again =
        f.db.correct_payment(
            first,
            "charged twice",
            f.operator,
            None,
            test_now(),
            f.audit(AuditAction::MoneyCorrection, Some(f.holder)),
        )
        .await
        .expect("correct");
    assert_eq!(again, Correction::AlreadyReversed);
    assert_eq!(f.audits().await, audits + 1);
    let entry =
        f.db.journal_entry(first)
            .await
            .expect("entry")
            .expect("entry");
    assert!(entry.reversed);
    assert_eq!(
        (entry.kind, entry.amount),
        (EntryKind::Payment, Money::from_fen(-1_500))
    );
    assert_eq!(entry.holder_id, f.holder);
    assert_eq!(entry.merchant_id, f.merchant);
    let entries = f.db.staff_entries(f.holder, 2).await.expect("entries");
    assert_eq!(
        (entries[0].id, entries[0].kind),
        (journal_id, EntryKind::Correction)
    );
    assert_eq!(entries[0].memo, "charged twice");
    assert_eq!((entries[1].id, entries[1].reversed), (first, true));
    f.consistent().await;

    // Above the approval amount: a request, then a second approver.
    let second = f.pay("corr-2", 2_500).await;
    let entry =
        f.db.journal_entry(second)
            .await
            .expect("entry")
            .expect("entry");
    assert!(!entry.reversed);
    let request = |staff: i64| {
        let (db, entry, audit) = (
            f.db.clone(),
            entry.clone(),
            f.audit_by(staff, AuditAction::MoneyCorrectionRequested, Some(f.holder)),
        );
        async move {
            db.request_correction(&entry, "wrong amount", staff, test_now(), audit)
                .await
                .expect("request")
        }
    };
    let request_id = request(f.operator).await.expect("filed");
    assert_eq!(
        request(f.operator).await,
        None,
        "one pending request per payment"
    );
    assert_eq!(f.audits().await, audits + 2);
    let row =
        f.db.reversal_request(request_id)
            .await
            .expect("request")
            .expect("request");
    assert!(row.pending);
    assert_eq!(
        (
            row.journal_id,
            row.holder_id,
            row.amount,
            row.requested_by,
            row.reason.as_str()
        ),
        (
            second,
            f.holder,
            Money::from_fen(2_500),
            f.operator,
            "wrong amount"
        )
    );
    let pending =
        f.db.pending_reversals(Some(f.holder))
            .await
            .expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].student_no, A_NO);
    assert_eq!(pending[0].amount, Money::from_fen(2_500));
    assert_ts(&pending[0].requested_at);
    assert_eq!(
        f.db.pending_reversals(None).await.expect("pending").len(),
        1
    );
    assert!(
        f.db.pending_reversals(Some(f.holder + 1))
            .await
            .expect("p")
            .is_empty()
    );

    let before = f.balance(f.holder).await;
    let approve = || {
        let (db, audit, op2) = (
            f.db.clone(),
            f.audit_by(f.operator2, AuditAction::MoneyCorrection, Some(f.holder)),
            f.operator2,
        );
        async move {
            db.correct_payment(
                second,
                "wrong amount",
                op2,
                Some(request_id),
                test_now(),
                audit,
            )
            .await
            .expect("approve")
        }
    };
    let approved = approve().await;
    assert!(
        matches!(approved, Correction::Corrected { balance, .. } if balance == before.checked_add(Money::from_fen(2_500)).expect("sum")),
        "{approved:?}"
    );
    assert_eq!(approve().await, Correction::RequestDecided);
    assert!(
        !f.db
            .reversal_request(request_id)
            .await
            .expect("r")
            .expect("r")
            .pending
    );
    assert!(
        f.db.pending_reversals(None)
            .await
            .expect("pending")
            .is_empty()
    );
    assert_eq!(f.audits().await, audits + 3);
    // A new request for a corrected payment is filed, but its approval finds it reversed:
    // the request is closed as rejected (audited), and no money moves.
    let late = request(f.operator).await.expect("filed");
    let out =
        f.db.correct_payment(
            second,
            "again",
            f.operator2,
            Some(late),
            test_now(),
            f.audit_by(f.operator2, AuditAction::MoneyCorrection, Some(f.holder)),
        )
        .await
        .expect("correct");
    assert_eq!(out, Correction::AlreadyReversed);
    assert!(
        !f.db
            .reversal_request(late)
            .await
            .expect("r")
            .expect("r")
            .pending
    );
    assert_eq!(f.audits().await, audits + 5);
    f.consistent().await;
}

#[tokio::test]
async fn a_totp_step_logs_in_once() {
    let f = fixture().await;
    let op =
        f.db.staff_auth("operator")
            .await
            .expect("auth")
            .expect("auth");
    assert_eq!(op.role, StaffRole::Operator);
    assert!(op.active);
    assert!(op.totp_secret.is_some());
    assert_eq!((op.merchant_id, op.merchant_name), (None, None));
    let canteen =
        f.db.staff_auth("canteen1")
            .await
            .expect("auth")
            .expect("auth");
    assert_eq!(canteen.role, StaffRole::Merchant);
    assert_eq!(canteen.merchant_id, f.merchant);
    assert!(canteen.merchant_name.is_some());
    assert!(f.db.staff_auth("nobody").await.expect("auth").is_none());

    assert!(
        f.db.staff_login_succeeded(op.id, 1_000)
            .await
            .expect("login")
    );
    assert!(
        !f.db
            .staff_login_succeeded(op.id, 1_000)
            .await
            .expect("login"),
        "replayed"
    );
    assert!(
        !f.db.staff_login_succeeded(op.id, 999).await.expect("login"),
        "older"
    );
    // Whole milliseconds: the precision both stores keep.
    let until = test_now().trunc_subsecs(3) + Duration::minutes(30);
    let staff = Attempts::Staff(op.id);
    assert_eq!(
        f.db.reserve_attempt(staff, 2, until, test_now())
            .await
            .expect("reserve"),
        Attempt::Allowed { nth: 1 }
    );
    assert_eq!(
        f.db.reserve_attempt(staff, 2, until, test_now())
            .await
            .expect("reserve"),
        Attempt::Allowed { nth: 2 }
    );
    let locked = Some(until);
    let again = f.db.staff_by_id(op.id).await.expect("auth").expect("auth");
    assert_eq!(again.locked_until, locked);
    assert!(
        f.db.staff_login_succeeded(op.id, 1_001)
            .await
            .expect("login")
    );
    let again = f.db.staff_by_id(op.id).await.expect("auth").expect("auth");
    assert_eq!(again.locked_until, None);
    assert_eq!(again.username, "operator");
}

#[tokio::test]
async fn administration_refuses_taken_codes_and_names() {
    let f = fixture().await;
    let audits = f.audits().await;
    let now = test_now();

    let device = |code: &'static str| {
        let (db, audit) = (f.db.clone(), f.audit(AuditAction::DeviceCreate, None));
        let merchant = f.merchant;
        async move {
            db.create_device(
                &DeviceInput {
                    code,
                    kind: DeviceKind::Pos,
                    merchant_id: merchant,
                    place: "一楼",
                },
                now,
                audit,
            )
            .await
            .expect("device")
        }
    };
    assert_eq!(device("POS-E-CANTEEN-1").await, None);
    let id = device("POS-TEST-9").await.expect("created");
    f.db.set_device_credential(
        id,
        Some("pk"),
        now,
        f.audit(AuditAction::DeviceIssueCredential, None),
    )
    .await
    .expect("key");
    let view = f.db.devices().await.expect("devices");
    let d = view.iter().find(|d| d.id == id).expect("listed");
    assert!(d.has_credential && !d.revoked);
    assert_ts(d.credential_issued_at.as_deref().expect("issued"));
    f.db.set_device_credential(
        id,
        None,
        now,
        f.audit(AuditAction::DeviceIssueCredential, None),
    )
    .await
    .expect("revoke");
    let view = f.db.devices().await.expect("devices");
    let d = view.iter().find(|d| d.id == id).expect("listed");
    assert!(!d.has_credential && d.revoked);

    let staff = |username: &'static str| {
        let (db, audit) = (f.db.clone(), f.audit(AuditAction::StaffCreate, None));
        async move {
            db.create_staff(
                &NewStaffUser {
                    username,
                    display_name: "新同事",
                    role: StaffRole::Operator,
                    merchant_id: None,
                    password_hash: "pw",
                    totp_secret: "SECRET",
                    enrolment: None,
                },
                now,
                audit,
            )
            .await
            .expect("staff")
        }
    };
    assert_eq!(staff("operator").await, None);
    let new_staff = staff("operator9").await.expect("created");
    let users = f.db.staff_users().await.expect("users");
    let u = users.iter().find(|u| u.id == new_staff).expect("listed");
    assert!(u.active && !u.locked && u.has_second_factor);
    f.db.create_session(&NewSession {
        token_hash: "tok-staff".into(),
        subject: SubjectKind::Staff,
        subject_id: new_staff,
        now,
        ip: String::new(),
        user_agent: String::new(),
    })
    .await
    .expect("session");
    f.db.update_staff(
        new_staff,
        StaffRole::Auditor,
        None,
        false,
        now,
        f.audit(AuditAction::StaffCreate, None),
    )
    .await
    .expect("update");
    let s = f.db.staff_by_id(new_staff).await.expect("s").expect("s");
    assert_eq!((s.role, s.active), (StaffRole::Auditor, false));
    assert!(
        f.db.live_sessions_of(SubjectKind::Staff, new_staff)
            .await
            .expect("s")
            .is_empty()
    );

    let merchant = |id: Option<i64>, code: &'static str| {
        let (db, audit) = (f.db.clone(), f.audit(AuditAction::MerchantCreate, None));
        async move {
            db.save_merchant(
                id,
                &MerchantInput {
                    code,
                    name_zh: "新商户",
                    name_en: "New shop",
                    category: MerchantCategory::Shop,
                    place: "西区",
                    active: true,
                },
                now,
                audit,
            )
            .await
            .expect("merchant")
        }
    };
    assert_eq!(merchant(None, "E-CANTEEN-1").await, None);
    let m = merchant(None, "NEW-SHOP").await.expect("created");
    assert_eq!(merchant(Some(m), "E-CANTEEN-1").await, None);
    assert_eq!(merchant(Some(m), "NEW-SHOP-2").await, Some(m));
    let list = f.db.merchants().await.expect("merchants");
    let saved = list.iter().find(|x| x.id == m).expect("listed");
    assert_eq!((saved.code.as_str(), saved.active), ("NEW-SHOP-2", true));

    let mut profile = f.db.campus_profile().await.expect("p").expect("p");
    profile.hours_note = crate::model::Localized::new("改过", "changed");
    f.db.save_profile_audited(&profile, f.audit(AuditAction::CampusProfile, None))
        .await
        .expect("profile");
    assert_eq!(f.db.campus_profile().await.expect("p"), Some(profile));

    // Successes only: device, key, revoke, staff, update, merchant twice, profile.
    assert_eq!(f.audits().await, audits + 8);
}

#[tokio::test]
async fn reports_and_the_audit_log_count_what_happened() {
    let f = fixture().await;
    let (from, until) = (
        test_now() - Duration::hours(1),
        test_now() + Duration::hours(1),
    );
    let settlement = f.db.settlement(from, until).await.expect("settlement");
    let topups = f.db.topups_by_channel(from, until).await.expect("topups");
    let activity = f.db.operator_activity(from, until).await.expect("activity");
    let code = "E-CANTEEN-1";
    let sales_of = |rows: &[crate::staff_model::SettlementRow]| {
        rows.iter()
            .find(|r| r.merchant_code == code)
            .map(|r| (r.sales, r.sales_total, r.corrections_total, r.net))
            .unwrap_or((0, Money::ZERO, Money::ZERO, Money::ZERO))
    };
    let cash_of = |rows: &[crate::staff_model::ChannelRow]| {
        rows.iter()
            .find(|r| r.channel == Channel::Cash)
            .map(|r| (r.count, r.total))
            .unwrap_or((0, Money::ZERO))
    };

    assert!(matches!(
        f.cash(f.holder, 20_000, "R-REP-1").await,
        CreditOutcome::Credited { .. }
    ));
    let again = f.cash(f.holder, 20_000, "R-REP-1").await;
    assert!(
        matches!(again, CreditOutcome::AlreadyCredited { .. }),
        "{again:?}"
    );
    let paid = f.pay("rep-1", 1_000).await;
    f.pay("rep-2", 700).await;
    f.db.correct_payment(
        paid,
        "fix",
        f.operator,
        None,
        test_now(),
        f.audit(AuditAction::MoneyCorrection, Some(f.holder)),
    )
    .await
    .expect("correct");

    let (s0, t0, c0, n0) = sales_of(&settlement);
    let (s1, t1, c1, n1) = sales_of(&f.db.settlement(from, until).await.expect("settlement"));
    assert_eq!(s1, s0 + 2);
    assert_eq!(t1.fen(), t0.fen() + 1_700);
    assert_eq!(c1.fen(), c0.fen() + 1_000);
    assert_eq!(n1.fen(), n0.fen() + 700);
    let (k0, m0) = cash_of(&topups);
    let (k1, m1) = cash_of(&f.db.topups_by_channel(from, until).await.expect("topups"));
    assert_eq!((k1, m1.fen()), (k0 + 1, m0.fen() + 20_000));
    let count_of = |rows: &[crate::staff_model::ActivityRow], action: &str| {
        rows.iter()
            .filter(|r| r.action == action && r.staff.starts_with("operator ("))
            .map(|r| r.count)
            .sum::<i64>()
    };
    let activity1 = f.db.operator_activity(from, until).await.expect("activity");
    assert_eq!(
        count_of(&activity1, "money.cash_topup"),
        count_of(&activity, "money.cash_topup") + 1
    );
    assert_eq!(
        count_of(&activity1, "money.correction"),
        count_of(&activity, "money.correction") + 1
    );
    let sales =
        f.db.merchant_entries(f.merchant.expect("merchant"), from, until)
            .await
            .expect("sales");
    let sale = sales.iter().find(|s| s.id == paid).expect("listed");
    assert_eq!(
        (sale.kind, sale.amount),
        (EntryKind::Payment, Money::from_fen(-1_000))
    );
    assert_eq!(sale.device, "POS-E-CANTEEN-1");
    assert_eq!(sale.payer, "陈*怡");
    assert_ts(&sale.at);
    assert!(sales.iter().any(|s| s.kind == EntryKind::Correction));

    // The audit viewer's filters.
    let query = |person: Option<&str>, holder: Option<&str>, action: Option<&str>| AuditQuery {
        person: person.map(String::from),
        holder: holder.map(String::from),
        action: action.map(String::from),
        from: None,
        until: None,
        limit: 1_000,
    };
    let mine =
        f.db.audit_records(&query(Some("operator"), Some(A_NO), Some("money.")))
            .await
            .expect("audit");
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine.iter().all(|a| a.action.starts_with("money.")));
    assert_eq!(mine[0].action, "money.correction", "newest first");
    let exact =
        f.db.audit_records(&query(None, None, Some("money.cash_topup")))
            .await
            .expect("audit");
    assert_eq!(exact.len(), 1);
    assert!(
        f.db.audit_records(&query(Some("auditor"), None, None))
            .await
            .expect("audit")
            .is_empty()
    );
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let window = AuditQuery {
        from: Some(ts(from)),
        until: Some(ts(until)),
        ..query(Some("operator"), None, None)
    };
    assert_eq!(f.db.audit_records(&window).await.expect("audit").len(), 2);
    let later = AuditQuery {
        from: Some(ts(until)),
        until: None,
        ..query(Some("operator"), None, None)
    };
    assert!(f.db.audit_records(&later).await.expect("audit").is_empty());
    let limited = AuditQuery {
        limit: 1,
        ..query(Some("operator"), None, None)
    };
    assert_eq!(f.db.audit_records(&limited).await.expect("audit").len(), 1);
}

#[tokio::test]
async fn a_failed_automatic_topup_is_resolved_once() {
    let f = fixture().await;
    let now = test_now();
    assert!(
        f.db.create_order(&NewOrder {
            order_no: "A-FAIL-1",
            holder_id: f.holder,
            channel: Channel::Auto,
            amount: Money::yuan(50),
            now,
        })
        .await
        .expect("order")
    );
    assert!(
        f.db.order_failed("A-FAIL-1", "card declined", now)
            .await
            .expect("failed")
    );
    let open =
        f.db.failed_topup_views(Some(f.holder))
            .await
            .expect("views");
    assert_eq!(open.len(), 1);
    assert_eq!(
        (
            open[0].order_no.as_str(),
            open[0].student_no.as_str(),
            open[0].failure.as_str()
        ),
        ("A-FAIL-1", A_NO, "card declined")
    );
    assert_eq!(open[0].amount, Money::yuan(50));
    assert_ts(&open[0].at);
    assert_eq!(f.db.failed_topup_views(None).await.expect("views").len(), 1);
    let audits = f.audits().await;
    let resolve = || {
        let (db, audit, op) = (
            f.db.clone(),
            f.audit(AuditAction::TopupResolveFailed, Some(f.holder)),
            f.operator,
        );
        async move {
            db.resolve_failed_topup("A-FAIL-1", "called the holder", op, test_now(), audit)
                .await
                .expect("resolve")
        }
    };
    assert!(resolve().await);
    assert!(!resolve().await);
    assert_eq!(f.audits().await, audits + 1);
    assert!(
        f.db.failed_topup_views(None)
            .await
            .expect("views")
            .is_empty()
    );
}

// ---- Races: copies of one counter action arriving together change things once. ----

/// Runs `n` copies of a task at once (from a multi-threaded runtime) and collects their results.
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
async fn two_approvers_at_once_correct_once() {
    let f = fixture().await;
    f.cash(f.holder, 50_000, "R-RACE-1").await;
    let paid = f.pay("race-corr", 3_000).await;
    let entry = f.db.journal_entry(paid).await.expect("e").expect("e");
    let requests = together(8, |_| {
        let (db, entry, audit, op) = (
            f.db.clone(),
            entry.clone(),
            f.audit(AuditAction::MoneyCorrectionRequested, Some(f.holder)),
            f.operator,
        );
        async move {
            db.request_correction(&entry, "race", op, test_now(), audit)
                .await
                .expect("request")
        }
    })
    .await;
    let filed: Vec<i64> = requests.iter().flatten().copied().collect();
    assert_eq!(filed.len(), 1, "{requests:?}");
    let before = f.balance(f.holder).await;
    let audits = f.audits().await;
    let outcomes = together(8, |_| {
        let (db, audit, op2, request) = (
            f.db.clone(),
            f.audit_by(f.operator2, AuditAction::MoneyCorrection, Some(f.holder)),
            f.operator2,
            filed[0],
        );
        async move {
            db.correct_payment(paid, "race", op2, Some(request), test_now(), audit)
                .await
                .expect("approve")
        }
    })
    .await;
    let corrected = outcomes
        .iter()
        .filter(|o| matches!(o, Correction::Corrected { .. }))
        .count();
    assert_eq!(corrected, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Correction::Corrected { .. } | Correction::RequestDecided)),
        "{outcomes:?}"
    );
    assert_eq!(
        f.balance(f.holder).await,
        before.checked_add(Money::from_fen(3_000)).expect("sum")
    );
    assert_eq!(f.audits().await, audits + 1);
    f.consistent().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counter_actions_at_once_happen_once() {
    let f = fixture().await;
    let (card_id, holder, _) =
        f.db.card_by_number(A_CARD)
            .await
            .expect("card")
            .expect("card");
    let found = together(8, |_| {
        let (db, audit, op) = (
            f.db.clone(),
            f.audit(AuditAction::CardFound, Some(holder)),
            f.operator,
        );
        async move {
            db.record_found_card(card_id, holder, "操场", op, test_now(), audit)
                .await
                .expect("found")
        }
    })
    .await;
    assert_eq!(found.iter().filter(|x| **x).count(), 1, "{found:?}");

    let op = f.operator;
    let logins = together(8, |_| {
        let db = f.db.clone();
        async move { db.staff_login_succeeded(op, 77).await.expect("login") }
    })
    .await;
    assert_eq!(logins.iter().filter(|x| **x).count(), 1, "{logins:?}");

    // After a cancellation, eight counters issue eight different cards: one is issued.
    f.db.cancel_card(
        f.holder,
        test_now(),
        f.audit(AuditAction::CardCancel, Some(f.holder)),
    )
    .await
    .expect("cancel");
    let issued = together(8, |i| {
        let (db, audit, op, holder) = (
            f.db.clone(),
            f.audit(AuditAction::CardIssue, Some(f.holder)),
            f.operator,
            f.holder,
        );
        async move {
            db.issue_card(
                holder,
                &card(&format!("8800030{i}"), &format!("RACE030{i}")),
                false,
                Money::ZERO,
                op,
                audit,
            )
            .await
            .expect("issue")
        }
    })
    .await;
    let ok = issued
        .iter()
        .filter(|o| matches!(o, CardIssue::Issued { .. }))
        .count();
    assert_eq!(ok, 1, "{issued:?}");
    assert!(
        issued
            .iter()
            .all(|o| matches!(o, CardIssue::Issued { .. } | CardIssue::HasLiveCard)),
        "{issued:?}"
    );

    // Closing twice at once pays out once.
    f.cash(f.holder, 8_888, "R-RACE-2").await;
    let balance = f.balance(f.holder).await;
    let entries = f.db.ledger_check().await.expect("check").entries;
    let closed = together(6, |i| {
        let (db, audit, op, holder) = (
            f.db.clone(),
            f.audit(AuditAction::AccountClose, Some(f.holder)),
            f.operator,
            f.holder,
        );
        async move {
            db.close_account(
                holder,
                &format!("RACE-PAYOUT-{i}"),
                "6222021234567890",
                op,
                test_now(),
                audit,
            )
            .await
            .expect("close")
        }
    })
    .await;
    let paid: Vec<Money> = closed
        .iter()
        .filter_map(|c| match c {
            Closing::Closed { paid_out, .. } => Some(*paid_out),
            Closing::AlreadyClosed | Closing::NotEmpty | Closing::MoneyInFlight => None,
        })
        .collect();
    assert_eq!(paid, vec![balance], "{closed:?}");
    let check = f.db.ledger_check().await.expect("check");
    assert!(check.is_consistent(), "{check:?}");
    assert_eq!(check.entries, entries + 1);
}

#[tokio::test]
async fn an_operator_takes_cash_up_to_the_cap_and_retries_are_not_refused() {
    let f = fixture().await;
    let cap = Money::yuan(30);
    assert!(matches!(
        f.cash_capped(f.holder, 2000, "R-CAP-1", cap).await,
        CreditOutcome::Credited { .. }
    ));
    assert_eq!(
        f.cash_capped(f.holder, 1001, "R-CAP-2", cap).await,
        CreditOutcome::CashCapReached {
            taken: Money::yuan(20),
            cap
        }
    );
    // The first receipt again (a double-clicked form): its credit, not a refusal.
    assert!(matches!(
        f.cash_capped(f.holder, 2000, "R-CAP-1", cap).await,
        CreditOutcome::AlreadyCredited { .. }
    ));
    assert!(matches!(
        f.cash_capped(f.holder, 1000, "R-CAP-3", cap).await,
        CreditOutcome::Credited { .. }
    ));
    f.consistent().await;
}

#[tokio::test]
async fn one_person_closes_only_an_account_that_is_empty_under_the_lock() {
    let f = fixture().await;
    f.cash(f.holder, 500, "R-EMPTY-1").await;
    let refused =
        f.db.close_empty_account(
            f.holder,
            "PO-EMPTY",
            f.operator,
            test_now(),
            f.audit(AuditAction::AccountClose, Some(f.holder)),
        )
        .await
        .expect("close");
    assert_eq!(refused, Closing::NotEmpty);
    let r = f.db.holder_record(f.holder).await.expect("r").expect("r");
    assert_eq!(r.status, crate::model::AccountStatus::Active);
    f.consistent().await;
}

#[tokio::test]
async fn a_closing_waits_under_the_lock_for_money_on_its_way() {
    let f = fixture().await;
    f.cash(f.holder, 5_000, "R-FLIGHT-1").await;
    let payment = f.pay("flight-1", 1_200).await;
    let entry =
        f.db.journal_entry(payment)
            .await
            .expect("entry")
            .expect("entry");
    // A closing asked before the correction request, approved after it: refused, still pending.
    let closing =
        f.db.request_closing(
            f.holder,
            "6222021234567890",
            "退学",
            f.operator,
            test_now(),
            f.audit(AuditAction::AccountCloseRequested, Some(f.holder)),
        )
        .await
        .expect("request")
        .expect("filed");
    f.db.request_correction(
        &entry,
        "wrong amount",
        f.operator,
        test_now(),
        f.audit(AuditAction::MoneyCorrectionRequested, Some(f.holder)),
    )
    .await
    .expect("request")
    .expect("filed");
    let decided =
        f.db.decide_closing(
            closing,
            true,
            "PO-FLIGHT",
            f.operator2,
            test_now(),
            f.audit_by(f.operator2, AuditAction::AccountClose, Some(f.holder)),
        )
        .await
        .expect("decide");
    assert_eq!(decided, Some(Closing::MoneyInFlight));
    let request = f.db.closing_request(closing).await.expect("r").expect("r");
    assert!(request.pending, "the closing still waits");
    let closed =
        f.db.close_account(
            f.holder,
            "PO-FLIGHT-2",
            "6222021234567890",
            f.operator,
            test_now(),
            f.audit(AuditAction::AccountClose, Some(f.holder)),
        )
        .await
        .expect("close");
    assert_eq!(closed, Closing::MoneyInFlight);
    let r = f.db.holder_record(f.holder).await.expect("r").expect("r");
    assert_eq!(r.status, crate::model::AccountStatus::Active);
    f.consistent().await;
}
