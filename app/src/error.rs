//! The one error type server functions return and pages render. It carries no internal
//! detail: a database failure reaches the browser only as `Internal` with a reference that
//! matches the server log line.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("please log in")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    /// Input a person can correct; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// A rule refused the request; the page explains it in the reader's language.
    #[error("refused: {0:?}")]
    Rejected(crate::portal_model::Problem),
    /// Something failed on the server; the reference is in the server log.
    #[error("internal error (reference {0})")]
    Internal(String),
    /// The request did not reach the server function, or its reply did not come back.
    #[error("network or server error: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status this error is served with during server rendering.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::NotFound => 404,
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::Invalid(_) => 400,
            AppError::Rejected(crate::portal_model::Problem::Forbidden) => 403,
            AppError::Rejected(crate::portal_model::Problem::Throttled { .. }) => 429,
            AppError::Rejected(_) => 400,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

/// A rule's refusal, as the browser is told it.
impl From<crate::portal_model::Problem> for AppError {
    fn from(problem: crate::portal_model::Problem) -> Self {
        AppError::Rejected(problem)
    }
}

/// Outside the server functions (the CSV downloads), an error is answered with its status and
/// its message: never more than the browser may see (an internal error carries only the
/// reference under which the server logged it).
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.status_code())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.to_string()).into_response()
    }
}
