//! Reads the configuration, opens and migrates the database, and serves until Ctrl-C/SIGTERM.

use server::config::Settings;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
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
    server::serve(listener, server::router(state), server::shutdown_signal())
        .await
        .map_err(|source| server::StartupError::Bind { addr, source })
}

fn print_demo_logins() {
    println!("Demo logins (demo data only — change or remove before real use):");
    for login in app::server::demo::DEMO_LOGINS {
        println!(
            "  {:<28} {:<12} {:<22} {}",
            login.who, login.login, login.password, login.note
        );
    }
}
