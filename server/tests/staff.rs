//! The card office through its real HTTP endpoints: staff login with a second factor, the
//! authorization matrix (every staff endpoint × every role, a student and nobody), the audit
//! completeness test (every changing staff endpoint leaves exactly one audit record), and the
//! counter's journeys (import, replace card, cash top-up, corrections with a second approver,
//! closing accounts, found cards).
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::{Channel, Money, StaffRole};
use app::server::store::{AuditQuery, NewOrder};
use helpers::device::{balance, device, holder, issue_key, live_serial, set_up_terminal};
use helpers::staff::{
    demo_secret, now_unix, ok, own_password_of, password_of, staff_login, totp_at,
};
use helpers::{TestApp, call, chinese, english, login};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const STUDENT: &str = "2023020215";
const STUDENT_PW: &str = "260817";

/// Opens a staff enrolment link as its owner does: reads the second factor it offers, sets
/// `password`, confirms with a code. Returns the second factor's secret.
async fn enrol_by_link(app: &TestApp, path: &str, password: &str) -> String {
    let token = path.split("token=").nth(1).unwrap();
    let (status, view, _) = call(app, None, "staff/welcome_view", &[("token", token)]).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let secret = serde_json::from_str::<Value>(&view).unwrap()["totp_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let code = totp_at(&secret, now_unix(app));
    let (status, body, _) = call(
        app,
        None,
        "staff/welcome",
        &[
            ("token", token),
            ("password", password),
            ("confirm", password),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The login that follows needs a code of a later time step than the one used here.
    app.state.clock.advance(chrono::Duration::seconds(30));
    secret
}

/// A receipt number as the holder page hands them out.
fn receipt_no(n: u64) -> String {
    format!("C20261126{n:012}")
}

async fn audit_count(app: &TestApp) -> usize {
    app.state
        .db
        .audit_records(&AuditQuery {
            limit: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn staff_login_needs_password_and_a_fresh_code() {
    let app = TestApp::spawn(2).await;
    let secret = demo_secret("operator");
    let pw = password_of("operator");
    let wrong_code = {
        let right = totp_at(secret, now_unix(&app));
        let mut n: u32 = right.parse().unwrap();
        n = (n + 500_000) % 1_000_000;
        format!("{n:06}")
    };
    let (status, no_code, cookie) = call(
        &app,
        None,
        "staff/login",
        &[
            ("username", "operator"),
            ("password", pw),
            ("code", &wrong_code),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(no_code.contains("staff_bad_credentials"), "{no_code}");
    assert!(cookie.is_none());
    let code = totp_at(secret, now_unix(&app));
    let (_, bad_pw, _) = call(
        &app,
        None,
        "staff/login",
        &[
            ("username", "operator"),
            ("password", "Wrong-password-1"),
            ("code", &code),
        ],
    )
    .await;
    let (_, unknown, _) = call(
        &app,
        None,
        "staff/login",
        &[("username", "nobody"), ("password", pw), ("code", &code)],
    )
    .await;
    assert_eq!(bad_pw, no_code, "one message for every wrong part");
    assert_eq!(unknown, no_code, "one message for an unknown user");

    let cookie = staff_login(&app, "operator").await;
    let (status, me, _) = call(&app, Some(&cookie), "staff/me", &[]).await;
    ok(status, &me, "me");
    assert!(me.contains("\"role\":\"operator\""), "{me}");
    // The same code again (a shoulder-surfed code) is refused, even with the right password.
    let own = own_password_of("operator");
    let (status, replay, _) = call(
        &app,
        None,
        "staff/login",
        &[
            ("username", "operator"),
            ("password", &own),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        replay.contains("totp_reused") || replay.contains("staff_bad_credentials"),
        "{replay}"
    );
    // Logging out ends the session on the server.
    let (status, _, _) = call(&app, Some(&cookie), "staff/logout", &[]).await;
    assert!(status.is_success() || status.is_redirection());
    let (_, me, _) = call(&app, Some(&cookie), "staff/me", &[]).await;
    assert_eq!(me, "null");
}

#[tokio::test]
async fn demo_staff_change_the_published_password_at_first_login() {
    let app = TestApp::spawn(2).await;
    let demo = password_of("canteen1");
    let login = async |password: &str| {
        let code = totp_at(demo_secret("canteen1"), now_unix(&app));
        let (status, body, cookie) = call(
            &app,
            None,
            "staff/login",
            &[
                ("username", "canteen1"),
                ("password", password),
                ("code", &code),
            ],
        )
        .await;
        // A code is good once: the next login is in the next time step.
        app.state.clock.advance(chrono::Duration::seconds(30));
        (status, body, cookie)
    };
    let (status, body, cookie) = login(demo).await;
    assert!(status.is_success() || status.is_redirection(), "{body}");
    let cookie = cookie.unwrap();
    let (_, me, _) = call(&app, Some(&cookie), "staff/me", &[]).await;
    assert!(me.contains("\"must_change_password\":true"), "{me}");
    // Nothing but the change: the published password opens nothing else.
    let (status, body, _) = call(&app, Some(&cookie), "merchant/day", &[("day", "")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("staff_password_change"), "{body}");
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/staff/merchant"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers()["location"],
        "/staff/password",
        "the pages send the person to the password page first"
    );
    // Neither the same password nor another published one will do.
    let change = async |new: &str| {
        call(
            &app,
            Some(&cookie),
            "staff/change_password",
            &[("current", demo), ("new_password", new), ("confirm", new)],
        )
        .await
    };
    for published in [demo, password_of("admin")] {
        let (status, body, _) = change(published).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("staff_password_weak"), "{body}");
    }
    let before = audit_count(&app).await;
    let (status, body, _) = change("Canteen-own-password-9").await;
    ok(status, &body, "change");
    let audits = app
        .state
        .db
        .audit_records(&AuditQuery {
            action: Some("staff.password".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit_count(&app).await, before + 1);
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert_eq!(english(&audits[0].before), "published demo password");
    assert_eq!(chinese(&audits[0].after), "本人已修改");
    // The session goes on, now with everything the role may do.
    let (status, body, _) = call(&app, Some(&cookie), "merchant/day", &[("day", "")]).await;
    ok(status, &body, "the merchant's day after the change");
    // The published password is dead; the person's own works, and asks for nothing more.
    let (status, body, cookie) = login(demo).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("staff_bad_credentials") && cookie.is_none(),
        "{body}"
    );
    let (status, body, cookie) = login("Canteen-own-password-9").await;
    assert!(status.is_success() || status.is_redirection(), "{body}");
    let (_, me, _) = call(&app, Some(&cookie.unwrap()), "staff/me", &[]).await;
    assert!(me.contains("\"must_change_password\":false"), "{me}");
}

#[tokio::test]
async fn failed_staff_logins_back_off_per_address_and_lock_the_account_at_twenty() {
    let app = TestApp::spawn(2).await;
    let before = audit_count(&app).await;
    // Each client connects from its own loopback address: the server sees them as different
    // machines.
    let attempt = async |from: u8, user: &str, password: &str, code: &str| {
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, from]))
            .build()
            .unwrap();
        let res = client
            .post(app.url("/api/staff/login"))
            .header("accept", "application/json")
            .form(&[("username", user), ("password", password), ("code", code)])
            .send()
            .await
            .unwrap();
        let cookie = res.headers().get("set-cookie").is_some();
        (cookie, res.text().await.unwrap())
    };
    let right = async |from: u8| {
        let code = totp_at(demo_secret("auditor"), now_unix(&app));
        attempt(from, "auditor", password_of("auditor"), &code).await
    };
    let (_, unknown) = attempt(1, "no-such-user", "Wrong-password-1", "000000").await;
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(attempt(1, "auditor", "Wrong-password-1", "000000").await.1);
    }
    // Five failures at one address: that address must wait, even with the right password
    // and code, and the answer is an unknown user's.
    let (cookie, refused) = right(1).await;
    assert!(!cookie, "{refused}");
    answers.push(refused);
    assert!(
        answers.iter().all(|a| *a == unknown),
        "{answers:?} vs {unknown}"
    );
    // The stranger does not lock the colleague out: from another machine the login works.
    let (cookie, body) = right(2).await;
    assert!(cookie, "{body}");
    assert_eq!(audit_count(&app).await, before, "no account lock yet");

    // Guesses spread over four more addresses: the twentieth locks the account, audited.
    app.state.clock.advance(chrono::Duration::seconds(30));
    for from in 3..=6 {
        for _ in 0..5 {
            let (cookie, body) = attempt(from, "auditor", "Wrong-password-1", "000000").await;
            assert!(!cookie && body == unknown, "{body}");
        }
    }
    assert_eq!(audit_count(&app).await, before + 1, "the lock is audited");
    let (cookie, locked) = right(7).await;
    assert!(!cookie, "{locked}");
    assert_eq!(locked, unknown);

    // An administrator's reset unlocks the account (with a new second factor), also at the
    // address that had to wait.
    let admin = staff_login(&app, "admin").await;
    let auditor_id = app
        .state
        .db
        .staff_auth("auditor")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let asked = audited(
        &app,
        &admin,
        "admin/reset_staff",
        &[("id", &auditor_id), ("reason", "账号被锁定")],
    )
    .await;
    let admin2 = staff_login(&app, "admin2").await;
    let reset = approved(&app, &admin2, &asked).await;
    let secret = enrol_by_link(&app, reset["path"].as_str().unwrap(), "Auditor-reset-2026").await;
    let code = totp_at(&secret, now_unix(&app));
    let (cookie, body) = attempt(1, "auditor", "Auditor-reset-2026", &code).await;
    assert!(cookie, "{body}");
}

/// Who may call what: the expected matrix, written out here independently of the server's
/// role lists.
#[derive(Clone, Copy, Debug)]
enum Who {
    Public,
    /// Any staff member, whatever the role (their own password).
    AnyStaff,
    Read,
    Counter,
    Oversight,
    Admin,
    Merchant,
}

/// Every staff server function: (endpoint, who may call it, changes something, a form).
type Form = &'static [(&'static str, &'static str)];

const ENDPOINTS: &[(&str, Who, bool, Form)] = &[
    (
        "staff/login",
        Who::Public,
        false,
        &[("username", "x"), ("password", "y"), ("code", "000000")],
    ),
    ("staff/logout", Who::Public, false, &[]),
    ("staff/me", Who::Public, false, &[]),
    // The enrolment link is the credential (a made-up one is refused like a used one).
    ("staff/welcome_view", Who::Public, false, &[("token", "x")]),
    (
        "staff/welcome",
        Who::Public,
        false,
        &[
            ("token", "x"),
            ("password", "y"),
            ("confirm", "y"),
            ("code", "000000"),
        ],
    ),
    ("staff/search", Who::Read, false, &[("q", "2023")]),
    ("staff/holder", Who::Read, false, &[("holder_id", "1")]),
    ("staff/receipt", Who::Read, false, &[("entry_id", "1")]),
    ("staff/found", Who::Read, false, &[("open_only", "true")]),
    ("staff/failed_topups", Who::Read, false, &[]),
    ("staff/reversals", Who::Read, false, &[]),
    ("staff/closings", Who::Read, false, &[]),
    ("staff/cash_requests", Who::Read, false, &[]),
    ("staff/my_shift", Who::Read, false, &[]),
    ("admin/change_requests", Who::Oversight, false, &[]),
    (
        "admin/decide_change",
        Who::Admin,
        true,
        &[("request_id", "999999"), ("decision", "approve")],
    ),
    (
        "staff/count_cash",
        Who::Counter,
        true,
        &[("counted", ""), ("note", "")],
    ),
    (
        "staff/enrol",
        Who::Counter,
        true,
        &[
            ("student_no", ""),
            ("name", ""),
            ("kind", ""),
            ("department", ""),
            ("class_name", ""),
            ("id_doc_kind", ""),
            ("id_number", ""),
            ("phone", ""),
            ("chip_serial", ""),
        ],
    ),
    (
        "staff/import",
        Who::Counter,
        true,
        &[
            ("csv", "student_no,name,id_number\n"),
            ("file_name", "x.csv"),
        ],
    ),
    (
        "staff/issue_card",
        Who::Counter,
        true,
        &[("holder_id", "1"), ("chip_serial", "zz"), ("reason", "")],
    ),
    (
        "staff/replace_card",
        Who::Counter,
        true,
        &[
            ("holder_id", "1"),
            ("chip_serial", "zz"),
            ("fee", ""),
            ("reason", ""),
        ],
    ),
    (
        "staff/cancel_card",
        Who::Counter,
        true,
        &[("holder_id", "1"), ("reason", "")],
    ),
    (
        "staff/cash_topup",
        Who::Counter,
        true,
        &[
            ("holder_id", "1"),
            ("amount", "0"),
            ("reason", ""),
            ("receipt_no", ""),
        ],
    ),
    (
        "staff/reset_password",
        Who::Counter,
        true,
        &[
            ("holder_id", "1"),
            ("which", "query"),
            ("id_number", "1"),
            ("reason", ""),
        ],
    ),
    (
        "staff/lift_lockout",
        Who::Counter,
        true,
        &[("holder_id", "1"), ("which", "query"), ("reason", "")],
    ),
    (
        "staff/set_lost",
        Who::Counter,
        true,
        &[
            ("holder_id", "1"),
            ("lost", "true"),
            ("id_number", ""),
            ("reason", ""),
        ],
    ),
    (
        "staff/set_frozen",
        Who::Counter,
        true,
        &[("holder_id", "1"), ("frozen", "true"), ("reason", "")],
    ),
    (
        "staff/close_account",
        Who::Counter,
        true,
        &[("holder_id", "1"), ("reason", "")],
    ),
    (
        "staff/payout_account",
        Who::Counter,
        true,
        &[
            ("holder_id", "1"),
            ("bank_account", "1"),
            ("id_number", ""),
            ("reason", ""),
        ],
    ),
    (
        "staff/close_batch",
        Who::Counter,
        true,
        &[("lines", ""), ("reason", "")],
    ),
    (
        "staff/record_found",
        Who::Counter,
        true,
        &[("number", "NOPE"), ("place", "")],
    ),
    (
        "staff/found_returned",
        Who::Counter,
        true,
        &[("id", "999999"), ("reason", "")],
    ),
    ("staff/bills", Who::Read, false, &[("status", "unpaid")]),
    ("admin/announcements", Who::Oversight, false, &[]),
    ("staff/biller_settlement", Who::Oversight, false, &[]),
    ("staff/waiting_purchases", Who::Oversight, false, &[]),
    ("admin/rooms", Who::Oversight, false, &[]),
    ("admin/add_rooms", Who::Admin, true, &[("list", "9,101")]),
    (
        "admin/remove_room",
        Who::Admin,
        true,
        &[("building", "9"), ("room", "101"), ("reason", "")],
    ),
    ("staff/failed_notices", Who::Oversight, false, &[]),
    (
        "admin/publish_announcement",
        Who::Admin,
        true,
        &[
            ("title_zh", ""),
            ("title_en", ""),
            ("body_zh", ""),
            ("body_en", ""),
            ("starts_at", ""),
            ("ends_at", ""),
            ("audience", "everyone"),
        ],
    ),
    (
        "admin/withdraw_announcement",
        Who::Admin,
        true,
        &[("id", "999999"), ("reason", "")],
    ),
    (
        "staff/issue_bill",
        Who::Counter,
        true,
        &[
            ("student_no", ""),
            ("title", ""),
            ("department", ""),
            ("amount", ""),
            ("due_on", ""),
        ],
    ),
    (
        "staff/issue_bills",
        Who::Counter,
        true,
        &[
            ("csv", "student_no,title,department,amount,due_on\n"),
            ("file_name", "x.csv"),
        ],
    ),
    (
        "staff/cancel_bill",
        Who::Counter,
        true,
        &[("bill_id", "999999"), ("reason", "")],
    ),
    (
        "staff/reverse",
        Who::Counter,
        true,
        &[("journal_id", "999999999"), ("reason", "")],
    ),
    (
        "staff/approve_reversal",
        Who::Counter,
        true,
        &[("request_id", "999999")],
    ),
    (
        "staff/decide_closing",
        Who::Counter,
        true,
        &[("request_id", "999999"), ("decision", "approve")],
    ),
    (
        "staff/decide_cash",
        Who::Counter,
        true,
        &[("request_id", "999999"), ("decision", "approve")],
    ),
    (
        "staff/resolve_topup",
        Who::Counter,
        true,
        &[("order_no", "NOPE"), ("reason", "")],
    ),
    (
        "staff/audit",
        Who::Oversight,
        false,
        &[
            ("person", ""),
            ("holder", ""),
            ("action", ""),
            ("from", ""),
            ("to", ""),
        ],
    ),
    (
        "staff/reports",
        Who::Oversight,
        false,
        &[("from", ""), ("to", "")],
    ),
    ("admin/overview", Who::Oversight, false, &[]),
    (
        "admin/save_merchant",
        Who::Admin,
        true,
        &[
            ("id", ""),
            ("code", "?"),
            ("name_zh", ""),
            ("name_en", ""),
            ("category", "shop"),
            ("place", ""),
            ("active", "true"),
        ],
    ),
    (
        "admin/create_device",
        Who::Admin,
        true,
        &[
            ("code", "?"),
            ("kind", "gate"),
            ("merchant_id", ""),
            ("place", ""),
        ],
    ),
    (
        "admin/issue_credential",
        Who::Admin,
        true,
        &[("device_id", "999999"), ("reason", "")],
    ),
    (
        "admin/revoke_credential",
        Who::Admin,
        true,
        &[("device_id", "999999"), ("reason", "")],
    ),
    (
        "admin/create_staff",
        Who::Admin,
        true,
        &[
            ("username", "?"),
            ("display_name", ""),
            ("role", "operator"),
            ("merchant_id", ""),
            ("password", ""),
            ("reason", ""),
        ],
    ),
    (
        "admin/update_staff",
        Who::Admin,
        true,
        &[
            ("id", "999999"),
            ("role", "operator"),
            ("merchant_id", ""),
            ("active", "true"),
            ("reason", ""),
        ],
    ),
    (
        "admin/save_profile",
        Who::Admin,
        true,
        &[("form[office_phone]", ""), ("reason", "")],
    ),
    (
        "admin/reset_staff",
        Who::Admin,
        true,
        &[("id", "999999"), ("password", ""), ("reason", "")],
    ),
    (
        "staff/change_password",
        Who::AnyStaff,
        true,
        &[
            ("current", "not-the-password"),
            ("new_password", "x"),
            ("confirm", "x"),
        ],
    ),
    ("merchant/day", Who::Merchant, false, &[("day", "")]),
];

fn allowed(who: Who, role: Option<&str>) -> bool {
    match (who, role) {
        (Who::Public, _) => true,
        (_, None) => false,
        (Who::AnyStaff, Some(_)) => true,
        (Who::Read, Some(r)) => ["operator", "admin", "auditor"].contains(&r),
        (Who::Counter, Some(r)) => ["operator", "admin"].contains(&r),
        (Who::Oversight, Some(r)) => ["admin", "auditor"].contains(&r),
        (Who::Admin, Some(r)) => r == "admin",
        (Who::Merchant, Some(r)) => r == "merchant",
    }
}

#[tokio::test]
async fn authorization_matrix_every_staff_endpoint_every_role() {
    let app = TestApp::spawn(4).await;
    // The table must name every staff server function the application registers.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .filter(|p| {
            p.starts_with("/api/staff/")
                || p.starts_with("/api/admin/")
                || p.starts_with("/api/merchant/")
        })
        .collect();
    let listed: BTreeSet<String> = ENDPOINTS.iter().map(|e| format!("/api/{}", e.0)).collect();
    assert_eq!(
        registered, listed,
        "every staff endpoint needs a row in the matrix"
    );

    let student = login(&app, STUDENT, STUDENT_PW).await;
    let mut callers: Vec<(String, Option<&str>, Option<String>)> = vec![
        ("nobody".into(), None, None),
        ("student".into(), None, Some(student)),
    ];
    for (user, role) in [
        ("operator", "operator"),
        ("admin", "admin"),
        ("auditor", "auditor"),
        ("canteen1", "merchant"),
    ] {
        callers.push((user.into(), Some(role), Some(staff_login(&app, user).await)));
    }
    let mut checked = 0;
    for (endpoint, who, _, form) in ENDPOINTS {
        if endpoint.ends_with("logout") || endpoint.ends_with("login") {
            continue;
        }
        for (name, role, cookie) in &callers {
            let (status, body, _) = call(&app, cookie.as_deref(), endpoint, form).await;
            if allowed(*who, *role) {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{name} must be let through to {endpoint}: {status} {body}"
                );
            } else {
                let expected = if role.is_some() {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::UNAUTHORIZED
                };
                assert_eq!(
                    status, expected,
                    "{name} must be refused {endpoint}: {body}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 33 * 6, "{checked}");

    // The CSV export and the pages are guarded too.
    for (name, role, cookie) in &callers {
        let mut req = app
            .client
            .get(app.url("/staff/reports.csv?report=settlement"));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let status = req.send().await.unwrap().status();
        let expected = match role {
            None => StatusCode::UNAUTHORIZED,
            Some("admin") | Some("auditor") => StatusCode::OK,
            Some(_) => StatusCode::FORBIDDEN,
        };
        assert_eq!(status, expected, "{name} reports.csv");
    }
    for path in ["/staff", "/staff/admin", "/staff/holder/1"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()["location"], "/staff/login");
    }
    let student_cookie = callers[1].2.clone().unwrap();
    let res = app.get_with("/staff", &student_cookie).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "a student session is no staff session"
    );
}

/// Calls a changing endpoint that must succeed and leave exactly one audit record.
async fn audited(app: &TestApp, cookie: &str, endpoint: &str, form: &[(&str, &str)]) -> Value {
    let before = audit_count(app).await;
    let (status, body, _) = call(app, Some(cookie), endpoint, form).await;
    ok(status, &body, endpoint);
    let after = audit_count(app).await;
    assert_eq!(
        after,
        before + 1,
        "{endpoint} must leave exactly one audit record"
    );
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// A second administrator approves a change another asked for (`admin/decide_change`): one
/// audit record, the change's own. Answers the decision (the enrolment link, if any).
async fn approved(app: &TestApp, second_admin: &str, requested: &Value) -> Value {
    let id = requested["request_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("not a request: {requested}"))
        .to_string();
    audited(
        app,
        second_admin,
        "admin/decide_change",
        &[("request_id", &id), ("decision", "approve")],
    )
    .await
}

/// Cancels every unpaid bill of the holder with this number, each an audited change, as the
/// office does before closing an account. Answers how many.
async fn cancel_unpaid_bills(app: &TestApp, op: &str, student_no: &str) -> usize {
    let (status, body, _) = call(
        app,
        Some(op),
        "staff/bills",
        &[("status", "unpaid"), ("q", student_no)],
    )
    .await;
    ok(status, &body, "unpaid bills");
    let list: Value = serde_json::from_str(&body).unwrap();
    let bills = list["bills"].as_array().unwrap();
    for bill in bills {
        let id = bill["bill"]["id"].as_i64().unwrap().to_string();
        audited(
            app,
            op,
            "staff/cancel_bill",
            &[("bill_id", &id), ("reason", "销户前撤销")],
        )
        .await;
    }
    bills.len()
}

async fn holder_file(app: &TestApp, cookie: &str, holder_id: i64) -> Value {
    let (status, body, _) = call(
        app,
        Some(cookie),
        "staff/holder",
        &[("holder_id", &holder_id.to_string())],
    )
    .await;
    ok(status, &body, "holder file");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn every_changing_staff_endpoint_leaves_exactly_one_audit_record() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let op2 = staff_login(&app, "operator2").await;
    let admin = staff_login(&app, "admin").await;
    let admin2 = staff_login(&app, "admin2").await;
    let mut done: BTreeSet<&str> = BTreeSet::new();

    // Refusals and reads write nothing.
    let before = audit_count(&app).await;
    let (status, _, _) = call(
        &app,
        Some(&op),
        "staff/cash_topup",
        &[
            ("holder_id", "1"),
            ("amount", "abc"),
            ("reason", ""),
            ("receipt_no", &receipt_no(1)),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    call(&app, Some(&op), "staff/search", &[("q", "2023")]).await;
    assert_eq!(
        audit_count(&app).await,
        before,
        "a refusal or a read is not audited"
    );

    audited(
        &app,
        &op,
        "staff/enrol",
        &[
            ("student_no", "2026990001"),
            ("name", "测试一"),
            ("kind", "student"),
            ("department", "计算机工程学院"),
            ("class_name", "计算机26级1班"),
            ("id_doc_kind", "resident_id"),
            ("id_number", "44030120060101123X"),
            ("phone", "13800001111"),
            ("chip_serial", ""),
        ],
    )
    .await;
    done.insert("staff/enrol");
    audited(&app, &op, "staff/import", &[("csv", "student_no,name,id_number,chip_serial\n2026990002,测试二,440301200602021234,AB000002\n2026990003,测试三,C12345678,AB000003\n"), ("file_name", "new.csv")]).await;
    done.insert("staff/import");
    let new_id = holder(&app, "2026990001").await;
    let id = new_id.to_string();
    audited(
        &app,
        &op,
        "staff/issue_card",
        &[
            ("holder_id", &id),
            ("chip_serial", "AB000001"),
            ("reason", "新生发卡"),
        ],
    )
    .await;
    done.insert("staff/issue_card");
    audited(
        &app,
        &op,
        "staff/replace_card",
        &[
            ("holder_id", &id),
            ("chip_serial", "AB000011"),
            ("fee", "0"),
            ("reason", "卡片损坏"),
        ],
    )
    .await;
    done.insert("staff/replace_card");
    audited(
        &app,
        &op,
        "staff/cash_topup",
        &[
            ("holder_id", &id),
            ("amount", "100"),
            ("reason", ""),
            ("receipt_no", &receipt_no(2)),
        ],
    )
    .await;
    done.insert("staff/cash_topup");
    audited(
        &app,
        &op,
        "staff/set_lost",
        &[
            ("holder_id", &id),
            ("lost", "true"),
            ("id_number", ""),
            ("reason", "本人来电挂失"),
        ],
    )
    .await;
    audited(
        &app,
        &op,
        "staff/set_lost",
        &[
            ("holder_id", &id),
            ("lost", "false"),
            ("id_number", "44030120060101123x"),
            ("reason", "本人持证解挂"),
        ],
    )
    .await;
    done.insert("staff/set_lost");
    audited(
        &app,
        &op,
        "staff/reset_password",
        &[
            ("holder_id", &id),
            ("which", "consumption"),
            ("id_number", "44030120060101123x"),
            ("reason", "忘记密码，已核验证件"),
        ],
    )
    .await;
    done.insert("staff/reset_password");
    audited(
        &app,
        &op,
        "staff/lift_lockout",
        &[
            ("holder_id", &id),
            ("which", "query"),
            ("reason", "已核验证件"),
        ],
    )
    .await;
    done.insert("staff/lift_lockout");
    audited(
        &app,
        &op,
        "staff/set_frozen",
        &[
            ("holder_id", &id),
            ("frozen", "true"),
            ("reason", "学院要求"),
        ],
    )
    .await;
    audited(
        &app,
        &op,
        "staff/set_frozen",
        &[
            ("holder_id", &id),
            ("frozen", "false"),
            ("reason", "学院撤回"),
        ],
    )
    .await;
    done.insert("staff/set_frozen");
    audited(
        &app,
        &op,
        "staff/record_found",
        &[("number", "AB000011"), ("place", "服务中心前台")],
    )
    .await;
    done.insert("staff/record_found");
    let (_, found, _) = call(&app, Some(&op), "staff/found", &[("open_only", "true")]).await;
    let found: Value = serde_json::from_str(&found).unwrap();
    let found_id = found[0]["id"].as_i64().unwrap().to_string();
    audited(
        &app,
        &op,
        "staff/found_returned",
        &[("id", &found_id), ("reason", "本人领回")],
    )
    .await;
    done.insert("staff/found_returned");

    // Bills: one at the counter, a list, and a cancellation.
    let due = (app.state.now() + chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    let bill = audited(
        &app,
        &op,
        "staff/issue_bill",
        &[
            ("student_no", "2026990001"),
            ("title", "补考费（高等数学）"),
            ("department", "教务处"),
            ("amount", "60"),
            ("due_on", &due),
        ],
    )
    .await;
    done.insert("staff/issue_bill");
    let list = format!(
        "student_no,title,department,amount,due_on\n2026990002,图书逾期,图书馆,3.5,{due}\n2026990003,学生证补办,学生处,20,{due}\n"
    );
    let issued = audited(
        &app,
        &op,
        "staff/issue_bills",
        &[("csv", &list), ("file_name", "bills.csv")],
    )
    .await;
    assert_eq!(issued["Issued"]["count"], 2, "{issued}");
    done.insert("staff/issue_bills");
    audited(
        &app,
        &op,
        "staff/cancel_bill",
        &[("bill_id", &bill.to_string()), ("reason", "开错了人")],
    )
    .await;
    done.insert("staff/cancel_bill");

    // Announcements: published and withdrawn by an administrator.
    let at = |minutes: i64| {
        (app.state.now() + chrono::Duration::minutes(minutes) + chrono::Duration::hours(8))
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let (starts, ends) = (at(0), at(120));
    let announcement = audited(
        &app,
        &admin,
        "admin/publish_announcement",
        &[
            ("title_zh", "下午闭馆"),
            ("title_en", "Closed this afternoon"),
            ("body_zh", "系统维护。"),
            ("body_en", "System maintenance."),
            ("starts_at", &starts),
            ("ends_at", &ends),
            ("audience", "everyone"),
        ],
    )
    .await;
    done.insert("admin/publish_announcement");
    audited(
        &app,
        &admin,
        "admin/withdraw_announcement",
        &[("id", &announcement.to_string()), ("reason", "维护取消")],
    )
    .await;
    done.insert("admin/withdraw_announcement");
    audited(
        &app,
        &op,
        "staff/cancel_card",
        &[("holder_id", &id), ("reason", "本人申请")],
    )
    .await;
    done.insert("staff/cancel_card");

    // A small correction at once; a large one after a second staff member approves.
    let b = holder(&app, STUDENT).await;
    let file = holder_file(&app, &op, b).await;
    let payment = file["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "payment" && e["reversed"] == false)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    audited(
        &app,
        &op,
        "staff/reverse",
        &[("journal_id", &payment), ("reason", "重复扣款")],
    )
    .await;
    done.insert("staff/reverse");
    let (status, again, _) = call(
        &app,
        Some(&op),
        "staff/reverse",
        &[("journal_id", &payment), ("reason", "重复扣款")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(again.contains("already_reversed"), "{again}");

    // The approval amount is the campus's: lower it to zero so the next one waits.
    let mut profile = app::server::admin::profile_form(&app.state).await.unwrap();
    profile.correction_approval_above = "0".into();
    let mut fields = helpers::form_fields("form", &serde_json::to_value(&profile).unwrap());
    fields.push(("reason".into(), "复核线调整".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let saved = audited(&app, &admin, "admin/save_profile", &pairs).await;
    done.insert("admin/save_profile");
    let asked = json!({ "request_id": saved["thresholds_request"] });
    approved(&app, &admin2, &asked).await;
    done.insert("admin/decide_change");
    let file = holder_file(&app, &op, b).await;
    let payment = file["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "payment" && e["reversed"] == false)
        .unwrap()
        .clone();
    let amount = -payment["amount"].as_i64().unwrap();
    let pid = payment["id"].as_i64().unwrap().to_string();
    let before_balance = balance(&app, b).await;
    let outcome = audited(
        &app,
        &op,
        "staff/reverse",
        &[("journal_id", &pid), ("reason", "商户多收")],
    )
    .await;
    let request = outcome["AwaitingApproval"]["request_id"]
        .as_i64()
        .unwrap()
        .to_string();
    assert_eq!(
        balance(&app, b).await,
        before_balance,
        "nothing moves before approval"
    );
    let (status, same, _) = call(
        &app,
        Some(&op),
        "staff/approve_reversal",
        &[("request_id", &request)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(same.contains("same_approver"), "{same}");
    audited(
        &app,
        &op2,
        "staff/approve_reversal",
        &[("request_id", &request)],
    )
    .await;
    done.insert("staff/approve_reversal");
    assert_eq!(
        balance(&app, b).await,
        Money::from_fen(before_balance.fen() + amount),
        "the approved correction credits the payment back"
    );
    let (status, twice, _) = call(
        &app,
        Some(&op2),
        "staff/approve_reversal",
        &[("request_id", &request)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{twice}");

    // A failed automatic top-up, resolved by an operator.
    let now = app.state.now();
    app.state
        .db
        .create_order(&NewOrder {
            order_no: "AUTOFAILED1",
            holder_id: b,
            channel: Channel::Auto,
            amount: Money::yuan(50),
            now,
        })
        .await
        .unwrap();
    assert!(
        app.state
            .db
            .order_failed("AUTOFAILED1", "card declined", now)
            .await
            .unwrap()
    );
    audited(
        &app,
        &op,
        "staff/resolve_topup",
        &[("order_no", "AUTOFAILED1"), ("reason", "已电话通知持卡人")],
    )
    .await;
    done.insert("staff/resolve_topup");

    // Closing: one account, then a batch. An unpaid bill keeps an account open: the two from
    // the list above are cancelled first (each its own audited change).
    for no in ["2026990002", "2026990003"] {
        let (status, body, _) = call(
            &app,
            Some(&op),
            "staff/close_account",
            &[
                ("holder_id", &holder(&app, no).await.to_string()),
                ("reason", "退学"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("pending_money"), "{body}");
        assert_eq!(cancel_unpaid_bills(&app, &op, no).await, 1);
    }
    let paid = audited(
        &app,
        &op,
        "staff/close_account",
        &[
            ("holder_id", &holder(&app, "2026990002").await.to_string()),
            ("reason", "退学"),
        ],
    )
    .await;
    assert_eq!(paid["paid_out"], 0);
    done.insert("staff/close_account");
    audited(
        &app,
        &op,
        "staff/close_batch",
        &[("lines", "2026990003"), ("reason", "毕业离校")],
    )
    .await;
    done.insert("staff/close_batch");
    // Closing with money on it: the payout account is recorded first (with the ID check),
    // then the closing is asked by one and decided by another (here: rejected, so the
    // account stays open for what follows).
    let b_id = b.to_string();
    audited(
        &app,
        &op,
        "staff/payout_account",
        &[
            ("holder_id", &b_id),
            ("bank_account", "6222021234567890"),
            ("id_number", "440106200211257419"),
            ("reason", "本人持身份证登记"),
        ],
    )
    .await;
    done.insert("staff/payout_account");
    let asked = audited(
        &app,
        &op,
        "staff/close_account",
        &[("holder_id", &b_id), ("reason", "退学")],
    )
    .await;
    assert_eq!(asked["awaiting_approval"], true, "{asked}");
    let (_, queue, _) = call(&app, Some(&op), "staff/closings", &[]).await;
    let queue: Value = serde_json::from_str(&queue).unwrap();
    let request = queue[0]["id"].as_i64().unwrap().to_string();
    audited(
        &app,
        &op2,
        "staff/decide_closing",
        &[
            ("request_id", &request),
            ("decision", "reject"),
            ("reason", "学生撤回申请"),
        ],
    )
    .await;
    done.insert("staff/decide_closing");
    // A large cash top-up: asked by one (one record), approved by another (one record).
    let asked = audited(
        &app,
        &op,
        "staff/cash_topup",
        &[
            ("holder_id", &b_id),
            ("amount", "1500"),
            ("reason", ""),
            ("receipt_no", &receipt_no(31)),
        ],
    )
    .await;
    assert_eq!(asked["awaiting_approval"], true, "{asked}");
    let (_, queue, _) = call(&app, Some(&op), "staff/cash_requests", &[]).await;
    let queue: Value = serde_json::from_str(&queue).unwrap();
    let request = queue[0]["id"].as_i64().unwrap().to_string();
    audited(
        &app,
        &op2,
        "staff/decide_cash",
        &[("request_id", &request), ("decision", "approve")],
    )
    .await;
    done.insert("staff/decide_cash");
    audited(
        &app,
        &op,
        "staff/count_cash",
        &[("counted", "100"), ("note", "")],
    )
    .await;
    done.insert("staff/count_cash");

    // Administration.
    audited(
        &app,
        &admin,
        "admin/save_merchant",
        &[
            ("id", ""),
            ("code", "GYM-2"),
            ("name_zh", "西区健身房"),
            ("name_en", "West gym"),
            ("category", "sports"),
            ("place", "西区体育馆"),
            ("active", "true"),
        ],
    )
    .await;
    done.insert("admin/save_merchant");
    audited(&app, &admin, "admin/add_rooms", &[("list", "9,101\n9,102")]).await;
    done.insert("admin/add_rooms");
    audited(
        &app,
        &admin,
        "admin/remove_room",
        &[("building", "9"), ("room", "102"), ("reason", "楼已拆除")],
    )
    .await;
    done.insert("admin/remove_room");
    audited(
        &app,
        &admin,
        "admin/create_device",
        &[
            ("code", "GATE-WEST-GYM"),
            ("kind", "gate"),
            ("merchant_id", ""),
            ("place", "西区体育馆"),
        ],
    )
    .await;
    done.insert("admin/create_device");
    let gate = app
        .state
        .db
        .device_by_code("GATE-WEST-GYM")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    audited(
        &app,
        &admin,
        "admin/issue_credential",
        &[("device_id", &gate), ("reason", "新设备")],
    )
    .await;
    done.insert("admin/issue_credential");
    audited(
        &app,
        &admin,
        "admin/revoke_credential",
        &[("device_id", &gate), ("reason", "设备报修")],
    )
    .await;
    done.insert("admin/revoke_credential");
    let asked = audited(
        &app,
        &admin,
        "admin/create_staff",
        &[
            ("username", "counter3"),
            ("display_name", "柜台 新人"),
            ("role", "operator"),
            ("merchant_id", ""),
            ("reason", "新员工入职"),
        ],
    )
    .await;
    done.insert("admin/create_staff");
    approved(&app, &admin2, &asked).await;
    let counter3 = app
        .state
        .db
        .staff_auth("counter3")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let asked = audited(
        &app,
        &admin,
        "admin/update_staff",
        &[
            ("id", &counter3),
            ("role", "auditor"),
            ("merchant_id", ""),
            ("active", "true"),
            ("reason", "调岗"),
        ],
    )
    .await;
    done.insert("admin/update_staff");
    approved(&app, &admin2, &asked).await;
    // A lost phone: the old credentials end, and a one-time link lets the person set new ones
    // (the administrators see neither).
    let asked = audited(
        &app,
        &admin,
        "admin/reset_staff",
        &[("id", &counter3), ("reason", "手机丢失")],
    )
    .await;
    done.insert("admin/reset_staff");
    let reset = approved(&app, &admin2, &asked).await;
    assert!(reset.get("totp_secret").is_none(), "{reset}");
    let secret = enrol_by_link(
        &app,
        reset["path"].as_str().unwrap(),
        "Counter-3-reset-2026",
    )
    .await;
    let code = totp_at(&secret, now_unix(&app));
    let (status, body, cookie) = call(
        &app,
        None,
        "staff/login",
        &[
            ("username", "counter3"),
            ("password", "Counter-3-reset-2026"),
            ("code", &code),
        ],
    )
    .await;
    assert!(status.is_success() || status.is_redirection(), "{body}");
    let counter3_cookie = cookie.unwrap();
    // The password is the person's own (set on the link's page): no change is forced.
    let (status, body, _) = call(
        &app,
        Some(&counter3_cookie),
        "staff/search",
        &[("q", "2023")],
    )
    .await;
    ok(status, &body, "search right after enrolling");
    // Changing it later is the person's own audited act.
    audited(
        &app,
        &counter3_cookie,
        "staff/change_password",
        &[
            ("current", "Counter-3-reset-2026"),
            ("new_password", "My-own-password-42"),
            ("confirm", "My-own-password-42"),
        ],
    )
    .await;
    done.insert("staff/change_password");
    let (status, body, _) = call(
        &app,
        Some(&counter3_cookie),
        "staff/search",
        &[("q", "2023")],
    )
    .await;
    ok(status, &body, "search after the change");

    let changing: BTreeSet<&str> = ENDPOINTS.iter().filter(|e| e.2).map(|e| e.0).collect();
    assert_eq!(done, changing, "every changing endpoint is exercised above");
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

#[tokio::test]
async fn import_is_validated_per_row_all_or_nothing_and_idempotent() {
    let app = TestApp::spawn(2).await;
    let op = staff_login(&app, "operator").await;
    let bad = "学号,姓名,证件号码,芯片号\n2026880001,甲,44030120060101123X,CD000001\n2026880002,,440301200602021234,\n2026880003,丙,AB12,\n2026880001,丁,440301200603031234,\n";
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/import",
        &[("csv", bad), ("file_name", "bad.csv")],
    )
    .await;
    ok(status, &body, "import report");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["created"], 0);
    let lines: Vec<(i64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["problem"]["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (3, "enrol_field".into()),
            (4, "id_doc_digits".into()),
            (5, "duplicate_in_file".into())
        ]
    );
    assert!(
        app.state
            .db
            .holder_by_student_no("2026880001")
            .await
            .unwrap()
            .is_none(),
        "nothing half-imported"
    );

    let good = "student_no,name,id_number,chip_serial,class_name\n2026880001,甲,44030120060101123X,CD000001,新生班\n2026880002,乙,440301200602021234,,新生班\n";
    let (_, body, _) = call(
        &app,
        Some(&op),
        "staff/import",
        &[("csv", good), ("file_name", "good.csv")],
    )
    .await;
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            report["created"].as_i64(),
            report["errors"].as_array().map(Vec::len)
        ),
        (Some(2), Some(0)),
        "{body}"
    );
    let before = audit_count(&app).await;
    let (_, body, _) = call(
        &app,
        Some(&op),
        "staff/import",
        &[("csv", good), ("file_name", "good.csv")],
    )
    .await;
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (report["created"].as_i64(), report["unchanged"].as_i64()),
        (Some(0), Some(2)),
        "{body}"
    );
    assert_eq!(
        audit_count(&app).await,
        before,
        "the repeat changed nothing, so there is nothing to audit"
    );
    // A row of an enrolled student under the same name is "unchanged" whatever its ID number:
    // an import answers nothing about whether a guessed number is right.
    let guess = "student_no,name,id_number\n2026880002,乙,440301200602029999\n";
    let (_, body, _) = call(
        &app,
        Some(&op),
        "staff/import",
        &[("csv", guess), ("file_name", "guess.csv")],
    )
    .await;
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["unchanged"].as_i64(), Some(1), "{body}");
    assert_eq!(app.state.db.holder_count().await.unwrap(), 4);

    // The new student logs in with the ID rule (the 6 digits before the X) and must change it.
    let (status, body, cookie) = call(
        &app,
        None,
        "login",
        &[("login", "2026880001"), ("password", "101123")],
    )
    .await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status} {body}"
    );
    let (_, me, _) = call(&app, cookie.as_deref(), "me", &[]).await;
    assert!(me.contains("\"must_change_password\":true"), "{me}");
    // Another student number with a different person is a conflict, row by row.
    let clash = "student_no,name,id_number\n2026880002,别人,440301199901011234\n";
    let (_, body, _) = call(
        &app,
        Some(&op),
        "staff/import",
        &[("csv", clash), ("file_name", "c.csv")],
    )
    .await;
    assert!(body.contains("enrol_conflict"), "{body}");
}

#[tokio::test]
async fn a_replaced_card_is_refused_at_the_till_and_the_balance_stays() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let b = holder(&app, STUDENT).await;
    let old = live_serial(&app, b).await;
    let before = balance(&app, b).await;
    audited(
        &app,
        &op,
        "staff/replace_card",
        &[
            ("holder_id", &b.to_string()),
            ("chip_serial", "ABCDEF01"),
            ("fee", ""),
            ("reason", "磁条损坏"),
        ],
    )
    .await;
    assert_eq!(
        balance(&app, b).await,
        before,
        "the balance stays with the account"
    );
    let till = device(&app, "POS-E-CANTEEN-1").await;
    let refused = till
        .pay(&app, "r-old-card", 100, Some(&old), None, None)
        .await;
    assert_eq!(refused["approved"], false, "{refused}");
    assert_eq!(refused["reason"], "card_void", "{refused}");
    let approved = till
        .pay(&app, "r-new-card", 100, Some("ABCDEF01"), None, None)
        .await;
    assert_eq!(approved["approved"], true, "{approved}");
    // A fee is a journal entry of its own.
    audited(
        &app,
        &op,
        "staff/replace_card",
        &[
            ("holder_id", &b.to_string()),
            ("chip_serial", "ABCDEF02"),
            ("fee", "20"),
            ("reason", "再次补卡"),
        ],
    )
    .await;
    let file = holder_file(&app, &op, b).await;
    assert_eq!(file["entries"][0]["kind"], "fee");
    assert_eq!(file["entries"][0]["amount"], -2000);
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

#[tokio::test]
async fn cash_top_up_gives_a_receipt_and_the_student_sees_it() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let b = holder(&app, STUDENT).await;
    let before = balance(&app, b).await;
    let receipt = audited(
        &app,
        &op,
        "staff/cash_topup",
        &[
            ("holder_id", &b.to_string()),
            ("amount", "88.50"),
            ("reason", ""),
            ("receipt_no", &receipt_no(7)),
        ],
    )
    .await;
    assert_eq!(receipt["amount"], 8850);
    assert_eq!(receipt["balance"], before.fen() + 8850);
    assert_eq!(receipt["receipt_no"], receipt_no(7));
    // The same form sent again (a double click, a retry) gives the same receipt and credits
    // nothing more, and writes no second audit record.
    let audits = audit_count(&app).await;
    let (status, again, _) = call(
        &app,
        Some(&op),
        "staff/cash_topup",
        &[
            ("holder_id", &b.to_string()),
            ("amount", "88.50"),
            ("reason", ""),
            ("receipt_no", &receipt_no(7)),
        ],
    )
    .await;
    ok(status, &again, "repeat");
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["receipt_no"], receipt["receipt_no"]);
    assert_eq!(again["balance"], receipt["balance"]);
    assert_eq!(balance(&app, b).await.fen(), before.fen() + 8850);
    assert_eq!(audit_count(&app).await, audits);
    // A number that is not a receipt number is refused.
    let (status, _, _) = call(
        &app,
        Some(&op),
        "staff/cash_topup",
        &[
            ("holder_id", &b.to_string()),
            ("amount", "1"),
            ("reason", ""),
            ("receipt_no", "C1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The holder page hands out a fresh number for the next top-up.
    let file = holder_file(&app, &op, b).await;
    assert_ne!(file["cash_receipt_no"], receipt["receipt_no"]);
    let student = login(&app, STUDENT, STUDENT_PW).await;
    let (_, dash, _) = call(&app, Some(&student), "dashboard", &[]).await;
    let dash: Value = serde_json::from_str(&dash).unwrap();
    assert_eq!(dash["balance"], before.fen() + 8850);
    assert_eq!(dash["recent"][0]["kind"], "topup");
    for bad in ["0", "-5", "2000.01", "abc"] {
        let (status, body, _) = call(
            &app,
            Some(&op),
            "staff/cash_topup",
            &[
                ("holder_id", &b.to_string()),
                ("amount", bad),
                ("reason", ""),
                ("receipt_no", &receipt_no(8)),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body.contains("topup_amount"), "{body}");
    }
}

/// A receipt is a page of its own, drawn from what is stored: a cash top-up sent by a browser
/// without the page's script lands on it, a replacement's fee has one naming the new card, and
/// nothing else (a payment) has one.
#[tokio::test]
async fn receipts_are_pages_of_their_own_even_without_the_script() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let b = holder(&app, STUDENT).await;
    // A plain form post, as from a browser whose wasm has not loaded: it asks for HTML.
    let res = app
        .client
        .post(app.url("/api/staff/cash_topup"))
        .header("accept", "text/html")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &op)
        .header("referer", app.url(&format!("/staff/holder/{b}")))
        .form(&[
            ("holder_id", b.to_string().as_str()),
            ("amount", "66.60"),
            ("reason", ""),
            ("receipt_no", &receipt_no(11)),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/staff/receipt/"), "{to}");
    let entry: i64 = to.trim_start_matches("/staff/receipt/").parse().unwrap();
    // The page itself, rendered on the server with the receipt in it.
    let page = app.get_with(&to, &op).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(&receipt_no(11)), "the receipt number");
    assert!(html.contains("¥66.60"), "the amount");
    assert!(html.contains("paper-a4"), "A4 unless asked");
    let roll = app.page_text(&format!("{to}?paper=80mm"), &op).await;
    assert!(roll.contains("paper-80mm"), "the 80 mm layout");
    // The same receipt from the server function, and none for what the counter did not take.
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/receipt",
        &[("entry_id", &entry.to_string())],
    )
    .await;
    ok(status, &body, "receipt");
    let receipt: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(receipt["receipt_no"], receipt_no(11));
    assert_eq!(receipt["kind"], "CashTopup");
    assert_eq!(receipt["holder_id"], b);
    let till = device(&app, "POS-E-CANTEEN-1").await;
    let card = live_serial(&app, b).await;
    let paid = till.pay(&app, "rc-1", 100, Some(&card), None, None).await;
    assert_eq!(paid["approved"], true, "{paid}");
    let payment = app.state.db.staff_entries(b, 1).await.unwrap().remove(0);
    let (status, _, _) = call(
        &app,
        Some(&op),
        "staff/receipt",
        &[("entry_id", &payment.id.to_string())],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a payment has no counter receipt"
    );
    // A replacement's fee: its receipt names the new card.
    call(
        &app,
        Some(&op),
        "staff/replace_card",
        &[
            ("holder_id", &b.to_string()),
            ("chip_serial", "ABCDEF03"),
            ("fee", "20"),
            ("reason", "补卡"),
        ],
    )
    .await;
    let fee = app.state.db.staff_entries(b, 1).await.unwrap().remove(0);
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/receipt",
        &[("entry_id", &fee.id.to_string())],
    )
    .await;
    ok(status, &body, "fee receipt");
    let receipt: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(receipt["kind"], "CardFee");
    assert_eq!(receipt["amount"], 2000);
    let file = holder_file(&app, &op, b).await;
    let card = file["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chip_serial"] == "ABCDEF03")
        .unwrap()
        .clone();
    assert_eq!(receipt["detail"], card["card_no"]);
    assert_eq!(receipt["receipt_no"], format!("R{:010}", fee.id));
    // Not for a student's session.
    let student = login(&app, STUDENT, STUDENT_PW).await;
    let (status, _, _) = call(
        &app,
        Some(&student),
        "staff/receipt",
        &[("entry_id", &entry.to_string())],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_large_cash_top_up_waits_for_a_second_staff_member() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let op2 = staff_login(&app, "operator2").await;
    let b = holder(&app, STUDENT).await;
    let b_id = b.to_string();
    let before = balance(&app, b).await;
    let form = |amount: &str, n: u64| {
        [
            ("holder_id", b_id.clone()),
            ("amount", amount.to_string()),
            ("reason", String::new()),
            ("receipt_no", receipt_no(n)),
        ]
    };
    let cash = |amount: &str, n: u64| {
        let form = form(amount, n);
        let app = &app;
        let op = op.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(app, Some(&op), "staff/cash_topup", &form).await
        }
    };
    // Up to the threshold (¥1,000 in the demo profile, counting the cash the holder got today)
    // one operator credits it at once.
    let day_start = app::server::domain::calendar::day_start(app.state.now());
    let today = app.state.db.holder_cash_since(b, day_start).await.unwrap();
    let up_to = Money::from_fen(100_000 - today.fen());
    let (status, body, _) = cash(&up_to.yuan_string(), 41).await;
    ok(status, &body, "up to the threshold");
    let at = before.fen() + 100_000 - today.fen();
    assert_eq!(balance(&app, b).await.fen(), at);

    // Above it, nothing is credited until a colleague approves; the form sent twice asks once.
    let audits = audit_count(&app).await;
    let (status, asked, _) = cash("1500", 42).await;
    ok(status, &asked, "above the threshold");
    let asked: Value = serde_json::from_str(&asked).unwrap();
    assert_eq!(asked["awaiting_approval"], true, "{asked}");
    let (status, again, _) = cash("1500", 42).await;
    ok(status, &again, "the same form again");
    assert_eq!(audit_count(&app).await, audits + 1);
    assert_eq!(balance(&app, b).await.fen(), at, "nothing credited yet");
    let (_, queue, _) = call(&app, Some(&op), "staff/cash_requests", &[]).await;
    let queue: Value = serde_json::from_str(&queue).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 1, "{queue}");
    assert_eq!(queue[0]["amount"], 150_000);
    assert_eq!(queue[0]["receipt_no"], receipt_no(42));
    let request = queue[0]["id"].as_i64().unwrap().to_string();
    let approve = [("request_id", request.as_str()), ("decision", "approve")];
    // Money in flight: the account is not closed over it.
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/close_account",
        &[("holder_id", &b_id), ("reason", "退学")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("pending_money"), "{body}");
    // No shift count while cash taken waits for approval.
    let (status, body, _) = call(&app, Some(&op), "staff/count_cash", &[("counted", "2500")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("cash_pending"), "{body}");
    // The one who took the cash cannot approve it.
    let (status, same, _) = call(&app, Some(&op), "staff/decide_cash", &approve).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(same.contains("same_approver"), "{same}");
    let receipt = audited(&app, &op2, "staff/decide_cash", &approve).await;
    assert_eq!(receipt["amount"], 150_000);
    assert_eq!(receipt["balance"], at + 150_000);
    assert_eq!(receipt["receipt_no"], receipt_no(42));
    assert_eq!(receipt["awaiting_approval"], false);
    assert_ne!(receipt["approved_by"], "", "{receipt}");
    assert_ne!(receipt["operator"], receipt["approved_by"], "{receipt}");
    assert_eq!(balance(&app, b).await.fen(), at + 150_000);
    // Decided once; the first operator's form sent again now says so.
    let (status, again, _) = call(&app, Some(&op2), "staff/decide_cash", &approve).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(again.contains("approval_decided"), "{again}");
    let (status, late, _) = cash("1500", 42).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(late.contains("approval_decided"), "{late}");
    assert_eq!(balance(&app, b).await.fen(), at + 150_000);

    // Rejected (a reason is required): nothing credited, the queue is empty.
    let (status, _, _) = cash("1200", 43).await;
    assert_eq!(status, StatusCode::OK);
    let (_, queue, _) = call(&app, Some(&op), "staff/cash_requests", &[]).await;
    let queue: Value = serde_json::from_str(&queue).unwrap();
    let request = queue[0]["id"].as_i64().unwrap().to_string();
    let (status, body, _) = call(
        &app,
        Some(&op2),
        "staff/decide_cash",
        &[("request_id", &request), ("decision", "reject")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("reason_required"), "{body}");
    let rejected = audited(
        &app,
        &op2,
        "staff/decide_cash",
        &[
            ("request_id", &request),
            ("decision", "reject"),
            ("reason", "金额与现金不符"),
        ],
    )
    .await;
    assert!(rejected.is_null(), "{rejected}");
    assert_eq!(balance(&app, b).await.fen(), at + 150_000);
    let (_, queue, _) = call(&app, Some(&op), "staff/cash_requests", &[]).await;
    assert_eq!(queue, "[]");
    // Splitting does not avoid it: ¥500 more today is over ¥1,000 for this holder.
    let (status, split, _) = cash("500", 44).await;
    ok(status, &split, "a small top-up after large ones");
    let split: Value = serde_json::from_str(&split).unwrap();
    assert_eq!(split["awaiting_approval"], true, "{split}");
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

#[tokio::test]
async fn staff_and_threshold_changes_take_two_administrators() {
    let app = TestApp::spawn(2).await;
    let admin = staff_login(&app, "admin").await;
    let admin2 = staff_login(&app, "admin2").await;
    let id_of = async |user: &str| app.state.db.staff_auth(user).await.unwrap().unwrap();
    let operator = id_of("operator").await;
    // A role change waits: nothing changes until a second administrator approves.
    let asked = audited(
        &app,
        &admin,
        "admin/update_staff",
        &[
            ("id", &operator.id.to_string()),
            ("role", "auditor"),
            ("merchant_id", ""),
            ("active", "true"),
            ("reason", "调岗"),
        ],
    )
    .await;
    assert_eq!(id_of("operator").await.role, StaffRole::Operator);
    let (_, list, _) = call(&app, Some(&admin2), "admin/change_requests", &[]).await;
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["kind"], "staff.update", "{list}");
    let said = |v: &Value| english(v.as_str().unwrap_or_default());
    assert_eq!(said(&list[0]["before"]), "role operator; active");
    assert_eq!(said(&list[0]["after"]), "role auditor; active");
    assert_eq!(
        chinese(list[0]["after"].as_str().unwrap()),
        "角色：审计员；启用"
    );
    let id = asked["request_id"].to_string();
    let decide =
        |decision: &'static str| [("request_id", id.clone()), ("decision", decision.into())];
    let form =
        |f: &[(&'static str, String)]| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let post = async |who: &str, f: Vec<(&str, String)>| {
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        call(&app, Some(who), "admin/decide_change", &f).await
    };
    // Not by the one who asked.
    let (status, body, _) = post(&admin, form(&decide("approve"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("same_approver"), "{body}");
    approved(&app, &admin2, &asked).await;
    assert_eq!(id_of("operator").await.role, StaffRole::Auditor);
    // Decided once.
    let (status, body, _) = post(&admin2, form(&decide("approve"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("approval_decided"), "{body}");

    // Nobody approves a change to their own account.
    let asked = audited(
        &app,
        &admin,
        "admin/reset_staff",
        &[
            ("id", &id_of("admin2").await.id.to_string()),
            ("reason", "手机丢失"),
        ],
    )
    .await;
    let own = asked["request_id"].to_string();
    let (status, body, _) = post(
        &admin2,
        vec![("request_id", own.clone()), ("decision", "approve".into())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("own_account"), "{body}");
    // Nor rejects it (no veto over one's own reset); the one who asked may withdraw it, with a
    // reason, and that changes nothing.
    let (status, body, _) = post(
        &admin2,
        vec![("request_id", own.clone()), ("decision", "reject".into())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("own_account"), "{body}");
    let (status, body, _) = post(
        &admin,
        vec![("request_id", own.clone()), ("decision", "reject".into())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("reason_required"), "{body}");
    let rejected = audited(
        &app,
        &admin,
        "admin/decide_change",
        &[
            ("request_id", &own),
            ("decision", "reject"),
            ("reason", "手机找到了"),
        ],
    )
    .await;
    assert!(rejected.is_null(), "{rejected}");

    // A profile edit is saved at once, its threshold change waits; both recorded field by field.
    let mut profile = app::server::admin::profile_form(&app.state).await.unwrap();
    profile.office_phone = "0755-00000000".into();
    profile.cash_approval_above = "500".into();
    // A wrong value first: refused with its field and entry named, nothing saved or audited.
    let audits = audit_count(&app).await;
    let mut wrong = profile.clone();
    wrong.hotlines[1].value = "call us".into();
    let (status, body) = helpers::save_profile_form(&app, &admin, &wrong, "改错").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains(r#""field":"hotline_phone""#) && body.contains(r#""row":2"#),
        "{body}"
    );
    assert_eq!(audit_count(&app).await, audits);
    let (status, saved) =
        helpers::save_profile_form(&app, &admin, &profile, "电话与复核线调整").await;
    ok(status, &saved, "save profile");
    let saved: Value = serde_json::from_str(&saved).unwrap();
    let now = app.state.db.campus_profile().await.unwrap().unwrap();
    assert_eq!(now.office_phone, "0755-00000000");
    assert_eq!(
        now.cash_approval_above,
        Money::yuan(1000),
        "waits for approval"
    );
    let records = app
        .state
        .db
        .audit_records(&AuditQuery {
            action: Some("campus.".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        records.iter().any(|r| r.after.contains("0755-00000000")),
        "{records:?}"
    );
    approved(
        &app,
        &admin2,
        &json!({ "request_id": saved["thresholds_request"] }),
    )
    .await;
    let now = app.state.db.campus_profile().await.unwrap().unwrap();
    assert_eq!(now.cash_approval_above, Money::yuan(500));
    assert_eq!(
        now.office_phone, "0755-00000000",
        "the edit saved meanwhile stays"
    );
    let records = app
        .state
        .db
        .audit_records(&AuditQuery {
            action: Some("campus.thresholds".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        english(&records[0].before).contains("cash top-ups above ¥1000.00"),
        "{records:?}"
    );
    assert!(
        english(&records[0].after).contains("cash top-ups above ¥500.00")
            && chinese(&records[0].after).contains("现金充值超过 ¥500.00 须两人办理"),
        "{records:?}"
    );
    let (_, list, _) = call(&app, Some(&admin2), "admin/change_requests", &[]).await;
    assert_eq!(list, "[]");
}

#[tokio::test]
async fn an_operator_ends_a_shift_with_a_cash_count_and_auditors_read_every_shift() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let auditor = staff_login(&app, "auditor").await;
    let b = holder(&app, STUDENT).await.to_string();
    let cash = |amount: &'static str, n: u64| {
        let (app, op, b) = (&app, op.clone(), b.clone());
        async move {
            let receipt = receipt_no(n);
            let form = [
                ("holder_id", b.as_str()),
                ("amount", amount),
                ("reason", ""),
                ("receipt_no", receipt.as_str()),
            ];
            let (status, body, _) = call(app, Some(&op), "staff/cash_topup", &form).await;
            ok(status, &body, "cash top-up");
        }
    };
    let shift = |who: String| {
        let app = &app;
        async move {
            let (status, body, _) = call(app, Some(&who), "staff/my_shift", &[]).await;
            ok(status, &body, "my shift");
            serde_json::from_str::<Value>(&body).unwrap()
        }
    };
    cash("88.50", 51).await;
    cash("11.50", 52).await;
    let open = shift(op.clone()).await;
    assert_eq!(
        (open["topups"].as_i64(), open["cash_in"].as_i64()),
        (Some(2), Some(10_000))
    );
    assert!(open["from"].is_null(), "since the start of the day: {open}");
    // An auditor takes no cash: no shift, and no count.
    assert!(shift(auditor.clone()).await.is_null());
    let (status, _, _) = call(
        &app,
        Some(&auditor),
        "staff/count_cash",
        &[("counted", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in ["", "abc", "-1", "1000000.01"] {
        let (status, body, _) =
            call(&app, Some(&op), "staff/count_cash", &[("counted", bad)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body.contains("cash_count_invalid"), "{body}");
    }
    // Five yuan short: the count ends the shift and says so.
    let closed = audited(
        &app,
        &op,
        "staff/count_cash",
        &[("counted", "95"), ("note", "交班")],
    )
    .await;
    assert_eq!(closed["counted"], 9_500);
    assert_eq!(closed["difference"], -500);
    assert!(closed["until"].is_string(), "{closed}");
    let open = shift(op.clone()).await;
    assert_eq!(open["topups"], 0);
    assert_eq!(open["from"], closed["until"]);
    cash("20", 53).await;
    // The auditor reads both shifts in the reports, and as CSV.
    let (_, reports, _) = call(
        &app,
        Some(&auditor),
        "staff/reports",
        &[("from", ""), ("to", "")],
    )
    .await;
    let reports: Value = serde_json::from_str(&reports).unwrap();
    let shifts = reports["shifts"].as_array().unwrap();
    let mine: Vec<_> = shifts
        .iter()
        .filter(|s| s["operator"] == closed["operator"])
        .map(|s| {
            (
                s["topups"].as_i64(),
                s["cash_in"].as_i64(),
                s["difference"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        [
            (Some(2), Some(10_000), Some(-500)),
            (Some(1), Some(2_000), None)
        ],
        "{shifts:?}"
    );
    let csv = app
        .get_with("/staff/reports.csv?report=shifts", &auditor)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("operator,from,until,topups,cash_in,counted,difference"),
        "{csv}"
    );
    assert!(csv.contains(",2,100.00,95.00,-5.00"), "{csv}");
}

#[tokio::test]
async fn password_reset_checks_the_presented_id_and_lost_cards_show_up_found() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let b = holder(&app, STUDENT).await;
    let id = b.to_string();
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/reset_password",
        &[
            ("holder_id", &id),
            ("which", "query"),
            ("id_number", "440301199901011234"),
            ("reason", "忘记密码"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("id_mismatch"), "{body}");
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/reset_password",
        &[
            ("holder_id", &id),
            ("which", "query"),
            ("id_number", "x"),
            ("reason", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("reason_required"), "{body}");

    // A found card: the public list masks it, the owner sees a notice.
    let serial = live_serial(&app, b).await;
    audited(
        &app,
        &op,
        "staff/record_found",
        &[("number", &serial), ("place", "东区服务中心")],
    )
    .await;
    let (_, dup, _) = call(
        &app,
        Some(&op),
        "staff/record_found",
        &[("number", &serial), ("place", "东区服务中心")],
    )
    .await;
    assert!(dup.contains("already_recorded"), "{dup}");
    let (status, public, _) = call(&app, None, "found_cards", &[]).await;
    ok(status, &public, "public list");
    assert!(public.contains("东区服务中心"), "{public}");
    assert!(
        !public.contains(STUDENT),
        "no student number in public: {public}"
    );
    let student = login(&app, STUDENT, STUDENT_PW).await;
    let (_, dash, _) = call(&app, Some(&student), "dashboard", &[]).await;
    assert!(
        dash.contains("\"found_card_at\":\"东区服务中心\""),
        "{dash}"
    );
}

#[tokio::test]
async fn wrong_identity_numbers_are_audited_and_stop_after_five_per_holder() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let op2 = staff_login(&app, "operator2").await;
    let b = holder(&app, STUDENT).await;
    let id = b.to_string();
    let reset = async |cookie: &str, id_number: &str| {
        call(
            &app,
            Some(cookie),
            "staff/reset_password",
            &[
                ("holder_id", &id),
                ("which", "query"),
                ("id_number", id_number),
                ("reason", "忘记密码"),
            ],
        )
        .await
    };
    let mismatches = async || {
        app.state
            .db
            .audit_records(&AuditQuery {
                action: Some("holder.id_mismatch".into()),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
    };
    // A right number gives its attempt back: the holder served six times in a row is never
    // throttled, and four slips before the right number leave the count where it was.
    for _ in 0..6 {
        let (status, body, _) = reset(&op, "440106200211257419").await;
        ok(status, &body, "a right number");
    }
    assert!(mismatches().await.is_empty());
    // Two operators guessing in turn share one count: the holder's.
    for n in 0..5 {
        let cookie = if n % 2 == 0 { &op } else { &op2 };
        let (status, body, _) = reset(cookie, &format!("44030119990101123{n}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("id_mismatch"), "{body}");
    }
    let audits = mismatches().await;
    assert_eq!(audits.len(), 5, "every wrong number is audited: {audits:?}");
    assert!(
        audits.iter().all(|a| a.reason == "忘记密码"
            && english(&a.after).contains("did not match; for password.reset")),
        "{audits:?}"
    );
    assert!(
        audits
            .iter()
            .all(|a| a.holder.as_deref().is_some_and(|h| h.contains(STUDENT))),
        "{audits:?}"
    );
    // The sixth try is refused before any check, even with the right number.
    let (status, body, _) = reset(&op, "440106200211257419").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("throttled"), "{body}");
    assert_eq!(mismatches().await.len(), 5);
    // An hour later the holder, present with the document, is served.
    app.state.clock.advance(chrono::Duration::minutes(61));
    let op = staff_login(&app, "operator").await;
    let (status, body, _) = reset(&op, "440106200211257419").await;
    ok(status, &body, "the right number after the wait");
}

#[tokio::test]
async fn merchants_see_only_their_own_sales() {
    let app = TestApp::spawn(6).await;
    let till = device(&app, "POS-E-CANTEEN-1").await;
    let b = holder(&app, STUDENT).await;
    let serial = live_serial(&app, b).await;
    let paid = till.pay(&app, "m-1", 1234, Some(&serial), None, None).await;
    assert_eq!(paid["approved"], true, "{paid}");
    let canteen = staff_login(&app, "canteen1").await;
    let (status, body, _) = call(&app, Some(&canteen), "merchant/day", &[("day", "")]).await;
    ok(status, &body, "merchant day");
    let day: Value = serde_json::from_str(&body).unwrap();
    assert!(
        day["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["amount"] == -1234)
    );
    assert!(day["sales"].as_i64().unwrap() >= 1);
    assert!(!body.contains("李浩然"), "payer names are masked: {body}");
}

#[tokio::test]
async fn a_payment_is_reversed_once_whether_at_the_till_or_the_counter() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let till = device(&app, "POS-E-CANTEEN-1").await;
    let b = holder(&app, STUDENT).await;
    let serial = live_serial(&app, b).await;
    let journal = |v: &Value| v["journal_id"].as_i64().unwrap();
    // Corrected at the counter first: the till's refund is refused.
    let first = till
        .pay(&app, "rev-1", 700, Some(&serial), None, None)
        .await;
    assert_eq!(first["approved"], true, "{first}");
    let first = journal(&first);
    audited(
        &app,
        &op,
        "staff/reverse",
        &[("journal_id", &first.to_string()), ("reason", "重复扣款")],
    )
    .await;
    let (status, r) = till
        .post(
            &app,
            "/api/device/v1/refund",
            json!({"request_id": "rev-1-refund", "journal_id": first}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["reason"], "already_refunded", "{r}");
    // Refunded at the till first: the counter's correction is refused.
    let second = till
        .pay(&app, "rev-2", 800, Some(&serial), None, None)
        .await;
    let second = journal(&second);
    let (_, r) = till
        .post(
            &app,
            "/api/device/v1/refund",
            json!({"request_id": "rev-2-refund", "journal_id": second}),
        )
        .await;
    assert_eq!(r["approved"], true, "{r}");
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/reverse",
        &[("journal_id", &second.to_string()), ("reason", "重复扣款")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("already_reversed"), "{body}");
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

#[tokio::test]
async fn closing_an_account_pays_the_balance_out_and_finance_gets_the_account_number() {
    let app = TestApp::spawn(6).await;
    let op = staff_login(&app, "operator").await;
    let admin = staff_login(&app, "admin").await;
    let b = holder(&app, STUDENT).await;
    let before = balance(&app, b).await;
    assert!(before > Money::ZERO);
    // The demo student's two unpaid bills would keep the account open (an unpaid bill is
    // money to settle first): the office cancels them.
    assert_eq!(cancel_unpaid_bills(&app, &op, STUDENT).await, 2);
    // Money in flight (a correction waiting for approval) keeps the account open.
    let file = holder_file(&app, &op, b).await;
    let payment = file["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "payment" && e["reversed"] == false)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    app.state
        .db
        .request_correction(
            &app.state.db.journal_entry(payment).await.unwrap().unwrap(),
            "test",
            app.state
                .db
                .staff_auth("operator2")
                .await
                .unwrap()
                .unwrap()
                .id,
            app.state.now(),
            app::server::store::Audit {
                actor: app::server::store::Actor::System,
                action: app::model::AuditAction::MoneyCorrectionRequested,
                holder_id: Some(b),
                target: Default::default(),
                before: Default::default(),
                after: Default::default(),
                reason: "test".into(),
                ip: String::new(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    let b_id = b.to_string();
    let form = [("holder_id", b_id.as_str()), ("reason", "毕业离校")];
    let (status, body, _) = call(&app, Some(&op), "staff/close_account", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("pending_money"), "{body}");
    let (_, queue, _) = call(&app, Some(&op), "staff/reversals", &[]).await;
    let queue: Value = serde_json::from_str(&queue).unwrap();
    let request = queue[0]["id"].as_i64().unwrap().to_string();
    audited(
        &app,
        &op,
        "staff/approve_reversal",
        &[("request_id", &request)],
    )
    .await;
    let owed = balance(&app, b).await;

    // Money goes out only to an account recorded against the holder's identity document.
    let (status, body, _) = call(&app, Some(&op), "staff/close_account", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("no_payout_account"), "{body}");
    let record = |id_number: &'static str| {
        [
            ("holder_id", b_id.clone()),
            ("bank_account", "6222 0212 3456 7890".to_string()),
            ("id_number", id_number.to_string()),
            ("reason", "毕业离校，本人持身份证办理".to_string()),
        ]
    };
    let wrong_id = record("440301199901011234");
    let wrong_id: Vec<(&str, &str)> = wrong_id.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body, _) = call(&app, Some(&op), "staff/payout_account", &wrong_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("id_mismatch"), "{body}");
    assert!(holder_file(&app, &op, b).await["payout_account"].is_null());
    let right_id = record("440106200211257419");
    let right_id: Vec<(&str, &str)> = right_id.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Recorded by a colleague, who then may not approve the payout to it.
    let op2 = staff_login(&app, "operator2").await;
    let masked = audited(&app, &op2, "staff/payout_account", &right_id).await;
    assert_eq!(masked, "****7890");
    let file = holder_file(&app, &op, b).await;
    assert_eq!(
        file["payout_account"]["account_masked"], "****7890",
        "{file}"
    );
    assert!(
        !file.to_string().contains("62220212"),
        "the page never gets the number"
    );

    // Money goes out: the operator's request waits for a second staff member.
    let asked = audited(&app, &op, "staff/close_account", &form).await;
    assert_eq!(asked["awaiting_approval"], true, "{asked}");
    assert_eq!(asked["paid_out"], owed.fen());
    assert_eq!(balance(&app, b).await, owed, "nothing paid yet");
    assert_eq!(holder_file(&app, &op, b).await["account_status"], "active");
    // Asking twice does not queue it twice.
    let (status, body, _) = call(&app, Some(&op), "staff/close_account", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("closing_pending"), "{body}");
    let (_, queue, _) = call(&app, Some(&op), "staff/closings", &[]).await;
    let queue: Value = serde_json::from_str(&queue).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 1, "{queue}");
    assert!(queue[0]["bank_account"].as_str().unwrap().ends_with("7890"));
    assert!(
        !queue[0]["bank_account"]
            .as_str()
            .unwrap()
            .contains("62220212")
    );
    let request = queue[0]["id"].as_i64().unwrap().to_string();
    let decide = [("request_id", request.as_str()), ("decision", "approve")];
    // The one who asked cannot approve it.
    let (status, same, _) = call(&app, Some(&op), "staff/decide_closing", &decide).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(same.contains("same_approver"), "{same}");
    let (status, same, _) = call(&app, Some(&op2), "staff/decide_closing", &decide).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the account's recorder");
    assert!(same.contains("same_approver"), "{same}");
    // While the closing waits, the account it pays to cannot change.
    let (status, body, _) = call(&app, Some(&op2), "staff/payout_account", &right_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("closing_pending"), "{body}");
    let closed = audited(&app, &admin, "staff/decide_closing", &decide).await;
    assert_eq!(closed["paid_out"], owed.fen());
    assert_eq!(closed["awaiting_approval"], false);
    // Decided once.
    let (status, again, _) = call(&app, Some(&admin), "staff/decide_closing", &decide).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(again.contains("approval_decided"), "{again}");
    assert!(closed["reference"].as_str().unwrap().ends_with("****7890"));
    // Stored sealed, in the request and in the payout alike.
    let sealed = |s: &str| app::server::sealing::Sealer::is_sealed(s);
    let req = app
        .state
        .db
        .closing_request(request.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(sealed(&req.bank_account), "{}", req.bank_account);
    let now = app.state.now();
    let payouts = app
        .state
        .db
        .payouts(
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(1),
        )
        .await
        .unwrap();
    assert!(
        payouts.iter().all(|p| sealed(&p.bank_account)),
        "{payouts:?}"
    );
    assert_eq!(balance(&app, b).await, Money::ZERO);
    let file = holder_file(&app, &op, b).await;
    assert_eq!(file["account_status"], "closed");
    assert_eq!(file["entries"][0]["kind"], "payout");
    assert_eq!(file["entries"][0]["amount"], -owed.fen());
    assert!(
        file["cards"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] != "active")
    );
    // Finance's list has the full account number; the report page masks it.
    let res = app
        .get_with("/staff/reports.csv?report=payouts", &admin)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(csv.contains("6222021234567890"), "{csv}");
    assert!(csv.contains(&owed.yuan_string()), "{csv}");
    let (_, reports, _) = call(
        &app,
        Some(&admin),
        "staff/reports",
        &[("from", ""), ("to", "")],
    )
    .await;
    // The page's data has it masked; only the CSV download (audited) has it whole.
    assert!(
        reports.contains("\"bank_account\":\"****7890\""),
        "{reports}"
    );
    assert!(!reports.contains("6222021234567890"), "{reports}");
    assert!(app.state.db.ledger_check().await.unwrap().is_consistent());
}

/// A till or kiosk stands where anyone passes: leaving terminal mode needs the login of a staff
/// member who may end that terminal, and leaves an audit record naming them.
#[tokio::test]
async fn a_web_terminal_is_left_only_with_a_staff_login_that_may() {
    let app = TestApp::spawn(4).await;
    let (_, key) = issue_key(&app, "POS-E-CANTEEN-1").await;
    let till = set_up_terminal(&app, "POS-E-CANTEEN-1", &key).await;
    let alive = |till: String| {
        let app = &app;
        async move {
            let (_, body, _) = call(app, Some(&till), "terminal/info", &[("kiosk", "false")]).await;
            !body.contains("terminal_required")
        }
    };
    let leave = |user: &'static str, password: String, code: String| {
        let (app, till) = (&app, till.clone());
        async move {
            call(
                app,
                Some(&till),
                "terminal/leave",
                &[("username", user), ("password", &password), ("code", &code)],
            )
            .await
        }
    };
    // A passer-by: nothing typed, or a guess.
    let (status, body, cookie) = leave("", String::new(), String::new()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("staff_bad_credentials") && cookie.is_none(),
        "{body}"
    );
    let (_, body, _) = leave("operator", "guess-guess-guess".into(), "123456".into()).await;
    assert!(body.contains("staff_bad_credentials"), "{body}");
    assert!(alive(till.clone()).await);

    // An auditor logs in right, but changes nothing: refused, the terminal stays.
    staff_login(&app, "auditor").await;
    app.state.clock.advance(chrono::Duration::seconds(30));
    let code = totp_at(demo_secret("auditor"), now_unix(&app));
    let (status, body, _) = leave("auditor", own_password_of("auditor"), code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("terminal_leave_role"), "{body}");
    assert!(alive(till.clone()).await);

    // An operator ends it: the cookie goes, the till functions refuse, the audit names them.
    staff_login(&app, "operator").await;
    app.state.clock.advance(chrono::Duration::seconds(30));
    let code = totp_at(demo_secret("operator"), now_unix(&app));
    let (status, body, cookie) = leave("operator", own_password_of("operator"), code).await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status} {body}"
    );
    assert_eq!(
        cookie.as_deref(),
        Some("ykt_terminal="),
        "the cookie is cleared"
    );
    assert!(!alive(till.clone()).await, "the terminal session ended");
    let records = app
        .state
        .db
        .audit_records(&AuditQuery {
            action: Some("terminal.left".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].target.contains("POS-E-CANTEEN-1"), "{records:?}");
    app.stop().await;
}
