//! Starts the real server on 127.0.0.1:0 with a database of its own in a temporary directory.
//! Shared by the integration test binaries; each uses a different part of it.
#![allow(dead_code)]

pub mod device;

use reqwest::StatusCode;
use server::config::{LogFormat, Settings};
use std::net::SocketAddr;
use tempfile::TempDir;

pub struct TestApp {
    pub state: app::server::AppState,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub dir: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub fn settings(dir: &TempDir, demo_holders: usize) -> Settings {
    Settings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: format!("sqlite://{}/test.db", dir.path().display()),
        data_dir: dir.path().to_path_buf(),
        site_root: dir.path().join("site"),
        demo_data: demo_holders > 0,
        demo_holders,
        log_format: LogFormat::Pretty,
        hash_concurrency: 2,
        production: false,
        pepper: None,
        id_hash_key: None,
    }
}

impl TestApp {
    pub async fn spawn(demo_holders: usize) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = settings(&dir, demo_holders);
        Self::spawn_with(dir, settings).await
    }

    pub async fn spawn_with(dir: TempDir, settings: Settings) -> TestApp {
        server::telemetry::init(LogFormat::Pretty);
        let listener = server::bind(settings.addr).await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let state = server::build_state(&settings).await.expect("state");
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

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("join").expect("serve");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }
}

/// Calls a server function with a url-encoded form, as the browser does, with a cookie.
pub async fn call(
    app: &TestApp,
    cookie: Option<&str>,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, Option<String>) {
    let mut req = app
        .client
        .post(app.url(&format!("/api/{endpoint}")))
        .header("accept", "application/json")
        .form(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
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

pub async fn login(app: &TestApp, login: &str, password: &str) -> String {
    let (status, body, cookie) = call(
        app,
        None,
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
