//! The device API over real HTTP: signed requests, every decline reason, idempotent replays,
//! concurrent payments on one account, forged and replayed requests, gates, OpenAPI.
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::AuditAction;
use app::model::Money;
use app::server::store::Audit;
use ed25519_dalek::SigningKey;
use helpers::TestApp;
use helpers::device::{
    Device, FRESH_CONSUMPTION_PASSWORD, balance, code_for, device, fresh_holder, holder,
    live_serial, make_room, nonce,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const B_LOGIN: &str = "2023020215";

fn audit(holder_id: i64, action: AuditAction) -> Audit {
    helpers::device::test_audit(action, Some(holder_id))
}

#[tokio::test]
async fn a_card_payment_is_charged_once_however_often_it_is_sent() {
    let app = TestApp::spawn(6).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let b = holder(&app, B_LOGIN).await;
    let serial = live_serial(&app, b).await;
    let before = make_room(&app, b, Money::yuan(50)).await;
    let first = pos
        .pay(&app, "sale-1", 1250, Some(&serial), None, None)
        .await;
    assert_eq!(first["approved"], true, "{first}");
    assert_eq!(first["balance_fen"], before.fen() - 1250);
    // The terminal did not hear back and sends the same sale again: same answer, one charge.
    let again = pos
        .pay(&app, "sale-1", 1250, Some(&serial), None, None)
        .await;
    assert_eq!(again, first);
    assert_eq!(balance(&app, b).await.fen(), before.fen() - 1250);
    // The same request id for a different sale is refused.
    let (status, body) = pos
        .post(
            &app,
            "/api/device/v1/pay",
            json!({"request_id": "sale-1", "amount_fen": 999, "card_serial": serial}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Balance inquiry shows the new balance and a masked name.
    let (_, inquiry) = pos
        .post(
            &app,
            "/api/device/v1/balance",
            json!({"card_serial": serial}),
        )
        .await;
    assert_eq!(inquiry["balance_fen"], before.fen() - 1250);
    assert_eq!(inquiry["holder"], "李*然");
    let check = app.state.db.ledger_check().await.unwrap();
    assert!(check.is_consistent(), "{check:?}");
    app.stop().await;
}

#[tokio::test]
async fn every_decline_reason_has_its_case() {
    let app = TestApp::spawn(6).await;
    let pos = device(&app, "POS-E-MARKET").await;
    let gate = device(&app, "GATE-E-DORM").await;
    // A holder of the test's own with ¥100: the demo students' balances and today's spending
    // depend on the day the demo was generated.
    let fresh = fresh_holder(&app, 1, Money::yuan(100)).await;
    let (b, serial) = (fresh.id, fresh.serial.clone());
    let reason = |v: &Value| v["reason"].as_str().unwrap_or("approved").to_string();

    assert_eq!(
        reason(&pos.pay(&app, "u1", 100, Some("FFFFFFFF"), None, None).await),
        "unknown_card"
    );
    assert_eq!(
        reason(&pos.pay(&app, "z1", 0, Some(&serial), None, None).await),
        "invalid_amount"
    );
    // Over the holder's ¥50 single limit: the consumption password is needed.
    assert_eq!(
        reason(&pos.pay(&app, "p1", 6000, Some(&serial), None, None).await),
        "password_required"
    );
    let with_pw = pos
        .pay(
            &app,
            "p1",
            6000,
            Some(&serial),
            None,
            Some(FRESH_CONSUMPTION_PASSWORD),
        )
        .await;
    assert_eq!(reason(&with_pw), "approved", "{with_pw}");
    // Over the campus maximum (¥500): no password helps.
    assert_eq!(
        reason(
            &pos.pay(
                &app,
                "m1",
                50_100,
                Some(&serial),
                None,
                Some(FRESH_CONSUMPTION_PASSWORD)
            )
            .await
        ),
        "limit_exceeded"
    );
    // More than the balance, under every limit: ¥40 left, ¥40.01 asked.
    assert_eq!(balance(&app, b).await, Money::yuan(40));
    let r = pos.pay(&app, "i1", 4001, Some(&serial), None, None).await;
    assert_eq!(reason(&r), "insufficient_balance", "{r}");
    // Three wrong consumption passwords lock password payments.
    assert_eq!(
        reason(
            &pos.pay(&app, "w1", 6000, Some(&serial), None, Some("000000"))
                .await
        ),
        "wrong_password"
    );
    assert_eq!(
        reason(
            &pos.pay(&app, "w1", 6000, Some(&serial), None, Some("000000"))
                .await
        ),
        "wrong_password"
    );
    assert_eq!(
        reason(
            &pos.pay(&app, "w1", 6000, Some(&serial), None, Some("000000"))
                .await
        ),
        "password_locked"
    );
    assert_eq!(
        reason(
            &pos.pay(
                &app,
                "w1",
                6000,
                Some(&serial),
                None,
                Some(FRESH_CONSUMPTION_PASSWORD)
            )
            .await
        ),
        "password_locked"
    );
    // Small payments need no password and still work.
    assert_eq!(
        reason(&pos.pay(&app, "s1", 300, Some(&serial), None, None).await),
        "approved"
    );

    // Codes: valid once, then used; garbage is invalid; an old code is expired.
    let code = code_for(&app, b, "sess-b").await;
    assert_eq!(
        reason(&pos.pay(&app, "c1", 200, None, Some(&code), None).await),
        "approved"
    );
    assert_eq!(
        reason(&pos.pay(&app, "c2", 200, None, Some(&code), None).await),
        "code_used"
    );
    assert_eq!(
        reason(
            &pos.pay(&app, "c3", 200, None, Some("81123456780012345678"), None)
                .await
        ),
        "code_invalid"
    );
    let key = app
        .state
        .db
        .pay_key_for_session("sess-b")
        .await
        .unwrap()
        .unwrap();
    let key = app::server::paycode::opened(&app.state.secrets.sealer, key).unwrap();
    let old_step = app::server::paycode::step_at(app.state.now()) - 10;
    let old = app::server::paycode::code_digits(&key, app::server::paycode::Purpose::Pay, old_step);
    assert_eq!(
        reason(&pos.pay(&app, "c4", 200, None, Some(&old), None).await),
        "code_expired"
    );

    // Lost card: refused at the POS and the gate; the code still pays.
    app.state
        .db
        .set_card_lost(
            b,
            true,
            app.state.now(),
            audit(b, AuditAction::CardReportLost),
        )
        .await
        .unwrap();
    assert_eq!(
        reason(&pos.pay(&app, "l1", 200, Some(&serial), None, None).await),
        "card_lost"
    );
    let (_, g) = gate
        .post(
            &app,
            "/api/device/v1/access",
            json!({"card_serial": serial}),
        )
        .await;
    assert_eq!(
        (g["allowed"].as_bool(), g["reason"].as_str()),
        (Some(false), Some("card_lost"))
    );
    let fresh = code_for(&app, b, "sess-b").await;
    assert_eq!(
        reason(&pos.pay(&app, "l2", 200, None, Some(&fresh), None).await),
        "approved"
    );
    // Frozen and closed accounts.
    app.state
        .db
        .set_card_lost(
            b,
            false,
            app.state.now(),
            audit(b, AuditAction::CardLiftLost),
        )
        .await
        .unwrap();
    app.state
        .db
        .set_account_status(
            b,
            app::model::AccountStatus::Frozen,
            audit(b, AuditAction::AccountFreeze),
        )
        .await
        .unwrap();
    assert_eq!(
        reason(&pos.pay(&app, "f1", 200, Some(&serial), None, None).await),
        "account_frozen"
    );
    app.state
        .db
        .set_account_status(
            b,
            app::model::AccountStatus::Closed,
            audit(b, AuditAction::AccountClose),
        )
        .await
        .unwrap();
    assert_eq!(
        reason(&pos.pay(&app, "f2", 200, Some(&serial), None, None).await),
        "account_closed"
    );
    // A gate cannot take payments.
    assert_eq!(
        reason(&gate.pay(&app, "g1", 200, Some(&serial), None, None).await),
        "not_allowed_here"
    );
    let check = app.state.db.ledger_check().await.unwrap();
    assert!(check.is_consistent(), "{check:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_void_card_is_refused() {
    let app = TestApp::spawn(6).await;
    let pos = device(&app, "POS-E-CANTEEN-2").await;
    // Demo holder #5 had a card replaced; the old one is void forever.
    let mut void_serial = None;
    for id in 1..=6 {
        for c in app.state.db.cards_of(id).await.unwrap() {
            if c.status == app::model::CardStatus::Void {
                void_serial = Some(c.chip_serial);
            }
        }
    }
    let serial = void_serial.expect("the demo campus has a void card");
    let r = pos.pay(&app, "v1", 100, Some(&serial), None, None).await;
    assert_eq!(r["reason"], "card_void");
    assert_eq!(r["message_zh"], "此卡已作废");
    app.stop().await;
}

#[tokio::test]
async fn forged_stale_replayed_and_unknown_requests_are_refused() {
    let app = TestApp::spawn(6).await;
    let pos = device(&app, "POS-E-WATERBAR").await;
    let body = json!({"card_serial": "FFFFFFFF"});
    let path = "/api/device/v1/balance";
    // Replay: the same nonce twice.
    let n = nonce();
    let now = app.state.now().timestamp_millis();
    let (first, _) = pos.post_raw(&app, path, &body, &n, now).await;
    assert_eq!(first, StatusCode::OK);
    let (replayed, _) = pos.post_raw(&app, path, &body, &n, now).await;
    assert_eq!(replayed, StatusCode::UNAUTHORIZED);
    // Stale timestamp.
    let (stale, _) = pos
        .post_raw(&app, path, &body, &nonce(), now - 5 * 60_000)
        .await;
    assert_eq!(stale, StatusCode::UNAUTHORIZED);
    // Signed by another key.
    let forger = Device {
        code: pos.code.clone(),
        key: SigningKey::from_bytes(&[7u8; 32]),
    };
    let (forged, _) = forger.post(&app, path, body.clone()).await;
    assert_eq!(forged, StatusCode::UNAUTHORIZED);
    // The body changed after signing.
    let bytes = serde_json::to_vec(&body).unwrap();
    let n2 = nonce();
    let res = app
        .client
        .post(app.url(path))
        .header("x-device", &pos.code)
        .header("x-timestamp", now.to_string())
        .header("x-nonce", &n2)
        .header("x-signature", pos.sign(path, &n2, now, &bytes))
        .body(r#"{"card_serial":"AAAAAAAA"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // No headers at all; an unknown device; a device whose key was rotated.
    let res = app
        .client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let ghost = Device {
        code: "NO-SUCH-DEVICE".into(),
        key: SigningKey::from_bytes(&[9u8; 32]),
    };
    assert_eq!(
        ghost.post(&app, path, body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let rotated = device(&app, "POS-E-WATERBAR").await;
    assert_eq!(
        pos.post(&app, path, body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(rotated.post(&app, path, body).await.0, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn hundreds_of_simultaneous_payments_on_one_account() {
    let app = TestApp::spawn(6).await;
    let pos = std::sync::Arc::new(device(&app, "POS-E-CANTEEN-1").await);
    // A holder of the test's own with ¥300, room under the limits so only the balance decides.
    let fresh = fresh_holder(&app, 2, Money::yuan(300)).await;
    let (b, serial) = (fresh.id, fresh.serial.clone());
    app.state
        .db
        .set_limits(
            b,
            Money::yuan(500),
            Money::yuan(1000),
            audit(b, AuditAction::AccountSetLimits),
        )
        .await
        .unwrap();
    let start = balance(&app, b).await.fen();
    assert_eq!(start, 30_000);
    let price = 250; // ¥2.50
    let attempts = 300i64;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..attempts {
        let (app, pos, serial) = (app.clone(), pos.clone(), serial.clone());
        tasks.push(tokio::spawn(async move {
            pos.pay(&app, &format!("rush-{i}"), price, Some(&serial), None, None)
                .await
        }));
    }
    let mut approved = 0i64;
    for t in tasks {
        let r = t.await.unwrap();
        if r["approved"] == true {
            approved += 1;
        } else {
            assert_eq!(r["reason"], "insufficient_balance", "{r}");
        }
    }
    // ¥300 at ¥2.50 a sale: exactly 120 of the 300 go through, the rest find no money left.
    assert_eq!(approved, 120, "start balance {start}");
    assert_eq!(balance(&app, b).await.fen(), start - approved * price);
    let check = app.state.db.ledger_check().await.unwrap();
    assert!(check.is_consistent(), "{check:?}");
}

#[tokio::test]
async fn gates_and_attendance_record_every_check() {
    let app = TestApp::spawn(6).await;
    let gate = device(&app, "GATE-LIBRARY").await;
    let reader = device(&app, "ATT-T2-101").await;
    let pos = device(&app, "POS-LIBRARY").await;
    let b = holder(&app, B_LOGIN).await;
    let serial = live_serial(&app, b).await;
    let code = code_for(&app, b, "sess-gate").await;
    let (_, r) = gate
        .post(
            &app,
            "/api/device/v1/access",
            json!({"card_serial": serial}),
        )
        .await;
    assert_eq!(r["allowed"], true);
    let (_, r) = reader
        .post(&app, "/api/device/v1/access", json!({"code": code}))
        .await;
    assert_eq!(r["allowed"], true);
    // Identity checks do not use up a code.
    let (_, r) = gate
        .post(&app, "/api/device/v1/access", json!({"code": code}))
        .await;
    assert_eq!(r["allowed"], true);
    let (_, r) = pos
        .post(
            &app,
            "/api/device/v1/access",
            json!({"card_serial": serial}),
        )
        .await;
    assert_eq!(r["reason"], "not_allowed_here");
    let (status, _) = gate.post(&app, "/api/device/v1/access", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = TestApp::spawn(0).await;
    let doc: Value = app
        .get("/api/device/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["info"]["title"], "Yikatong device API");
    for path in [
        "/api/device/v1/pay",
        "/api/device/v1/balance",
        "/api/device/v1/access",
        "/api/device/v1/refund",
        "/api/device/v1/kiosk/balance",
        "/api/device/v1/kiosk/consumption-password",
        "/api/device/v1/kiosk/report-loss",
    ] {
        assert!(doc["paths"][path]["post"].is_object(), "{path}");
    }
    // Every route the device router serves is in the document, and nothing else.
    let documented = doc["paths"].as_object().unwrap().len();
    assert_eq!(
        documented,
        7,
        "{:?}",
        doc["paths"].as_object().unwrap().keys()
    );
    assert!(doc["components"]["schemas"]["PayBody"]["properties"]["amount_fen"].is_object());
    app.stop().await;
}

/// The next server-sent event of a stream (`None`: the stream ended), its comments (keep-alive)
/// skipped. Waits at most 10 s.
async fn next_event(
    stream: &mut reqwest::Response,
    buffer: &mut String,
) -> Option<(String, Value)> {
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim_start().to_string())
                };
                if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
                    return Some((event, serde_json::from_str(&data).unwrap()));
                }
                continue;
            }
            match stream.chunk().await.unwrap() {
                Some(bytes) => buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => return None,
            }
        }
    })
    .await
    .expect("no event within 10 s")
}

#[tokio::test]
async fn a_code_page_on_another_server_of_the_database_hears_the_payment() {
    use helpers::device::FRESH_QUERY_PASSWORD;
    use helpers::{call, login};
    let a = TestApp::spawn(2).await;
    if helpers::postgres_admin_url().is_none() {
        // An SQLite database has one server: nothing to announce, nobody to listen.
        assert!(
            a.state
                .db
                .code_result_announcements()
                .await
                .unwrap()
                .is_none()
        );
        return;
    }
    // A second server on the same database (and the same secrets), as behind a balancer.
    let b = TestApp::spawn_with(tempfile::tempdir().unwrap(), helpers::settings(&a.dir, 0)).await;
    let pos = device(&a, "POS-E-CANTEEN-1").await;
    let fresh = fresh_holder(&a, 13, Money::yuan(100)).await;
    // The student's phone is on server b; the till pays through server a.
    let cookie = login(&b, &fresh.login, FRESH_QUERY_PASSWORD).await;
    let mut stream = b
        .client
        .get(b.url("/events/pay-code"))
        .header("sec-fetch-site", "same-origin")
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let (_, body, _) = call(&b, Some(&cookie), "pay_code", &[]).await;
    let code: Value = serde_json::from_str(&body).unwrap();
    let paid = pos
        .pay(
            &a,
            "relay-1",
            1250,
            None,
            Some(code["digits"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(paid["approved"], true, "{paid}");
    let mut buffer = String::new();
    let (event, result) = next_event(&mut stream, &mut buffer).await.unwrap();
    assert_eq!(event, "result");
    assert_eq!(result["amount"], 1250);
    assert_eq!(result["balance"], paid["balance_fen"]);
    drop(stream);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn the_code_page_hears_each_result_at_once_and_stops_with_the_session() {
    use helpers::device::FRESH_QUERY_PASSWORD;
    use helpers::{call, login};
    let app = TestApp::spawn(2).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let fresh = fresh_holder(&app, 11, Money::yuan(100)).await;
    let cookie = login(&app, &fresh.login, FRESH_QUERY_PASSWORD).await;
    let open = |cookie: Option<&str>, site: &str| {
        let mut req = app
            .client
            .get(app.url("/events/pay-code"))
            .header("sec-fetch-site", site.to_string());
        if let Some(c) = cookie {
            req = req.header("cookie", c.to_string());
        }
        req.send()
    };
    // Only the holder's own same-origin page may listen.
    assert_eq!(
        open(None, "same-origin").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        open(Some(&cookie), "cross-site").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let mut stream = open(Some(&cookie), "same-origin").await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();

    let code_now = async || {
        let (_, body, _) = call(&app, Some(&cookie), "pay_code", &[]).await;
        let code: Value = serde_json::from_str(&body).unwrap();
        code["digits"].as_str().unwrap().to_string()
    };
    // Approved: amount, place and the balance after it, the same the till was told.
    let paid = pos
        .pay(&app, "sse-1", 1250, None, Some(&code_now().await), None)
        .await;
    assert_eq!(paid["approved"], true, "{paid}");
    let (event, result) = next_event(&mut stream, &mut buffer).await.unwrap();
    assert_eq!(event, "result");
    assert_eq!(result["amount"], 1250);
    assert_eq!(result["balance"], paid["balance_fen"]);
    assert_eq!(result["balance"], 8750);
    assert_eq!(result["decline"], Value::Null);
    let place = app
        .state
        .db
        .device_by_code("POS-E-CANTEEN-1")
        .await
        .unwrap()
        .unwrap()
        .place;
    assert_eq!(result["place"], place.as_str());

    // Declined with the holder known (over the ¥50 single limit, no password): told too.
    let asked = pos
        .pay(&app, "sse-2", 6000, None, Some(&code_now().await), None)
        .await;
    assert_eq!(asked["reason"], "password_required", "{asked}");
    let (_, result) = next_event(&mut stream, &mut buffer).await.unwrap();
    assert_eq!(result["decline"], "password_required");
    assert_eq!(result["amount"], 6000);
    assert_eq!(result["balance"], Value::Null);

    // A card payment is not the code page's business; another holder's payment neither.
    let card = pos
        .pay(&app, "sse-3", 100, Some(&fresh.serial), None, None)
        .await;
    assert_eq!(card["approved"], true, "{card}");
    let b = holder(&app, B_LOGIN).await;
    make_room(&app, b, Money::yuan(20)).await;
    let other = code_for(&app, b, "sess-other").await;
    let theirs = pos.pay(&app, "sse-4", 100, None, Some(&other), None).await;
    assert_eq!(theirs["approved"], true, "{theirs}");
    // The next thing this stream hears is its own holder's next payment.
    pos.pay(&app, "sse-5", 300, None, Some(&code_now().await), None)
        .await;
    let (_, result) = next_event(&mut stream, &mut buffer).await.unwrap();
    assert_eq!(result["amount"], 300);
    assert_eq!(result["balance"], 8750 - 100 - 300);

    // The history totals money out and money in apart: ¥12.50 + ¥1.00 + ¥3.00 paid, ¥100 topped up.
    let (_, body, _) = call(&app, Some(&cookie), "history", &[]).await;
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["count"], 4, "{body}");
    assert_eq!(page["spent"], 1250 + 100 + 300);
    assert_eq!(page["received"], 10_000);
    let (_, body, _) = call(&app, Some(&cookie), "history", &[("kind", "payment")]).await;
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (page["count"].clone(), page["received"].clone()),
        (json!(3), json!(0)),
        "{body}"
    );

    // At most four pages per holder listen: a fifth (a page reloaded again and again) takes
    // the place of the oldest, whose stream ends.
    let mut extra = Vec::new();
    for _ in 0..4 {
        let page = open(Some(&cookie), "same-origin").await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        extra.push(page);
    }
    assert_eq!(
        next_event(&mut stream, &mut buffer).await,
        None,
        "the oldest page still listens"
    );
    let mut stream = extra.pop().unwrap();
    let mut buffer = String::new();
    drop(extra);

    // Logged out: the stream says nothing more and ends.
    let (status, _, _) = call(&app, Some(&cookie), "logout", &[]).await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    app.state.code_events.publish(
        fresh.id,
        app::portal_model::CodeResult {
            amount: Money::from_fen(1),
            place: "x".into(),
            balance: None,
            decline: None,
        },
    );
    assert_eq!(next_event(&mut stream, &mut buffer).await, None);
    app.stop().await;
}

#[tokio::test]
async fn listening_for_results_keeps_nobody_logged_in() {
    use app::server::auth::HOLDER_IDLE;
    use helpers::device::FRESH_QUERY_PASSWORD;
    use helpers::{call, login};
    let app = TestApp::spawn(2).await;
    let fresh = fresh_holder(&app, 12, Money::yuan(10)).await;
    let cookie = login(&app, &fresh.login, FRESH_QUERY_PASSWORD).await;
    // Two thirds of the idle time on, the code page opens its stream (or reopens it after a
    // dropped connection). That is not activity.
    app.state.clock.advance(HOLDER_IDLE * 2 / 3);
    let stream = app
        .client
        .get(app.url("/events/pay-code"))
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    drop(stream);
    // Past the idle time since the login, the session is over.
    app.state
        .clock
        .advance(HOLDER_IDLE / 3 + chrono::Duration::seconds(1));
    let (status, body, _) = call(&app, Some(&cookie), "dashboard", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    app.stop().await;
}

/// Logs in with "remember this phone" ticked; returns the session cookie and the phone's.
async fn login_remembering(app: &TestApp, login: &str, password: &str) -> (String, String) {
    let res = app
        .client
        .post(app.url("/api/login"))
        .header("accept", "application/json")
        .header("sec-fetch-site", "same-origin")
        .form(&[("login", login), ("password", password), ("remember", "on")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let find = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {cookies:?}"))
            .clone()
    };
    let phone = find("ykt_phone=");
    // Kept by the browser for the campus's 30 days, and out of scripts' reach.
    assert!(
        phone.contains(&format!("Max-Age={}", 30 * 86_400)),
        "{phone}"
    );
    assert!(phone.contains("HttpOnly"), "{phone}");
    let first = |c: String| c.split(';').next().unwrap().to_string();
    (first(find("ykt_session=")), first(phone))
}

/// The code a remembered phone makes itself, at the server's time (as the phone does after
/// correcting its clock by the server's).
fn phone_code(key: &Value, app: &TestApp, steps_ago: i64) -> String {
    use app::code_format::{Purpose, digits, step_of};
    digits(
        key["secret"].as_str().unwrap(),
        Purpose::Offline,
        key["key_id"].as_i64().unwrap(),
        step_of(app.state.now().timestamp()) - steps_ago,
    )
}

#[tokio::test]
async fn a_remembered_phone_opens_only_its_code_and_pays_offline_within_the_campus_amount() {
    use app::server::auth::HOLDER_IDLE;
    use helpers::call;
    use helpers::device::{FRESH_CONSUMPTION_PASSWORD, FRESH_QUERY_PASSWORD};
    let app = TestApp::spawn(2).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let fresh = fresh_holder(&app, 12, Money::yuan(200)).await;
    // This campus lets an offline code pay ¥20 without the password (the holder's own single
    // limit is ¥50).
    let mut campus = app.state.db.campus_profile().await.unwrap().unwrap();
    campus.offline_code_max = Money::yuan(20);
    app.state.db.save_campus_profile(&campus).await.unwrap();
    app.state.campus.put(campus.clone());
    let (session, phone) = login_remembering(&app, &fresh.login, FRESH_QUERY_PASSWORD).await;
    let both = format!("{session}; {phone}");

    // The phone's own key, for its storage: only with the session, only this browser's.
    let (status, body, _) = call(&app, Some(&both), "phone_secret", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key: Value = serde_json::from_str(&body).unwrap();
    assert!(key["key_id"].as_i64().unwrap() < 10_000_000, "{key}");
    assert_eq!(key["secret"].as_str().unwrap().len(), 64);
    assert_eq!(key["offline_max"], 2000);
    let told = key["server_time_ms"].as_i64().unwrap();
    assert!(
        (app.state.now().timestamp_millis() - told).abs() < 5_000,
        "{key}"
    );
    let (status, body, _) = call(&app, Some(&phone), "phone_secret", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the phone alone: {body}");
    let (_, body, _) = call(&app, Some(&session), "phone_secret", &[]).await;
    assert_eq!(body, "null", "the session without the phone's cookie");

    // A code made on the phone pays once, within the offline amount without the password.
    let code = phone_code(&key, &app, 0);
    let paid = pos.pay(&app, "ph-1", 1250, None, Some(&code), None).await;
    assert_eq!(paid["approved"], true, "{paid}");
    let again = pos.pay(&app, "ph-2", 100, None, Some(&code), None).await;
    assert_eq!(again["reason"], "code_used", "{again}");
    // Above the offline amount, the consumption password is asked for; with it, it pays.
    let over = phone_code(&key, &app, 1);
    let asked = pos.pay(&app, "ph-3", 2001, None, Some(&over), None).await;
    assert_eq!(asked["reason"], "password_required", "{asked}");
    let with_pw = pos
        .pay(
            &app,
            "ph-3",
            2001,
            None,
            Some(&over),
            Some(FRESH_CONSUMPTION_PASSWORD),
        )
        .await;
    assert_eq!(with_pw["approved"], true, "{with_pw}");
    // A code the server made for the same phone (online, with the phone's cookie) is not
    // capped: the holder's own ¥50 limit applies.
    let (_, body, _) = call(&app, Some(&phone), "pay_code", &[]).await;
    let online: Value = serde_json::from_str(&body).unwrap();
    assert!(
        online["digits"].as_str().unwrap().starts_with("81"),
        "{online}"
    );
    assert_eq!(online["phone_key_id"], key["key_id"]);
    assert_eq!(online["balance"], 20_000 - 1250 - 2001);
    let digits = online["digits"].as_str().unwrap();
    let online_paid = pos.pay(&app, "ph-3b", 2500, None, Some(digits), None).await;
    assert_eq!(online_paid["approved"], true, "{online_paid}");

    // After the idle time the session is over; the phone still opens its code (and balance),
    // and nothing else.
    app.state
        .clock
        .advance(HOLDER_IDLE + chrono::Duration::seconds(1));
    let (status, body, _) = call(&app, Some(&both), "pay_code", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body, _) = call(&app, Some(&both), "me", &[]).await;
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["phone_only"], true, "{me}");
    for endpoint in ["history", "dashboard", "profile", "phone_secret", "limits"] {
        let (status, body, _) = call(&app, Some(&both), endpoint, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{endpoint}: {body}");
    }
    let page = app.get_with("/portal/code", &both).await;
    assert_eq!(page.status(), StatusCode::OK, "the code page opens");
    let page = app.get_with("/portal/history", &both).await;
    assert_eq!(
        page.status(),
        StatusCode::SEE_OTHER,
        "history asks to log in"
    );
    assert_eq!(page.headers()["location"], "/login");
    // Offline codes go on paying.
    let later = pos
        .pay(
            &app,
            "ph-4",
            300,
            None,
            Some(&phone_code(&key, &app, 0)),
            None,
        )
        .await;
    assert_eq!(later["approved"], true, "{later}");

    // The profile lists the phone; removing it stops its codes at once.
    let desk = helpers::login(&app, &fresh.login, FRESH_QUERY_PASSWORD).await;
    let (_, body, _) = call(&app, Some(&desk), "profile", &[]).await;
    let profile: Value = serde_json::from_str(&body).unwrap();
    let phones = profile["phones"].as_array().unwrap();
    assert_eq!(phones.len(), 1, "{profile}");
    assert_eq!(phones[0]["key_id"], key["key_id"]);
    assert_eq!(phones[0]["this_phone"], false);
    let made_before = phone_code(&key, &app, 0);
    let key_id = key["key_id"].to_string();
    let (status, body, _) = call(&app, Some(&desk), "remove_phone", &[("key_id", &key_id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refused = pos
        .pay(&app, "ph-5", 300, None, Some(&made_before), None)
        .await;
    assert_eq!(refused["reason"], "code_invalid", "{refused}");
    let (status, _, _) = call(&app, Some(&phone), "pay_code", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another holder cannot remove a phone, nor one twice.
    let (status, _, _) = call(&app, Some(&desk), "remove_phone", &[("key_id", &key_id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let holder_id = holder(&app, &fresh.login).await;
    let audit = app.state.db.audit_of_holder(holder_id, 50).await.unwrap();
    for action in ["holder.phone_bound", "holder.phone_removed"] {
        assert!(audit.iter().any(|a| a.action == action), "{action}");
    }
}

#[tokio::test]
async fn a_password_change_or_a_loss_report_forgets_every_phone() {
    use helpers::call;
    use helpers::device::FRESH_QUERY_PASSWORD;
    let app = TestApp::spawn(2).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let fresh = fresh_holder(&app, 13, Money::yuan(100)).await;
    let key_of = async |cookies: &str| {
        let (_, body, _) = call(&app, Some(cookies), "phone_secret", &[]).await;
        serde_json::from_str::<Value>(&body).unwrap()
    };

    // A loss report.
    let (session, phone) = login_remembering(&app, &fresh.login, FRESH_QUERY_PASSWORD).await;
    let key = key_of(&format!("{session}; {phone}")).await;
    let (status, body, _) = call(
        &app,
        Some(&session),
        "card_loss",
        &[("password", FRESH_QUERY_PASSWORD), ("lost", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refused = pos
        .pay(
            &app,
            "fg-1",
            100,
            None,
            Some(&phone_code(&key, &app, 0)),
            None,
        )
        .await;
    assert_eq!(
        refused["reason"], "code_invalid",
        "after the loss report: {refused}"
    );
    let (status, _, _) = call(&app, Some(&phone), "pay_code", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Lifting the report brings no phone back.
    call(
        &app,
        Some(&session),
        "card_loss",
        &[("password", FRESH_QUERY_PASSWORD), ("lost", "false")],
    )
    .await;
    let (_, body, _) = call(&app, Some(&session), "profile", &[]).await;
    assert!(body.contains("\"phones\":[]"), "{body}");

    // A password change.
    let (session, phone) = login_remembering(&app, &fresh.login, FRESH_QUERY_PASSWORD).await;
    let key = key_of(&format!("{session}; {phone}")).await;
    assert!(
        pos.pay(
            &app,
            "fg-2",
            100,
            None,
            Some(&phone_code(&key, &app, 0)),
            None
        )
        .await["approved"]
            == true
    );
    let (status, body, _) = call(
        &app,
        Some(&session),
        "change_password",
        &[
            ("old", FRESH_QUERY_PASSWORD),
            ("new", "604829"),
            ("repeat", "604829"),
        ],
    )
    .await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status} {body}"
    );
    let refused = pos
        .pay(
            &app,
            "fg-3",
            100,
            None,
            Some(&phone_code(&key, &app, 1)),
            None,
        )
        .await;
    assert_eq!(
        refused["reason"], "code_invalid",
        "after the change: {refused}"
    );
}

#[tokio::test]
async fn a_server_on_a_chosen_clock_lets_this_machine_move_it_on() {
    let app = TestApp::spawn(1).await;
    let before = app.state.now();
    let moved = app
        .client
        .post(app.url("/test/clock"))
        .json(&json!({ "advance_secs": 3600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    assert!(app.state.now() - before >= chrono::Duration::hours(1));
    let refused = app
        .client
        .post(app.url("/test/clock"))
        .json(&json!({ "advance_secs": -1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}
