//! Notices by e-mail, against a real SMTP server on the loopback interface
//! (`helpers::smtp`): an address is confirmed by its link; a payment above the holder's amount
//! makes exactly one e-mail with the amount and the place; a mail server that is down for a
//! while gets the message once when it is back; and a server stopped in the middle of a send,
//! then started again, neither loses the message nor sends it twice; two servers on one
//! database send each notice once; and each event goes by e-mail only if chosen for it.
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::Money;
use helpers::device::{FRESH_QUERY_PASSWORD, device, fresh_holder};
use helpers::smtp::{Received, SmtpSink};
use helpers::{TestApp, TestDir, call, login, save_prefs, settings, test_dir};
use reqwest::StatusCode;
use serde_json::Value;

async fn spawn(dir: impl Into<TestDir>, sink: &SmtpSink) -> TestApp {
    let dir = dir.into();
    let s = settings(&dir, 2);
    spawn_on(dir, s, sink).await
}

/// A server with `settings` (its database, its secrets) sending through `sink`.
async fn spawn_on(
    dir: impl Into<TestDir>,
    mut s: server::config::Settings,
    sink: &SmtpSink,
) -> TestApp {
    s.smtp_url = Some(sink.url().into());
    s.mail_from = Some("一卡通 <card@campus.test>".into());
    s.public_url = Some("https://card.campus.test".into());
    let app = TestApp::spawn_with(dir, s).await;
    // Daytime on the campus, whatever moment the test starts at (scripts/clock-check.sh runs
    // every test at 23:59 too): payment notices are held in quiet hours, and these tests are
    // about sending them. The same moment for a server started again on the same data.
    app.state.clock.set(helpers::campus_daytime());
    app
}

/// The path of the confirmation link sent to `address`, among `mail`.
fn confirmation_path(mail: &[Received], address: &String) -> String {
    let confirmation = mail.iter().find(|m| m.to.contains(address)).unwrap();
    let text = confirmation.text();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("https://card.campus.test/email/confirm?token="))
        .unwrap_or_else(|| panic!("no link in {text}"));
    link.trim_start_matches("https://card.campus.test")
        .to_string()
}

/// A fresh student with a confirmed address (the confirmation's link opened).
async fn confirmed_student(
    app: &TestApp,
    sink: &SmtpSink,
    n: u32,
) -> (helpers::device::Fresh, String) {
    let h = fresh_holder(app, n, Money::yuan(100)).await;
    let cookie = login(app, &h.login, FRESH_QUERY_PASSWORD).await;
    // A wrong address is refused, with the reason.
    let (status, body, _) = call(
        app,
        Some(&cookie),
        "set_notice_email",
        &[("address", "not an address")],
    )
    .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.contains("email_address"), "{body}");
    let address = format!("student{n}@campus.test");
    let (status, body, _) = call(
        app,
        Some(&cookie),
        "set_notice_email",
        &[("address", &address)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A second link at once is refused: at most one a minute.
    let (status, body, _) = call(
        app,
        Some(&cookie),
        "set_notice_email",
        &[("address", &address)],
    )
    .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.contains("email_too_soon"), "{body}");
    let mail = sink
        .wait_for("confirmation", |got| {
            got.iter().any(|m| m.to.contains(&address))
        })
        .await;
    let path = confirmation_path(&mail, &address);
    let path = path.as_str();
    let token = path.trim_start_matches("/email/confirm?token=");
    // Opening the link only shows a page with a button: a mail scanner that fetches every
    // link confirms nothing.
    let opened = app.get(path).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let html = opened.text().await.unwrap();
    assert!(
        html.contains("data-testid=\"email-confirm-form\""),
        "{html}"
    );
    assert!(html.contains(&format!("value=\"{token}\"")), "{html}");
    let page = inbox(app, &cookie).await;
    assert_eq!(page["email"]["confirmed"], false, "{page}");
    // A wrong token confirms nothing; a plain form (no script) is sent to the answer's page.
    let (status, body, _) = call(app, None, "confirm_email", &[("token", "0000")]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "false"));
    let plain = app
        .client
        .post(app.url("/api/confirm_email"))
        .header("accept", "text/html")
        .header("sec-fetch-site", "same-origin")
        .form(&[("token", "0000")])
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()["location"], "/email/confirm?done=expired");
    let expired = app
        .get("/email/confirm?done=expired")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        expired.contains("data-testid=\"email-confirm-expired\""),
        "{expired}"
    );
    // The button confirms, with no login (the link may be opened on another device), once.
    let (status, body, _) = call(app, None, "confirm_email", &[("token", token)]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "true"));
    let (_, again, _) = call(app, None, "confirm_email", &[("token", token)]).await;
    assert_eq!(again, "false");
    let page = inbox(app, &cookie).await;
    assert_eq!(page["email"]["confirmed"], true, "{page}");
    assert_eq!(page["email"]["address"], address);
    (h, cookie)
}

async fn inbox(app: &TestApp, cookie: &str) -> Value {
    let (status, body, _) = call(app, Some(cookie), "notices", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Waits for the one e-mail about a payment of `amount`, then a moment more: no second copy
/// comes. Answers it.
async fn arrives_once(sink: &SmtpSink, amount: &str) -> Received {
    let got = sink
        .wait_for("the payment's e-mail", |got| {
            !payments(got, amount).is_empty()
        })
        .await;
    let paid = payments(&got, amount);
    assert_eq!(paid.len(), 1, "{paid:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(payments(&sink.received(), amount).len(), 1);
    paid[0].clone()
}

fn payments(got: &[Received], amount: &str) -> Vec<Received> {
    got.iter()
        .filter(|m| m.text().contains(amount))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_payment_above_the_holders_amount_is_one_email_with_its_amount_and_place() {
    let sink = SmtpSink::start().await;
    let app = spawn(test_dir().await, &sink).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let (h, cookie) = confirmed_student(&app, &sink, 11).await;
    let (status, body) = save_prefs(
        &app,
        &cookie,
        &[
            ("payments", "above"),
            ("payment_above", "10"),
            ("email_payments", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // ¥9.90 is not above ¥10: no e-mail. ¥18.50, sent twice by the till: one.
    for (id, fen) in [("mail-1", 990), ("mail-2", 1850), ("mail-2", 1850)] {
        let sale = pos.pay(&app, id, fen, Some(&h.serial), None, None).await;
        assert_eq!(sale["approved"], true, "{sale}");
    }
    let paid = [arrives_once(&sink, "¥18.50").await];
    let text = paid[0].text();
    assert!(text.contains("东区第一食堂"), "{text}");
    assert!(text.contains("¥71.60"), "the balance after: {text}");
    assert!(text.contains("Paid ¥18.50 at "), "English too: {text}");
    assert_eq!(paid[0].to, vec!["student11@campus.test".to_string()]);
    assert!(
        paid[0]
            .header("message-id")
            .unwrap()
            .starts_with("<notice-"),
        "{:?}",
        paid[0]
    );
    // Nothing more came: not the ¥9.90, not a second copy.
    let all = sink.received();
    assert_eq!(payments(&all, "¥18.50").len(), 1);
    assert!(payments(&all, "¥9.90").is_empty(), "{all:?}");

    // Payments in the inbox only, a low balance by e-mail too: a ¥30 payment that takes the
    // balance below ¥50 makes both notices, and only the low balance's is e-mailed (the
    // payment's notice is older, so it was dispatched, without an e-mail, before it).
    let (status, body) = save_prefs(
        &app,
        &cookie,
        &[
            ("payments", "every"),
            ("low_balance", "on"),
            ("low_balance_below", "50"),
            ("email_low_balance", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sale = pos
        .pay(&app, "mail-3", 3000, Some(&h.serial), None, None)
        .await;
    assert_eq!(sale["approved"], true, "{sale}");
    let got = sink
        .wait_for("the low balance's e-mail", |got| {
            got.iter()
                .any(|m| m.text().contains("¥41.60") && m.text().contains("¥50.00"))
        })
        .await;
    assert!(payments(&got, "¥30.00").is_empty(), "{got:?}");
    let kinds: Vec<String> = inbox(&app, &cookie).await["notices"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["low_balance", "payment"], "both in the inbox");
    app.stop().await;
}

#[tokio::test]
async fn a_mail_server_down_for_a_while_gets_the_message_once_it_is_back() {
    let mut sink = SmtpSink::start().await;
    let app = spawn(test_dir().await, &sink).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let (h, _) = confirmed_student(&app, &sink, 12).await;
    sink.stop();
    let sale = pos
        .pay(&app, "down-1", 1234, Some(&h.serial), None, None)
        .await;
    assert_eq!(sale["approved"], true, "{sale}");
    // The worker tries, is refused a connection, and waits: twice, as the clock moves on.
    for _ in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        app.state.clock.advance(chrono::Duration::seconds(61));
    }
    sink.resume().await;
    app.state.clock.advance(chrono::Duration::minutes(5));
    arrives_once(&sink, "¥12.34").await;
    app.stop().await;
}

#[tokio::test]
async fn a_server_stopped_mid_send_neither_loses_nor_repeats_the_message() {
    let sink = SmtpSink::start().await;
    let app = spawn(test_dir().await, &sink).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let (h, _) = confirmed_student(&app, &sink, 13).await;
    let begun = sink.begun();
    sink.hang(true);
    let sale = pos
        .pay(&app, "crash-1", 2468, Some(&h.serial), None, None)
        .await;
    assert_eq!(sale["approved"], true, "{sale}");
    // The send is in the middle of its DATA when the server stops.
    for _ in 0..100 {
        if sink.begun() > begun {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sink.begun(), begun + 1, "the send began");
    let dir = app.stop().await;
    sink.hang(false);
    // Started again on the same data: the delivery is held until its lease runs out, then sent.
    let app = spawn(dir, &sink).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(
        payments(&sink.received(), "¥24.68").is_empty(),
        "held by the lease"
    );
    app.state.clock.advance(chrono::Duration::minutes(3));
    arrives_once(&sink, "¥24.68").await;
    app.stop().await;
}

#[tokio::test]
async fn a_message_that_never_gets_through_is_shown_to_the_operators() {
    use helpers::staff::{ok, staff_login};
    let mut sink = SmtpSink::start().await;
    let app = spawn(test_dir().await, &sink).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let (h, _) = confirmed_student(&app, &sink, 14).await;
    sink.stop();
    let sale = pos
        .pay(&app, "never-1", 777, Some(&h.serial), None, None)
        .await;
    assert_eq!(sale["approved"], true, "{sale}");
    // The auditor logs in afresh each time (the clock moves on by hours).
    let failed = async || {
        let auditor = staff_login(&app, "auditor").await;
        let (status, body, _) = call(&app, Some(&auditor), "staff/failed_notices", &[]).await;
        ok(status, &body, "failed notices");
        serde_json::from_str::<Value>(&body).unwrap()
    };
    assert_eq!(failed().await, serde_json::json!([]));
    // Every try refused, hours apart, until the last.
    for _ in 0..12 {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        app.state.clock.advance(chrono::Duration::hours(2));
    }
    let list = failed().await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["student_no"], h.login);
    assert_eq!(list[0]["address"], "st***@campus.test");
    assert_eq!(list[0]["attempts"], 8);
    assert!(
        list[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("Connection"),
        "{list}"
    );
    // Given up: the mail server back, nothing more is sent.
    sink.resume().await;
    app.state.clock.advance(chrono::Duration::hours(2));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(payments(&sink.received(), "¥7.77").is_empty());
    app.stop().await;
}

#[tokio::test]
async fn two_servers_on_one_database_send_each_notice_once() {
    let sink = SmtpSink::start().await;
    let a = spawn(test_dir().await, &sink).await;
    if helpers::postgres_admin_url().is_none() {
        // An SQLite database belongs to one server (its ledger writer): there is no second.
        eprintln!("skipped on SQLite: one server per database; this runs on PostgreSQL");
        a.stop().await;
        return;
    }
    // A second server on the same database and secrets, as behind a balancer: both workers
    // dispatch and send from the one outbox at once.
    let b = spawn_on(tempfile::tempdir().unwrap(), settings(&a.dir, 0), &sink).await;
    b.state.clock.set(a.state.now());
    let (h, _) = confirmed_student(&a, &sink, 15).await;
    let pos = device(&a, "POS-E-CANTEEN-1").await;
    // Twenty payments, through either server: ¥1.01 to ¥1.20.
    let amounts: Vec<i64> = (101..=120).collect();
    for (i, fen) in amounts.iter().enumerate() {
        let via = if i % 2 == 0 { &a } else { &b };
        let sale = pos
            .pay(via, &format!("two-{i}"), *fen, Some(&h.serial), None, None)
            .await;
        assert_eq!(sale["approved"], true, "{sale}");
    }
    let texts: Vec<String> = amounts
        .iter()
        .map(|fen| format!("¥{}.{:02}", fen / 100, fen % 100))
        .collect();
    sink.wait_for("every payment's e-mail", |got| {
        texts.iter().all(|t| !payments(got, t).is_empty())
    })
    .await;
    // A moment more for any second copy, then exactly one of each.
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    let got = sink.received();
    for t in &texts {
        assert_eq!(payments(&got, t).len(), 1, "{t}: {got:?}");
    }
    let ids: std::collections::HashSet<String> =
        got.iter().filter_map(|m| m.header("message-id")).collect();
    assert_eq!(ids.len(), got.len(), "one Message-ID each");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_confirmation_link_expires_after_48_hours() {
    let sink = SmtpSink::start().await;
    let app = spawn(test_dir().await, &sink).await;
    let h = fresh_holder(&app, 16, Money::yuan(100)).await;
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    let address = "student16@campus.test".to_string();
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "set_notice_email",
        &[("address", &address)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mail = sink
        .wait_for("confirmation", |got| {
            got.iter().any(|m| m.to.contains(&address))
        })
        .await;
    let path = confirmation_path(&mail, &address);
    let token = path.trim_start_matches("/email/confirm?token=");
    // A second past its 48 hours, the link confirms nothing.
    app.state
        .clock
        .advance(chrono::Duration::hours(48) + chrono::Duration::seconds(1));
    let (status, body, _) = call(&app, None, "confirm_email", &[("token", token)]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "false"));
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    let page = inbox(&app, &cookie).await;
    assert_eq!(page["email"]["confirmed"], false, "{page}");
    assert_eq!(page["email"]["address"], address.as_str());
    app.stop().await;
}
