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
