//! Everything that runs only on the server: configuration handed in by the `server` crate,
//! the data store, and the domain services. Nothing in here is compiled into the wasm.

pub mod admin;
pub mod announcements;
pub mod auth;
pub mod billers;
pub mod bills;
pub mod campus;
pub mod clock;
pub mod code_events;
pub mod counter;
pub mod courier;
pub mod csv;
pub mod demo;
pub mod domain;
pub mod enrolment;
pub mod ids;
pub mod kiosk;
pub mod ledger;
#[cfg(test)]
mod ledger_props;
pub mod mail;
pub mod notices;
pub mod outbox;
pub mod password;
pub mod paycode;
pub mod phone;
pub mod pin;
pub mod portal;
pub mod push;
pub mod sealing;
pub mod staff;
pub mod store;
pub mod terminal;
pub mod topup;
pub mod utilities;

use crate::error::AppError;
use axum::extract::FromRef;
use leptos::prelude::*;
use secrecy::SecretString;
use std::sync::Arc;

pub use password::PasswordHasher;
pub use store::{Db, StoreError};

/// Secrets the services need. Not `Debug`/`Serialize`: they never reach a log or a browser.
pub struct Secrets {
    /// Mixed into every password hash (argon2 "secret"); a stolen database alone cannot be
    /// brute-forced without it.
    pub pepper: SecretString,
    /// Key of the HMAC that turns an ID document number into the stored keyed hash.
    pub id_hash_key: SecretString,
    /// The data key: TOTP secrets, pay-code keys and bank accounts are stored sealed with it.
    pub sealer: sealing::Sealer,
}

/// Shared by every request: handed to `leptos_routes` and so present in the context of every
/// page render and server function.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub secrets: Arc<Secrets>,
    pub hasher: PasswordHasher,
    /// Served over HTTPS: session cookies get `Secure` and the `__Host-` prefix.
    pub secure_cookies: bool,
    /// Nonces of signed device requests within the timestamp window.
    pub device_nonces: Arc<ledger::NonceCache>,
    /// The payment provider behind online and automatic top-ups; `None` when the campus has
    /// none configured (top-ups then happen at the counter and the kiosks only).
    pub provider: Option<Arc<dyn topup::PaymentProvider>>,
    /// The sandbox provider's own side (its pay page and notifications), when it is the one
    /// in use.
    pub sandbox: Option<Arc<topup::Sandbox>>,
    /// The campus profile, cached for a few seconds.
    pub campus: Arc<campus::CampusCache>,
    /// The one source of "now" for every rule (the system clock in production).
    pub clock: clock::Clock,
    /// The reverse proxies whose `X-Forwarded-For` is believed (the `server` crate sets the
    /// client address from it before any handler runs). Empty: the TCP peer is the client.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// The open 深职通码 pages, told of each payment made with their code.
    pub code_events: Arc<code_events::CodeEvents>,
    /// The billers that sell a room's electricity and water and the network (缴费); none
    /// until the `server` crate sets them (`billers::Sandbox::both`, refused in production).
    pub billers: billers::Billers,
    /// The campus's mail server and its worker, when one is configured (notices by e-mail);
    /// `None`: notices stay in the inbox.
    pub mailer: Option<Arc<mail::Mailer>>,
    /// Web Push, when the server knows a contact for the push services; `None`: no browser
    /// is offered push.
    pub pusher: Option<Arc<push::Pusher>>,
    /// The worker handing notices to the mail server and the push services.
    pub courier: Arc<courier::Courier>,
}

impl AppState {
    /// The state of a server; with `sandbox`, the sandbox is the payment provider (the
    /// `server` crate refuses that in production), otherwise there is none.
    pub fn new(
        leptos_options: LeptosOptions,
        db: Db,
        secrets: Secrets,
        hasher: PasswordHasher,
        secure_cookies: bool,
        clock: clock::Clock,
        sandbox: bool,
    ) -> Self {
        use secrecy::ExposeSecret;
        let sandbox = sandbox.then(|| {
            Arc::new(topup::Sandbox::new(topup::Sandbox::derive_key(
                secrets.id_hash_key.expose_secret().as_bytes(),
            )))
        });
        AppState {
            leptos_options,
            db,
            secrets: Arc::new(secrets),
            hasher,
            secure_cookies,
            device_nonces: Arc::default(),
            provider: sandbox
                .clone()
                .map(|s| s as Arc<dyn topup::PaymentProvider>),
            sandbox,
            campus: Arc::default(),
            clock,
            trusted_proxies: Arc::default(),
            code_events: Arc::default(),
            billers: billers::Billers::default(),
            mailer: None,
            pusher: None,
            courier: Arc::default(),
        }
    }

    /// The current time by the server's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// The state from inside a server function or a server render.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal("AppState missing from context"))
}

/// Logs a server-side failure with a fresh reference and returns the opaque error the browser
/// sees. The reference lets a person quote it to the service centre and lets us find the log.
pub fn internal(err: impl std::fmt::Display) -> AppError {
    let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    tracing::error!(reference = %reference, error = %err, "internal error");
    AppError::Internal(reference)
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        internal(err)
    }
}

/// The client of the current request (address, browser, session token), from the request
/// parts leptos_axum puts in the context of every server function and server render.
pub fn client() -> auth::Client {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let Some(parts) = use_context::<axum::http::request::Parts>() else {
        return auth::Client::default();
    };
    let secure = use_context::<AppState>().is_some_and(|s| s.secure_cookies);
    client_from_parts(
        &parts.headers,
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
        secure,
    )
}

/// The same, from headers and the peer address (for plain axum handlers). With `secure`
/// (production, behind HTTPS) only the `__Host-` cookies are read: a cookie without the
/// prefix can be planted by a neighbouring subdomain or over plain HTTP, and must not win.
pub fn client_from_parts(
    headers: &axum::http::HeaderMap,
    peer: Option<std::net::SocketAddr>,
    secure: bool,
) -> auth::Client {
    let cookie = |[plain, host_only]: [&str; 2]| {
        find_cookie(headers, |name| {
            name == host_only || (!secure && name == plain)
        })
    };
    let token = cookie([SESSION_COOKIE, SECURE_SESSION_COOKIE]);
    let terminal_token = cookie([terminal::COOKIE, terminal::SECURE_COOKIE]);
    let staff_token = cookie([staff::COOKIE, staff::SECURE_COOKIE]);
    let phone_token = cookie([phone::COOKIE, phone::SECURE_COOKIE]);
    let browser_token = cookie([BROWSER_COOKIE, SECURE_BROWSER_COOKIE]);
    auth::Client {
        ip: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        token,
        terminal_token,
        staff_token,
        phone_token,
        browser_token,
    }
}

/// The value of the first cookie in the request whose name is `wanted`.
pub fn find_cookie(
    headers: &axum::http::HeaderMap,
    wanted: impl Fn(&str) -> bool,
) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| wanted(name))
        .map(|(_, value)| value.to_string())
}

pub const SESSION_COOKIE: &str = "ykt_session";
pub const SECURE_SESSION_COOKIE: &str = "__Host-ykt_session";

/// The cookie that knows a browser across logins (`auth::note_browser`): a random value, kept
/// `domain::sessions::BROWSER_COOKIE_DAYS`, not cleared at logout.
pub const BROWSER_COOKIE: &str = "ykt_browser";
pub const SECURE_BROWSER_COOKIE: &str = "__Host-ykt_browser";

pub fn browser_cookie(token: &str, secure: bool) -> String {
    let name = if secure {
        SECURE_BROWSER_COOKIE
    } else {
        BROWSER_COOKIE
    };
    lasting_cookie_header(
        name,
        Some(token),
        secure,
        Some(domain::sessions::BROWSER_COOKIE_DAYS * 86_400),
    )
}

/// The `Set-Cookie` value for a session token (`None` clears the cookie).
pub fn session_cookie(token: Option<&str>, secure: bool) -> String {
    let name = if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    };
    cookie_header(name, token, secure)
}

/// `Set-Cookie` for an HttpOnly, same-site cookie on the whole site, kept until the browser
/// closes (`None` clears it).
pub fn cookie_header(name: &str, token: Option<&str>, secure: bool) -> String {
    lasting_cookie_header(name, token, secure, None)
}

/// `cookie_header`, kept `max_age_secs` when given (across browser restarts).
pub fn lasting_cookie_header(
    name: &str,
    token: Option<&str>,
    secure: bool,
    max_age_secs: Option<i64>,
) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => {
            let max_age = max_age_secs
                .map(|s| format!("; Max-Age={s}"))
                .unwrap_or_default();
            format!("{name}={t}; Path=/; HttpOnly; SameSite=Lax{max_age}{secure_attr}")
        }
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure_attr}"),
    }
}

/// The cookie that carries a refused plain-form login to the login page.
const LOGIN_FLASH_COOKIE: &str = "ykt_login_flash";

/// `Set-Cookie` for a refused login's flash (hex of its JSON; `None` clears it). Lives a
/// minute, on the login page only.
pub fn login_flash_cookie(flash: Option<&crate::portal_model::RefusedLogin>) -> String {
    match flash.and_then(|f| serde_json::to_string(f).ok()) {
        Some(json) => format!(
            "{LOGIN_FLASH_COOKIE}={}; Path=/login; HttpOnly; SameSite=Lax; Max-Age=60",
            hex::encode(json)
        ),
        None => format!("{LOGIN_FLASH_COOKIE}=; Path=/login; HttpOnly; SameSite=Lax; Max-Age=0"),
    }
}

/// The refused login's flash the request carries, if any. The login typed is kept only if it
/// looks like one (digits and letters, at most 32).
pub fn login_flash() -> Option<crate::portal_model::RefusedLogin> {
    let parts = use_context::<axum::http::request::Parts>()?;
    let value = find_cookie(&parts.headers, |name| name == LOGIN_FLASH_COOKIE)?;
    let json = String::from_utf8(hex::decode(value).ok()?).ok()?;
    let mut flash: crate::portal_model::RefusedLogin = serde_json::from_str(&json).ok()?;
    if flash.login.len() > 32 || !flash.login.chars().all(|c| c.is_ascii_alphanumeric()) {
        flash.login.clear();
    }
    Some(flash)
}

/// Whether the request wants an HTML page back: a plain form post from a browser without
/// wasm (or a server render), not a call from the hydrated app.
pub fn wants_html() -> bool {
    use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

/// Gives a server function's error response the HTTP status that fits it (400 for a refused
/// rule, 401 without a session, 429 when throttled) instead of a blanket 500.
pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    // A plain HTML form post (no wasm yet) must keep the redirect back to its page that
    // carries the error; so must a server render, whose error page sets its own status.
    let wants_html = wants_html();
    if let (Err(error), false, Some(response)) = (
        &result,
        wants_html,
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        response.set_status(
            axum::http::StatusCode::from_u16(error.status_code())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    result
}
