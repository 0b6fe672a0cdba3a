//! Everything that runs only on the server: configuration handed in by the `server` crate,
//! the data store, and the domain services. Nothing in here is compiled into the wasm.

pub mod campus;
pub mod demo;
pub mod ids;
pub mod password;
pub mod store;

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
}

/// Shared by every request: handed to `leptos_routes` and so present in the context of every
/// page render and server function.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub secrets: Arc<Secrets>,
    pub hasher: PasswordHasher,
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
