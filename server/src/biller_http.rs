//! HTTP side of 缴费: the billers' notification endpoint. Each biller posts its signed outcomes
//! to `/api/billers/{code}/notify` (the signature in `X-Biller-Signature`, over the body).

use app::server::billers::NoticeError;
use app::server::{AppState, utilities};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

pub const BILLER_SIGNATURE: &str = "x-biller-signature";

pub fn router() -> Router<AppState> {
    Router::new().route("/api/billers/{code}/notify", post(notify))
}

/// A biller's asynchronous outcome. Answers `SUCCESS` once it is handled (also for a repeated
/// one), so the biller stops sending it; anything else makes it send again later.
async fn notify(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get(BILLER_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match utilities::notify(&state, &code, signature, &body).await {
        Ok(status) => {
            axum::Json(serde_json::json!({ "code": "SUCCESS", "status": status.as_str() }))
                .into_response()
        }
        Err(e) => {
            let status = match e {
                NoticeError::BadSignature => StatusCode::UNAUTHORIZED,
                NoticeError::UnknownBiller | NoticeError::UnknownPurchase => StatusCode::NOT_FOUND,
                NoticeError::AmountMismatch => StatusCode::CONFLICT,
                NoticeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                NoticeError::Malformed(_) => StatusCode::BAD_REQUEST,
            };
            tracing::warn!(biller = %code, error = %e, "refused a biller notification");
            let message = match e {
                NoticeError::Internal(inner) => app::server::internal(inner).to_string(),
                other => other.to_string(),
            };
            (
                status,
                axum::Json(serde_json::json!({ "code": "FAIL", "message": message })),
            )
                .into_response()
        }
    }
}
