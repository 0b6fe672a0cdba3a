//! Starts the real server on 127.0.0.1:0 with a database of its own: an SQLite file in a
//! temporary directory, or, with `YIKATONG_TEST_BACKEND=postgres`, a throw-away PostgreSQL
//! database (`ykt_test_…`) created through `YIKATONG_TEST_PG_ADMIN_URL` (default: the role
//! `scripts/postgres.sh` sets up) and dropped when the test is done with it.
//! Shared by the integration test binaries; each uses a different part of it.
#![allow(dead_code)]

pub mod device;
pub mod push;
pub mod smtp;
pub mod staff;

use app::server::store::postgres::admin;
use reqwest::StatusCode;
use server::config::{LogFormat, Settings};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::Path;
use tempfile::TempDir;

/// The admin URL when the tests run on PostgreSQL, `None` on SQLite.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("YIKATONG_TEST_BACKEND").as_deref() {
        Ok("postgres") => Some(
            std::env::var("YIKATONG_TEST_PG_ADMIN_URL").unwrap_or_else(|_| {
                "postgres://ykt_test:ykt_test@127.0.0.1:5432/postgres".to_string()
            }),
        ),
        Ok("sqlite") | Ok("") | Err(_) => None,
        Ok(other) => panic!("YIKATONG_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// The backend name `/healthz` reports for the backend under test.
pub fn backend_name() -> &'static str {
    if postgres_admin_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// The PostgreSQL database that belongs to a test directory: named after the directory's
/// path, so `settings(&dir, …)` finds the same database again (a restart test).
fn database_name(dir: &Path) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    dir.hash(&mut hasher);
    format!("ykt_test_{:016x}", hasher.finish())
}

/// A throw-away PostgreSQL database, dropped (its connections ended) with this guard.
struct PgDatabase {
    admin: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot block on itself: a thread of its
        // own with a small runtime does the work.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(admin::drop_database(&admin, &name))
                .map_err(|e| e.to_string())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("could not drop test database {}: {err}", self.name),
            Err(_) => eprintln!("could not drop test database {}", self.name),
        }
    }
}

/// A test's data directory and, on PostgreSQL, its database. Derefs to the `TempDir`, so
/// `settings(&dir, …)` and `dir.path()` work on it. The database goes first when it drops.
pub struct TestDir {
    database: Option<PgDatabase>,
    dir: TempDir,
}

impl std::ops::Deref for TestDir {
    type Target = TempDir;
    fn deref(&self) -> &TempDir {
        &self.dir
    }
}

impl From<TempDir> for TestDir {
    /// A directory without a database of its own (its settings may point at another's).
    fn from(dir: TempDir) -> Self {
        TestDir {
            database: None,
            dir,
        }
    }
}

/// A fresh data directory and, on PostgreSQL, a fresh empty database for it.
pub async fn test_dir() -> TestDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = match postgres_admin_url() {
        None => None,
        Some(admin) => {
            let name = database_name(dir.path());
            admin::create_database(&admin, &name)
                .await
                .unwrap_or_else(|e| {
                    panic!("cannot create test database {name} (is PostgreSQL running? scripts/postgres.sh): {e}")
                });
            Some(PgDatabase { admin, name })
        }
    };
    TestDir { database, dir }
}

pub struct TestApp {
    /// The server's state; `state.clock` is the test's clock (see `spawn_with`).
    pub state: app::server::AppState,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub dir: TestDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Waits (real time, at most 15 s) until `pred` holds of what `got` gives, and answers that;
/// panics with `what` and the last of it otherwise.
pub async fn wait_until<T: std::fmt::Debug>(
    what: &str,
    got: impl Fn() -> T,
    pred: impl Fn(&T) -> bool,
) -> T {
    for _ in 0..150 {
        let now = got();
        if pred(&now) {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {what}: {:?}", got());
}

/// The first 10:00 campus time at or after the test moment: daytime, whatever moment the test
/// starts at (`scripts/clock-check.sh` runs every test at 23:59 too), for the tests of notices
/// sent by e-mail or push, which quiet hours would hold.
pub fn campus_daytime() -> chrono::DateTime<chrono::Utc> {
    use app::server::domain::calendar::{campus_date, local_midnight};
    let now = app::server::clock::test_now();
    let today = local_midnight(campus_date(now)) + chrono::Duration::hours(10);
    if today >= now {
        today
    } else {
        today + chrono::Duration::days(1)
    }
}

/// Settings for a server whose data lives in `dir` (on PostgreSQL: in the database
/// `test_dir` made for it).
pub fn settings(dir: &TempDir, demo_holders: usize) -> Settings {
    let database_url = match postgres_admin_url() {
        None => format!("sqlite://{}/test.db", dir.path().display()),
        Some(admin) => admin::database_url(&admin, &database_name(dir.path())).expect("url"),
    };
    Settings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: database_url.into(),
        data_dir: dir.path().to_path_buf(),
        site_root: dir.path().join("site"),
        hash_file: Some(dir.path().join("hash.txt")),
        demo_data: demo_holders > 0,
        demo_holders,
        log_format: LogFormat::Pretty,
        hash_concurrency: 2,
        production: false,
        payment_provider: server::config::PaymentProvider::Sandbox,
        billers: server::config::Billers::Sandbox,
        trusted_proxies: Vec::new(),
        pepper: None,
        id_hash_key: None,
        data_key: None,
        clock_start: None,
        clock_control: false,
        smtp_url: None,
        mail_from: None,
        public_url: None,
        push_contact: None,
        // No push unless a test names its push service (`notices_push`): the notice worker
        // then runs only where a test gives it a channel.
        push_services: Vec::new(),
    }
}

impl TestApp {
    pub async fn spawn(demo_holders: usize) -> TestApp {
        let dir = test_dir().await;
        let settings = settings(&dir, demo_holders);
        Self::spawn_with(dir, settings).await
    }

    pub async fn spawn_with(dir: impl Into<TestDir>, settings: Settings) -> TestApp {
        let dir = dir.into();
        server::telemetry::init(LogFormat::Pretty);
        let listener = server::bind(settings.addr).await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        // The server runs on a clock of the test's own, starting at the test moment (a fixed
        // date, or the one `scripts/clock-check.sh` sets), never at the wall clock's now.
        let clock = app::server::clock::test_clock();
        let state = server::build_state_with_clock(&settings, clock)
            .await
            .expect("state");
        // As `main` does when it serves.
        state.courier.start(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server::serve(
            listener,
            server::router(state.clone()),
            async move {
                let _ = rx.await;
            },
        ));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            state,
            addr,
            client,
            dir,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// A GET of `path` with `cookie` (a session, a language).
    pub async fn get_with(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .expect("request")
    }

    /// The text of the page at `path`, asked for with `cookie`.
    pub async fn page_text(&self, path: &str, cookie: &str) -> String {
        self.get_with(path, cookie)
            .await
            .text()
            .await
            .expect("request")
    }

    /// Stops the server gracefully and waits for it. The data directory (and database) it
    /// returns lives on until dropped, for a test that starts again on the same data.
    pub async fn stop(mut self) -> TestDir {
        // As `main` does: open event streams end, so the graceful shutdown need not wait.
        self.state.code_events.close();
        // The notice worker stops wherever it is, in the middle of a send too.
        self.state.courier.stop();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("join").expect("serve");
        }
        let dir = TestDir::from(tempfile::tempdir().expect("temp dir"));
        std::mem::replace(&mut self.dir, dir)
    }
}

/// Calls a server function with a url-encoded form, as the browser does (`Sec-Fetch-Site:
/// same-origin`), with a cookie.
pub async fn call(
    app: &TestApp,
    cookie: Option<&str>,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, Option<String>) {
    let req = request(app, cookie, endpoint, form);
    let res = req.send().await.expect("request");
    let status = res.status();
    let set_cookie = res.headers().get("set-cookie").map(|v| {
        v.to_str()
            .expect("request")
            .split(';')
            .next()
            .expect("request")
            .to_string()
    });
    (status, res.text().await.expect("request"), set_cookie)
}

/// A server function's request as a page of the portal sends it: JSON answer, same-origin,
/// the form url-encoded, with `cookie` if given.
fn request(
    app: &TestApp,
    cookie: Option<&str>,
    endpoint: &str,
    form: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let req = app
        .client
        .post(app.url(&format!("/api/{endpoint}")))
        .header("accept", "application/json")
        // What every browser the portal supports sends with a request from its own pages.
        .header("sec-fetch-site", "same-origin")
        .form(form);
    match cookie {
        Some(c) => req.header("cookie", c),
        None => req,
    }
}

/// Saves a holder's notice choices (`save_notice_prefs`, the form's fields).
pub async fn save_prefs(
    app: &TestApp,
    cookie: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let (status, body, _) = call(app, Some(cookie), "save_notice_prefs", form).await;
    (status, body)
}

/// A value as an HTML form sends it: nested fields as `prefix[key]`, list entries as
/// `prefix[0]` (how the campus profile's form names its inputs).
pub fn form_fields(prefix: &str, value: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![(prefix.to_string(), value)];
    while let Some((name, v)) = stack.pop() {
        match v {
            serde_json::Value::Object(map) => {
                stack.extend(map.iter().map(|(k, v)| (format!("{name}[{k}]"), v)));
            }
            serde_json::Value::Array(list) => {
                stack.extend(
                    list.iter()
                        .enumerate()
                        .map(|(i, v)| (format!("{name}[{i}]"), v)),
                );
            }
            serde_json::Value::String(text) => out.push((name, text.clone())),
            serde_json::Value::Null => {}
            other => out.push((name, other.to_string())),
        }
    }
    out
}

/// Sends the campus profile's form as the administration page does.
pub async fn save_profile_form(
    app: &TestApp,
    cookie: &str,
    form: &app::campus_form::ProfileForm,
    reason: &str,
) -> (StatusCode, String) {
    let mut fields = form_fields("form", &serde_json::to_value(form).expect("form"));
    fields.push(("reason".into(), reason.into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, body, _) = call(app, Some(cookie), "admin/save_profile", &pairs).await;
    (status, body)
}

/// The browser cookie of the tests' one browser for a holder (a value as the server makes
/// them): a holder logging in again in a test is not told of a new browser.
pub fn browser_of(login: &str) -> String {
    use sha2::Digest;
    format!(
        "ykt_browser={}",
        hex::encode(sha2::Sha256::digest(login.as_bytes()))
    )
}

pub async fn login(app: &TestApp, login: &str, password: &str) -> String {
    let (status, body, cookie) = call(
        app,
        Some(&browser_of(login)),
        "login",
        &[("login", login), ("password", password)],
    )
    .await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status} {body}"
    );
    let cookie = cookie.expect("session cookie");
    assert!(cookie.starts_with("ykt_session="), "{cookie}");
    cookie
}

/// Logs a holder in from a browser: with `browser`, the browser cookie it kept from an earlier
/// login. Answers the session cookie and the browser cookie the server set.
pub async fn login_from(
    app: &TestApp,
    login: &str,
    password: &str,
    browser: Option<&str>,
) -> (String, String) {
    let form = [("login", login), ("password", password)];
    let res = request(app, browser, "login", &form)
        .send()
        .await
        .expect("request");
    assert!(res.status().is_success(), "{}", res.status());
    let set: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(String::from))
        .collect();
    let find = |name: &str| {
        set.iter()
            .find(|c| c.starts_with(name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {set:?}"))
    };
    (find("ykt_session="), find("ykt_browser="))
}

/// A stored audit text (target, before, after or reason) as the English page shows it.
pub fn english(stored: &str) -> String {
    app::audit_text::AuditText::show(stored, true)
}

/// A stored audit text as the Chinese page shows it.
pub fn chinese(stored: &str) -> String {
    app::audit_text::AuditText::show(stored, false)
}
