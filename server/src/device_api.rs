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
use app::server::ledger::{self, LedgerError, PayRequest, Presented, masked_name};
use app::server::store::{DeviceRow, PaymentOutcome};
use app::server::{AppState, kiosk};
use axum::Router;
use axum::extract::{FromRequest, OriginalUri, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{OpenApi, ToSchema};

pub const PREFIX: &str = "/api/device/v1";
const CLOCK_SKEW_MS: i64 = 60_000;

pub fn router() -> Router<AppState> {
    let v1 = Router::new()
        .route("/pay", post(pay))
        .route("/balance", post(balance))
        .route("/access", post(access))
        .route("/refund", post(refund))
        .route("/kiosk/balance", post(kiosk_balance))
        .route(
            "/kiosk/consumption-password",
            post(kiosk_consumption_password),
        )
        .route("/kiosk/report-loss", post(kiosk_report_loss))
        .route("/openapi.json", get(openapi));
    Router::new().nest(PREFIX, v1)
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
    let now = state.now();
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| unauthorized("bad timestamp"))?;
    // `abs_diff`: a hostile timestamp (i64::MIN) cannot overflow the difference.
    if now.timestamp_millis().abs_diff(ts) > CLOCK_SKEW_MS.unsigned_abs() {
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
    // In memory first (a replay to this process is refused without a write), then in the
    // database, which holds across restarts and servers.
    let window = chrono::Duration::milliseconds(2 * CLOCK_SKEW_MS);
    let fresh = state.device_nonces.first_use(
        device.id,
        &nonce,
        now.timestamp_millis(),
        window.num_milliseconds(),
    ) && state
        .db
        .device_nonce_first_use(device.id, &nonce, now, now - window - window)
        .await
        .map_err(internal)?;
    if !fresh {
        return Err(unauthorized("replayed request"));
    }
    Ok(device)
}

/// A signed device request: the authenticated device and its JSON body. Every device route
/// takes one, so none can forget the signature check.
pub struct SignedJson<T> {
    pub device: DeviceRow,
    pub body: T,
}

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for SignedJson<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Failure> {
        // The path as sent (and signed), not the part left after the `PREFIX` nest.
        let uri = req
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| req.uri().clone(), |original| original.0.clone());
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
            api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is over 64 KiB",
            )
        })?;
        let device = authenticate(state, &parts.method, &uri, &parts.headers, &body).await?;
        Ok(SignedJson {
            device,
            body: parse_json(&body)?,
        })
    }
}

/// The largest request body a device sends (a sale is a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(description = "A sale. Give exactly one of `card_serial` and `code` (400 otherwise).")]
pub struct PayBody {
    /// Unique per device for each sale; a retry of the same sale reuses it. 1–64 printable
    /// ASCII characters (400 otherwise).
    #[schema(min_length = 1, max_length = 64, pattern = "^[!-~]{1,64}$")]
    pub request_id: String,
    /// The amount in fen (1 yuan = 100 fen). Not positive: declined `invalid_amount`; over
    /// the campus ceiling (or beyond any total): declined `limit_exceeded`. Beyond ±(2⁵³ − 1),
    /// what a JSON client can hold exactly: 400.
    #[schema(minimum = -9007199254740991_i64, maximum = 9007199254740991_i64)]
    pub amount_fen: i64,
    /// The chip serial read from a card, or
    pub card_serial: Option<String>,
    /// the digits of a 深职通码 read by the scanner (exactly one of the two).
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
    #[serde(flatten)]
    pub decline: DeclineInfo,
}

/// Why a request was declined, in every answer that can decline: the machine reason (see
/// `Decline`) and a sentence for the display in both languages. All empty when it was not.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct DeclineInfo {
    pub reason: Option<String>,
    pub message_zh: Option<String>,
    pub message_en: Option<String>,
}

impl From<Decline> for DeclineInfo {
    fn from(reason: Decline) -> Self {
        let (zh, en) = reason.text();
        DeclineInfo {
            reason: Some(reason.as_str().into()),
            message_zh: Some(zh.into()),
            message_en: Some(en.into()),
        }
    }
}

/// Charges a card or a 深职通码.
#[utoipa::path(post, path = "/api/device/v1/pay", request_body = PayBody,
    responses((status = 200, description = "Approved or declined", body = PayResponse),
              (status = 400, description = "Malformed JSON, or a field outside its stated form", body = ApiError), (status = 401, description = "Missing, stale, replayed or wrong signature", body = ApiError), (status = 413, description = "Body over 64 KiB", body = ApiError), (status = 409, description = "request_id reused for another payload", body = ApiError)),
    params(("X-Device" = String, Header), ("X-Timestamp" = String, Header), ("X-Nonce" = String, Header), ("X-Signature" = String, Header)))]
async fn pay(
    State(state): State<AppState>,
    SignedJson { device, body: req }: SignedJson<PayBody>,
) -> Result<axum::Json<PayResponse>, Failure> {
    check_request_id(&req.request_id)?;
    check_integer("amount_fen", req.amount_fen)?;
    let presented = exactly_one(req.card_serial.as_deref(), req.code.as_deref())?;
    let payload_hash = ledger::pay_payload_hash(
        &req.request_id,
        req.amount_fen,
        req.card_serial.as_deref(),
        req.code.as_deref(),
    );
    let pay_request = PayRequest {
        request_id: &req.request_id,
        amount: Money::from_fen(req.amount_fen),
        presented: Some(presented),
        password: req.password.as_deref(),
    };
    let outcome = ledger::pay(&state, &device, &pay_request, &payload_hash, state.now())
        .await
        .map_err(conflict_or_internal)?;
    Ok(axum::Json(PayResponse::from_outcome(
        req.request_id,
        outcome,
    )))
}

impl PayResponse {
    fn from_outcome(request_id: String, outcome: PaymentOutcome) -> PayResponse {
        match outcome {
            PaymentOutcome::Approved {
                journal_id,
                amount,
                balance,
            } => PayResponse {
                approved: true,
                request_id,
                journal_id: Some(journal_id),
                amount_fen: Some(amount.fen()),
                balance_fen: Some(balance.fen()),
                decline: DeclineInfo::default(),
            },
            PaymentOutcome::Declined { reason } => PayResponse {
                approved: false,
                request_id,
                journal_id: None,
                amount_fen: None,
                balance_fen: None,
                decline: reason.into(),
            },
        }
    }
}

fn conflict_or_internal(e: LedgerError) -> Failure {
    match e {
        LedgerError::Conflict => api_error(
            StatusCode::CONFLICT,
            "conflict",
            "request_id was used for a different request",
        ),
        e => internal(e),
    }
}

/// The largest integer a JSON client (JavaScript's numbers) holds exactly: the document's
/// bound for every integer a device sends.
const JSON_SAFE: i64 = (1 << 53) - 1;

fn check_integer(name: &str, value: i64) -> Result<(), Failure> {
    if value.unsigned_abs() > JSON_SAFE.unsigned_abs() {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{name} must lie within ±{JSON_SAFE}"),
        ));
    }
    Ok(())
}

/// A request id is 1–64 printable ASCII characters (`!` to `~`): no control characters,
/// spaces or Unicode that would be stored and shown as sent.
fn check_request_id(request_id: &str) -> Result<(), Failure> {
    if request_id.is_empty()
        || request_id.len() > 64
        || !request_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "request_id must be 1–64 printable ASCII characters (! to ~)",
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct RefundBody {
    /// Unique per device, like a sale's; a retry of the same refund reuses it. 1–64
    /// printable ASCII characters (400 otherwise).
    #[schema(min_length = 1, max_length = 64, pattern = "^[!-~]{1,64}$")]
    pub request_id: String,
    /// The `journal_id` the payment was approved with. It must be this merchant's, at most
    /// 7 days old, and not refunded before; the whole amount is refunded. Beyond ±(2⁵³ − 1):
    /// 400.
    #[schema(minimum = -9007199254740991_i64, maximum = 9007199254740991_i64)]
    pub journal_id: i64,
}

/// Refunds a payment made at the same merchant within the refund window (7 days).
#[utoipa::path(post, path = "/api/device/v1/refund", request_body = RefundBody,
    responses((status = 200, description = "Refunded (approved) or refused with a reason", body = PayResponse),
              (status = 400, description = "Malformed JSON, or a field outside its stated form", body = ApiError), (status = 401, description = "Missing, stale, replayed or wrong signature", body = ApiError), (status = 413, description = "Body over 64 KiB", body = ApiError), (status = 409, description = "request_id reused for another request", body = ApiError)),
    params(("X-Device" = String, Header), ("X-Timestamp" = String, Header), ("X-Nonce" = String, Header), ("X-Signature" = String, Header)))]
async fn refund(
    State(state): State<AppState>,
    SignedJson { device, body: req }: SignedJson<RefundBody>,
) -> Result<axum::Json<PayResponse>, Failure> {
    check_request_id(&req.request_id)?;
    check_integer("journal_id", req.journal_id)?;
    let hash = ledger::refund_payload_hash(&req.request_id, req.journal_id);
    let outcome = ledger::refund(
        &state,
        &device,
        &req.request_id,
        req.journal_id,
        &hash,
        state.now(),
    )
    .await
    .map_err(conflict_or_internal)?;
    Ok(axum::Json(PayResponse::from_outcome(
        req.request_id,
        outcome,
    )))
}

/// A kiosk's answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KioskResponse {
    pub ok: bool,
    pub balance_fen: Option<i64>,
    /// The holder's name, masked (balance), or the masked card number (loss report).
    pub holder: Option<String>,
    #[serde(flatten)]
    pub decline: DeclineInfo,
}

impl KioskResponse {
    fn from_result<T>(
        result: Result<T, Decline>,
        fill: impl FnOnce(T, &mut KioskResponse),
    ) -> KioskResponse {
        let mut response = KioskResponse {
            ok: result.is_ok(),
            balance_fen: None,
            holder: None,
            decline: DeclineInfo::default(),
        };
        match result {
            Ok(value) => fill(value, &mut response),
            Err(reason) => response.decline = reason.into(),
        }
        response
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct KioskBalanceBody {
    pub card_serial: String,
    /// The holder's query password.
    pub password: String,
}

/// Kiosk: balance with the card on the reader and the query password.
#[utoipa::path(post, path = "/api/device/v1/kiosk/balance", request_body = KioskBalanceBody,
    responses((status = 200, body = KioskResponse), (status = 400, description = "Malformed JSON, or a field outside its stated form", body = ApiError), (status = 401, description = "Missing, stale, replayed or wrong signature", body = ApiError), (status = 413, description = "Body over 64 KiB", body = ApiError)),
    params(("X-Device" = String, Header), ("X-Timestamp" = String, Header), ("X-Nonce" = String, Header), ("X-Signature" = String, Header)))]
async fn kiosk_balance(
    State(state): State<AppState>,
    SignedJson { device, body: req }: SignedJson<KioskBalanceBody>,
) -> Result<axum::Json<KioskResponse>, Failure> {
    let result = kiosk::balance(
        &state,
        &device,
        &req.card_serial,
        &req.password,
        state.now(),
    )
    .await
    .map_err(internal)?;
    Ok(axum::Json(KioskResponse::from_result(
        result,
        |payer, r| {
            r.balance_fen = Some(payer.balance.fen());
            r.holder = Some(masked_name(&payer.name));
        },
    )))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct KioskPasswordBody {
    pub card_serial: String,
    /// The current consumption password.
    pub old_password: String,
    /// Six digits; not simple, not the old or the initial one.
    pub new_password: String,
}

/// Kiosk: a new consumption password (card, old password, new password).
#[utoipa::path(post, path = "/api/device/v1/kiosk/consumption-password", request_body = KioskPasswordBody,
    responses((status = 200, body = KioskResponse), (status = 400, description = "Malformed JSON, or a field outside its stated form", body = ApiError), (status = 401, description = "Missing, stale, replayed or wrong signature", body = ApiError), (status = 413, description = "Body over 64 KiB", body = ApiError)),
    params(("X-Device" = String, Header), ("X-Timestamp" = String, Header), ("X-Nonce" = String, Header), ("X-Signature" = String, Header)))]
async fn kiosk_consumption_password(
    State(state): State<AppState>,
    SignedJson { device, body: req }: SignedJson<KioskPasswordBody>,
) -> Result<axum::Json<KioskResponse>, Failure> {
    let result = kiosk::change_consumption_password(
        &state,
        &device,
        &req.card_serial,
        &req.old_password,
        &req.new_password,
        state.now(),
    )
    .await
    .map_err(internal)?;
    Ok(axum::Json(KioskResponse::from_result(result, |(), _| {})))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct KioskLossBody {
    /// Student number or card number (the card itself is what was lost).
    pub login: String,
    /// The holder's query password.
    pub password: String,
}

/// Kiosk: report the card lost (student or card number plus the query password).
#[utoipa::path(post, path = "/api/device/v1/kiosk/report-loss", request_body = KioskLossBody,
    responses((status = 200, body = KioskResponse), (status = 400, description = "Malformed JSON, or a field outside its stated form", body = ApiError), (status = 401, description = "Missing, stale, replayed or wrong signature", body = ApiError), (status = 413, description = "Body over 64 KiB", body = ApiError)),
    params(("X-Device" = String, Header), ("X-Timestamp" = String, Header), ("X-Nonce" = String, Header), ("X-Signature" = String, Header)))]
async fn kiosk_report_loss(
    State(state): State<AppState>,
    SignedJson { device, body: req }: SignedJson<KioskLossBody>,
) -> Result<axum::Json<KioskResponse>, Failure> {
    let result = kiosk::report_loss(&state, &device, &req.login, &req.password, state.now())
        .await
        .map_err(internal)?;
    Ok(axum::Json(KioskResponse::from_result(result, |card, r| {
        r.holder = Some(card);
    })))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(description = "A card or a code: exactly one of the two (400 otherwise).")]
pub struct PresentBody {
    pub card_serial: Option<String>,
    pub code: Option<String>,
}

/// Exactly one of a card serial and a code (a 400 otherwise).
fn exactly_one(card_serial: Option<&str>, code: Option<&str>) -> Result<Presented, Failure> {
    Presented::from_parts(card_serial, code).ok_or_else(|| {
        api_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "give exactly one of card_serial and code",
        )
    })
}

impl PresentBody {
    fn presented(&self) -> Result<Presented, Failure> {
        exactly_one(self.card_serial.as_deref(), self.code.as_deref())
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceResponse {
    pub ok: bool,
    pub balance_fen: Option<i64>,
    /// The holder's name, masked ("李*然").
    pub holder: Option<String>,
    #[serde(flatten)]
    pub decline: DeclineInfo,
}

/// Balance inquiry: a card or code presented with no amount.
#[utoipa::path(post, path = "/api/device/v1/balance", request_body = PresentBody,
    responses((status = 200, body = BalanceResponse), (status = 400, description = "Malformed JSON, or a field outside its stated form", body = ApiError), (status = 401, description = "Missing, stale, replayed or wrong signature", body = ApiError), (status = 413, description = "Body over 64 KiB", body = ApiError)),
    params(("X-Device" = String, Header), ("X-Timestamp" = String, Header), ("X-Nonce" = String, Header), ("X-Signature" = String, Header)))]
async fn balance(
    State(state): State<AppState>,
    SignedJson { device, body: req }: SignedJson<PresentBody>,
) -> Result<axum::Json<BalanceResponse>, Failure> {
    let presented = req.presented()?;
    // A balance is shown to the holder at a till or a kiosk; a gate or a reader has no screen
    // for it, and a stolen gate key must not become a balance oracle.
    let allowed = matches!(
        device.kind,
        app::model::DeviceKind::Pos
            | app::model::DeviceKind::MealTable
            | app::model::DeviceKind::Kiosk
    );
    let answer = if allowed {
        ledger::balance(&state, &presented, state.now()).await
    } else {
        Ok(Err(Decline::NotAllowedHere))
    };
    let response = match answer {
        Ok(Ok((payer, _))) => BalanceResponse {
            ok: true,
            balance_fen: Some(payer.balance.fen()),
            holder: Some(masked_name(&payer.name)),
            decline: DeclineInfo::default(),
        },
        Ok(Err(reason)) => BalanceResponse {
            ok: false,
            balance_fen: None,
            holder: None,
            decline: reason.into(),
        },
        Err(e) => return Err(internal(e)),
    };
    Ok(axum::Json(response))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccessResponse {
    pub allowed: bool,
    #[serde(flatten)]
    pub decline: DeclineInfo,
}

/// Gate or attendance check: allow or deny; every check is recorded with place and time.
#[utoipa::path(post, path = "/api/device/v1/access", request_body = PresentBody,
    responses((status = 200, body = AccessResponse), (status = 400, description = "Malformed JSON, or a field outside its stated form", body = ApiError), (status = 401, description = "Missing, stale, replayed or wrong signature", body = ApiError), (status = 413, description = "Body over 64 KiB", body = ApiError)),
    params(("X-Device" = String, Header), ("X-Timestamp" = String, Header), ("X-Nonce" = String, Header), ("X-Signature" = String, Header)))]
async fn access(
    State(state): State<AppState>,
    SignedJson { device, body: req }: SignedJson<PresentBody>,
) -> Result<axum::Json<AccessResponse>, Failure> {
    let presented = req.presented()?;
    let response = match ledger::access(&state, &device, &presented, state.now()).await {
        Ok(Ok(_)) => AccessResponse {
            allowed: true,
            decline: DeclineInfo::default(),
        },
        Ok(Err(reason)) => AccessResponse {
            allowed: false,
            decline: reason.into(),
        },
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
    paths(
        pay,
        balance,
        access,
        refund,
        kiosk_balance,
        kiosk_consumption_password,
        kiosk_report_loss
    ),
    components(schemas(
        PayBody,
        PayResponse,
        RefundBody,
        KioskResponse,
        KioskBalanceBody,
        KioskPasswordBody,
        KioskLossBody,
        PresentBody,
        BalanceResponse,
        AccessResponse,
        DeclineInfo,
        ApiError
    ))
)]
pub struct ApiDoc;

/// The OpenAPI document, with the one rule the derive cannot state: a body names exactly one
/// of `card_serial` and `code`, each counting when it is a non-empty string
/// (`Presented::from_parts`). As a `oneOf`, a client generated from the document, or a
/// schema-driven fuzzer, sends what the server accepts and nothing else.
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let named = |field: &str| {
        serde_json::json!({
            "required": [field],
            "properties": { field: { "type": "string", "minLength": 1 } }
        })
    };
    for body in ["PayBody", "PresentBody"] {
        if let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{body}")) {
            schema["oneOf"] = serde_json::json!([named("card_serial"), named("code")]);
        }
    }
    doc
}

async fn openapi() -> impl IntoResponse {
    axum::Json(document())
}
