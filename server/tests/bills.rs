//! Bills (待缴费) through the real HTTP endpoints: the card office issues them (one at the
//! counter, or a list that is issued whole or not at all), the holder pays one from the card
//! balance exactly once, and a cancelled or paid bill cannot be paid or cancelled again.
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::{EntryKind, Money};
use app::server::store::{AuditQuery, EntryQuery};
use helpers::device::{FRESH_QUERY_PASSWORD, balance, fresh_holder, holder, make_room};
use helpers::staff::{ok, staff_login};
use helpers::{TestApp, call, login};
use reqwest::StatusCode;
use serde_json::Value;

/// The demo student of the README, who starts with two unpaid bills.
const STUDENT: &str = "2023020215";
const STUDENT_PW: &str = "260817";

/// A due date this many days after the server's today (the campus date, UTC+8).
fn due_in(app: &TestApp, days: i64) -> String {
    (app.state.now() + chrono::Duration::days(days) + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

async fn issue(app: &TestApp, staff: &str, student_no: &str, title: &str, amount: &str) -> i64 {
    let due = due_in(app, 14);
    let (status, body, _) = call(
        app,
        Some(staff),
        "staff/issue_bill",
        &[
            ("student_no", student_no),
            ("title", title),
            ("department", "教务处"),
            ("amount", amount),
            ("due_on", &due),
        ],
    )
    .await;
    ok(status, &body, "issue a bill");
    body.parse().unwrap()
}

async fn pay(app: &TestApp, holder: &str, bill: i64) -> (StatusCode, String) {
    let (status, body, _) = call(
        app,
        Some(holder),
        "pay_bill",
        &[("bill_id", &bill.to_string())],
    )
    .await;
    (status, body)
}

async fn my_bills(app: &TestApp, holder: &str) -> Value {
    let (status, body, _) = call(app, Some(holder), "bills", &[]).await;
    ok(status, &body, "my bills");
    serde_json::from_str(&body).unwrap()
}

fn refused(status: StatusCode, body: &str, code: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains(code), "expected {code}: {body}");
}

async fn fee_entries(app: &TestApp, holder_id: i64) -> Vec<app::portal_model::EntryView> {
    let query = EntryQuery {
        limit: 1000,
        kind: Some(EntryKind::Fee),
        ..Default::default()
    };
    app.state.db.entries(holder_id, &query).await.unwrap()
}

#[tokio::test]
async fn a_bill_issued_at_the_counter_is_paid_once_by_its_holder_and_shows_paid() {
    let app = TestApp::spawn(4).await;
    let op = staff_login(&app, "operator").await;
    let payer = fresh_holder(&app, 5, Money::yuan(300)).await;
    let (student_id, start) = (payer.id, Money::yuan(300));
    let student = login(&app, &payer.login, FRESH_QUERY_PASSWORD).await;

    let bill = issue(&app, &op, &payer.login, "补考费（高等数学）", "60").await;
    let mine = my_bills(&app, &student).await;
    assert_eq!(mine["unpaid"][0]["id"], bill, "{mine}");
    assert_eq!(mine["unpaid"][0]["amount"], 6000);
    let (status, body, _) = call(&app, Some(&student), "dashboard", &[]).await;
    ok(status, &body, "dashboard");
    let dash: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            dash["bills_due"].as_i64(),
            dash["bills_due_amount"].as_i64()
        ),
        (Some(1), Some(6000))
    );

    // Someone else cannot pay it (nor learn that it exists).
    let other = fresh_holder(&app, 1, Money::yuan(100)).await;
    let other_session = login(&app, &other.login, FRESH_QUERY_PASSWORD).await;
    let (status, body) = pay(&app, &other_session, bill).await;
    refused(status, &body, "no_such_bill");
    assert_eq!(balance(&app, other.id).await, Money::yuan(100));

    let (status, body) = pay(&app, &student, bill).await;
    ok(status, &body, "pay");
    let paid: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(paid["amount"], 6000);
    assert_eq!(paid["balance"].as_i64(), Some(start.fen() - 6000));
    assert_eq!(
        balance(&app, student_id).await,
        Money::from_fen(start.fen() - 6000)
    );
    let fees = fee_entries(&app, student_id).await;
    assert_eq!(fees.len(), 1);
    assert_eq!(
        (fees[0].amount, fees[0].memo.as_str()),
        (Money::yuan(-60), "补考费（高等数学）")
    );

    // The office can print its receipt: a bill payment, named by what it was for.
    let entry = paid["journal_id"].as_i64().unwrap().to_string();
    let (status, body, _) = call(&app, Some(&op), "staff/receipt", &[("entry_id", &entry)]).await;
    ok(status, &body, "receipt");
    let receipt: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(receipt["kind"], "Bill", "{receipt}");
    assert_eq!(receipt["detail"], "补考费（高等数学）");
    assert_eq!(receipt["amount"], 6000);

    // Paid is paid: not again, not cancelled afterwards.
    let (status, body) = pay(&app, &student, bill).await;
    refused(status, &body, "bill_paid");
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/cancel_bill",
        &[("bill_id", &bill.to_string()), ("reason", "不需要了")],
    )
    .await;
    refused(status, &body, "bill_paid");
    assert_eq!(
        balance(&app, student_id).await,
        Money::from_fen(start.fen() - 6000)
    );

    // The holder and the office see it paid, with its entry.
    let mine = my_bills(&app, &student).await;
    assert_eq!(mine["unpaid"].as_array().unwrap().len(), 0, "{mine}");
    assert_eq!(mine["settled"][0]["status"], "paid");
    assert_eq!(
        mine["settled"][0]["entry_id"].as_i64(),
        Some(paid["journal_id"].as_i64().unwrap())
    );
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/bills",
        &[("status", "paid"), ("q", &payer.login)],
    )
    .await;
    ok(status, &body, "office list");
    let office: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(office["bills"][0]["bill"]["id"], bill, "{office}");
    assert_eq!(office["totals"]["paid"], 1);
    assert_eq!(office["totals"]["paid_amount"], 6000);

    // The payment is the holder's own audited act.
    let records = app
        .state
        .db
        .audit_records(&AuditQuery {
            holder: Some(payer.login.clone()),
            action: Some("bill.pay".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(records.len(), 1, "one record of the payment");

    // Paid by mistake: the counter corrects its entry, once, and the bill shows refunded.
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/reverse",
        &[("journal_id", &entry), ("reason", "开错了账单")],
    )
    .await;
    ok(status, &body, "correct the bill's payment");
    assert_eq!(balance(&app, student_id).await, start);
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/reverse",
        &[("journal_id", &entry), ("reason", "再退一次")],
    )
    .await;
    refused(status, &body, "already_reversed");
    assert_eq!(balance(&app, student_id).await, start);
    let mine = my_bills(&app, &student).await;
    assert_eq!(mine["settled"][0]["refunded"], true, "{mine}");
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

#[tokio::test]
async fn paying_and_cancelling_one_bill_at_once_do_one_or_the_other() {
    let app = TestApp::spawn(2).await;
    let op = staff_login(&app, "operator").await;
    let payer = fresh_holder(&app, 6, Money::yuan(100)).await;
    let session = login(&app, &payer.login, FRESH_QUERY_PASSWORD).await;
    for round in 0..6 {
        let bill = issue(&app, &op, &payer.login, &format!("补办 {round}"), "5").await;
        let before = balance(&app, payer.id).await;
        let id = bill.to_string();
        let form = [("bill_id", id.as_str()), ("reason", "撤销测试")];
        let cancel = call(&app, Some(&op), "staff/cancel_bill", &form);
        let ((paid, paid_body), (cancelled, cancel_body, _)) =
            tokio::join!(pay(&app, &session, bill), cancel);
        assert!(
            paid.is_success() != cancelled.is_success(),
            "exactly one wins: {paid} {paid_body} / {cancelled} {cancel_body}"
        );
        let after = balance(&app, payer.id).await;
        if paid.is_success() {
            refused(cancelled, &cancel_body, "bill_paid");
            assert_eq!(after, Money::from_fen(before.fen() - 500));
        } else {
            refused(paid, &paid_body, "bill_cancelled");
            assert_eq!(after, before);
        }
    }
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

#[tokio::test]
async fn the_same_bill_paid_twice_at_once_is_charged_once() {
    let app = TestApp::spawn(2).await;
    let op = staff_login(&app, "operator").await;
    let payer = fresh_holder(&app, 2, Money::yuan(100)).await;
    let session = login(&app, &payer.login, FRESH_QUERY_PASSWORD).await;
    for round in 0..5 {
        let bill = issue(&app, &op, &payer.login, &format!("图书逾期 {round}"), "10").await;
        let before = balance(&app, payer.id).await;
        let (a, b, c) = tokio::join!(
            pay(&app, &session, bill),
            pay(&app, &session, bill),
            pay(&app, &session, bill)
        );
        let oks = [&a, &b, &c].iter().filter(|(s, _)| s.is_success()).count();
        assert_eq!(oks, 1, "{a:?} {b:?} {c:?}");
        for (status, body) in [&a, &b, &c] {
            if !status.is_success() {
                refused(*status, body, "bill_paid");
            }
        }
        assert_eq!(
            balance(&app, payer.id).await,
            Money::from_fen(before.fen() - 1000)
        );
    }
    assert_eq!(fee_entries(&app, payer.id).await.len(), 5);
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

#[tokio::test]
async fn a_list_is_issued_whole_or_not_at_all_and_a_cancelled_bill_cannot_be_paid() {
    let app = TestApp::spawn(2).await;
    let op = staff_login(&app, "operator").await;
    let a = fresh_holder(&app, 3, Money::yuan(5)).await;
    let b = fresh_holder(&app, 4, Money::yuan(50)).await;
    let due = due_in(&app, 14);
    let past = due_in(&app, -2);
    let send = |csv: String| {
        let op = op.clone();
        let app = &app;
        async move {
            let (status, body, _) = call(
                app,
                Some(&op),
                "staff/issue_bills",
                &[("csv", &csv), ("file_name", "resits.csv")],
            )
            .await;
            ok(status, &body, "issue a list");
            serde_json::from_str::<Value>(&body).unwrap()
        }
    };
    let head = "学号,项目,开单部门,金额,截止日期\n";
    let good = format!(
        "{head}{},补考费,教务处,30,{due}\n{},补考费,教务处,30,{due}\n",
        a.login, b.login
    );
    // A bad amount, an unknown student and a past due date: nothing is issued.
    let bad = format!(
        "{head}{},补考费,教务处,30,{due}\n{},补考费,教务处,abc,{due}\n2099000000,补考费,教务处,30,{due}\n{},补考费,教务处,30,{past}\n",
        a.login, b.login, a.login
    );
    let answer = send(bad).await;
    let lines: Vec<i64> = answer["Refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[0].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 5], "the two lines with bad fields: {answer}");
    let answer = send(format!(
        "{head}2099000000,补考费,教务处,30,{due}\n{},补考费,教务处,30,{due}\n",
        a.login
    ))
    .await;
    assert_eq!(answer["Refused"][0][0], 2, "{answer}");
    assert_eq!(
        answer["Refused"][0][1]["code"], "unknown_holder",
        "{answer}"
    );
    let mut fresh = my_bills(&app, &login(&app, &a.login, FRESH_QUERY_PASSWORD).await).await;
    assert_eq!(
        fresh["unpaid"].as_array().unwrap().len(),
        0,
        "nothing issued: {fresh}"
    );

    let answer = send(good.clone()).await;
    assert_eq!(answer["Issued"]["count"], 2, "{answer}");
    assert_eq!(answer["Issued"]["total"], 6000, "{answer}");
    // The same list again issues nothing: both bills wait unpaid already.
    let answer = send(good).await;
    let again: Vec<&str> = answer["Refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[1]["code"].as_str().unwrap())
        .collect();
    assert_eq!(again, vec!["bill_issued_already"; 2], "{answer}");

    let a_session = login(&app, &a.login, FRESH_QUERY_PASSWORD).await;
    fresh = my_bills(&app, &a_session).await;
    let a_bill = fresh["unpaid"][0]["id"].as_i64().unwrap();
    // ¥30 from ¥5: refused, nothing charged.
    let (status, body) = pay(&app, &a_session, a_bill).await;
    refused(status, &body, "bill_above_balance");
    assert_eq!(balance(&app, a.id).await, Money::yuan(5));

    let b_session = login(&app, &b.login, FRESH_QUERY_PASSWORD).await;
    let b_bill = my_bills(&app, &b_session).await["unpaid"][0]["id"]
        .as_i64()
        .unwrap();
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/cancel_bill",
        &[("bill_id", &b_bill.to_string()), ("reason", "已线下缴纳")],
    )
    .await;
    ok(status, &body, "cancel");
    let (status, body) = pay(&app, &b_session, b_bill).await;
    refused(status, &body, "bill_cancelled");
    assert_eq!(balance(&app, b.id).await, Money::yuan(50));
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/cancel_bill",
        &[("bill_id", &b_bill.to_string()), ("reason", "再撤一次")],
    )
    .await;
    refused(status, &body, "bill_cancelled");
    let settled = &my_bills(&app, &b_session).await["settled"][0];
    assert_eq!(
        (
            settled["status"].as_str(),
            settled["cancel_reason"].as_str()
        ),
        (Some("cancelled"), Some("已线下缴纳"))
    );
    // Once cancelled, the same bill may be issued again (it is not waiting unpaid).
    issue(&app, &op, &b.login, "补考费", "30").await;
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

#[tokio::test]
async fn the_demo_student_starts_with_bills_to_pay_and_pays_one() {
    let app = TestApp::spawn(4).await;
    let student_id = holder(&app, STUDENT).await;
    let start = make_room(&app, student_id, Money::yuan(100)).await;
    let student = login(&app, STUDENT, STUDENT_PW).await;
    let mine = my_bills(&app, &student).await;
    let titles: Vec<&str> = mine["unpaid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap())
        .collect();
    // By due date: the fine first.
    assert_eq!(titles, vec!["图书逾期罚款", "补考费（高等数学）"], "{mine}");
    let fine = mine["unpaid"][0]["id"].as_i64().unwrap();
    let (status, body) = pay(&app, &student, fine).await;
    ok(status, &body, "pay the fine");
    assert_eq!(
        balance(&app, student_id).await,
        Money::from_fen(start.fen() - 350)
    );
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

#[tokio::test]
async fn the_longest_list_of_bills_is_issued_over_the_body_limit_of_a_form() {
    let app = TestApp::spawn(2).await;
    let op = staff_login(&app, "operator").await;
    let a = fresh_holder(&app, 3, Money::yuan(5)).await;
    let b = fresh_holder(&app, 4, Money::yuan(5)).await;
    let due = due_in(&app, 14);
    // The most lines a list may have, with Chinese titles: about 200 KB url-encoded, more than
    // the 64 KiB an ordinary form may send.
    let max = app::server::bills::MAX_LIST;
    let csv: String = std::iter::once("学号,项目,开单部门,金额,截止日期\n".to_string())
        .chain((0..max).map(|n| {
            let who = if n % 2 == 0 { &a.login } else { &b.login };
            format!("{who},补考费（高等数学第{n}项）,教务处,30,{due}\n")
        }))
        .collect();
    assert!(csv.len() > 64 * 1024, "{}", csv.len());
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/issue_bills",
        &[("csv", &csv), ("file_name", "resits.csv")],
    )
    .await;
    ok(status, &body, "issue the longest list");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["Issued"]["count"], max, "{answer}");
    app.stop().await;
}
