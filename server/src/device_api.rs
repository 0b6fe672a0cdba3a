//! The device API, version 1: JSON over HTTP for POS terminals, meal tables, gates, attendance
//! readers and kiosks. Described by the OpenAPI document at `/api/device/v1/openapi.json`.
//!
//! Authentication: each request is signed with the device's Ed25519 private key (issued by an
//! administrator, shown once; the server keeps the public key). Headers:
//! `X-Device` (device code), `X-Timestamp` (Unix milliseconds, within ±60 s of the server),
//! `X-Nonce` (unique per request, 16–64 characters), `X-Signature` (hex signature of
//! `YKT-DEVICE-V1\n{METHOD}\n{PATH}\n{timestamp}\n{nonce}\n{hex sha256 of body}`).
//! A nonce is accepted once; a revoked device or a bad signature gets 401.

use app::model::{Decline, Money};
use app::server::AppState;
use app::server::ledger::{self, LedgerError, PayRequest, Presented};
use app::server::store::{DeviceRow, PaymentOutcome};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{OpenApi, ToSchema};

pub const PREFIX: &str = "/api/device/v1";
const CLOCK_SKEW_MS: i64 = 60_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/device/v1/pay", post(pay))
        .route("/api/device/v1/balance", post(balance))
        .route("/api/device/v1/access", post(access))
        .route("/api/device/v1/openapi.json", get(openapi))
}

/// An error that is not a business decline: authentication, malformed request, conflict.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    /// Machine code: `unauthorized`, `bad_request`, `conflict`, `internal`.
    pub error: String,
    pub message: String,
}

/// A refused request, answered as `ApiError` JSON with its status.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    error: &'static str,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = ApiError {
            error: self.error.into(),
            message: self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

fn api_error(status: StatusCode, error: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        error,
        message: message.into(),
    }
}

/// Logs the failure with a reference and answers with the reference only.
fn internal(err: impl std::fmt::Display) -> Failure {
    let reference = app::server::internal(err);
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        reference.to_string(),
    )
}

/// The string a device signs.
pub fn signing_string(
    method: &str,
    path: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    format!(
        "YKT-DEVICE-V1\n{method}\n{path}\n{timestamp}\n{nonce}\n{}",
        hex::encode(Sha256::digest(body))
    )
}

/// Checks the signature headers; returns the device.
async fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<DeviceRow, Failure> {
    let unauthorized = |msg: &str| api_error(StatusCode::UNAUTHORIZED, "unauthorized", msg);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (Some(code), Some(timestamp), Some(nonce), Some(signature)) = (
        header("x-device"),
        header("x-timestamp"),
        header("x-nonce"),
        header("x-signature"),
    ) else {
        return Err(unauthorized("missing signature headers"));
    };
    let now = Utc::now();
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| unauthorized("bad timestamp"))?;
    if (now.timestamp_millis() - ts).abs() > CLOCK_SKEW_MS {
        return Err(unauthorized("timestamp outside the allowed window"));
    }
    if !(16..=64).contains(&nonce.len())
        || !nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(unauthorized("bad nonce"));
    }
    let device = state
        .db
        .device_by_code(&code)
        .await
        .map_err(internal)?
        .ok_or_else(|| unauthorized("unknown device or bad signature"))?;
    let Some(public) = device.public_key.as_deref().filter(|_| !device.revoked) else {
        return Err(unauthorized("unknown device or bad signature"));
    };
    let key_bytes: [u8; 32] = hex::decode(public)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| internal("stored device key is malformed"))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).map_err(internal)?;
    let sig_bytes: [u8; 64] = hex::decode(&signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| unauthorized("unknown device or bad signature"))?;
    let message = signing_string(method.as_str(), uri.path(), &timestamp, &nonce, body);
    key.verify_strict(
        message.as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&sig_bytes),
    )
    .map_err(|_| unauthorized("unknown device or bad signature"))?;
    let fresh =
        state
            .device_nonces
            .first_use(device.id, &nonce, now.timestamp_millis(), 2 * CLOCK_SKEW_MS);
    if !fresh {
        return Err(unauthorized("replayed request"));
    }
    Ok(device)
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))
}

/// "李*然": enough for a cashier to confirm, not a full name on a screen.
fn masked_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct PayBody {
    /// Unique per device for each sale; a retry of the same sale reuses it.
    pub request_id: String,
    /// The amount in fen (1 yuan = 100 fen), positive.
    pub amount_fen: i64,
    /// The chip serial read from a card, or
    pub card_serial: Option<String>,
    /// the digits of a 深职通码 read by the scanner.
    pub code: Option<String>,
    /// The consumption password, when the terminal asked for it.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PayResponse {
    pub approved: bool,
    pub request_id: String,
    pub journal_id: Option<i64>,
    pub amount_fen: Option<i64>,
    /// The balance after the payment.
    pub balance_fen: Option<i64>,
    /// Machine reason when declined (see `Decline`).
    pub reason: Option<String>,
    pub message_zh: Option<String>,
    pub message_en: Option<String>,
}

fn decline_fields(reason: Decline) -> (Option<String>, Option<String>, Option<String>) {
    let (zh, en) = reason.text();
    (
        Some(reason.as_str().into()),
        Some(zh.into()),
        Some(en.into()),
    )
}

/// Charges a card or a 深职通码.
#[utoipa::path(post, path = "/api/device/v1/pay", request_body = PayBody,
    responses((status = 200, description = "Approved or declined", body = PayResponse),
              (status = 401, body = ApiError), (status = 409, description = "request_id reused for another payload", body = ApiError)),
    params(("X-Device" = String, Header), ("X-Timestamp" = String, Header), ("X-Nonce" = String, Header), ("X-Signature" = String, Header)))]
async fn pay(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<PayResponse>, Failure> {
    let device = authenticate(&state, &method, &uri, &headers, &body).await?;
    let req: PayBody = parse_json(&body)?;
    if req.request_id.is_empty() || req.request_id.len() > 64 {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "request_id must be 1–64 characters",
        ));
    }
    // The password is not part of the sale: a retry with the password is the same sale.
    let payload_hash = hex::encode(Sha256::digest(
        format!(
            "{}|{}|{}|{}",
            req.request_id,
            req.amount_fen,
            req.card_serial.as_deref().unwrap_or(""),
            req.code.as_deref().unwrap_or("")
        )
        .as_bytes(),
    ));
    let pay_request = PayRequest {
        request_id: &req.request_id,
        amount: Money::from_fen(req.amount_fen),
        presented: Presented::from_parts(req.card_serial.as_deref(), req.code.as_deref()),
        password: req.password.as_deref(),
    };
    let outcome = match ledger::pay(&state, &device, &pay_request, &payload_hash, Utc::now()).await
    {
        Ok(o) => o,
        Err(LedgerError::Conflict) => {
            return Err(api_error(
                StatusCode::CONFLICT,
                "conflict",
                "request_id was used for a different payment",
            ));
        }
        Err(e) => return Err(internal(e)),
    };
    let response = match outcome {
        PaymentOutcome::Approved {
            journal_id,
            amount,
            balance,
        } => PayResponse {
            approved: true,
            request_id: req.request_id,
            journal_id: Some(journal_id),
            amount_fen: Some(amount.fen()),
            balance_fen: Some(balance.fen()),
            reason: None,
            message_zh: None,
            message_en: None,
        },
        PaymentOutcome::Declined { reason } => {
            let (reason, message_zh, message_en) = decline_fields(reason);
            PayResponse {
                approved: false,
                request_id: req.request_id,
                journal_id: None,
                amount_fen: None,
                balance_fen: None,
                reason,
                message_zh,
                message_en,
            }
        }
    };
    Ok(axum::Json(response))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct PresentBody {
    pub card_serial: Option<String>,
    pub code: Option<String>,
}

impl PresentBody {
    /// Exactly one of a card serial and a code.
    fn presented(&self) -> Result<Presented, Failure> {
        Presented::from_parts(self.card_serial.as_deref(), self.code.as_deref()).ok_or_else(|| {
            api_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "give exactly one of card_serial and code",
            )
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceResponse {
    pub ok: bool,
    pub balance_fen: Option<i64>,
    /// The holder's name, masked ("李*然").
    pub holder: Option<String>,
    pub reason: Option<String>,
    pub message_zh: Option<String>,
    pub message_en: Option<String>,
}

/// Balance inquiry: a card or code presented with no amount.
#[utoipa::path(post, path = "/api/device/v1/balance", request_body = PresentBody,
    responses((status = 200, body = BalanceResponse), (status = 401, body = ApiError)))]
async fn balance(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<BalanceResponse>, Failure> {
    authenticate(&state, &method, &uri, &headers, &body).await?;
    let req: PresentBody = parse_json(&body)?;
    let presented = req.presented()?;
    let response = match ledger::balance(&state, &presented, Utc::now()).await {
        Ok(Ok((payer, _))) => BalanceResponse {
            ok: true,
            balance_fen: Some(payer.balance.fen()),
            holder: Some(masked_name(&payer.name)),
            reason: None,
            message_zh: None,
            message_en: None,
        },
        Ok(Err(reason)) => {
            let (reason, message_zh, message_en) = decline_fields(reason);
            BalanceResponse {
                ok: false,
                balance_fen: None,
                holder: None,
                reason,
                message_zh,
                message_en,
            }
        }
        Err(e) => return Err(internal(e)),
    };
    Ok(axum::Json(response))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccessResponse {
    pub allowed: bool,
    pub reason: Option<String>,
    pub message_zh: Option<String>,
    pub message_en: Option<String>,
}

/// Gate or attendance check: allow or deny; every check is recorded with place and time.
#[utoipa::path(post, path = "/api/device/v1/access", request_body = PresentBody,
    responses((status = 200, body = AccessResponse), (status = 401, body = ApiError)))]
async fn access(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<AccessResponse>, Failure> {
    let device = authenticate(&state, &method, &uri, &headers, &body).await?;
    let req: PresentBody = parse_json(&body)?;
    let presented = req.presented()?;
    let response = match ledger::access(&state, &device, &presented, Utc::now()).await {
        Ok(Ok(_)) => AccessResponse {
            allowed: true,
            reason: None,
            message_zh: None,
            message_en: None,
        },
        Ok(Err(reason)) => {
            let (reason, message_zh, message_en) = decline_fields(reason);
            AccessResponse {
                allowed: false,
                reason,
                message_zh,
                message_en,
            }
        }
        Err(e) => return Err(internal(e)),
    };
    Ok(axum::Json(response))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yikatong device API",
        version = "1",
        description = "For POS terminals, meal tables, gates, attendance readers and kiosks. Every request is signed with the device's Ed25519 key: headers X-Device (device code), X-Timestamp (Unix ms, ±60 s), X-Nonce (unique, 16–64 characters of [A-Za-z0-9-]) and X-Signature (hex Ed25519 signature of \"YKT-DEVICE-V1\\n{METHOD}\\n{PATH}\\n{timestamp}\\n{nonce}\\n{hex SHA-256 of the body}\"). Amounts are integer fen."
    ),
    paths(pay, balance, access),
    components(schemas(
        PayBody,
        PayResponse,
        PresentBody,
        BalanceResponse,
        AccessResponse,
        ApiError
    ))
)]
pub struct ApiDoc;

async fn openapi() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}
