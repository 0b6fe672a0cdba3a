//! Staff logins as a person does them: the demo password, a fresh authenticator code, and at
//! the first login the published password changed for one of their own.
#![allow(clippy::unwrap_used, dead_code)]

use super::{TestApp, call};
use reqwest::StatusCode;

pub fn demo_secret(user: &str) -> &'static str {
    app::server::demo::DEMO_TOTP
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, s)| *s)
        .unwrap()
}

pub fn password_of(user: &str) -> &'static str {
    app::server::demo::DEMO_LOGINS
        .iter()
        .find(|l| l.login == user)
        .map(|l| l.password)
        .unwrap()
}

pub fn totp_at(secret: &str, unix: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .unwrap()
        .generate(unix)
}

/// The server's time (its clock, not the wall clock's), as an authenticator app would read it.
pub fn now_unix(app: &TestApp) -> u64 {
    app.state.now().timestamp() as u64
}

/// The password a demo staff member chooses at their first login (the published one must go).
pub fn own_password_of(user: &str) -> String {
    format!("{user}-own-password-7")
}

/// Logs a demo staff member in with the current authenticator code. At the first login the
/// published password works only for changing it, so the helper changes it then, as the
/// person would, to `own_password_of(user)`.
pub async fn staff_login(app: &TestApp, user: &str) -> String {
    let first = app
        .state
        .db
        .staff_auth(user)
        .await
        .unwrap()
        .unwrap()
        .must_change_password;
    let own = own_password_of(user);
    let password = if first { password_of(user) } else { &own };
    let code = totp_at(demo_secret(user), now_unix(app));
    let (status, body, cookie) = call(
        app,
        None,
        "staff/login",
        &[("username", user), ("password", password), ("code", &code)],
    )
    .await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{user}: {status} {body}"
    );
    let cookie = cookie.expect("staff cookie");
    assert!(cookie.starts_with("ykt_staff="), "{cookie}");
    if first {
        let (status, body, _) = call(
            app,
            Some(&cookie),
            "staff/change_password",
            &[
                ("current", password),
                ("new_password", &own),
                ("confirm", &own),
            ],
        )
        .await;
        ok(status, &body, "first-login password change");
    }
    cookie
}

/// The call succeeded.
pub fn ok(status: StatusCode, body: &str, what: &str) {
    assert!(status.is_success(), "{what}: {status} {body}");
}
