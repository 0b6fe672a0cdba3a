//! Notices by Web Push, end to end against a push service on the loopback interface
//! (`helpers::push`) that checks the server's VAPID token and decrypts each push with the
//! browser's own keys: a browser is subscribed only on a trusted push service and with a
//! subscription's keys; a payment above the holder's amount is pushed once to each browser,
//! with its amount and place, and payments not chosen for push are not; a security notice is
//! pushed whatever was chosen; a push service that is down gets the notice once when it is
//! back; a browser its service calls gone is forgotten; a browser moves to the student who
//! subscribes it last; logging out in a browser forgets it, and a password changed ends the
//! other sessions' browsers after they hear of the change.
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::Money;
use helpers::device::{FRESH_QUERY_PASSWORD, device, fresh_holder};
use helpers::push::{Browser, PushService, Pushed};
use helpers::{TestApp, call, login, login_from, save_prefs, settings, test_dir};
use reqwest::StatusCode;
use serde_json::Value;

/// A server that trusts `service` (and the browsers' own push services), at daytime.
async fn spawn(service: &PushService) -> TestApp {
    spawn_trusting(&[service.origin()]).await
}

async fn spawn_trusting(origins: &[String]) -> TestApp {
    let dir = test_dir().await;
    let mut s = settings(&dir, 2);
    s.public_url = Some("https://card.campus.test".into());
    s.push_services = server::config::default_push_services();
    s.push_services.extend(origins.iter().cloned());
    let app = TestApp::spawn_with(dir, s).await;
    app.state.clock.set(helpers::campus_daytime());
    app
}

async fn inbox(app: &TestApp, cookie: &str) -> Value {
    let (status, body, _) = call(app, Some(cookie), "notices", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn subscribe(app: &TestApp, cookie: &str, b: &Browser) -> (StatusCode, String) {
    let (status, body, _) = call(
        app,
        Some(cookie),
        "subscribe_push",
        &[
            ("endpoint", &b.endpoint),
            ("p256dh", &b.p256dh),
            ("auth", &b.auth),
        ],
    )
    .await;
    (status, body)
}

fn about(got: &[Pushed], amount: &str) -> Vec<Pushed> {
    got.iter()
        .filter(|p| p.payload["body"].as_str().unwrap_or("").contains(amount))
        .cloned()
        .collect()
}

/// Waits for the pushes about `amount` to `browsers`, then a moment more: no second copy
/// comes. Answers them, one a browser.
async fn arrive_once(service: &PushService, amount: &str, browsers: &[&str]) -> Vec<Pushed> {
    service
        .wait_for("the payment's pushes", |got| {
            about(got, amount).len() >= browsers.len()
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let got = about(&service.received(), amount);
    let mut to: Vec<&str> = got.iter().map(|p| p.browser.as_str()).collect();
    to.sort();
    assert_eq!(to, browsers, "{got:?}");
    got
}

#[tokio::test]
async fn a_payment_above_the_holders_amount_is_pushed_once_to_each_browser() {
    let service = PushService::start().await;
    let app = spawn(&service).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let h = fresh_holder(&app, 21, Money::yuan(100)).await;
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    let page = inbox(&app, &cookie).await;
    let key = page["push"]["key"].as_str().unwrap().to_string();
    assert_eq!(page["push"]["browsers"], serde_json::json!([]));

    // Not without a login; not to a URL that is no trusted push service; not with keys that
    // are no subscription's.
    let phone = service.browser("phone");
    let (status, _, _) = call(
        &app,
        None,
        "subscribe_push",
        &[
            ("endpoint", &phone.endpoint),
            ("p256dh", &phone.p256dh),
            ("auth", &phone.auth),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for endpoint in [
        "http://127.0.0.1:5432/push/phone",
        "http://169.254.169.254/latest/meta-data",
        "https://card.campus.test/api/logout",
    ] {
        let bad = Browser {
            endpoint: endpoint.into(),
            p256dh: phone.p256dh.clone(),
            auth: phone.auth.clone(),
        };
        let (status, body) = subscribe(&app, &cookie, &bad).await;
        assert!(status.is_client_error(), "{endpoint}: {status} {body}");
        assert!(body.contains("push_subscription"), "{body}");
    }
    // A point not on the curve: its first byte says uncompressed, the rest is not a point.
    let off_curve = Browser {
        endpoint: phone.endpoint.clone(),
        p256dh: {
            use base64::Engine;
            let mut k = [7u8; 65];
            k[0] = 4;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k)
        },
        auth: phone.auth.clone(),
    };
    let (status, body) = subscribe(&app, &cookie, &off_curve).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.contains("push_subscription"), "{body}");
    assert!(
        inbox(&app, &cookie).await["push"]["browsers"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let laptop = service.browser("laptop");
    for b in [&phone, &laptop] {
        let (status, body) = subscribe(&app, &cookie, b).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let browsers = inbox(&app, &cookie).await["push"]["browsers"].clone();
    assert_eq!(browsers.as_array().unwrap().len(), 2, "{browsers}");

    let (status, body) = save_prefs(
        &app,
        &cookie,
        &[
            ("payments", "above"),
            ("payment_above", "10"),
            ("push_payments", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // ¥9.90 is not above ¥10: no push. ¥18.50, sent twice by the till: one to each browser.
    for (id, fen) in [("push-1", 990), ("push-2", 1850), ("push-2", 1850)] {
        pos.card_sale(&app, id, fen, &h.serial).await;
    }
    let pushed = arrive_once(&service, "¥18.50", &["laptop", "phone"]).await;
    let origin = service.origin();
    for p in &pushed {
        let text = p.payload["body"].as_str().unwrap();
        assert!(text.contains("东区第一食堂"), "{text}");
        assert!(text.contains("¥71.60"), "the balance after: {text}");
        assert!(text.contains("Paid ¥18.50 at "), "English too: {text}");
        assert_eq!(p.payload["title"], "校园卡提醒 · Campus card notice");
        assert_eq!(p.payload["url"], "/portal/notices");
        assert!(
            p.payload["tag"].as_str().unwrap().starts_with("push-"),
            "{p:?}"
        );
        // Signed by the server's key, for this push service, good for 12 hours by the
        // server's clock, with the campus's contact.
        assert_eq!(p.vapid_key, key);
        assert_eq!(p.claims["aud"], origin.as_str());
        assert_eq!(p.claims["sub"], "https://card.campus.test");
        let exp = p.claims["exp"].as_i64().unwrap();
        let left = exp - app.state.now().timestamp();
        assert!((12 * 3600 - 60..=12 * 3600).contains(&left), "{left}");
        assert_eq!(p.ttl.as_deref(), Some("86400"));
        assert_eq!(p.urgency.as_deref(), Some("normal"));
    }
    assert!(about(&service.received(), "¥9.90").is_empty());

    // Payments no longer pushed: a payment stays in the inbox only.
    let (status, body) = save_prefs(&app, &cookie, &[("payments", "every")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    pos.card_sale(&app, "push-3", 2000, &h.serial).await;
    let newest = inbox(&app, &cookie).await["notices"][0].clone();
    assert_eq!(newest["kind"], "payment", "{newest}");

    // A security notice is pushed whatever was chosen, at once and marked urgent.
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "card_loss",
        &[("password", FRESH_QUERY_PASSWORD), ("lost", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = service
        .wait_for("the loss report's pushes", |got| {
            got.iter()
                .filter(|p| p.payload["title"] == "校园卡安全提醒 · Campus card security notice")
                .count()
                == 2
        })
        .await;
    assert!(
        got.iter()
            .filter(|p| p.payload["title"] != "校园卡提醒 · Campus card notice")
            .all(|p| p.urgency.as_deref() == Some("high")),
        "{got:?}"
    );
    // The ¥20.00 payment's notice came before the loss report's, whose pushes arrived: it was
    // dispatched, without a push.
    assert!(about(&got, "¥20.00").is_empty(), "{got:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_push_service_down_for_a_while_gets_the_notice_once_it_is_back() {
    let service = PushService::start().await;
    let app = spawn(&service).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let h = fresh_holder(&app, 22, Money::yuan(100)).await;
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    // Payments only are pushed (not the top-up the student started with, whenever the worker
    // gets to it).
    let (status, body) = save_prefs(
        &app,
        &cookie,
        &[("payments", "every"), ("push_payments", "on")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let phone = service.browser("phone");
    assert_eq!(subscribe(&app, &cookie, &phone).await.0, StatusCode::OK);
    // The service is busy, then unavailable, then up.
    service.answer("phone", &[429, 503]);
    pos.card_sale(&app, "down-1", 1234, &h.serial).await;
    service.wait_for_tries("phone", 1).await;
    // Each refusal puts the next try a little later on the server's clock (once the server
    // has recorded it): the clock moves on a minute at a time until the next try comes.
    for tried in 2..=3 {
        assert!(about(&service.received(), "¥12.34").is_empty());
        for _ in 0..20 {
            if service.tries("phone") >= tried {
                break;
            }
            app.state.clock.advance(chrono::Duration::seconds(61));
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        }
        service.wait_for_tries("phone", tried).await;
    }
    arrive_once(&service, "¥12.34", &["phone"]).await;
    assert_eq!(service.tries("phone"), 3);
    app.stop().await;
}

#[tokio::test]
async fn a_browser_its_push_service_calls_gone_is_forgotten() {
    use helpers::staff::staff_login;
    let service = PushService::start().await;
    let app = spawn(&service).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let h = fresh_holder(&app, 23, Money::yuan(100)).await;
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    let (phone, laptop) = (service.browser("phone"), service.browser("laptop"));
    for b in [&phone, &laptop] {
        assert_eq!(subscribe(&app, &cookie, b).await.0, StatusCode::OK);
    }
    // The phone unsubscribed in its browser: its push service says 410 Gone.
    service.answer("phone", &[410]);
    pos.card_sale(&app, "gone-1", 1111, &h.serial).await;
    arrive_once(&service, "¥11.11", &["laptop"]).await;
    let browsers = inbox(&app, &cookie).await["push"]["browsers"].clone();
    let left: Vec<&str> = browsers
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(left, [laptop.endpoint.as_str()], "{browsers}");
    // The operators see it given up, named by its push service's host alone.
    let staff = staff_login(&app, "auditor").await;
    let (status, body, _) = call(&app, Some(&staff), "staff/failed_notices", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let failed: Value = serde_json::from_str(&body).unwrap();
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0]["address"],
        format!("Web Push · {}", service.addr).as_str()
    );
    assert!(
        !failed[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("/push/phone"),
        "{failed:?}"
    );

    // Another student signs in on the laptop and turns push on: it is theirs now, and the first
    // student's notices go there no more.
    let other = fresh_holder(&app, 24, Money::yuan(100)).await;
    let other_cookie = login(&app, &other.login, FRESH_QUERY_PASSWORD).await;
    assert_eq!(
        subscribe(&app, &other_cookie, &laptop).await.0,
        StatusCode::OK
    );
    assert!(
        inbox(&app, &cookie).await["push"]["browsers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let theirs = inbox(&app, &other_cookie).await["push"]["browsers"][0].clone();
    // The first student cannot stop it for them.
    let id = theirs["id"].as_i64().unwrap().to_string();
    let (status, body, _) = call(&app, Some(&cookie), "unsubscribe_push", &[("id", &id)]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "false"));
    pos.card_sale(&app, "moved-1", 2222, &h.serial).await;
    pos.card_sale(&app, "moved-2", 3333, &other.serial).await;
    arrive_once(&service, "¥33.33", &["laptop"]).await;
    assert!(about(&service.received(), "¥22.22").is_empty());
    // The second student stops it: nothing more is pushed there.
    let (status, body, _) = call(
        &app,
        Some(&other_cookie),
        "unsubscribe_push",
        &[("id", &id)],
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "true"));
    pos.card_sale(&app, "moved-3", 4444, &other.serial).await;
    // A tablet subscribed after it gets the next payment (and the ¥44.44, if its notice was
    // dispatched after the tablet came); the laptop never got the ¥44.44.
    let tablet = service.browser("tablet");
    assert_eq!(
        subscribe(&app, &other_cookie, &tablet).await.0,
        StatusCode::OK
    );
    pos.card_sale(&app, "moved-4", 555, &other.serial).await;
    arrive_once(&service, "¥5.55", &["tablet"]).await;
    let at_44 = about(&service.received(), "¥44.44");
    assert!(at_44.iter().all(|p| p.browser == "tablet"), "{at_44:?}");
    app.stop().await;
}

#[tokio::test]
async fn logging_out_or_changing_the_password_ends_browsers_after_the_news_of_it() {
    let service = PushService::start().await;
    let app = spawn(&service).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let h = fresh_holder(&app, 25, Money::yuan(100)).await;
    // Three browsers, each logged in and subscribed.
    let mut browsers = Vec::new();
    for name in ["phone", "laptop", "tablet"] {
        let (session, browser) = login_from(&app, &h.login, FRESH_QUERY_PASSWORD, None).await;
        let cookies = format!("{session}; {browser}");
        assert_eq!(
            subscribe(&app, &cookies, &service.browser(name)).await.0,
            StatusCode::OK
        );
        browsers.push((cookies, browser));
    }
    let listed = |page: Value| -> Vec<String> {
        let mut names: Vec<String> = page["push"]["browsers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let e = b["endpoint"].as_str().unwrap();
                e.rsplit('/').next().unwrap().to_string()
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        listed(inbox(&app, &browsers[0].0).await),
        ["laptop", "phone", "tablet"]
    );
    // Logged out on the laptop: the laptop is forgotten.
    let (status, body, _) = call(&app, Some(&browsers[1].0), "logout", &[]).await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status} {body}"
    );
    assert_eq!(
        listed(inbox(&app, &browsers[0].0).await),
        ["phone", "tablet"]
    );
    // Back on the phone later (a new session in the same browser), the password changed there:
    // the tablet's session ends, and the tablet hears of the change, then nothing more.
    let (session, _) = login_from(&app, &h.login, FRESH_QUERY_PASSWORD, Some(&browsers[0].1)).await;
    let phone = format!("{session}; {}", browsers[0].1);
    let (status, body, _) = call(
        &app,
        Some(&phone),
        "change_password",
        &[
            ("old", FRESH_QUERY_PASSWORD),
            ("new", "739146"),
            ("repeat", "739146"),
        ],
    )
    .await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status} {body}"
    );
    let changed = |p: &Pushed| {
        p.payload["body"]
            .as_str()
            .unwrap_or("")
            .contains("password of your card was changed")
    };
    service
        .wait_for("the password's pushes", |got| {
            let mut to: Vec<&str> = got
                .iter()
                .filter(|p| changed(p))
                .map(|p| p.browser.as_str())
                .collect();
            to.sort();
            to == ["phone", "tablet"]
        })
        .await;
    assert_eq!(listed(inbox(&app, &phone).await), ["phone"]);
    pos.card_sale(&app, "ended-1", 777, &h.serial).await;
    arrive_once(&service, "¥7.77", &["phone"]).await;
    // The student logs in on the tablet with the new password: it is theirs again.
    let (session, _) = login_from(&app, &h.login, "739146", Some(&browsers[2].1)).await;
    assert_eq!(
        listed(inbox(&app, &format!("{session}; {}", browsers[2].1)).await),
        ["phone", "tablet"]
    );
    pos.card_sale(&app, "ended-2", 888, &h.serial).await;
    arrive_once(&service, "¥8.88", &["phone", "tablet"]).await;
    // Another student logs in on the phone's browser (a shared computer): the first student's
    // subscription there is forgotten.
    let other = fresh_holder(&app, 27, Money::yuan(100)).await;
    login_from(
        &app,
        &other.login,
        FRESH_QUERY_PASSWORD,
        Some(&browsers[0].1),
    )
    .await;
    assert_eq!(listed(inbox(&app, &phone).await), ["tablet"]);
    app.stop().await;
}

#[tokio::test]
async fn a_push_service_is_spoken_to_over_tls() {
    use tokio::io::AsyncReadExt;
    // A push service's port that records the first bytes a client sends, then hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("https://{}", listener.local_addr().unwrap());
    let first = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let seen = first.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = [0u8; 3];
            if conn.read_exact(&mut buf).await.is_ok() {
                seen.lock().unwrap().extend_from_slice(&buf);
            }
        }
    });
    let keys = PushService::start().await.browser("phone");
    let app = spawn_trusting(std::slice::from_ref(&origin)).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let h = fresh_holder(&app, 26, Money::yuan(100)).await;
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    let phone = Browser {
        endpoint: format!("{origin}/push/phone"),
        ..keys
    };
    assert_eq!(subscribe(&app, &cookie, &phone).await.0, StatusCode::OK);
    pos.card_sale(&app, "tls-1", 321, &h.serial).await;
    // A TLS handshake record (22), TLS major version 3: the push went out over TLS.
    let bytes = helpers::wait_until(
        "a connection",
        || first.lock().unwrap().clone(),
        |b| b.len() >= 3,
    )
    .await;
    assert_eq!(&bytes[..2], &[22, 3], "{bytes:?}");
    task.abort();
    app.stop().await;
}
