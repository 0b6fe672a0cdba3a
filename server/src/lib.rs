//! Builds the Yikatong server from settings. `main.rs` uses it to serve; the integration
//! tests use it to start a real server on port 0 with a database of their own.

pub mod biller_http;
pub mod config;
pub mod device_api;
pub mod device_client;
pub mod events;
pub mod secrets;
pub mod site_files;
pub mod telemetry;
pub mod topup_http;

use app::error::AppError;
use app::server::clock::Clock;
use app::server::store::{self, StoreError};
use app::server::{AppState, PasswordHasher};
use app::{App, shell};
use axum::Router;
use axum::extract::State;
use axum::handler::Handler;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use config::Settings;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Why the server could not start. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("bad configuration: {0}")]
    Config(#[from] Box<figment::Error>),
    #[error(
        "the data directory {path} is not writable ({source}); set YIKATONG_DATA_DIR to a writable directory"
    )]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read or create the secrets file {path}: {reason}")]
    Secrets { path: String, reason: String },
    #[error("address {addr} is already in use; stop the other server or set YIKATONG_ADDR")]
    AddrInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("demo data: {0}")]
    Demo(#[from] app::server::demo::DemoError),
    #[error("{0}")]
    Usage(String),
}

/// The bundle's name (`name` in the workspace's leptos metadata) and its folder in the site.
const OUTPUT_NAME: &str = "yikatong";
const PKG_DIR: &str = "pkg";

/// Where the build's `hash.txt` is: the setting, or beside the server binary.
fn hash_file(settings: &Settings) -> Result<std::path::PathBuf, StartupError> {
    std::path::absolute(
        settings
            .hash_file
            .clone()
            .unwrap_or_else(site_files::default_hash_file),
    )
    .map_err(|e| StartupError::Usage(format!("the hash file's path: {e}")))
}

/// Before serving: the site is there, and its files are the ones `hash.txt` names. A server
/// without its site, or whose pages would name files the site does not have, would serve
/// pages that never load their code; it refuses to start, saying what is missing.
pub fn check_site(settings: &Settings) -> Result<site_files::SiteFiles, StartupError> {
    let pkg = settings.site_root.join(PKG_DIR);
    if !pkg.is_dir() {
        return Err(StartupError::Usage(format!(
            "no site at {}: build it first (scripts/run.sh does), or set YIKATONG_SITE_ROOT to the site of the build",
            pkg.display()
        )));
    }
    site_files::SiteFiles::load(
        &settings.site_root,
        OUTPUT_NAME,
        PKG_DIR,
        &hash_file(settings)?,
    )
    .map_err(StartupError::Usage)
}

/// Opens the database (migrating it), loads secrets, and fills an empty database with the
/// demo campus when that is configured. The clock is the system's, or in a non-production
/// server the one `clock_start` (`YIKATONG_CLOCK_START`) sets going.
pub async fn build_state(settings: &Settings) -> Result<AppState, StartupError> {
    settings.check_production().map_err(StartupError::Usage)?;
    if settings.clock_control && settings.clock_start.is_none() {
        return Err(StartupError::Usage(
            "YIKATONG_CLOCK_CONTROL moves a chosen clock: it needs YIKATONG_CLOCK_START".into(),
        ));
    }
    let clock = match settings.clock_start {
        None => Clock::system(),
        Some(_) if settings.production => {
            return Err(StartupError::Usage(
                "YIKATONG_CLOCK_START is for tests and demonstrations; a production server runs on the system clock".into(),
            ));
        }
        Some(start) => {
            tracing::warn!(start = %start, "the server's clock starts at a chosen moment, not now");
            Clock::starting_at(start.with_timezone(&chrono::Utc))
        }
    };
    build_state_with_clock(settings, clock).await
}

/// The same on a given clock (the integration tests hand in one they control).
pub async fn build_state_with_clock(
    settings: &Settings,
    clock: Clock,
) -> Result<AppState, StartupError> {
    settings.check_production().map_err(StartupError::Usage)?;
    // The pages name the bundle's files as `hash.txt` says when there is one (`check_site`,
    // before serving, checks it against the site; the command-line tasks need no site).
    let hash_file = hash_file(settings)?;
    std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartupError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    restrict(&settings.data_dir, 0o700).map_err(|source| StartupError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    let secrets = secrets::load(settings)?;
    let db = store::open_with_clock(&settings.database_url, clock.clone()).await?;
    // The SQLite file and its journals hold every balance and hash: the server's user only.
    // (SQLite creates later journals with the database file's mode.)
    if let Some(file) = sqlite_file(&settings.database_url) {
        for path in [
            file.clone(),
            format!("{}-wal", file.display()).into(),
            format!("{}-shm", file.display()).into(),
        ] {
            if path.exists() {
                restrict(&path, 0o600).map_err(|source| StartupError::DataDir {
                    path: path.display().to_string(),
                    source,
                })?;
            }
        }
    }
    let hasher = PasswordHasher::new(secrets.pepper.clone(), settings.hash_concurrency);
    if settings.demo_data {
        let loaded = app::server::demo::seed_if_empty(
            db.as_ref(),
            &hasher,
            secrets.id_hash_key.expose_secret().as_bytes(),
            &secrets.sealer,
            settings.demo_holders,
            clock.now(),
        )
        .await?;
        if loaded {
            tracing::info!(
                holders = settings.demo_holders,
                "loaded the demo campus into an empty database"
            );
        }
    } else if db.campus_profile().await?.is_none() {
        // Even without demo people, the public pages need the campus facts.
        db.save_campus_profile(&app::server::campus::demo_profile())
            .await?;
    }
    // The data key must be the one the database's secrets were sealed with: another would
    // lock every staff member and 深职通码 out, and seal what follows unreadably.
    for (kind, sample) in db.sealed_samples().await? {
        if secrets.sealer.open(kind, &sample).is_err() {
            return Err(StartupError::Secrets {
                path: settings.data_dir.join("secrets.toml").display().to_string(),
                reason: "the data key does not open the secrets sealed in this database; restore \
                         the secrets.toml (or YIKATONG_DATA_KEY) they were sealed with"
                    .into(),
            });
        }
    }
    // Values written before secrets were sealed at rest (`app::server::sealing`).
    let sealer = secrets.sealer.clone();
    let sealed = db
        .seal_plain_values(&move |kind, plain| sealer.seal(kind, plain))
        .await?;
    if sealed > 0 {
        tracing::info!(values = sealed, "sealed secrets stored in plain text");
    }
    let leptos_options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(settings.site_root.display().to_string())
        .site_pkg_dir(PKG_DIR)
        // An absolute path: leptos joins it to the binary's folder, which leaves it as it is.
        .hash_file(std::sync::Arc::from(hash_file.display().to_string()))
        .hash_files(hash_file.is_file())
        .site_addr(settings.addr)
        .env(if settings.production {
            Env::PROD
        } else {
            Env::DEV
        })
        .build();
    let mut state = AppState::new(
        leptos_options,
        db,
        secrets,
        hasher,
        settings.production,
        clock,
        settings.payment_provider == config::PaymentProvider::Sandbox,
    );
    state.trusted_proxies = std::sync::Arc::new(settings.trusted_proxies.clone());
    if settings.billers == config::Billers::Sandbox {
        use secrecy::ExposeSecret;
        let (notices, heard) = tokio::sync::mpsc::unbounded_channel();
        state.billers = app::server::billers::Sandbox::both(
            state.secrets.id_hash_key.expose_secret().as_bytes(),
            &state.db,
            &state.clock,
            notices,
        );
        app::server::utilities::run(state.clone(), heard);
        app::server::utilities::run_automatic_top_ups(state.clone());
    }
    if let Some(url) = &settings.smtp_url {
        use secrecy::ExposeSecret;
        let (Some(from), Some(public_url)) = (&settings.mail_from, &settings.public_url) else {
            return Err(StartupError::Usage(
                "YIKATONG_SMTP_URL is set: set YIKATONG_MAIL_FROM (the sender, e.g. \"一卡通 <card@example.edu.cn>\") and YIKATONG_PUBLIC_URL (the portal's address for links, e.g. https://card.example.edu.cn) too".into(),
            ));
        };
        let mailer = app::server::mail::Mailer::new(url.expose_secret(), from, public_url)
            .map_err(StartupError::Usage)?;
        // Started by `main` when it serves (not for the commands that only build the state).
        state.mailer = Some(std::sync::Arc::new(mailer));
    }
    match settings.push_contact() {
        Some(contact) if !settings.push_services.is_empty() => {
            use secrecy::ExposeSecret;
            let pusher = app::server::push::Pusher::new(
                state.secrets.id_hash_key.expose_secret().as_bytes(),
                &contact,
                settings.push_services.clone(),
            )
            .map_err(StartupError::Usage)?;
            state.pusher = Some(std::sync::Arc::new(pusher));
        }
        Some(_) => {
            tracing::info!("notices are not pushed to browsers: YIKATONG_PUSH_SERVICES is empty")
        }
        None => tracing::warn!(
            "notices are not pushed to browsers: set YIKATONG_PUSH_CONTACT (mailto: or https:) or YIKATONG_PUBLIC_URL"
        ),
    }
    // Read the campus profile before the first page: no page waits for it afterwards.
    state.campus.get(&state.db).await?;
    // Code pages here hear of payments the other servers of the database make.
    app::server::code_events::relay(state.code_events.clone(), &state.db).await;
    Ok(state)
}

/// Sets a file's or directory's mode (Unix; elsewhere nothing to do).
fn restrict(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// The file of a `sqlite://` URL (without its `?options`).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// The whole HTTP application; on a chosen clock (the tests' own), with `POST /test/clock`.
pub fn router(state: AppState) -> Router {
    let clock_control = !state.clock.is_system();
    router_with(state, clock_control)
}

/// Whether the server has `POST /test/clock`: only when asked for, and never on the system
/// clock (production's).
pub fn clock_route(clock: &Clock, asked: bool) -> bool {
    asked && !clock.is_system()
}

/// The app's routes, listed once per process. Listing renders the app with every resource
/// held back by a flag that is global to the process (leptos's `SuppressResourceLoad`): a page
/// rendered meanwhile by another server in the same process (the integration tests run
/// several) would wait forever for its data, streaming half a page.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The request log's span: the method and the path, never the query, which can carry a
/// secret (an e-mail confirmation link's token). Under tower-http's own target, so
/// `RUST_LOG=tower_http=debug` shows it as before.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(target: "tower_http::trace::make_span", "request", method = %req.method(), path = %req.uri().path(), version = ?req.version())
}

/// The whole HTTP application. `clock_control`: `POST /test/clock` moves the server's chosen
/// clock on (`Settings::clock_control`; never on the system clock).
pub fn router_with(state: AppState, clock_control: bool) -> Router {
    let routes = route_list();
    let x_request_id = HeaderName::from_static("x-request-id");
    let options = &state.leptos_options;
    let site_root = std::path::Path::new(&*options.site_root);
    let site = std::sync::Arc::new(
        site_files::SiteFiles::load(
            site_root,
            &options.output_name,
            &options.site_pkg_dir,
            std::path::Path::new(&*options.hash_file),
        )
        .unwrap_or_else(|e| {
            // `check_site` refuses such a site before serving; a state made otherwise (the
            // tests') gets the plain names.
            tracing::error!(error = %e, "the site's file names");
            site_files::SiteFiles::plain(&options.output_name, &options.site_pkg_dir)
        }),
    );
    // The service worker and the offline page, naming this build's files.
    let mut site_texts = Router::new();
    for (path, content_type) in [
        ("sw.js", "text/javascript; charset=utf-8"),
        ("offline.html", "text/html; charset=utf-8"),
    ] {
        if let Some(text) = site_files::SiteText::load(
            site_root,
            path,
            content_type,
            &site,
            &options.output_name,
            &options.site_pkg_dir,
        ) {
            site_texts = site_texts.route(
                &format!("/{path}"),
                get(move |headers: axum::http::HeaderMap| async move { text.respond(&headers) }),
            );
        }
    }
    Router::new()
        .route("/healthz", get(healthz))
        .merge(site_texts)
        .route("/portal/history.csv", get(history_csv))
        .route("/events/pay-code", get(events::pay_code))
        .route("/staff/reports.csv", get(reports_csv))
        .merge(if !clock_route(&state.clock, clock_control) {
            Router::new()
        } else {
            // A server on a chosen clock (tests and demonstrations only; production refuses
            // one) lets the machine it runs on move that clock on.
            Router::new().route("/test/clock", axum::routing::post(move_clock))
        })
        .merge(device_api::router())
        .merge(biller_http::router())
        .merge(if state.sandbox.is_some() {
            topup_http::router()
        } else {
            Router::new()
        })
        .leptos_routes_with_context(&state, routes, response_nonce, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        // The site's files, with their validators honoured (a revisit costs a `304`), as
        // stored compressed at build time when the browser takes that; anything else is the
        // app's error page. (leptos_axum's own file handler drops `If-Modified-Since`.)
        .fallback_service(
            ServeDir::new(&*state.leptos_options.site_root)
                .precompressed_br()
                .precompressed_gzip()
                // A POST to no route is the app's 404 too, not "method not allowed".
                .call_fallback_on_method_not_allowed(true)
                .fallback(
                    leptos_axum::file_and_error_handler_with_context::<AppState, _>(
                        response_nonce,
                        shell,
                    )
                    .with_state(state.clone()),
                ),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            portal_guard,
        ))
        .layer(axum::middleware::from_fn(same_origin_only))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            content_security_policy,
        ))
        .layer(axum::middleware::from_fn(body_limit))
        .layer(axum::middleware::from_fn_with_state(site, cache_policy))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            real_client,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("strict-transport-security"),
            // Sent only by a production server (served over HTTPS): a browser that saw it once
            // never talks plain HTTP to this host again.
            state
                .secure_cookies
                .then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains")),
        ))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// Liveness and readiness in one: 200 when the database answers, 503 when it does not. It
/// also says the server's time (as any HTTP `Date` header does), so a device or a test can
/// check that its clock agrees.
#[derive(serde::Deserialize)]
struct MoveClock {
    /// Seconds to move the clock on (at most a year).
    advance_secs: i64,
}

/// `POST /test/clock`: moves a chosen clock on, for the end-to-end journeys that need time to
/// pass (a session's idle limit). Only from the same machine; absent on the system clock.
async fn move_clock(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    axum::Json(body): axum::Json<MoveClock>,
) -> axum::response::Response {
    if !peer.ip().is_loopback() {
        return (StatusCode::FORBIDDEN, "only from this machine").into_response();
    }
    if !(0..=366 * 86_400).contains(&body.advance_secs) {
        return (StatusCode::BAD_REQUEST, "advance_secs: 0 to a year").into_response();
    }
    if !state
        .clock
        .advance(chrono::Duration::seconds(body.advance_secs))
    {
        return (StatusCode::CONFLICT, "the system clock cannot be moved").into_response();
    }
    axum::Json(serde_json::json!({ "time": state.now().to_rfc3339() })).into_response()
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let backend = state.db.backend().as_str();
    let time = state
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "ok", "database": backend, "time": time })),
        ),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "unavailable", "database": backend })),
            )
        }
    }
}

/// Gives each response its own CSP nonce: made here, handed to the page render through the
/// request (see `response_nonce`), where Leptos puts it on every script it writes (the
/// hydration script, serialized resources, the swaps of streamed suspense), and sent in the
/// `Content-Security-Policy` header. No other inline script runs; the wasm needs
/// `'wasm-unsafe-eval'`; the few computed `style=""` widths (charts, the limit meter) need
/// `style-src-attr 'unsafe-inline'`, which does not admit `<style>` elements.
async fn content_security_policy(
    State(state): State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let nonce = leptos::nonce::Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut res = next.run(req).await;
    // A development server's reload script talks over a WebSocket.
    let reload = if state.secure_cookies {
        ""
    } else {
        " ws: wss:"
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        res.headers_mut()
            .entry(axum::http::header::CONTENT_SECURITY_POLICY)
            .or_insert(value);
    }
    res
}

/// In a page render or server function: the nonce `content_security_policy` made for this
/// response, in place of the random one leptos_axum would provide (and nobody would know).
fn response_nonce() {
    if let Some(nonce) = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<leptos::nonce::Nonce>().cloned())
    {
        provide_context(nonce);
    }
}

/// Whether a path names one of the site's files (`public/` and the built `pkg/`) rather than a
/// page, a server function or the device API.
pub fn is_static_file(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.starts_with("/icons/")
        || matches!(
            path,
            "/favicon.svg"
                | "/manifest.webmanifest"
                | "/offline.html"
                | "/sw.js"
                | "/sw-register.js"
        )
}

/// How long a browser may keep what it gets, when the handler did not say.
/// - The bundle's files with hashed names (a release build's): for a year, `immutable`, since
///   a new release names new files. Only when found: a `404` for an old name is not kept.
/// - The site's other files keep their names from one release to the next, so a browser asks
///   again every time (`no-cache`: an unchanged file costs a `304`, and a new release is never
///   mixed with an old bundle).
/// - Everything else (pages with a balance on them, server answers) is never stored
///   (`no-store`): after logging out on a shared computer, Back shows nothing.
async fn cache_policy(
    State(site): State<std::sync::Arc<site_files::SiteFiles>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path();
    let static_file = is_static_file(path);
    let immutable = site.is_immutable(path);
    let mut res = next.run(req).await;
    let found = res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED;
    let headers = res.headers_mut();
    headers
        .entry(axum::http::header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(if immutable && found {
            site_files::IMMUTABLE
        } else if static_file {
            "no-cache"
        } else {
            "no-store"
        }));
    if static_file {
        // The same address answers brotli, gzip or plain bytes: a shared cache must keep
        // them apart.
        headers
            .entry(axum::http::header::VARY)
            .or_insert(HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// The largest request body: small everywhere (a form, a device's sale), larger only for the
/// lists the card office pastes: the CSV import of students (2,000 rows), a list of bills
/// (2,000) and the room list (5,000 rooms), url-encoded.
pub const MAX_BODY: usize = 64 * 1024;
pub const MAX_IMPORT_BODY: usize = 4 * 1024 * 1024;
const IMPORT_PATHS: [&str; 3] = [
    "/api/staff/import",
    "/api/staff/issue_bills",
    "/api/admin/add_rooms",
];

/// Reads at most the route's limit of a request body before anything else sees it: a larger
/// one (announced or chunked) gets 413 with a JSON error, and memory stays flat however much
/// a client sends.
async fn body_limit(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let limit = if IMPORT_PATHS.contains(&req.uri().path()) {
        MAX_IMPORT_BODY
    } else {
        MAX_BODY
    };
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(serde_json::json!({
                "error": "payload_too_large",
                "message": format!("the request body is over {} KiB", limit / 1024),
            })),
        )
            .into_response()
    };
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        // Over the limit (or the client went away mid-body: it reads no answer either way).
        Err(_) => too_large(),
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted reverse proxy, the
/// address it says it forwarded for: the rightmost `X-Forwarded-For` entry that is not itself
/// a trusted proxy (the entries further left are whatever the client chose to send). Written
/// over the request's `ConnectInfo`, so throttles, sessions and audit records all see it.
async fn real_client(
    State(state): State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::extract::ConnectInfo;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if let Some(peer) = peer
        && let Some(client) = forwarded_client(&state.trusted_proxies, peer, req.headers())
    {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, 0)));
    }
    next.run(req).await
}

/// The forwarded client behind a trusted `peer`, if any (see `real_client`).
pub fn forwarded_client(
    trusted: &[ipnet::IpNet],
    peer: SocketAddr,
    headers: &axum::http::HeaderMap,
) -> Option<std::net::IpAddr> {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer.ip()) {
        return None;
    }
    let mut hops: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        hops.extend(value.to_str().ok()?.split(','));
    }
    // From the right: our proxies' own entries are skipped; the first other one is the client.
    // A hop that is not an address before that point makes the header untrustworthy; what
    // stands further left is the client's own claim and is never read.
    for hop in hops.into_iter().rev() {
        let ip: std::net::IpAddr = hop.trim().parse().ok()?;
        if !is_trusted(&ip) {
            return Some(ip);
        }
    }
    None
}

/// Refuses state-changing requests a browser sends from another site. Browsers mark every
/// request with `Sec-Fetch-Site`, and cross-site POSTs with `Origin`. A request that carries
/// one of our session cookies but no `Sec-Fetch-Site` (an old WebView) must show a same-origin
/// `Origin` or `Referer`; a request with neither cookie nor headers is not from a browser
/// (devices, scripts) and is left to its own authentication.
async fn same_origin_only(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(req.headers()) {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), "refused a cross-site request");
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(req).await
}

/// Whether a state-changing request may proceed (see `same_origin_only`).
pub fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let text = |name: axum::http::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text(axum::http::header::HOST);
    // "https://host" or "http://host", and for a Referer anything under it.
    let ours = |url: &str| {
        host.is_some_and(|h| {
            ["http://", "https://"].iter().any(|scheme| {
                url.strip_prefix(scheme)
                    .and_then(|rest| rest.strip_prefix(h))
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
        })
    };
    if let Some(site) = text(HeaderName::from_static("sec-fetch-site")) {
        return (site == "same-origin" || site == "none")
            && text(axum::http::header::ORIGIN).is_none_or(ours);
    }
    if let Some(origin) = text(axum::http::header::ORIGIN) {
        return ours(origin);
    }
    let has_session_cookie = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, _)| name.trim_start_matches("__Host-").starts_with("ykt_"));
    if !has_session_cookie {
        return true;
    }
    text(axum::http::header::REFERER).is_some_and(ours)
}

/// Portal pages need a session: without one the browser is sent to `/login`, and a holder
/// with the initial password to the password page, before any page is rendered. (The app
/// repeats the check for navigation inside the hydrated page.)
async fn portal_guard(
    State(state): State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path().to_owned();
    let path = path.as_str();
    let get = req.method() == axum::http::Method::GET && !path.ends_with(".csv");
    let is_page = get && (path == "/portal" || path.starts_with("/portal/"));
    let is_staff_page = get && (path == "/staff" || path.starts_with("/staff/"))
            // Before a session: the login, and an enrolment link's page (the link is the
            // credential there).
            && path != "/staff/login"
            && path != "/staff/welcome";
    if !is_page && !is_staff_page {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client = app::server::client_from_parts(req.headers(), peer, state.secure_cookies);
    if is_staff_page {
        // The role of each page is checked again by every server function it calls.
        return match app::server::staff::session(&state, &client, state.now()).await {
            // A published demo password is changed before anything else.
            Ok(Some(s)) if s.must_change_password && path != "/staff/password" => {
                axum::response::Redirect::to("/staff/password").into_response()
            }
            Ok(Some(s)) => {
                // The page's guard reads the role from here (`StaffGate`).
                req.extensions_mut()
                    .insert(app::pages::staff::StaffRoleHere(s.role));
                next.run(req).await
            }
            Ok(None) => axum::response::Redirect::to("/staff/login").into_response(),
            Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        };
    }
    if path == app::pages::portal::CODE_PAGE {
        // The code page: also for a remembered phone alone, and, rendered for nobody, for the
        // service worker that keeps it for offline use (`x-ykt-shell`; the page holds nothing
        // personal then and makes its code from the phone's own storage).
        let shell = req.headers().contains_key("x-ykt-shell");
        let open = match app::server::phone::code_viewer(&state, &client, false).await {
            Ok(_) => true,
            Err(AppError::Unauthorized) => shell,
            Err(AppError::Rejected(app::portal_model::Problem::PasswordChangeRequired)) => {
                return axum::response::Redirect::to("/portal/password").into_response();
            }
            Err(AppError::Rejected(_)) => true,
            Err(_) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
        };
        return if open {
            let mut response = next.run(req).await;
            // Rendered for nobody, the shell says "log in" inside a page: not a refusal (a 401
            // here is logged in the page's console as a failed fetch of the worker's).
            if shell && response.status() == StatusCode::UNAUTHORIZED {
                *response.status_mut() = StatusCode::OK;
            }
            response
        } else {
            axum::response::Redirect::to("/login").into_response()
        };
    }
    let target = match app::server::auth::holder_session(&state, &client, state.now()).await {
        Ok(None) => Some("/login"),
        Ok(Some(s)) if s.must_change_password && path != "/portal/password" => {
            Some("/portal/password")
        }
        Ok(Some(_)) => None,
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
    };
    match target {
        Some(to) => axum::response::Redirect::to(to).into_response(),
        None => next.run(req).await,
    }
}

/// The holder's filtered history as CSV (UTF-8 with BOM, so spreadsheet programs read the
/// Chinese correctly).
async fn history_csv(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<axum::response::Response, AppError> {
    use app::portal_model::HistoryFilter;
    use app::server::{auth, client_from_parts, portal};
    let client = client_from_parts(&headers, Some(peer), state.secure_cookies);
    let session = auth::require_holder(&state, &client, false).await?;
    let filter = HistoryFilter::from_pairs(|k| query.get(k).map(String::as_str));
    let rows = portal::history_rows(&state, &session, &filter).await?;
    let tz = app::server::domain::calendar::campus_tz();
    let mut out = String::from("\u{feff}time,type,merchant,amount,balance_after,memo\n");
    for e in rows {
        let at = chrono::DateTime::parse_from_rfc3339(&e.at)
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or(e.at.clone());
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            at,
            e.kind.as_str(),
            app::server::csv::field(e.merchant_zh.as_deref().unwrap_or("")),
            e.amount.yuan_string(),
            e.balance_after.yuan_string(),
            app::server::csv::field(&e.memo),
        ));
    }
    Ok(csv_download("yikatong-history.csv", out))
}

/// A CSV file to download, never cached.
fn csv_download(name: &str, body: String) -> axum::response::Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// One report as CSV, for administrators and auditors.
async fn reports_csv(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<axum::response::Response, AppError> {
    use app::server::{admin, client_from_parts, staff};
    let client = client_from_parts(&headers, Some(peer), state.secure_cookies);
    let who = staff::require(&state, &client, staff::roles::OVERSIGHT).await?;
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or("");
    let (name, body) = admin::report_download(&state, &who, get("from"), get("to"), get("report"))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(csv_download(&name, body))
}

/// Binds the listening socket, turning "address in use" into a message a person can act on.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            StartupError::AddrInUse { addr }
        } else {
            StartupError::Bind { addr, source }
        }
    })
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
