//! Reads the configuration, opens and migrates the database, and serves until Ctrl-C/SIGTERM.
//!
//! `server create-admin USERNAME` creates an administrator with no password and prints a
//! one-time enrolment link (24 hours): whoever opens it sets the password and scans the second
//! factor. The way to the first administrator of a production campus, which has no demo data.
//!
//! `server issue-device-key CODE...` issues (or rotates) each device's credential and prints
//! the private keys once, one line each; the server keeps only the public keys.
//!
//! `server copy-to-postgres SQLITE_URL POSTGRES_URL` copies a whole SQLite database into an
//! empty PostgreSQL database, checks every balance and journal total, and commits only if they
//! match (docs/postgres.md). Stop the server first so nothing is written after the copy.

use server::config::Settings;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => run().await,
        ["issue-device-key", codes @ ..] if !codes.is_empty() => issue_device_keys(codes).await,
        ["create-admin", username] => create_admin(username).await,
        ["copy-to-postgres", from, to] => copy_to_postgres(from, to).await,
        _ => {
            eprintln!(
                "usage: server                       serve the portal\n       server create-admin USERNAME     an administrator and a one-time enrolment link (24 hours)\n       server issue-device-key CODE...  issue device credentials\n       server copy-to-postgres SQLITE_URL POSTGRES_URL\n                                    copy every table into an empty PostgreSQL database and verify it"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("yikatong: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), server::StartupError> {
    let settings = Settings::load()?;
    server::telemetry::init(settings.log_format);
    tracing::info!(?settings, "starting Yikatong");
    // Bind first: a port already in use should fail fast, before migrations or demo data.
    let listener = server::bind(settings.addr).await?;
    server::check_site(&settings)?;
    let state = server::build_state(&settings).await?;
    if settings.demo_data {
        print_demo_logins();
    }
    let addr = listener
        .local_addr()
        .map_err(|source| server::StartupError::Bind {
            addr: settings.addr,
            source,
        })?;
    tracing::info!("listening on http://{addr}");
    // The notice worker (e-mail and push), while the server serves.
    state.courier.start(state.clone());
    // Notices and their e-mails are deleted after a year and a day (the tests call `prune`).
    app::server::notices::run_retention(state.clone());
    // Open event streams never end by themselves: end them, so the shutdown need not wait.
    let events = state.code_events.clone();
    let courier = state.courier.clone();
    let shutdown = async move {
        server::shutdown_signal().await;
        events.close();
        // A send cut off here is sent again by the next server once its lease runs out.
        courier.stop();
    };
    server::serve(
        listener,
        server::router_with(state, settings.clock_control),
        shutdown,
    )
    .await
    .map_err(|source| server::StartupError::Bind { addr, source })
}

/// Who ran a command, for its audit records (the reason column, as a fact shown in the
/// reader's language).
fn command_line_user(command: &str) -> String {
    app::audit_text::Fact::Command(
        format!("server {command}"),
        std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .ok(),
    )
    .stored()
}

/// Creates the first administrator (or ends an administrator's credentials) and prints the
/// one-time link with which that person sets their own password and second factor.
async fn create_admin(username: &str) -> Result<(), server::StartupError> {
    let settings = Settings::load()?;
    let state = server::build_state(&settings).await?;
    let token = app::server::enrolment::create_admin(&state, username, &command_line_user("create-admin"))
        .await
        .map_err(|e| {
            use app::portal_model::Problem;
            server::StartupError::Usage(match e {
                app::error::AppError::Rejected(Problem::CodeTaken) => format!(
                    "create-admin {username}: that username belongs to a staff member who is not an administrator"
                ),
                app::error::AppError::Rejected(Problem::CodeFormat) => format!(
                    "create-admin {username}: a username is 2 to 40 letters, digits, '-' or '_'"
                ),
                other => format!("create-admin {username}: {other}"),
            })
        })?;
    println!("{}", app::server::enrolment::link_path(&token));
    eprintln!(
        "Administrator {username}: open this path on the portal's address (for example https://card.example.edu.cn{}) within {} hours. It works once; whoever opens it sets the password and the second factor, so hand it over in person.",
        app::server::enrolment::link_path(&token),
        app::server::enrolment::LINK_VALID.num_hours()
    );
    Ok(())
}

/// Issues a credential for each device code and prints the keys, one line each, in order.
async fn issue_device_keys(codes: &[&str]) -> Result<(), server::StartupError> {
    let settings = Settings::load()?;
    let state = server::build_state(&settings).await?;
    for code in codes {
        let device =
            state.db.device_by_code(code).await?.ok_or_else(|| {
                server::StartupError::Usage(format!("no device with code {code}"))
            })?;
        let by = command_line_user("issue-device-key");
        let key = app::server::ledger::issue_device_key(&state, &device, state.now(), &by)
            .await
            .map_err(|e| server::StartupError::Usage(e.to_string()))?;
        println!("{key}");
        eprintln!(
            "Device {code}: new credential issued; the previous one no longer works. Keep this key secret."
        );
    }
    Ok(())
}

/// Copies SQLite into PostgreSQL and prints what was copied and checked.
async fn copy_to_postgres(from: &str, to: &str) -> Result<(), server::StartupError> {
    server::telemetry::init(server::config::LogFormat::Pretty);
    let report = app::server::store::copy_sqlite_to_postgres(from, to).await?;
    for (table, rows) in &report.tables {
        println!("{table:<20} {rows:>10} rows");
    }
    println!(
        "verified: {} accounts, {} journal entries, every balance equals its journal; total balance {}",
        report.accounts,
        report.entries,
        app::model::Money::from_fen(report.total_balance)
    );
    Ok(())
}

fn print_demo_logins() {
    println!("Demo logins (demo data only; staff choose a new password at their first login):");
    for login in app::server::demo::DEMO_LOGINS {
        println!(
            "  {:<28} {:<12} {:<22} {}",
            login.who, login.login, login.password, login.note
        );
    }
}
