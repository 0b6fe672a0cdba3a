//! Typed configuration: built-in defaults, then an optional TOML file (`YIKATONG_CONFIG`, or
//! `yikatong.toml` in the working directory), then environment variables (`YIKATONG_*`, plus
//! `DATABASE_URL` and the `LEPTOS_SITE_*` variables cargo-leptos sets). Secrets are
//! `SecretString`, which prints as `[REDACTED]` in logs and `Debug` output.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A database URL: the text itself (`Deref`), shown without its password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl std::ops::Deref for DatabaseUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        DatabaseUrl(url)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

/// `scheme://user:password@host/…` with the password replaced by `[REDACTED]`; a URL without
/// a password is returned as it is.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The authority ends at the first '/', '?' or '#'; the credentials at its last '@'.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) if credentials.contains(':') => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{user}:[REDACTED]@{host}")
        }
        _ => authority.to_string(),
    };
    // A password given as a query parameter (`?password=…`, which sqlx accepts) too.
    let path = match path.split_once('?') {
        Some((before, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=[REDACTED]")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            format!("{before}?{}", query.join("&"))
        }
        None => path.to_string(),
    };
    format!("{scheme}://{authority}{path}")
}

/// Which payment provider takes online and automatic top-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentProvider {
    /// The shipped sandbox: its own pay page "pays" any order. No real money moves, so it
    /// would let anyone credit any amount: refused in production.
    Sandbox,
    /// No provider: holders top up at the service centre and the kiosks; the portal says so.
    None,
}

/// Which billers sell a room's electricity and water and the campus network (缴费).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Billers {
    /// The shipped sandbox billers: their meters and deliveries are make-believe, so a
    /// purchase would take real money for nothing: refused in production.
    Sandbox,
    /// None: the portal says 缴费 is not offered here.
    None,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Where to listen. Port 0 picks a free port (the tests do this).
    pub addr: SocketAddr,
    /// `sqlite://path/to/file.db` (default) or `postgres://user:password@host/db`
    /// (optionally `?max_connections=N`; see docs/postgres.md). Its password never reaches a
    /// log: `Debug` prints the URL with the password as `[REDACTED]`.
    pub database_url: DatabaseUrl,
    /// Holds the SQLite file and the generated secrets file.
    pub data_dir: PathBuf,
    /// Where cargo-leptos put the site: `pkg/` (wasm, js, css) and the public assets.
    pub site_root: PathBuf,
    /// The `hash.txt` of the build whose site this is (`YIKATONG_HASH_FILE`). Unset: beside
    /// the server binary, where cargo-leptos writes it and leptos looks for it.
    #[serde(default)]
    pub hash_file: Option<PathBuf>,
    /// Fill an empty database with the demo campus. Refused in production: its logins are
    /// published in the README.
    pub demo_data: bool,
    /// How many demo cardholders to create.
    pub demo_holders: usize,
    pub log_format: LogFormat,
    /// How many password hashes may run at once (argon2 is CPU and memory heavy).
    pub hash_concurrency: usize,
    /// Production mode: no auto-reload script, `Secure` cookies expected behind HTTPS. A
    /// production server refuses to start with the sandbox provider or demo data.
    pub production: bool,
    /// The payment provider for online top-ups (`sandbox` or `none`).
    pub payment_provider: PaymentProvider,
    /// The billers for 缴费 (`sandbox` or `none`).
    pub billers: Billers,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    /// Empty (the default): the TCP peer is the client, and the header is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The password pepper. When unset, taken from (or generated into) `data_dir/secrets.toml`.
    pub pepper: Option<SecretString>,
    /// The key for hashing ID numbers. Same fallback as `pepper`.
    pub id_hash_key: Option<SecretString>,
    /// The data key (64 hex digits) that seals TOTP secrets, pay-code keys and bank accounts
    /// in the database. Same fallback as `pepper`.
    pub data_key: Option<SecretString>,
    /// Start the server's clock at this moment (RFC 3339) instead of now; it runs on in real
    /// time from there. For tests and demonstrations only: refused in production.
    #[serde(default)]
    pub clock_start: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// With `clock_start`: `POST /test/clock` from this machine moves the clock on (the
    /// end-to-end journeys that need time to pass). Off unless asked for; refused without
    /// `clock_start`, so never in production.
    #[serde(default)]
    pub clock_control: bool,
    /// The mail server notices go out through (`YIKATONG_SMTP_URL`): `smtps://user:password@host`,
    /// `smtp://user:password@host:587?tls=required`, or `smtp://127.0.0.1:25` for a relay on
    /// this machine. Unset: no e-mail, notices stay in the portal's inbox. Its password never
    /// reaches a log.
    #[serde(default)]
    pub smtp_url: Option<SecretString>,
    /// The sender of notices (`YIKATONG_MAIL_FROM`), e.g. `一卡通 <card@example.edu.cn>`.
    #[serde(default)]
    pub mail_from: Option<String>,
    /// The portal's address as students reach it (`YIKATONG_PUBLIC_URL`), for the links in
    /// e-mails, e.g. `https://card.example.edu.cn`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Who the browsers' push services may write to about this server
    /// (`YIKATONG_PUSH_CONTACT`, the VAPID `sub`): `mailto:card@example.edu.cn` or an `https:`
    /// URL. Unset: `YIKATONG_PUBLIC_URL` when it is HTTPS, else the address of
    /// `YIKATONG_MAIL_FROM`; without either, notices are not pushed in production (a demo
    /// uses `mailto:card-office@localhost`). See `push_contact`.
    #[serde(default)]
    pub push_contact: Option<String>,
    /// The push services notices are posted to (`YIKATONG_PUSH_SERVICES`, a list): host names,
    /// reached over HTTPS (the host or a subdomain), or whole origins such as
    /// `http://127.0.0.1:8025`. The default names the push services of Chrome, Edge, Firefox,
    /// Safari and Windows; the server never posts anywhere else, whatever a browser says. An
    /// empty list turns push off.
    #[serde(default = "default_push_services")]
    pub push_services: Vec<String>,
}

/// The browsers' own push services (`app::server::domain::push::KNOWN_SERVICES`).
pub fn default_push_services() -> Vec<String> {
    app::server::domain::push::KNOWN_SERVICES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The defaults, as a serializable shape figment can merge under the other sources.
#[derive(Serialize)]
struct Defaults {
    addr: SocketAddr,
    database_url: DatabaseUrl,
    data_dir: PathBuf,
    site_root: PathBuf,
    demo_data: bool,
    demo_holders: usize,
    log_format: LogFormat,
    hash_concurrency: usize,
    production: bool,
    payment_provider: PaymentProvider,
    billers: Billers,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: DatabaseUrl("sqlite://data/yikatong.db".into()),
            data_dir: PathBuf::from("data"),
            site_root: PathBuf::from("target/site"),
            demo_data: true,
            demo_holders: 48,
            log_format: LogFormat::Pretty,
            hash_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            production: false,
            payment_provider: PaymentProvider::Sandbox,
            billers: Billers::Sandbox,
        }
    }
}

impl Settings {
    /// Refuses what must never run with real money: the sandbox provider (it credits any
    /// amount to anyone who asks) and the demo campus (its logins are public). The message says
    /// what to set instead.
    pub fn check_production(&self) -> Result<(), String> {
        if !self.production {
            return Ok(());
        }
        let mut wrong = Vec::new();
        if self.payment_provider == PaymentProvider::Sandbox {
            wrong.push(
                "the sandbox payment provider credits money nobody paid: set YIKATONG_PAYMENT_PROVIDER=none (holders then top up at the service centre and the kiosks)",
            );
        }
        if self.billers == Billers::Sandbox {
            wrong.push(
                "the sandbox billers take money for electricity, water and network time nobody delivers: set YIKATONG_BILLERS=none until a real biller is configured",
            );
        }
        if self.demo_data {
            wrong.push(
                "the demo campus has published logins: set YIKATONG_DEMO_DATA=false, then create the first administrator with `server create-admin USERNAME`",
            );
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "refusing to start in production (YIKATONG_PRODUCTION=true): {}",
                wrong.join("; ")
            ))
        }
    }

    /// The contact the push services are given, if notices are to be pushed (see the field).
    pub fn push_contact(&self) -> Option<String> {
        if let Some(contact) = &self.push_contact {
            return Some(contact.trim().to_string());
        }
        if let Some(url) = &self.public_url
            && url.starts_with("https://")
        {
            return Some(url.trim_end_matches('/').to_string());
        }
        let sender = self.mail_from.as_deref().and_then(|from| {
            let address = from.rsplit('<').next()?.trim_end_matches('>').trim();
            address.contains('@').then(|| format!("mailto:{address}"))
        });
        sender.or_else(|| (!self.production).then(|| "mailto:card-office@localhost".into()))
    }

    /// Reads the configuration from the process environment and the optional file.
    pub fn load() -> Result<Settings, Box<figment::Error>> {
        Self::figment().extract().map_err(Box::new)
    }

    pub fn figment() -> Figment {
        let file = std::env::var("YIKATONG_CONFIG").unwrap_or_else(|_| "yikatong.toml".into());
        Figment::from(Serialized::defaults(Defaults::default()))
            .merge(
                Env::raw()
                    .only(&["LEPTOS_SITE_ADDR"])
                    .map(|_| "addr".into()),
            )
            .merge(
                Env::raw()
                    .only(&["LEPTOS_SITE_ROOT"])
                    .map(|_| "site_root".into()),
            )
            .merge(Toml::file(file))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(Env::prefixed("YIKATONG_").ignore(&["CONFIG"]))
    }
}

#[cfg(test)]
// figment's test jail returns its own (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_defaults_and_secrets_are_redacted() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("YIKATONG_ADDR", "127.0.0.1:0");
            jail.set_env("YIKATONG_PEPPER", "very-secret-pepper");
            jail.set_env("DATABASE_URL", "sqlite://elsewhere.db");
            let s: Settings = Settings::figment().extract()?;
            assert_eq!(s.addr.port(), 0);
            assert_eq!(&*s.database_url, "sqlite://elsewhere.db");
            assert!(s.demo_data);
            let shown = format!("{s:?}");
            assert!(!shown.contains("very-secret-pepper"), "{shown}");
            Ok(())
        });
    }

    #[test]
    fn push_services_are_given_the_contact_the_campus_set() {
        figment::Jail::expect_with(|jail| {
            let base: Settings = Settings::figment().extract()?;
            assert_eq!(base.push_services, default_push_services());
            let with =
                |contact: Option<&str>, url: Option<&str>, from: Option<&str>, prod| Settings {
                    push_contact: contact.map(String::from),
                    public_url: url.map(String::from),
                    mail_from: from.map(String::from),
                    production: prod,
                    ..base.clone()
                };
            let cases = [
                (
                    with(Some("mailto:a@b.cn"), Some("https://card.b.cn"), None, true),
                    Some("mailto:a@b.cn"),
                ),
                (
                    with(None, Some("https://card.b.cn/"), Some("卡 <c@b.cn>"), true),
                    Some("https://card.b.cn"),
                ),
                (
                    with(
                        None,
                        Some("http://card.b.cn"),
                        Some("一卡通 <c@b.cn>"),
                        true,
                    ),
                    Some("mailto:c@b.cn"),
                ),
                (
                    with(None, None, Some("c@b.cn"), true),
                    Some("mailto:c@b.cn"),
                ),
                (with(None, None, None, true), None),
                (with(None, None, Some("no address"), true), None),
                (
                    with(None, None, None, false),
                    Some("mailto:card-office@localhost"),
                ),
            ];
            for (i, (settings, contact)) in cases.iter().enumerate() {
                assert_eq!(settings.push_contact().as_deref(), *contact, "case {i}");
            }
            jail.set_env(
                "YIKATONG_PUSH_SERVICES",
                r#"["fcm.googleapis.com","http://127.0.0.1:8025"]"#,
            );
            let set: Settings = Settings::figment().extract()?;
            assert_eq!(
                set.push_services,
                ["fcm.googleapis.com", "http://127.0.0.1:8025"]
            );
            Ok(())
        });
    }

    #[test]
    fn database_passwords_never_reach_a_log() {
        for (url, shown) in [
            (
                "postgres://ykt:s3cret@db.internal:5432/yikatong?max_connections=8",
                "postgres://ykt:[REDACTED]@db.internal:5432/yikatong?max_connections=8",
            ),
            (
                "postgres://ykt:p@ss@word@db/yikatong",
                "postgres://ykt:[REDACTED]@db/yikatong",
            ),
            ("postgres://ykt@db/yikatong", "postgres://ykt@db/yikatong"),
            (
                "postgres://db/yikatong?user=ykt&password=s3cret&sslmode=require",
                "postgres://db/yikatong?user=ykt&password=[REDACTED]&sslmode=require",
            ),
            ("sqlite://data/yikatong.db", "sqlite://data/yikatong.db"),
        ] {
            assert_eq!(redact_url(url), shown);
        }
        figment::Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://ykt:s3cret@db/yikatong");
            let s: Settings = Settings::figment().extract()?;
            let logged = format!("{s:?}");
            assert!(!logged.contains("s3cret"), "{logged}");
            assert!(logged.contains("[REDACTED]@db/yikatong"), "{logged}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_is_a_clear_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("YIKATONG_ADDR", "not-an-address");
            let err = Settings::figment()
                .extract::<Settings>()
                .err()
                .map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("addr")));
            Ok(())
        });
    }
}
