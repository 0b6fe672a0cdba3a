//! Refunds, kiosks, top-ups through the sandbox provider (its signed notifications delivered
//! twice, late, out of order, forged), automatic top-up, and the web till, over real HTTP.
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::{Channel, EntryKind, Money, TopupStatus};
use app::server::store::{Actor, Audit, AutoTopup, EntryQuery};
use app::server::topup::{self, Notification};
use chrono::Duration;
use helpers::device::{
    balance, code_for, device, holder, issue_key, live_serial, make_room, set_up_terminal,
};
use helpers::{TestApp, call, login};
use reqwest::StatusCode;
use serde_json::{Value, json};

const B_LOGIN: &str = "2023020215";
const B_PASSWORD: &str = "260817";
const B_CONSUMPTION: &str = "257419";
const D_LOGIN: &str = "2025040422";
const D_PASSWORD: &str = "531976";

fn consistent(check: app::server::store::LedgerCheck) {
    assert!(check.is_consistent(), "{check:?}");
}

#[tokio::test]
async fn a_payment_is_refunded_once_by_its_own_merchant_within_the_window() {
    let app = TestApp::spawn(6).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let other = device(&app, "POS-E-MARKET").await;
    let gate = device(&app, "GATE-E-DORM").await;
    let b = holder(&app, B_LOGIN).await;
    let serial = live_serial(&app, b).await;
    let before = balance(&app, b).await;
    let sale = pos.pay(&app, "s-1", 1800, Some(&serial), None, None).await;
    assert_eq!(sale["approved"], true, "{sale}");
    let payment = sale["journal_id"].as_i64().unwrap();

    let refund = async |d: &helpers::device::Device, id: &str, journal: i64| {
        d.post(
            &app,
            "/api/device/v1/refund",
            json!({"request_id": id, "journal_id": journal}),
        )
        .await
    };
    // Another merchant, and a gate, cannot refund it.
    let (_, r) = refund(&other, "r-x", payment).await;
    assert_eq!(r["reason"], "no_such_payment", "{r}");
    let (_, r) = refund(&gate, "r-g", payment).await;
    assert_eq!(r["reason"], "not_allowed_here", "{r}");
    // Its own till refunds it, once.
    let (status, first) = refund(&pos, "r-1", payment).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["approved"], true, "{first}");
    assert_eq!(first["amount_fen"], 1800);
    assert_eq!(first["balance_fen"], before.fen());
    let (_, again) = refund(&pos, "r-1", payment).await;
    assert_eq!(again, first, "a retried refund gets the first answer");
    let (status, _) = refund(&pos, "r-1", payment + 1).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, second) = refund(&pos, "r-2", payment).await;
    assert_eq!(second["reason"], "already_refunded", "{second}");
    assert_eq!(balance(&app, b).await, before);
    // Not a payment at all, and a payment older than the window.
    let (_, r) = refund(&pos, "r-3", first["journal_id"].as_i64().unwrap()).await;
    assert_eq!(r["reason"], "no_such_payment", "{r}");
    let old = app
        .state
        .db
        .entries(
            b,
            &EntryQuery {
                until: Some((app.state.now() - Duration::days(8)).to_rfc3339()),
                kind: Some(EntryKind::Payment),
                limit: 200,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.merchant_zh.as_deref() == Some("东区第一食堂"))
        .expect("an old canteen payment in the demo history");
    let (_, r) = refund(&pos, "r-4", old.id).await;
    assert_eq!(r["reason"], "refund_window_passed", "{r}");
    consistent(app.state.db.ledger_check().await.unwrap());
    app.stop().await;
}

#[tokio::test]
async fn kiosk_balance_consumption_password_and_loss_report() {
    let app = TestApp::spawn(6).await;
    let kiosk = device(&app, "KIOSK-E-ADMIN").await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let b = holder(&app, B_LOGIN).await;
    let serial = live_serial(&app, b).await;
    // The ¥60 sales below need the money, whatever the demo history left.
    make_room(&app, b, Money::yuan(100)).await;
    let path = "/api/device/v1/kiosk/balance";
    let (_, ok) = kiosk
        .post(
            &app,
            path,
            json!({"card_serial": serial, "password": B_PASSWORD}),
        )
        .await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["balance_fen"], balance(&app, b).await.fen());
    let (_, wrong) = kiosk
        .post(
            &app,
            path,
            json!({"card_serial": serial, "password": "000000"}),
        )
        .await;
    assert_eq!(wrong["reason"], "wrong_query_password", "{wrong}");
    let (_, not_here) = pos
        .post(
            &app,
            path,
            json!({"card_serial": serial, "password": B_PASSWORD}),
        )
        .await;
    assert_eq!(not_here["reason"], "not_allowed_here", "{not_here}");

    let path = "/api/device/v1/kiosk/consumption-password";
    for (old, new, reason) in [
        ("111111", "602931", "wrong_password"),
        (B_CONSUMPTION, "123456", "new_password_rejected"),
        (B_CONSUMPTION, B_CONSUMPTION, "new_password_rejected"),
    ] {
        let (_, r) = kiosk
            .post(
                &app,
                path,
                json!({"card_serial": serial, "old_password": old, "new_password": new}),
            )
            .await;
        assert_eq!(r["reason"], reason, "{old} → {new}: {r}");
    }
    let (_, changed) = kiosk
        .post(
            &app,
            path,
            json!({"card_serial": serial, "old_password": B_CONSUMPTION, "new_password": "602931"}),
        )
        .await;
    assert_eq!(changed["ok"], true, "{changed}");
    // Over the single limit: the new password pays, the old one no longer does.
    let old_pw = pos
        .pay(&app, "k-1", 6000, Some(&serial), None, Some(B_CONSUMPTION))
        .await;
    assert_eq!(old_pw["reason"], "wrong_password", "{old_pw}");
    let new_pw = pos
        .pay(&app, "k-1", 6000, Some(&serial), None, Some("602931"))
        .await;
    assert_eq!(new_pw["approved"], true, "{new_pw}");
    let dashboard = app
        .state
        .db
        .dashboard(b, app.state.now())
        .await
        .unwrap()
        .unwrap();
    assert!(!dashboard.consumption_pw_is_initial);

    let path = "/api/device/v1/kiosk/report-loss";
    let (_, wrong) = kiosk
        .post(&app, path, json!({"login": B_LOGIN, "password": "000000"}))
        .await;
    assert_eq!(wrong["reason"], "wrong_query_password", "{wrong}");
    let (_, lost) = kiosk
        .post(
            &app,
            path,
            json!({"login": B_LOGIN, "password": B_PASSWORD}),
        )
        .await;
    assert_eq!(lost["ok"], true, "{lost}");
    assert!(lost["holder"].as_str().unwrap().contains('*'), "{lost}");
    let refused = pos.pay(&app, "k-2", 100, Some(&serial), None, None).await;
    assert_eq!(refused["reason"], "card_lost", "{refused}");
    let (_, twice) = kiosk
        .post(
            &app,
            path,
            json!({"login": B_LOGIN, "password": B_PASSWORD}),
        )
        .await;
    assert_eq!(twice["reason"], "card_lost", "{twice}");
    app.stop().await;
}

async fn notify(app: &TestApp, n: &Notification, signature: Option<&str>) -> (StatusCode, Value) {
    let sandbox = app.state.sandbox.clone().unwrap();
    let (sig, body) = sandbox.notification(n);
    let res = app
        .client
        .post(app.url("/api/topup/notify/sandbox"))
        .header("x-sandbox-signature", signature.unwrap_or(&sig))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

fn paid(order_no: &str, fen: i64) -> Notification {
    Notification {
        order_no: order_no.into(),
        status: "paid".into(),
        amount_fen: fen,
        provider_ref: format!("SBX-{order_no}"),
        failure: String::new(),
    }
}

/// Creates an order and returns its number (from the pay page URL).
async fn order(app: &TestApp, holder_id: i64, channel: Channel, yuan: i64) -> String {
    let url = topup::start(
        &app.state,
        holder_id,
        channel,
        Money::yuan(yuan),
        app.state.now(),
    )
    .await
    .unwrap()
    .unwrap();
    url.rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn a_notification_delivered_twice_credits_once_and_forgeries_credit_nothing() {
    let app = TestApp::spawn(6).await;
    let b = holder(&app, B_LOGIN).await;
    let before = balance(&app, b).await;
    let no = order(&app, b, Channel::Wechat, 50).await;

    let mut forged = paid(&no, 5000);
    let (status, _) = notify(&app, &forged, Some("00ff")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    forged.amount_fen = 500_000;
    let (status, body) = notify(&app, &forged, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "amount differs: {body}");
    let (status, _) = notify(&app, &paid("W000UNKNOWN", 5000), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(balance(&app, b).await, before, "nothing credited yet");

    for _ in 0..2 {
        let (status, body) = notify(&app, &paid(&no, 5000), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["code"], "SUCCESS");
        assert_eq!(body["status"], "paid");
    }
    assert_eq!(balance(&app, b).await.fen(), before.fen() + 5000);
    // A "failed" that arrives after "paid" (out of order) changes nothing.
    let mut late_failure = paid(&no, 5000);
    late_failure.status = "failed".into();
    let (status, body) = notify(&app, &late_failure, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "paid");
    assert_eq!(balance(&app, b).await.fen(), before.fen() + 5000);
    let credits = app
        .state
        .db
        .entries(
            b,
            &EntryQuery {
                kind: Some(EntryKind::Topup),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.amount == Money::yuan(50) && e.memo == "online top-up")
        .count();
    assert_eq!(credits, 1, "exactly one journal entry for the order");

    // A failure first, then a late success: the money was taken, so it is credited.
    let no2 = order(&app, b, Channel::Bank, 20).await;
    let mut failed = paid(&no2, 2000);
    failed.status = "failed".into();
    failed.failure = "bank timeout".into();
    let (_, body) = notify(&app, &failed, None).await;
    assert_eq!(body["status"], "failed");
    let (_, body) = notify(&app, &paid(&no2, 2000), None).await;
    assert_eq!(body["status"], "paid");
    assert_eq!(balance(&app, b).await.fen(), before.fen() + 7000);
    consistent(app.state.db.ledger_check().await.unwrap());
    app.stop().await;
}

#[tokio::test]
async fn the_sandbox_pay_page_belongs_to_the_order_owner_and_pays_it() {
    let app = TestApp::spawn(6).await;
    let b = holder(&app, B_LOGIN).await;
    let before = balance(&app, b).await;
    let cookie = login(&app, B_LOGIN, B_PASSWORD).await;
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "start_topup",
        &[("amount", "0.5"), ("channel", "wechat")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("topup_amount"), "{body}");
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "start_topup",
        &[("amount", "30"), ("channel", "wechat")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url: String = serde_json::from_str(&body).unwrap();
    assert!(url.starts_with("/sandbox/pay/W"), "{url}");
    let no = url.rsplit('/').next().unwrap().to_string();

    // Another student cannot see or pay it.
    let other = login(&app, D_LOGIN, D_PASSWORD).await;
    let res = app.get_with(&url, &other).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.get_with(&url, &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("¥30.00"));
    let res = app
        .client
        .post(app.url(&url))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("decision", "pay")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        format!("/portal/topup?order={no}")
    );
    // The notification arrives asynchronously (and once more a moment later).
    let mut status = TopupStatus::Pending;
    for _ in 0..50 {
        status = app.state.db.order(&no).await.unwrap().unwrap().status;
        if status != TopupStatus::Pending {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, TopupStatus::Paid);
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    assert_eq!(
        balance(&app, b).await.fen(),
        before.fen() + 3000,
        "credited once"
    );
    let (_, body, _) = call(&app, Some(&cookie), "topup_order", &[("order_no", &no)]).await;
    assert!(body.contains("\"paid\""), "{body}");
    let (_, body, _) = call(&app, Some(&other), "topup_order", &[("order_no", &no)]).await;
    assert_eq!(body, "null", "another holder's order is invisible");
    app.stop().await;
}

async fn set_auto(app: &TestApp, holder_id: i64, card: &str, threshold: i64, amount: i64) {
    let bound = app
        .state
        .provider
        .as_ref()
        .unwrap()
        .bind_card(card)
        .unwrap();
    let settings: AutoTopup =
        topup::auto_settings(Money::yuan(threshold), Money::yuan(amount), bound).unwrap();
    app.state
        .db
        .save_auto_topup(
            holder_id,
            Some(&settings),
            app.state.now(),
            Audit {
                actor: Actor::Holder(holder_id),
                action: app::model::AuditAction::TopupAutoSettings,
                holder_id: Some(holder_id),
                target: Default::default(),
                before: Default::default(),
                after: Default::default(),
                reason: "test".into(),
                ip: String::new(),
            },
        )
        .await
        .unwrap();
}

async fn settled(app: &TestApp, holder_id: i64) -> Vec<app::server::store::OrderRow> {
    for _ in 0..50 {
        let orders = app.state.db.orders_of(holder_id, 10).await.unwrap();
        if !orders.is_empty() && orders.iter().all(|o| o.status != TopupStatus::Pending) {
            return orders;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the automatic top-up did not settle");
}

#[tokio::test]
async fn automatic_top_up_runs_below_the_threshold_and_a_failure_is_shown_once() {
    let app = TestApp::spawn(6).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let b = holder(&app, B_LOGIN).await;
    let serial = live_serial(&app, b).await;
    let before = balance(&app, b).await;
    // Threshold just above what the balance will be after a ¥5 meal.
    let threshold = (before.fen() - 500) / 100 + 1;
    set_auto(&app, b, "6222021230078888", threshold, 100).await;
    let sale = pos.pay(&app, "a-1", 500, Some(&serial), None, None).await;
    assert_eq!(sale["approved"], true, "{sale}");
    let orders = settled(&app, b).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, TopupStatus::Paid);
    assert_eq!(orders[0].channel, Channel::Auto);
    assert_eq!(balance(&app, b).await.fen(), before.fen() - 500 + 10_000);

    // A card the bank declines: the failure is recorded, shown, audited, and not retried at
    // every payment.
    let d = holder(&app, D_LOGIN).await;
    let d_serial = live_serial(&app, d).await;
    let d_before = balance(&app, d).await;
    set_auto(&app, d, "6222021230050002", (d_before.fen() / 100) + 1, 50).await;
    let sale = pos.pay(&app, "a-2", 100, Some(&d_serial), None, None).await;
    assert_eq!(sale["approved"], true, "{sale}");
    let orders = settled(&app, d).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, TopupStatus::Failed);
    assert!(
        orders[0].failure.contains("insufficient funds"),
        "{}",
        orders[0].failure
    );
    let failures = app.state.db.failed_auto_topups(Some(d)).await.unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(
        app.state.db.failed_auto_topups(None).await.unwrap().len(),
        1,
        "listed for operators"
    );
    let sale = pos.pay(&app, "a-3", 100, Some(&d_serial), None, None).await;
    assert_eq!(sale["approved"], true);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        app.state.db.orders_of(d, 10).await.unwrap().len(),
        1,
        "no retry at once"
    );
    assert_eq!(balance(&app, d).await.fen(), d_before.fen() - 200);
    // The holder's dashboard shows it.
    let cookie = login(&app, D_LOGIN, D_PASSWORD).await;
    let (_, body, _) = call(&app, Some(&cookie), "dashboard", &[]).await;
    assert!(body.contains("insufficient funds"), "{body}");
    consistent(app.state.db.ledger_check().await.unwrap());
    app.stop().await;
}

#[tokio::test]
async fn the_web_till_sells_by_code_asks_for_the_password_and_refunds() {
    let app = TestApp::spawn(6).await;
    let (row, key) = issue_key(&app, "POS-E-CANTEEN-1").await;
    // Wrong credential: refused, nothing set.
    let (status, body, cookie) = call(
        &app,
        None,
        "terminal/set_up",
        &[
            ("device", "POS-E-CANTEEN-1"),
            ("credential", &"ab".repeat(32)),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("terminal_credential") && cookie.is_none(),
        "{body}"
    );
    // No terminal: every till function refuses.
    let (status, body, _) = call(
        &app,
        None,
        "terminal/pay",
        &[
            ("request_id", "web-x"),
            ("amount", "1"),
            ("scan", "DEC00001"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("terminal_required"), "{body}");
    // A student session is not a terminal either.
    let student = login(&app, B_LOGIN, B_PASSWORD).await;
    let (_, body, _) = call(&app, Some(&student), "terminal/info", &[("kiosk", "false")]).await;
    assert!(body.contains("terminal_required"), "{body}");

    let till = set_up_terminal(&app, "POS-E-CANTEEN-1", &key).await;
    let (_, body, _) = call(&app, Some(&till), "terminal/info", &[("kiosk", "false")]).await;
    let info: Value = serde_json::from_str(&body).unwrap();
    let request_id = info["request_id"].as_str().unwrap().to_string();
    // The kiosk page's functions are not for a POS.
    let (_, body, _) = call(
        &app,
        Some(&till),
        "kiosk/balance",
        &[("card", "DEC00001"), ("password", B_PASSWORD)],
    )
    .await;
    assert!(body.contains("terminal_kind"), "{body}");

    let b = holder(&app, B_LOGIN).await;
    // ¥72.50 of sales below, whatever the demo history left.
    let before = make_room(&app, b, Money::yuan(100)).await;
    let code = code_for(&app, b, "till-test-session").await;
    let pay = |id: String, amount: &'static str, scan: String, password: Option<&'static str>| {
        let till = till.clone();
        let app = &app;
        async move {
            let mut form = vec![
                ("request_id", id),
                ("amount", amount.to_string()),
                ("scan", scan),
            ];
            if let Some(p) = password {
                form.push(("password", p.to_string()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (_, body, _) = call(app, Some(&till), "terminal/pay", &form).await;
            serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body))
        }
    };
    // The demo history may already have sales at this till today.
    let (sales, takings) = (
        info["sales"].as_i64().unwrap(),
        info["sales_total"].as_i64().unwrap(),
    );
    let sale = pay(request_id.clone(), "12.50", code.clone(), None).await;
    assert_eq!(sale["approved"], true, "{sale}");
    assert_eq!(sale["balance"], before.fen() - 1250);
    // The same digits again, as a new sale: the code was used.
    let (_, body, _) = call(&app, Some(&till), "terminal/info", &[("kiosk", "false")]).await;
    let info: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["sales"], sales + 1);
    assert_eq!(info["sales_total"], takings + 1250);
    let used = pay(
        info["request_id"].as_str().unwrap().into(),
        "12.50",
        code.clone(),
        None,
    )
    .await;
    assert_eq!(used["reason"], "code_used", "{used}");

    // Over the single limit by card: the password is asked, then the same sale goes through.
    let serial = live_serial(&app, b).await;
    let big_id = "web-big-sale-1".to_string();
    let asked = pay(big_id.clone(), "60", serial.clone(), None).await;
    assert_eq!(asked["reason"], "password_required", "{asked}");
    let wrong = pay(big_id.clone(), "60", serial.clone(), Some("000000")).await;
    assert_eq!(wrong["reason"], "wrong_password", "{wrong}");
    let ok = pay(big_id.clone(), "60", serial.clone(), Some(B_CONSUMPTION)).await;
    assert_eq!(ok["approved"], true, "{ok}");
    let replay = pay(big_id, "60", serial, Some(B_CONSUMPTION)).await;
    assert_eq!(replay, ok, "pressing Charge again does not charge twice");
    assert_eq!(balance(&app, b).await.fen(), before.fen() - 1250 - 6000);

    // Refund the last sale.
    let (_, body, _) = call(&app, Some(&till), "terminal/info", &[("kiosk", "false")]).await;
    let info: Value = serde_json::from_str(&body).unwrap();
    let last = info["last_sale"]["journal_id"].as_i64().unwrap();
    assert_eq!(info["last_sale"]["amount"], 6000);
    let (_, body, _) = call(
        &app,
        Some(&till),
        "terminal/refund",
        &[
            ("request_id", info["request_id"].as_str().unwrap()),
            ("payment_id", &last.to_string()),
        ],
    )
    .await;
    let refund: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refund["approved"], true, "{refund}");
    assert_eq!(balance(&app, b).await.fen(), before.fen() - 1250);

    // Rotating the device's credential ends the browser's terminal session.
    app::server::ledger::issue_device_key(
        &app.state,
        &row,
        app.state.now() + Duration::seconds(1),
        "the integration tests",
    )
    .await
    .unwrap();
    let (_, body, _) = call(&app, Some(&till), "terminal/info", &[("kiosk", "false")]).await;
    assert!(body.contains("terminal_required"), "{body}");
    consistent(app.state.db.ledger_check().await.unwrap());
    app.stop().await;
}
