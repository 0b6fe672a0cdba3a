//! The student portal through its real HTTP endpoints: login, lockout, sessions, the forced
//! password change, isolation between holders, cross-site refusal, card loss, history CSV.
#![allow(clippy::unwrap_used)]

mod helpers;

use helpers::{TestApp, call, login};
use reqwest::StatusCode;

const A_LOGIN: &str = "2024010101"; // initial password 918273
const A_INITIAL: &str = "918273";
const B_LOGIN: &str = "2023020215";
const B_PASSWORD: &str = "260817";

#[tokio::test]
async fn one_message_for_any_failure_and_lockout_after_five() {
    let app = TestApp::spawn(2).await;
    let (_, unknown, _) = call(
        &app,
        None,
        "login",
        &[("login", "9999999999"), ("password", "123456")],
    )
    .await;
    let (_, wrong, _) = call(
        &app,
        None,
        "login",
        &[("login", B_LOGIN), ("password", "000001")],
    )
    .await;
    assert!(unknown.contains("bad_credentials"), "{unknown}");
    assert_eq!(
        unknown, wrong,
        "unknown login and wrong password must look the same"
    );
    for _ in 0..3 {
        call(
            &app,
            None,
            "login",
            &[("login", B_LOGIN), ("password", "000001")],
        )
        .await;
    }
    let (_, fifth, _) = call(
        &app,
        None,
        "login",
        &[("login", B_LOGIN), ("password", "000001")],
    )
    .await;
    // The lock is not announced: a locked login answers like an unknown one, so the answers
    // do not tell which logins exist (#14).
    assert_eq!(fifth, unknown, "{fifth}");
    let holder = app
        .state
        .db
        .holder_auth_by_login(B_LOGIN)
        .await
        .unwrap()
        .unwrap();
    assert!(holder.locked_until.is_some(), "the fifth failure locks");
    // Locked: even the right password is refused, and the lock survives a restart.
    let (_, right, cookie) = call(
        &app,
        None,
        "login",
        &[("login", B_LOGIN), ("password", B_PASSWORD)],
    )
    .await;
    assert_eq!(right, unknown, "{right}");
    assert!(cookie.is_none());
    let dir = app.stop().await;
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), helpers::settings(&dir, 2)).await;
    let (_, after_restart, _) = call(
        &app,
        None,
        "login",
        &[("login", B_LOGIN), ("password", B_PASSWORD)],
    )
    .await;
    assert_eq!(after_restart, unknown, "{after_restart}");
    app.stop().await;
}

#[tokio::test]
async fn initial_password_must_be_changed_before_anything_else() {
    let app = TestApp::spawn(2).await;
    let cookie = login(&app, A_LOGIN, A_INITIAL).await;
    let (_, body, _) = call(&app, Some(&cookie), "dashboard", &[]).await;
    assert!(body.contains("password_change_required"), "{body}");
    // The rules: same as initial, birth date (2003-09-18 → 030918), a run, a common PIN.
    for (new, problem) in [
        (A_INITIAL, "password_is_initial"),
        ("030918", "password_is_personal"),
        ("123456", "password_too_simple"),
        ("520131", "password_common"),
    ] {
        let (_, body, _) = call(
            &app,
            Some(&cookie),
            "change_password",
            &[("old", A_INITIAL), ("new", new), ("repeat", new)],
        )
        .await;
        assert!(body.contains(problem), "{new}: {body}");
    }
    let (_, body, _) = call(
        &app,
        Some(&cookie),
        "change_password",
        &[("old", A_INITIAL), ("new", "739146"), ("repeat", "739147")],
    )
    .await;
    assert!(body.contains("passwords_differ"), "{body}");
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "change_password",
        &[("old", A_INITIAL), ("new", "739146"), ("repeat", "739146")],
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    let (_, body, _) = call(&app, Some(&cookie), "dashboard", &[]).await;
    assert!(
        body.contains("陈嘉怡") && body.contains("balance"),
        "{body}"
    );
    // The old password no longer works; the new one does.
    let (_, old, _) = call(
        &app,
        None,
        "login",
        &[("login", A_LOGIN), ("password", A_INITIAL)],
    )
    .await;
    assert!(old.contains("bad_credentials"));
    login(&app, A_LOGIN, "739146").await;
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_at_logout_and_at_a_password_change() {
    let app = TestApp::spawn(2).await;
    let first = login(&app, B_LOGIN, B_PASSWORD).await;
    let second = login(&app, B_LOGIN, B_PASSWORD).await;
    assert_ne!(first, second, "every login gets a new session id");
    let (_, body, _) = call(&app, Some(&first), "dashboard", &[]).await;
    assert!(body.contains("李浩然"));
    let (_, _, cleared) = call(&app, Some(&first), "logout", &[]).await;
    assert_eq!(cleared.as_deref(), Some("ykt_session="));
    let (status, body, _) = call(&app, Some(&first), "dashboard", &[]).await;
    assert!(body.contains("Unauthorized"), "{status} {body}");
    // A password change in one session ends the others.
    let third = login(&app, B_LOGIN, B_PASSWORD).await;
    let (_, _, _) = call(
        &app,
        Some(&second),
        "change_password",
        &[("old", B_PASSWORD), ("new", "408215"), ("repeat", "408215")],
    )
    .await;
    let (_, body, _) = call(&app, Some(&third), "dashboard", &[]).await;
    assert!(body.contains("Unauthorized"), "{body}");
    let (_, body, _) = call(&app, Some(&second), "dashboard", &[]).await;
    assert!(
        body.contains("李浩然"),
        "the session that changed it stays: {body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_holder_only_ever_sees_their_own_data() {
    let app = TestApp::spawn(2).await;
    let b = login(&app, B_LOGIN, B_PASSWORD).await;
    // Extra fields naming another holder are ignored: the session decides whose data it is.
    let (_, body, _) = call(
        &app,
        Some(&b),
        "dashboard",
        &[("holder_id", "1"), ("student_no", A_LOGIN)],
    )
    .await;
    assert!(
        body.contains("李浩然") && !body.contains("陈嘉怡"),
        "{body}"
    );
    let (_, body, _) = call(&app, Some(&b), "profile", &[("holder_id", "1")]).await;
    assert!(body.contains(B_LOGIN) && !body.contains(A_LOGIN), "{body}");
    // Without a session nothing is served.
    for endpoint in [
        "dashboard",
        "profile",
        "limits",
        "monthly_spend",
        "pay_code",
    ] {
        let (_, body, _) = call(&app, None, endpoint, &[]).await;
        assert!(body.contains("Unauthorized"), "{endpoint}: {body}");
    }
    let res = app
        .client
        .get(app.url("/portal/history.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A page without a session redirects to the login page.
    let res = app.get("/portal").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
    app.stop().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn(2).await;
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = app
            .client
            .post(app.url("/api/login"))
            .header(header, value)
            .form(&[("login", B_LOGIN), ("password", B_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{header}");
        assert!(res.headers().get("set-cookie").is_none());
    }
    let same = app
        .client
        .post(app.url("/api/login"))
        .header("origin", format!("http://{}", app.addr))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(&[("login", B_LOGIN), ("password", B_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(same.headers().get("set-cookie").is_some());
    app.stop().await;
}

#[tokio::test]
async fn report_lost_then_lift_with_the_query_password() {
    let app = TestApp::spawn(2).await;
    let b = login(&app, B_LOGIN, B_PASSWORD).await;
    let (_, body, _) = call(
        &app,
        Some(&b),
        "card_loss",
        &[("password", "000000"), ("lost", "true")],
    )
    .await;
    assert!(body.contains("wrong_password"), "{body}");
    let (_, body, _) = call(
        &app,
        Some(&b),
        "card_loss",
        &[("password", B_PASSWORD), ("lost", "true")],
    )
    .await;
    assert!(body.contains("\"status\":\"lost\""), "{body}");
    let (_, body, _) = call(&app, Some(&b), "dashboard", &[]).await;
    assert!(body.contains("\"card_status\":\"lost\""), "{body}");
    let (_, body, _) = call(
        &app,
        Some(&b),
        "card_loss",
        &[("password", B_PASSWORD), ("lost", "true")],
    )
    .await;
    assert!(body.contains("card_not_active"), "{body}");
    let (_, body, _) = call(
        &app,
        Some(&b),
        "card_loss",
        &[("password", B_PASSWORD), ("lost", "false")],
    )
    .await;
    assert!(body.contains("\"status\":\"active\""), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn limits_are_lowered_freely_raised_with_the_password_never_past_the_maxima() {
    let app = TestApp::spawn(2).await;
    let b = login(&app, B_LOGIN, B_PASSWORD).await;
    let (_, body, _) = call(
        &app,
        Some(&b),
        "set_limits",
        &[("single", "30"), ("daily", "120.50")],
    )
    .await;
    assert!(
        body.contains("\"single_limit\":3000") && body.contains("\"daily_limit\":12050"),
        "{body}"
    );
    for (single, daily, problem) in [
        ("600", "700", "limit_above_maximum"),
        ("abc", "700", "limit_format"),
        ("90", "80", "single_above_daily"),
    ] {
        let (_, body, _) = call(
            &app,
            Some(&b),
            "set_limits",
            &[("single", single), ("daily", daily)],
        )
        .await;
        assert!(body.contains(problem), "{single}/{daily}: {body}");
    }
    // Raising them back asks for the query password, and a wrong one counts towards the lock.
    let raise = async |password: &str| {
        call(
            &app,
            Some(&b),
            "set_limits",
            &[("single", "50"), ("daily", "200"), ("password", password)],
        )
        .await
        .1
    };
    assert!(raise("").await.contains("limit_raise_password"));
    assert!(raise("000001").await.contains("wrong_password"));
    let body = raise(B_PASSWORD).await;
    assert!(
        body.contains("\"single_limit\":5000") && body.contains("\"daily_limit\":20000"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn history_csv_matches_the_filter() {
    let app = TestApp::spawn(2).await;
    let b = login(&app, B_LOGIN, B_PASSWORD).await;
    let csv = |q: &'static str| {
        let req = app
            .client
            .get(app.url(&format!("/portal/history.csv?{q}")))
            .header("cookie", &b);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let all = csv("").await;
    let topups = csv("kind=topup").await;
    let canteen = csv("kind=payment&category=canteen").await;
    assert!(all.starts_with("\u{feff}time,type,merchant,amount,balance_after,memo"));
    let rows = |t: &str| t.lines().skip(1).count();
    assert!(rows(&all) > 100, "{}", rows(&all));
    assert!(
        rows(&topups) > 0
            && topups
                .lines()
                .skip(1)
                .all(|l| l.split(',').nth(1) == Some("topup"))
    );
    assert!(
        canteen
            .lines()
            .skip(1)
            .all(|l| l.contains("食堂") && l.contains(",payment,"))
    );
    assert!(rows(&canteen) + rows(&topups) < rows(&all));
    let bad = app.get_with("/portal/history.csv?from=yesterday", &b).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn the_pay_code_changes_after_logout_revokes_it() {
    let app = TestApp::spawn(2).await;
    let b = login(&app, B_LOGIN, B_PASSWORD).await;
    let (_, body, _) = call(&app, Some(&b), "pay_code", &[]).await;
    let code: serde_json::Value = serde_json::from_str(&body).unwrap();
    let digits = code["digits"].as_str().unwrap().to_string();
    assert_eq!(digits.len(), 20);
    assert!(code["svg"].as_str().unwrap().contains("<svg"));
    // The same 10-second step shows the same code. Two requests can straddle a step boundary
    // on a busy machine; boundaries are 10 s apart, so one of three pairs is inside a step.
    let fetch = async || {
        let (_, body, _) = call(&app, Some(&b), "pay_code", &[]).await;
        let code: serde_json::Value = serde_json::from_str(&body).unwrap();
        code["digits"].as_str().unwrap().to_string()
    };
    let mut same_step_same_code = false;
    for _ in 0..3 {
        if fetch().await == fetch().await {
            same_step_same_code = true;
            break;
        }
    }
    assert!(same_step_same_code, "the same step shows the same code");
    app.stop().await;
}

#[tokio::test]
async fn refusals_carry_fitting_http_statuses() {
    let app = TestApp::spawn(2).await;
    let (status, _, _) = call(
        &app,
        None,
        "login",
        &[("login", B_LOGIN), ("password", "000001")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(&app, None, "dashboard", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}
