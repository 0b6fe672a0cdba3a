//! Server functions, grouped by feature. Each is thin: it checks who is asking, calls a
//! service, and maps the result to `AppError`.

pub mod announcements;
pub mod bills;
pub mod campus;
pub mod notices;
pub mod portal;
pub mod staff;
pub mod terminal;
pub mod topup;
pub mod utilities;

#[cfg(feature = "ssr")]
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::{AppState, auth::Client};

/// The one way into a server function's body: the request's state and client, and the error
/// given the HTTP status it means (`server::with_status`). The helpers below add who must be
/// asking (a holder, a terminal); the staff functions' `guarded` adds the role.
#[cfg(feature = "ssr")]
pub(crate) async fn served<T, F, Fut>(f: F) -> Result<T, AppError>
where
    F: FnOnce(AppState, Client) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let result = async move {
        let state = crate::server::state()?;
        f(state, crate::server::client()).await
    }
    .await;
    crate::server::with_status(result)
}

/// Sets a cookie on the server function's response (the value from `auth::session_cookie`,
/// `staff::cookie` or `terminal::cookie`: a new session, or an expired one to clear it).
#[cfg(feature = "ssr")]
pub(crate) fn set_cookie(value: &str) -> Result<(), AppError> {
    let cookie = axum::http::HeaderValue::from_str(value).map_err(crate::server::internal)?;
    leptos::prelude::expect_context::<leptos_axum::ResponseOptions>()
        .append_header(axum::http::header::SET_COOKIE, cookie);
    Ok(())
}

/// Sends a plain HTML form's browser (one without the wasm: it asked for `text/html`) to
/// `path` after the function, instead of back to the page it came from. The page reads its
/// confirmation from that address, as the hydrated page reads it from the action's value.
#[cfg(feature = "ssr")]
pub(crate) fn after_plain_form(path: &str) {
    let plain = leptos::prelude::use_context::<axum::http::request::Parts>().is_some_and(|p| {
        p.headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if plain {
        leptos_axum::redirect(path);
    }
}

/// A holder's server function: the holder comes from the session cookie, never from the
/// browser's arguments. `allow_initial`: may run while the initial password is unchanged.
#[cfg(feature = "ssr")]
pub(crate) async fn as_holder<T, F, Fut>(allow_initial: bool, f: F) -> Result<T, AppError>
where
    F: FnOnce(AppState, Client, crate::server::auth::HolderSession) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    served(|state, client| async move {
        let session = crate::server::auth::require_holder(&state, &client, allow_initial).await?;
        f(state, client, session).await
    })
    .await
}

/// A web terminal's server function: the device comes from the terminal cookie. `kiosk`: the
/// function is the kiosk's (else a till's).
#[cfg(feature = "ssr")]
pub(crate) async fn as_terminal<T, F, Fut>(kiosk: bool, f: F) -> Result<T, AppError>
where
    F: FnOnce(AppState, crate::server::store::TerminalRow) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    served(|state, client| async move {
        let row = crate::server::terminal::require(&state, &client, kiosk).await?;
        f(state, row).await
    })
    .await
}
