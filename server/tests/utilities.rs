//! 缴费 to billers through the real HTTP endpoints and the sandbox billers: a student binds a
//! room, buys electricity from the balance and sees the meter go up; the same purchase sent
//! twice at once is charged once; a delivery that fails is refunded exactly once; and a
//! biller notification that is forged, names another amount, or contradicts a settled
//! purchase moves no money.
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::{EntryKind, Money, Utility};
use app::server::billers::{SANDBOX_DORM, SANDBOX_NETWORK, Sandbox};
use app::server::domain::utilities::Meter;
use app::server::store::{AuditQuery, BoundKind, EntryQuery};
use helpers::device::{FRESH_QUERY_PASSWORD, balance, fresh_holder};
use helpers::staff::ok;
use helpers::{TestApp, call, login};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

async fn page(app: &TestApp, session: &str) -> Value {
    let (status, body, _) = call(app, Some(session), "utilities", &[]).await;
    ok(status, &body, "utilities page");
    serde_json::from_str(&body).unwrap()
}

async fn buy(
    app: &TestApp,
    session: &str,
    utility: &str,
    quantity: &str,
    key: &str,
) -> (StatusCode, String) {
    let (status, body, _) = call(
        app,
        Some(session),
        "buy_utility",
        &[
            ("utility", utility),
            ("quantity", quantity),
            ("request_key", key),
        ],
    )
    .await;
    (status, body)
}

/// A student with `yuan` on the card, bound to `room` of building 7 (the demo campus lists it).
async fn student_in_room(app: &TestApp, n: u32, yuan: i64, room: &str) -> (i64, String) {
    let s = fresh_holder(app, n, Money::yuan(yuan)).await;
    let session = login(app, &s.login, FRESH_QUERY_PASSWORD).await;
    let (status, body, _) = call(
        app,
        Some(&session),
        "bind_room",
        &[("building", "7"), ("room", room)],
    )
    .await;
    ok(status, &body, "bind a room");
    assert_eq!(body.trim_matches('"'), format!("7-{room}"));
    (s.id, session)
}

fn left(page: &Value, utility: &str) -> Option<i64> {
    page["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["utility"] == utility)
        .and_then(|o| o["left_milli"].as_i64())
}

/// The purchase as stored now.
async fn stored(app: &TestApp, reference: &str) -> app::server::store::PurchaseRow {
    app.state.db.purchase(reference).await.unwrap().unwrap()
}

/// Waits (real time: the sandbox delivers in a moment) until the purchase is settled.
async fn settled(app: &TestApp, reference: &str) -> app::server::store::PurchaseRow {
    for _ in 0..100 {
        let p = stored(app, reference).await;
        if p.status != app::model::PurchaseStatus::Pending {
            return p;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("purchase {reference} was never settled");
}

async fn entries(
    app: &TestApp,
    holder_id: i64,
    kind: EntryKind,
) -> Vec<app::portal_model::EntryView> {
    let query = EntryQuery {
        limit: 1000,
        kind: Some(kind),
        ..Default::default()
    };
    app.state.db.entries(holder_id, &query).await.unwrap()
}

/// The holder's student number.
async fn s_login(app: &TestApp, id: i64) -> String {
    app.state.db.profile(id).await.unwrap().unwrap().student_no
}

async fn records(
    app: &TestApp,
    student_no: &str,
    action: &str,
) -> Vec<app::staff_model::AuditView> {
    app.state
        .db
        .audit_records(&AuditQuery {
            holder: Some(student_no.to_string()),
            action: Some(action.into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Posts a notification as biller `code` would, signed with `key`.
async fn notify(app: &TestApp, code: &str, key: &[u8], body: &Value) -> (StatusCode, String) {
    let body = serde_json::to_vec(body).unwrap();
    let res = app
        .client
        .post(app.url(&format!("/api/billers/{code}/notify")))
        .header("x-biller-signature", Sandbox::sign(key, &body))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

fn dorm_key(app: &TestApp) -> Vec<u8> {
    Sandbox::derive_key(
        app.state.secrets.id_hash_key.expose_secret().as_bytes(),
        SANDBOX_DORM,
    )
}

/// A server with no biller configured: nothing asks a biller in the background, and a
/// purchase waits until the test gives its outcome.
async fn without_billers() -> TestApp {
    let dir = helpers::test_dir().await;
    let mut settings = helpers::settings(&dir, 3);
    settings.billers = server::config::Billers::None;
    TestApp::spawn_with(dir, settings).await
}

#[tokio::test]
async fn a_student_binds_a_room_buys_electricity_and_sees_the_meter_go_up() {
    let app = TestApp::spawn(3).await;
    let (id, session) = student_in_room(&app, 11, 100, "601").await;

    // A room not on the campus's list is refused, by name.
    let (status, body, _) = call(
        &app,
        Some(&session),
        "bind_room",
        &[("building", "7"), ("room", "9999")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("unknown_utility_account"), "{body}");

    let before = page(&app, &session).await;
    assert_eq!(before["room"], "7-601");
    let start = left(&before, "electricity").unwrap_or(0);
    let electricity = before["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["utility"] == "electricity")
        .unwrap()
        .clone();
    assert_eq!(electricity["unit_price"], 62, "¥0.62 a kWh: {electricity}");

    // Refused quantities charge nothing.
    for bad in ["0", "501", "2.5", "x"] {
        let (status, body) = buy(&app, &session, "electricity", bad, "k-bad").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body.contains("purchase_quantity"), "{body}");
    }
    assert_eq!(balance(&app, id).await, Money::yuan(100));

    let key = before["request_key"].as_str().unwrap().to_string();
    let (status, body) = buy(&app, &session, "electricity", "50", &key).await;
    ok(status, &body, "buy 50 kWh");
    let made: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(made["repeated"], false);
    assert_eq!(made["purchase"]["amount"], 3100);
    assert_eq!(made["balance"], 6900);
    let reference = made["purchase"]["reference"].as_str().unwrap().to_string();

    let done = settled(&app, &reference).await;
    assert_eq!(done.status, app::model::PurchaseStatus::Delivered);
    let after = page(&app, &session).await;
    // The test's clock stands still: the meter ran down by nothing meanwhile.
    assert_eq!(left(&after, "electricity"), Some(start + 50_000), "{after}");
    assert_eq!(after["purchases"][0]["status"], "delivered");
    assert_eq!(after["purchases"][0]["mine"], true);
    assert_ne!(after["request_key"], before["request_key"]);

    // The purchase is a journal entry of its own kind, with an audit record and a receipt.
    let bought = entries(&app, id, EntryKind::Purchase).await;
    assert_eq!(bought.len(), 1);
    assert_eq!(
        (bought[0].amount, bought[0].memo.as_str()),
        (Money::yuan(-31), "7-601")
    );
    let trail = records(&app, &s_login(&app, id).await, "utility.purchase").await;
    assert_eq!(trail.len(), 1, "{trail:?}");

    // A roommate sees the room's purchases made since they bound the room, as a roommate's
    // (without the receipt's numbers); nothing from before.
    let (_, roommate) = student_in_room(&app, 12, 10, "601").await;
    let theirs = page(&app, &roommate).await;
    assert_eq!(theirs["purchases"], json!([]), "{theirs}");
    app.state.clock.advance(chrono::Duration::seconds(1));
    let key = page(&app, &session).await["request_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = buy(&app, &session, "water", "1", &format!("{key}-water")).await;
    ok(status, &body, "buy water");
    let theirs = page(&app, &roommate).await;
    assert_eq!(theirs["purchases"][0]["utility"], "water", "{theirs}");
    assert_eq!(theirs["purchases"][0]["mine"], false);
    assert_eq!(theirs["purchases"][0]["reference"], "");
    assert_eq!(theirs["purchases"][0]["entry_id"], Value::Null);
    let mine = page(&app, &session).await;
    assert_eq!(
        mine["purchases"][1]["reference"],
        reference.as_str(),
        "{mine}"
    );

    // The same form key for another purchase is refused, not taken for the first.
    let (status, body) = buy(&app, &session, "water", "2", &format!("{key}-water")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("purchase_form_used"), "{body}");

    // Another holder's session cannot read it as theirs, and needs a room of their own.
    let other = fresh_holder(&app, 13, Money::yuan(50)).await;
    let other_session = login(&app, &other.login, FRESH_QUERY_PASSWORD).await;
    let (status, body) = buy(&app, &other_session, "electricity", "10", "k-other").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("no_utility_account"), "{body}");
}

#[tokio::test]
async fn the_same_purchase_sent_twice_at_once_is_charged_once() {
    let app = TestApp::spawn(3).await;
    for round in 0..4u32 {
        let (id, session) = student_in_room(&app, 20 + round, 100, &format!("51{round}")).await;
        let key = format!("double-{round}");
        let sends = (0..3).map(|_| buy(&app, &session, "electricity", "20", &key));
        let answers = futures::future::join_all(sends).await;
        let mut fresh = 0;
        for (status, body) in &answers {
            ok(*status, body, "buy");
            let made: Value = serde_json::from_str(body).unwrap();
            if made["repeated"] == false {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 1, "round {round}: {answers:?}");
        assert_eq!(balance(&app, id).await, Money::from_fen(10_000 - 1240));
        assert_eq!(entries(&app, id, EntryKind::Purchase).await.len(), 1);
    }
}

/// Sets a room's sandbox electricity meter at 990 kWh: 20 more would overfill it, and the
/// biller refuses the delivery.
async fn almost_full(app: &TestApp, room: &str) {
    let meter = Meter {
        milli: 990_000,
        as_of: app.state.now(),
        per_hour_milli: 0,
        offline: false,
    };
    app.state
        .db
        .sandbox_set_meter(Utility::Electricity, room, &meter)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_delivery_is_refunded_exactly_once_with_the_reason() {
    let app = TestApp::spawn(3).await;
    let (id, session) = student_in_room(&app, 30, 100, "401").await;
    // The room's meter holds 990 kWh: 20 more would overfill it, and the biller refuses.
    almost_full(&app, "7-401").await;
    let (status, body) = buy(&app, &session, "electricity", "20", "fail-1").await;
    ok(status, &body, "buy");
    let made: Value = serde_json::from_str(&body).unwrap();
    let reference = made["purchase"]["reference"].as_str().unwrap().to_string();
    assert_eq!(balance(&app, id).await, Money::from_fen(10_000 - 1240));

    // Three copies of the failure race each other (and the sandbox's own two, a moment
    // later) to be the first outcome of the still pending purchase.
    let failed = json!({"reference": reference, "status": "failed", "amount_fen": 1240,
        "biller_ref": format!("SBX-{reference}"), "reason": "meter full"});
    let key = dorm_key(&app);
    let copies = (0..3).map(|_| notify(&app, SANDBOX_DORM, &key, &failed));
    for (status, body) in futures::future::join_all(copies).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let done = settled(&app, &reference).await;
    assert_eq!(done.status, app::model::PurchaseStatus::Refunded);
    assert_eq!(balance(&app, id).await, Money::yuan(100));

    // The sandbox's own outcome and its repeat (it sends each twice) give nothing more back.
    tokio::time::sleep(std::time::Duration::from_millis(1900)).await;
    assert_eq!(balance(&app, id).await, Money::yuan(100));
    let refunds = entries(&app, id, EntryKind::Refund).await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].amount, Money::from_fen(1240));

    // The holder sees why, and the refund is in the audit log as the system's.
    let now = page(&app, &session).await;
    assert_eq!(now["purchases"][0]["status"], "refunded");
    let failure = now["purchases"][0]["failure"].as_str().unwrap();
    assert!(
        failure.contains("1,000 kWh") || failure.contains("meter full"),
        "the first outcome's reason: {failure}"
    );
    let trail = records(&app, &s_login(&app, id).await, "utility.refund").await;
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());

    // The demo campus's offline meters (building 8, sixth floor) show no reading and take no
    // delivery: the purchase comes back.
    let s = fresh_holder(&app, 31, Money::yuan(50)).await;
    let offline = login(&app, &s.login, FRESH_QUERY_PASSWORD).await;
    let (status, body, _) = call(
        &app,
        Some(&offline),
        "bind_room",
        &[("building", "8"), ("room", "605")],
    )
    .await;
    ok(status, &body, "bind an offline room");
    let shown = page(&app, &offline).await;
    assert_eq!(left(&shown, "electricity"), None, "{shown}");
    let (status, body) = buy(&app, &offline, "electricity", "10", "offline-1").await;
    ok(status, &body, "buy");
    let made: Value = serde_json::from_str(&body).unwrap();
    let done = settled(&app, made["purchase"]["reference"].as_str().unwrap()).await;
    assert_eq!(done.status, app::model::PurchaseStatus::Refunded);
    assert!(done.failure.contains("offline"), "{done:?}");
    assert_eq!(balance(&app, s.id).await, Money::yuan(50));
}

#[tokio::test]
async fn forged_replayed_or_wrong_amount_notifications_move_no_money() {
    let app = TestApp::spawn(3).await;
    let (id, session) = student_in_room(&app, 40, 100, "301").await;
    let (status, body) = buy(&app, &session, "water", "2", "water-1").await;
    ok(status, &body, "buy water");
    let made: Value = serde_json::from_str(&body).unwrap();
    let reference = made["purchase"]["reference"].as_str().unwrap().to_string();
    assert_eq!(made["purchase"]["amount"], 840);
    assert_eq!(
        settled(&app, &reference).await.status,
        app::model::PurchaseStatus::Delivered
    );
    let after_purchase = Money::from_fen(10_000 - 840);
    assert_eq!(balance(&app, id).await, after_purchase);

    let key = dorm_key(&app);
    let failed = |amount: i64| {
        json!({"reference": reference, "status": "failed", "amount_fen": amount,
            "biller_ref": "X", "reason": "forged"})
    };
    // Signed with a key that is not the dorm biller's: refused.
    let wrong_key = Sandbox::derive_key(b"a guess", SANDBOX_DORM);
    let (status, body) = notify(&app, SANDBOX_DORM, &wrong_key, &failed(840)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // Signed by the network biller, whose key is real, about the dorm biller's purchase: a
    // biller speaks only of its own purchases.
    let network_key = Sandbox::derive_key(
        app.state.secrets.id_hash_key.expose_secret().as_bytes(),
        SANDBOX_NETWORK,
    );
    let (status, body) = notify(&app, SANDBOX_NETWORK, &network_key, &failed(840)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Signed, but naming another amount: refused.
    let (status, body) = notify(&app, SANDBOX_DORM, &key, &failed(8400)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Signed, for a purchase that does not exist.
    let unknown =
        json!({"reference": "E1", "status": "failed", "amount_fen": 840, "biller_ref": "X"});
    let (status, body) = notify(&app, SANDBOX_DORM, &key, &unknown).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Signed and right, but the purchase was delivered: a "failed" now contradicts it and
    // changes nothing but an audit record, for the operators to follow up with the biller; a
    // repeated "delivered" changes nothing and records nothing.
    let student_no = s_login(&app, id).await;
    assert!(
        records(&app, &student_no, "utility.conflict")
            .await
            .is_empty()
    );
    let (status, body) = notify(&app, SANDBOX_DORM, &key, &failed(840)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("delivered"), "{body}");
    let conflicts = records(&app, &student_no, "utility.conflict").await;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].actor_kind, app::model::ActorKind::System);
    assert!(conflicts[0].target.contains(&reference), "{conflicts:?}");
    assert!(conflicts[0].before.contains("delivered"), "{conflicts:?}");
    let delivered = json!({"reference": reference, "status": "delivered", "amount_fen": 840,
        "biller_ref": "SBX-again"});
    let (status, body) = notify(&app, SANDBOX_DORM, &key, &delivered).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        records(&app, &student_no, "utility.conflict").await.len(),
        1
    );
    // The biller saying "failed" again (a retrying sender) adds no second record.
    let (status, body) = notify(&app, SANDBOX_DORM, &key, &failed(840)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        records(&app, &student_no, "utility.conflict").await.len(),
        1
    );
    assert_eq!(balance(&app, id).await, after_purchase);
    // The body is signed: changing a byte after signing is refused.
    let body = serde_json::to_vec(&failed(840)).unwrap();
    let signature = Sandbox::sign(&key, &body);
    let mut tampered = body.clone();
    tampered[5] ^= 1;
    let res = app
        .client
        .post(app.url(&format!("/api/billers/{SANDBOX_DORM}/notify")))
        .header("x-biller-signature", signature)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(balance(&app, id).await, after_purchase);
    assert!(entries(&app, id, EntryKind::Refund).await.is_empty());
    let p = app.state.db.purchase(&reference).await.unwrap().unwrap();
    assert_eq!(p.status, app::model::PurchaseStatus::Delivered);
    assert_eq!(
        p.biller_ref,
        format!("SBX-{reference}"),
        "the first outcome stands"
    );
}

#[tokio::test]
async fn purchases_count_towards_the_daily_limit_and_never_overdraw() {
    let app = TestApp::spawn(3).await;
    // ¥200 a day (a fresh holder's limit) and ¥300 on the card.
    let (id, session) = student_in_room(&app, 50, 300, "201").await;
    let (status, body) = buy(&app, &session, "electricity", "300", "day-1").await;
    ok(status, &body, "buy ¥186");
    // ¥14 left of today's ¥200.
    let (status, body) = buy(&app, &session, "electricity", "30", "day-2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("purchase_over_daily_limit"), "{body}");
    assert!(body.contains("1400"), "names what is left: {body}");
    assert_eq!(balance(&app, id).await, Money::from_fen(30_000 - 18_600));

    // Never below zero: a holder with ¥5 cannot buy ¥6.20.
    let (poor, poor_session) = student_in_room(&app, 51, 5, "202").await;
    let (status, body) = buy(&app, &poor_session, "electricity", "10", "poor-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("purchase_above_balance"), "{body}");
    assert_eq!(balance(&app, poor).await, Money::yuan(5));
}

#[tokio::test]
async fn the_settlement_report_shows_a_difference_injected_into_the_sandbox() {
    let app = TestApp::spawn(3).await;
    let auditor = helpers::staff::staff_login(&app, "auditor").await;
    let day = (app.state.now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let report = async || {
        let (status, body, _) = call(
            &app,
            Some(&auditor),
            "staff/biller_settlement",
            &[("biller", SANDBOX_DORM), ("day", &day)],
        )
        .await;
        ok(status, &body, "settlement");
        serde_json::from_str::<Value>(&body).unwrap()
    };
    // A delivered purchase and a refunded one (an offline demo meter) agree with the biller.
    let (_, session) = student_in_room(&app, 60, 100, "115").await;
    let (status, body) = buy(&app, &session, "electricity", "10", "settle-1").await;
    ok(status, &body, "buy");
    let made: Value = serde_json::from_str(&body).unwrap();
    settled(&app, made["purchase"]["reference"].as_str().unwrap()).await;
    let s = fresh_holder(&app, 61, Money::yuan(50)).await;
    let offline = login(&app, &s.login, FRESH_QUERY_PASSWORD).await;
    let (status, body, _) = call(
        &app,
        Some(&offline),
        "bind_room",
        &[("building", "8"), ("room", "610")],
    )
    .await;
    ok(status, &body, "bind");
    let (status, body) = buy(&app, &offline, "water", "1", "settle-2").await;
    ok(status, &body, "buy");
    let made: Value = serde_json::from_str(&body).unwrap();
    settled(&app, made["purchase"]["reference"].as_str().unwrap()).await;
    let clean = report().await;
    assert_eq!(
        (&clean["purchases"], &clean["matched"], &clean["charged"]),
        (&json!(2), &json!(2), &json!(620 + 420)),
        "{clean}"
    );
    assert_eq!(clean["differences"], json!([]), "{clean}");
    assert_eq!(
        (&clean["confirmed"], &clean["confirmed_amount"]),
        (&json!(1), &json!(620))
    );

    // The sandbox records a delivery nobody paid us for: the report lists it.
    let injected = app::server::store::SandboxDelivery {
        reference: "E-INJECTED".into(),
        utility: Utility::Electricity,
        account: "7-115".into(),
        quantity: 5,
        amount: Money::from_fen(310),
        delivered: false,
        reason: String::new(),
        biller_ref: "SBX-E-INJECTED".into(),
    };
    let meter = Meter {
        milli: 0,
        as_of: app.state.now(),
        per_hour_milli: 0,
        offline: false,
    };
    let recorded = app
        .state
        .db
        .sandbox_deliver(&injected, 5000, &meter, app.state.now())
        .await
        .unwrap();
    assert!(recorded.delivered);
    let after = report().await;
    assert_eq!(after["matched"], 2, "{after}");
    assert_eq!(
        after["differences"],
        json!([{"kind": "unknown_to_us", "reference": "E-INJECTED", "ours": null, "theirs": 310}]),
        "{after}"
    );
    // Another day has none of it; a day that is not a date is refused by name.
    let (status, body, _) = call(
        &app,
        Some(&auditor),
        "staff/biller_settlement",
        &[("biller", SANDBOX_DORM), ("day", "2020-01-01")],
    )
    .await;
    ok(status, &body, "another day");
    assert!(body.contains("\"purchases\":0"), "{body}");
    let (status, body, _) = call(
        &app,
        Some(&auditor),
        "staff/biller_settlement",
        &[("day", "yesterday")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("date_format"), "{body}");
}

#[tokio::test]
async fn an_automatic_room_top_up_buys_below_the_threshold_once_a_day() {
    let app = TestApp::spawn(3).await;
    let (id, session) = student_in_room(&app, 70, 100, "120").await;
    let set = async |below: &str, password: &str| {
        call(
            &app,
            Some(&session),
            "save_autobuy",
            &[
                ("utility", "electricity"),
                ("below", below),
                ("quantity", "30"),
                ("password", password),
            ],
        )
        .await
    };
    // A threshold out of range, and a wrong query password (counted like a wrong login), save
    // nothing.
    let (status, body, _) = set("0", FRESH_QUERY_PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("auto_buy_threshold"), "{body}");
    let (status, body, _) = set("10", "000000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("wrong_password"), "{body}");
    assert!(app.state.db.autobuys(Some(id)).await.unwrap().is_empty());
    let (status, body, _) = set("10", FRESH_QUERY_PASSWORD).await;
    ok(status, &body, "switch on");
    assert_eq!(
        page(&app, &session).await["offers"][0]["auto"],
        json!([10, 30])
    );

    // Above the threshold: nothing bought.
    let at = |milli: i64| Meter {
        milli,
        as_of: app.state.now(),
        per_hour_milli: 0,
        offline: false,
    };
    app.state
        .db
        .sandbox_set_meter(Utility::Electricity, "7-120", &at(10_000))
        .await
        .unwrap();
    assert_eq!(
        app::server::utilities::auto_buy(&app.state).await.unwrap(),
        0
    );
    // Below it: 30 kWh bought once, however often the job runs that day.
    app.state
        .db
        .sandbox_set_meter(Utility::Electricity, "7-120", &at(9_999))
        .await
        .unwrap();
    let auto_buy = async || app::server::utilities::auto_buy(&app.state).await.unwrap();
    assert_eq!(auto_buy().await, 1);
    // While it is on its way nothing more is bought.
    assert_eq!(auto_buy().await, 0);
    let first = app
        .state
        .db
        .purchases_for(BoundKind::Room, "7-120", 5)
        .await
        .unwrap();
    settled(&app, &first[0].reference).await;
    // Delivered, and the meter low again the same day: once a day only.
    app.state
        .db
        .sandbox_set_meter(Utility::Electricity, "7-120", &at(9_999))
        .await
        .unwrap();
    assert_eq!(auto_buy().await, 0);
    let bought = entries(&app, id, EntryKind::Purchase).await;
    assert_eq!(bought.len(), 1);
    assert_eq!(bought[0].amount, Money::from_fen(-1860));
    assert_eq!(
        records(&app, &s_login(&app, id).await, "utility.purchase").await[0].actor_kind,
        app::model::ActorKind::System
    );
    // The next campus day, still below (the meter was not refilled here): bought again.
    app.state
        .db
        .sandbox_set_meter(Utility::Electricity, "7-120", &at(5_000))
        .await
        .unwrap();
    app.state.clock.advance(chrono::Duration::days(1));
    assert_eq!(
        app::server::utilities::auto_buy(&app.state).await.unwrap(),
        1
    );
    assert_eq!(entries(&app, id, EntryKind::Purchase).await.len(), 2);
    let second = app
        .state
        .db
        .purchases_for(BoundKind::Room, "7-120", 5)
        .await
        .unwrap();
    settled(&app, &second[0].reference).await;

    // Another room bound: the setting, made for 7-120, buys nothing for the new room.
    let login_no = s_login(&app, id).await;
    let session = login(&app, &login_no, FRESH_QUERY_PASSWORD).await;
    let (status, body, _) = call(
        &app,
        Some(&session),
        "bind_room",
        &[("building", "7"), ("room", "119")],
    )
    .await;
    ok(status, &body, "another room");
    app.state
        .db
        .sandbox_set_meter(Utility::Electricity, "7-119", &at(1_000))
        .await
        .unwrap();
    app.state.clock.advance(chrono::Duration::days(1));
    assert_eq!(auto_buy().await, 0);
    assert!(app.state.db.autobuys(Some(id)).await.unwrap().is_empty());
    // Back in 7-120 (logged in again: a day has passed) it runs again; switched off, nothing.
    let session = login(&app, &login_no, FRESH_QUERY_PASSWORD).await;
    let (status, body, _) = call(
        &app,
        Some(&session),
        "bind_room",
        &[("building", "7"), ("room", "120")],
    )
    .await;
    ok(status, &body, "the first room again");
    assert_eq!(app.state.db.autobuys(Some(id)).await.unwrap().len(), 1);
    let (status, body, _) = call(
        &app,
        Some(&session),
        "remove_autobuy",
        &[("utility", "electricity")],
    )
    .await;
    ok(status, &body, "switch off");
    app.state.clock.advance(chrono::Duration::days(1));
    assert_eq!(
        app::server::utilities::auto_buy(&app.state).await.unwrap(),
        0
    );
}

/// Charges holder `id` for 10 kWh for room `account` of `biller` straight in the store, as a
/// purchase whose request never reached the biller: no delivery is asked for.
async fn charged_unasked(app: &TestApp, id: i64, biller: &str, reference: &str, account: &str) {
    use app::server::store::{Actor, Audit, AuditText, Fact, NewPurchase, PurchaseStart};
    let now = app.state.now();
    let purchase = NewPurchase {
        holder_id: id,
        request_key: format!("key-{reference}"),
        reference: reference.into(),
        biller: biller.into(),
        utility: Utility::Electricity,
        account: account.into(),
        quantity: 10,
        amount: Money::from_fen(620),
        campus_max_daily: Money::yuan(1000),
        day_start: app::server::domain::calendar::day_start(now),
    };
    let audit = Audit {
        actor: Actor::Holder(id),
        action: app::model::AuditAction::UtilityPurchase,
        holder_id: Some(id),
        target: Fact::Reference(reference.into()).into(),
        before: AuditText::none(),
        after: AuditText::none(),
        reason: String::new(),
        ip: String::new(),
    };
    let started = app
        .state
        .db
        .start_purchase(&purchase, now, audit)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(started, PurchaseStart::Charged { .. }),
        "{started:?}"
    );
}

/// How many waiting purchases are due to be asked about now.
async fn due(app: &TestApp) -> usize {
    use app::server::domain::utilities::{ASK_HORIZON, FIRST_ASK};
    let now = app.state.now();
    app.state
        .db
        .pending_purchases(now - FIRST_ASK, now, now + ASK_HORIZON)
        .await
        .unwrap()
        .len()
}

/// The card office's list of purchases waiting for their billers, as an auditor sees it.
async fn waiting(app: &TestApp) -> Value {
    let auditor = helpers::staff::staff_login(app, "auditor").await;
    let (status, body, _) = call(app, Some(&auditor), "staff/waiting_purchases", &[]).await;
    ok(status, &body, "waiting purchases");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn a_purchase_without_an_outcome_is_asked_about_less_often_and_reported_once_after_a_day() {
    use app::server::domain::utilities::ASK_HORIZON;
    use app::server::utilities::follow_up;
    use chrono::Duration;
    // No biller runs here (nothing asks in the background); the purchase's biller has been
    // taken out of the configuration since, so it never answers.
    let app = without_billers().await;
    let s = fresh_holder(&app, 32, Money::yuan(100)).await;
    charged_unasked(&app, s.id, "retired-biller", "E20261207SILENT1", "7-402").await;
    let charged = Money::from_fen(10_000 - 620);
    assert_eq!(balance(&app, s.id).await, charged);
    let student_no = s_login(&app, s.id).await;

    // Asked about once it is two minutes old, then not again until its next time comes.
    assert_eq!(due(&app).await, 0);
    app.state.clock.advance(Duration::minutes(3));
    assert_eq!(due(&app).await, 1);
    follow_up(&app.state).await.unwrap();
    assert_eq!(due(&app).await, 0, "due again at once");
    app.state.clock.advance(Duration::seconds(61));
    assert_eq!(due(&app).await, 1, "not due a minute later");
    follow_up(&app.state).await.unwrap();
    // At two hours old: every quarter of an hour.
    app.state.clock.advance(Duration::hours(2));
    follow_up(&app.state).await.unwrap();
    app.state.clock.advance(Duration::minutes(14));
    assert_eq!(due(&app).await, 0, "due again within a quarter of an hour");
    app.state.clock.advance(Duration::minutes(1));
    assert_eq!(due(&app).await, 1);
    // A next ask stored far ahead (by a clock that ran ahead) is due now: the purchase is never
    // left unasked for long. Only one server takes a due ask.
    let now = app.state.now();
    let p = stored(&app, "E20261207SILENT1").await;
    let far = now + Duration::days(30);
    assert!(
        app.state
            .db
            .claim_purchase_ask(p.id, now, now + ASK_HORIZON, far)
            .await
            .unwrap()
    );
    assert_eq!(due(&app).await, 1, "a next ask a month ahead is due now");
    let next = now + Duration::minutes(15);
    assert!(
        app.state
            .db
            .claim_purchase_ask(p.id, now, now + ASK_HORIZON, next)
            .await
            .unwrap()
    );
    assert!(
        !app.state
            .db
            .claim_purchase_ask(p.id, now, now + ASK_HORIZON, next)
            .await
            .unwrap()
    );
    assert_eq!(due(&app).await, 0);
    assert!(
        records(&app, &student_no, "utility.overdue")
            .await
            .is_empty()
    );
    // The card office sees it waiting, not yet overdue, with its holder and its next ask.
    let list = waiting(&app).await;
    let rows = list["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["reference"], "E20261207SILENT1");
    assert_eq!(rows[0]["student_no"], student_no.as_str());
    assert_eq!(rows[0]["holder_id"], s.id);
    assert_eq!(rows[0]["amount"], 620);
    assert_eq!(rows[0]["overdue"], false);
    assert!(rows[0]["reported_at"].is_null(), "{list}");
    let next_ask =
        chrono::DateTime::parse_from_rfc3339(rows[0]["next_ask_at"].as_str().unwrap()).unwrap();
    // Stored to the millisecond.
    assert!(
        (next_ask.with_timezone(&chrono::Utc) - next).abs() < Duration::milliseconds(1),
        "{next_ask} {next}"
    );

    // A day old: reported to the operators, once, however often it is asked about after; the
    // money stays charged and the purchase waits for the biller's word.
    app.state.clock.advance(Duration::hours(22));
    follow_up(&app.state).await.unwrap();
    for _ in 0..3 {
        app.state.clock.advance(Duration::minutes(61));
        assert_eq!(due(&app).await, 1);
        follow_up(&app.state).await.unwrap();
    }
    let reported = records(&app, &student_no, "utility.overdue").await;
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(reported[0].actor_kind, app::model::ActorKind::System);
    assert!(
        reported[0].target.contains("E20261207SILENT1"),
        "{reported:?}"
    );
    assert_eq!(
        helpers::english(&reported[0].before),
        "purchase pending; amount ¥6.20"
    );
    assert_eq!(
        helpers::english(&reported[0].reason),
        "no outcome from the biller for a day; the money stays charged; ask the biller"
    );
    let p = stored(&app, "E20261207SILENT1").await;
    assert_eq!(p.status, app::model::PurchaseStatus::Pending);
    assert_eq!(balance(&app, s.id).await, charged);
    // Overdue and reported on the card office's list.
    let list = waiting(&app).await;
    let rows = list["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["overdue"], true);
    assert!(rows[0]["reported_at"].is_string(), "{list}");
    assert_eq!(list["more"], false);
    app.stop().await;
}

#[tokio::test]
async fn a_purchase_the_biller_never_heard_of_is_delivered_once_asked_and_never_reported() {
    use app::server::utilities::follow_up;
    use chrono::Duration;
    let app = TestApp::spawn(3).await;
    let (id, _) = student_in_room(&app, 33, 100, "403").await;
    // Charged, but the request to deliver was lost on its way to the sandbox dorm biller.
    charged_unasked(&app, id, SANDBOX_DORM, "E20261207LOST1", "7-403").await;
    assert_eq!(waiting(&app).await["rows"].as_array().unwrap().len(), 1);
    app.state.clock.advance(Duration::minutes(3));
    // Asked: the biller has no outcome, so it is asked to deliver (the same reference), does,
    // and its outcome settles the purchase.
    follow_up(&app.state).await.unwrap();
    let done = settled(&app, "E20261207LOST1").await;
    assert_eq!(done.status, app::model::PurchaseStatus::Delivered);
    assert_eq!(balance(&app, id).await, Money::from_fen(10_000 - 620));
    assert!(entries(&app, id, EntryKind::Refund).await.is_empty());
    let list = waiting(&app).await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 0, "{list}");
    // Settled, it is neither asked about again nor reported a day later.
    app.state.clock.advance(Duration::hours(25));
    assert_eq!(due(&app).await, 0);
    follow_up(&app.state).await.unwrap();
    let student_no = s_login(&app, id).await;
    assert!(
        records(&app, &student_no, "utility.overdue")
            .await
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn an_administrator_adds_a_room_list_and_a_bound_room_stays_on_it() {
    let app = TestApp::spawn(3).await;
    let admin = helpers::staff::staff_login(&app, "admin").await;
    let auditor = helpers::staff::staff_login(&app, "auditor").await;
    let rooms = async |session: &str| -> Value {
        let (status, body, _) = call(&app, Some(session), "admin/rooms", &[]).await;
        ok(status, &body, "rooms");
        serde_json::from_str(&body).unwrap()
    };
    // The demo campus: buildings 1 to 8, 120 rooms each; the auditor sees them, unchangeable.
    let listed = rooms(&auditor).await;
    assert_eq!(listed["can_change"], false);
    assert_eq!(listed["buildings"].as_array().unwrap().len(), 8, "{listed}");
    assert_eq!(listed["buildings"][0], serde_json::json!(["1", 120]));
    assert_eq!(rooms(&admin).await["can_change"], true);

    // A list with a line that is not a room adds nothing, and names the line.
    let (status, body, _) = call(
        &app,
        Some(&admin),
        "admin/add_rooms",
        &[("list", "9,101\n9101\n9,102")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains(r#""code":"room_list_line","line":2"#),
        "{body}"
    );
    assert_eq!(
        rooms(&admin).await["buildings"].as_array().unwrap().len(),
        8
    );
    // The housing office's list, as pasted: two new rooms, one listed twice, one listed already.
    let (status, body, _) = call(
        &app,
        Some(&admin),
        "admin/add_rooms",
        &[("list", "9,101\r\n9-102\n\n9 101\n1,101\n")],
    )
    .await;
    ok(status, &body, "add rooms");
    let added: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(added, serde_json::json!({"listed": 4, "added": 2}));
    assert_eq!(
        rooms(&admin).await["buildings"][8],
        serde_json::json!(["9", 2])
    );
    // The auditor cannot add or remove.
    let (status, body, _) = call(
        &app,
        Some(&auditor),
        "admin/add_rooms",
        &[("list", "9,103")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A student binds a new room; while bound it stays listed, and an unbound one goes.
    let s = fresh_holder(&app, 70, Money::yuan(20)).await;
    let session = login(&app, &s.login, FRESH_QUERY_PASSWORD).await;
    let bind = async |room: &str| {
        call(
            &app,
            Some(&session),
            "bind_room",
            &[("building", "9"), ("room", room)],
        )
        .await
    };
    let (status, body, _) = bind("101").await;
    ok(status, &body, "bind a new room");
    let remove = async |room: &str, reason: &str| {
        call(
            &app,
            Some(&admin),
            "admin/remove_room",
            &[("building", "9"), ("room", room), ("reason", reason)],
        )
        .await
    };
    let (status, body, _) = remove("102", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("reason_required"), "{body}");
    let (status, body, _) = remove("101", "楼已拆除").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("room_bound"), "{body}");
    let (status, body, _) = remove("102", "楼已拆除").await;
    ok(status, &body, "remove a room");
    let (status, body, _) = remove("102", "楼已拆除").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("unknown_utility_account"), "{body}");
    assert_eq!(
        rooms(&admin).await["buildings"][8],
        serde_json::json!(["9", 1])
    );
    let (status, body, _) = bind("102").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("unknown_utility_account"), "{body}");

    // Each change is in the audit log, by whom and what.
    let audit = |action: &str| AuditQuery {
        action: Some(action.into()),
        limit: 10,
        ..Default::default()
    };
    let added = app
        .state
        .db
        .audit_records(&audit("rooms.add"))
        .await
        .unwrap();
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(added[0].actor_kind, app::model::ActorKind::Staff);
    assert_eq!(helpers::english(&added[0].target), "4 rooms in the list");
    assert_eq!(helpers::english(&added[0].after), "2 rooms added");
    let removed = app
        .state
        .db
        .audit_records(&audit("rooms.remove"))
        .await
        .unwrap();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(helpers::english(&removed[0].target), "room 9-102");
    assert_eq!(removed[0].reason, "楼已拆除");

    // The longest list, of a building named in Chinese, goes through whole (over the body
    // limit of an ordinary form).
    let longest: String = (1..=5000).map(|n| format!("东区十号楼,{n}\r\n")).collect();
    let (status, body, _) =
        call(&app, Some(&admin), "admin/add_rooms", &[("list", &longest)]).await;
    ok(status, &body, "add the longest list");
    let added: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(added, serde_json::json!({"listed": 5000, "added": 5000}));
    app.stop().await;
}

#[tokio::test]
async fn the_monthly_chart_counts_purchases_under_utilities_less_their_refunds() {
    let app = TestApp::spawn(3).await;
    let month = (app.state.now() + chrono::Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    let (_, session) = student_in_room(&app, 12, 100, "602").await;
    // Delivered: ¥31.00.
    let (status, body) = buy(&app, &session, "electricity", "50", "chart-1").await;
    ok(status, &body, "buy");
    let made: Value = serde_json::from_str(&body).unwrap();
    settled(&app, made["purchase"]["reference"].as_str().unwrap()).await;
    // Refused by the biller (it would overfill the meter) and refunded: ¥12.40 and back.
    almost_full(&app, "7-602").await;
    let (status, body) = buy(&app, &session, "electricity", "20", "chart-2").await;
    ok(status, &body, "buy");
    let made: Value = serde_json::from_str(&body).unwrap();
    let done = settled(&app, made["purchase"]["reference"].as_str().unwrap()).await;
    assert_eq!(done.status, app::model::PurchaseStatus::Refunded);
    let (status, body, _) = call(&app, Some(&session), "monthly_spend", &[]).await;
    ok(status, &body, "monthly");
    let chart: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        chart,
        json!([{"month": month, "category": "utilities", "amount": 3100}])
    );
    // A demo student's payments at the canteen still count under their merchants' categories.
    let demo = app
        .state
        .db
        .monthly_spend(1, app.state.now() - chrono::Duration::days(183))
        .await
        .unwrap();
    let categories: Vec<app::model::SpendCategory> = demo.iter().map(|m| m.category).collect();
    assert!(
        categories.contains(&app::model::SpendCategory::Canteen),
        "{demo:?}"
    );
    assert!(
        !categories.contains(&app::model::SpendCategory::Utilities),
        "{demo:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_purchase_refunded_after_midnight_at_the_months_end_is_no_spending_in_either_month() {
    use app::model::SpendCategory;
    use app::server::domain::utilities::Outcome;
    use chrono::Datelike;
    // No biller runs here: the purchase waits until the outcome given below.
    let app = without_billers().await;
    let s = fresh_holder(&app, 34, Money::yuan(100)).await;
    // Charged at 23:50 on the last day of a campus month (UTC+8)...
    let now = app.state.now();
    let month_end = (now + chrono::Duration::hours(8)).date_naive();
    let next_month = month_end
        .checked_add_months(chrono::Months::new(1))
        .unwrap()
        .with_day(1)
        .unwrap();
    let last_day = next_month.pred_opt().unwrap();
    let charge_at = last_day.and_hms_opt(15, 50, 0).unwrap().and_utc();
    app.state.clock.advance(charge_at - now);
    charged_unasked(&app, s.id, "retired-biller", "E20261031LATE1", "7-404").await;
    // ...and its failure told at 00:10 the next day: refunded then.
    app.state.clock.advance(chrono::Duration::minutes(20));
    let settled = app
        .state
        .db
        .settle_purchase(
            "retired-biller",
            "E20261031LATE1",
            Money::from_fen(620),
            &Outcome::Failed {
                reason: "meter offline".into(),
            },
            app.state.now(),
        )
        .await
        .unwrap();
    assert!(format!("{settled:?}").contains("Refund"), "{settled:?}");
    assert_eq!(balance(&app, s.id).await, Money::yuan(100));
    let chart = app
        .state
        .db
        .monthly_spend(s.id, charge_at - chrono::Duration::days(183))
        .await
        .unwrap();
    let months: Vec<(String, SpendCategory, i64)> = chart
        .iter()
        .map(|m| (m.month.clone(), m.category, m.amount.fen()))
        .collect();
    assert_eq!(
        months,
        vec![(
            last_day.format("%Y-%m").to_string(),
            SpendCategory::Utilities,
            0
        )]
    );
    app.stop().await;
}
