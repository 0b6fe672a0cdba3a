//! Going live with real money (#14): what a production server refuses to run with, and what an
//! attacker who knows the code tries first.
#![allow(clippy::unwrap_used)]

mod helpers;

use helpers::{TestApp, call, login};
use reqwest::StatusCode;
use server::config::PaymentProvider;

const B_LOGIN: &str = "2023020215";
const B_PASSWORD: &str = "260817";

#[tokio::test]
async fn a_production_start_with_the_sandbox_or_demo_data_is_refused() {
    let dir = helpers::test_dir().await;
    let mut settings = helpers::settings(&dir, 3);
    settings.production = true;
    // The defaults: the sandbox provider and the demo campus. Both are named, with the fix.
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("YIKATONG_PAYMENT_PROVIDER=none"), "{err}");
    assert!(err.contains("YIKATONG_DEMO_DATA=false"), "{err}");
    assert!(err.contains("create-admin"), "{err}");

    settings.payment_provider = PaymentProvider::None;
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("YIKATONG_DEMO_DATA=false"), "{err}");
    assert!(!err.contains("PAYMENT_PROVIDER"), "{err}");

    settings.payment_provider = PaymentProvider::Sandbox;
    settings.demo_data = false;
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("YIKATONG_PAYMENT_PROVIDER=none"), "{err}");
    assert!(!err.contains("DEMO_DATA"), "{err}");

    // Nothing was written before the refusal: not even the secrets file.
    assert!(!dir.path().join("secrets.toml").exists());

    settings.payment_provider = PaymentProvider::None;
    let state = server::build_state(&settings).await.unwrap();
    assert!(state.provider.is_none() && state.sandbox.is_none());
    assert_eq!(state.db.holder_count().await.unwrap(), 0, "no demo people");
}

#[tokio::test]
async fn without_a_provider_there_is_no_sandbox_to_pay_with() {
    let dir = helpers::test_dir().await;
    let mut settings = helpers::settings(&dir, 3);
    settings.payment_provider = PaymentProvider::None;
    let app = TestApp::spawn_with(dir, settings).await;
    let cookie = login(&app, B_LOGIN, B_PASSWORD).await;
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "start_topup",
        &[("amount", "1000"), ("channel", "wechat")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("topup_unavailable"), "{body}");
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "save_auto_topup",
        &[
            ("threshold", "20"),
            ("amount", "100"),
            ("card", "6222021234567894"),
            ("password", B_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("topup_unavailable"), "{body}");

    // The sandbox's pay page and its notification endpoint do not exist.
    let res = app
        .client
        .get(app.url("/sandbox/pay/W20261014000000AAAA"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .post(app.url("/api/topup/notify/sandbox"))
        .header("x-sandbox-signature", "00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The top-up page says where to top up instead of offering a form.
    let res = app
        .client
        .get(app.url("/portal/topup"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"topup-offline\""), "{html}");
    assert!(!html.contains("data-testid=\"topup-form\""));
    app.stop().await;
}

/// A client that connects from its own loopback address (127.0.0.`from`): the server sees a
/// different machine for each.
fn client_from(from: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, from]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A student login from `client`: whether it opened a session, and the answer.
async fn student_login(app: &TestApp, client: &reqwest::Client, password: &str) -> (bool, String) {
    let res = client
        .post(app.url("/api/login"))
        .header("accept", "application/json")
        .form(&[("login", B_LOGIN), ("password", password)])
        .send()
        .await
        .unwrap();
    let session = res.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap().starts_with("ykt_session=")
            && !c.to_str().unwrap().starts_with("ykt_session=;")
    });
    (session, res.text().await.unwrap())
}

#[tokio::test]
async fn a_burst_of_300_guesses_gets_five_checks_and_the_right_password_inside_it_is_refused() {
    let app = std::sync::Arc::new(TestApp::spawn(3).await);
    let checks_before = app.state.hasher.checks();
    // 300 wrong guesses at once, from 60 addresses (5 each: below every address throttle, so
    // only the account's own lockout stands in the way).
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..300u16 {
        let app = app.clone();
        burst.spawn(async move {
            let client = client_from(10 + (i % 60) as u8);
            student_login(&app, &client, &format!("{:06}", 100_000 + u32::from(i))).await
        });
    }
    // As soon as the fifth failure has been counted, while the burst is still running, the
    // right password is sent: it must be refused.
    loop {
        let holder = app
            .state
            .db
            .holder_auth_by_login(B_LOGIN)
            .await
            .unwrap()
            .unwrap();
        if holder.locked_until.is_some() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let (session, right_in_burst) = student_login(&app, &client_from(200), B_PASSWORD).await;
    assert!(!session, "{right_in_burst}");
    let mut answers = Vec::new();
    while let Some(answer) = burst.join_next().await {
        answers.push(answer.unwrap());
    }
    assert!(answers.iter().all(|(session, _)| !session));
    assert!(
        answers
            .iter()
            .all(|(_, body)| body.contains("bad_credentials")),
        "one answer for all"
    );
    assert_eq!(answers.len(), 300);
    // Five stored-hash checks, not one per guess: the rest were refused before hashing.
    assert_eq!(app.state.hasher.checks() - checks_before, 5);
    // After the burst, the right password is still refused; the answer is a wrong one's.
    let (session, after) = student_login(&app, &client_from(201), B_PASSWORD).await;
    assert!(!session && after == right_in_burst, "{after}");
    // One lock, audited once.
    let locks = app
        .state
        .db
        .audit_records(&app::server::store::AuditQuery {
            action: Some("holder.locked".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(locks.len(), 1, "{locks:?}");
}

#[tokio::test]
async fn a_burst_of_wrong_consumption_passwords_at_a_till_gets_three_checks() {
    use helpers::device::{device, holder, live_serial};
    let app = std::sync::Arc::new(TestApp::spawn(6).await);
    let pos = std::sync::Arc::new(device(&app, "POS-E-CANTEEN-1").await);
    let b = holder(&app, B_LOGIN).await;
    let serial = std::sync::Arc::new(live_serial(&app, b).await);
    let checks_before = app.state.hasher.checks();
    // Above the holder's single limit without a password: each sale asks for it.
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..40u16 {
        let (app, pos, serial) = (app.clone(), pos.clone(), serial.clone());
        burst.spawn(async move {
            pos.pay(
                &app,
                &format!("burst-{i}"),
                9000,
                Some(&serial),
                None,
                Some(&format!("{:06}", 300_000 + u32::from(i))),
            )
            .await
        });
    }
    let mut reasons = Vec::new();
    while let Some(answer) = burst.join_next().await {
        let answer = answer.unwrap();
        assert_eq!(answer["approved"], false, "{answer}");
        reasons.push(answer["reason"].as_str().unwrap_or("").to_string());
    }
    assert_eq!(app.state.hasher.checks() - checks_before, 3);
    assert_eq!(
        reasons.iter().filter(|r| *r == "wrong_password").count(),
        2,
        "{reasons:?}"
    );
    assert_eq!(
        reasons.iter().filter(|r| *r == "password_locked").count(),
        38,
        "{reasons:?}"
    );
}
