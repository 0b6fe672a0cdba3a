//! Web terminals: a browser set up as a device (the POS page at a till, the kiosk page). The
//! administrator's device credential is typed in once; the server checks it against the stored
//! public key and gives the browser a terminal cookie. From then on every till action is done
//! as that device, through the same ledger functions as the device API.

use super::auth::{ADDRESS_WINDOW, Client, new_token, token_hash};
use super::domain::calendar::day_start;
use super::domain::sessions::{SessionLimits, SessionState, session_state};
use super::domain::terminals::may_leave;
use super::ledger::{self, PayRequest, Presented, masked_name};
use super::store::{Actor, Audit, PaymentOutcome, TerminalRow};
use super::{AppState, internal};
use crate::audit_text::{AuditText, Fact, Phrase};
use crate::error::AppError;
use crate::model::{AuditAction, Decline, DeviceKind, Money};
use crate::portal_model::Problem;
use crate::terminal_model::{SaleView, TerminalInfo, TillResult, scan_is_code};
use chrono::{DateTime, Duration, Utc};

pub const COOKIE: &str = "ykt_terminal";
pub const SECURE_COOKIE: &str = "__Host-ykt_terminal";
/// A till is used all day; an idle one (closed for the night) must be set up again after this.
pub const IDLE: Duration = Duration::hours(16);
pub const ABSOLUTE: Duration = Duration::days(30);
const MAX_SETUP_FAILURES: i64 = 10;
const TOUCH_EVERY: Duration = Duration::minutes(5);
/// A browser's session as a till or kiosk.
const TERMINAL_SESSION: SessionLimits = SessionLimits {
    idle: IDLE,
    absolute: ABSOLUTE,
    touch_every: TOUCH_EVERY,
};

pub fn cookie(token: Option<&str>, secure: bool) -> String {
    super::cookie_header(if secure { SECURE_COOKIE } else { COOKIE }, token, secure)
}

/// Sets this browser up as the device: checks the credential (the hex private key shown once
/// when it was issued) against the stored public key. Returns the cookie token and the kind.
pub async fn set_up(
    state: &AppState,
    code: &str,
    credential: &str,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<(String, DeviceKind), AppError> {
    let throttle = format!(
        "terminal-ip:{}",
        super::domain::attempts::throttle_address(&client.ip)
    );
    if !state
        .db
        .throttle_reserve(&throttle, MAX_SETUP_FAILURES, now, now - ADDRESS_WINDOW)
        .await?
    {
        return Err(AppError::Rejected(Problem::Throttled {
            retry_after_secs: ADDRESS_WINDOW.num_seconds(),
        }));
    }
    let device = state.db.device_by_code(code.trim()).await?;
    let derived = hex::decode(credential.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(|secret| {
            hex::encode(
                ed25519_dalek::SigningKey::from_bytes(&secret)
                    .verifying_key()
                    .to_bytes(),
            )
        });
    let device = match (device, derived) {
        (Some(d), Some(public))
            if !d.revoked && d.public_key.as_deref() == Some(public.as_str()) =>
        {
            d
        }
        _ => return Err(AppError::Rejected(Problem::TerminalCredential)),
    };
    // Only wrong credentials count against the address.
    state.db.throttle_release(&throttle).await?;
    if !matches!(
        device.kind,
        DeviceKind::Pos | DeviceKind::MealTable | DeviceKind::Kiosk
    ) {
        return Err(AppError::Rejected(Problem::TerminalKind));
    }
    let token = new_token();
    state
        .db
        .create_terminal_session(&token_hash(&token), device.id, &client.ip, now)
        .await?;
    state
        .db
        .audit(Audit {
            actor: Actor::Device(device.id),
            action: AuditAction::TerminalSetUp,
            holder_id: None,
            target: Fact::Device(device.code.clone()).into(),
            before: AuditText::none(),
            after: AuditText::none(),
            reason: Phrase::TerminalSetUp.stored(),
            ip: client.ip.clone(),
        })
        .await?;
    Ok((token, device.kind))
}

/// Ends this browser's terminal on the login of a staff member who may (`may_leave`). The
/// credentials are checked as at the staff login, with the same attempt counting.
pub async fn leave(
    state: &AppState,
    client: &Client,
    row: &TerminalRow,
    username: &str,
    password: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let staff = super::staff::verify(state, username, password, code, client, now).await?;
    // The password an administrator set opens nothing but the password page.
    if staff.must_change_password {
        return Err(AppError::Rejected(Problem::StaffPasswordChange));
    }
    if !may_leave(staff.role, staff.merchant_id, row.device.merchant_id) {
        return Err(AppError::Rejected(Problem::TerminalLeaveRole));
    }
    if let Some(token) = client.terminal_token.as_deref() {
        state
            .db
            .end_terminal_session(&token_hash(token), now)
            .await?;
    }
    state
        .db
        .audit(Audit {
            actor: Actor::Staff(staff.id),
            action: AuditAction::TerminalLeft,
            holder_id: None,
            target: Fact::Device(row.device.code.clone()).into(),
            before: AuditText::none(),
            after: AuditText::none(),
            reason: Phrase::TerminalLeft.stored(),
            ip: client.ip.clone(),
        })
        .await?;
    Ok(())
}

/// The terminal behind the request's terminal cookie, if it is alive.
pub async fn terminal(
    state: &AppState,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<Option<TerminalRow>, AppError> {
    let Some(token) = client.terminal_token.as_deref() else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let Some(row) = state.db.terminal_session(&hash).await? else {
        return Ok(None);
    };
    // An expired terminal session stays as it is: the next set-up replaces it.
    match session_state(
        &TERMINAL_SESSION,
        row.ended,
        row.created_at,
        row.last_seen_at,
        now,
    ) {
        SessionState::Over { .. } => return Ok(None),
        SessionState::Alive { touch: true } => state.db.touch_terminal_session(&hash, now).await?,
        SessionState::Alive { touch: false } => {}
    }
    Ok(Some(row))
}

/// The terminal, or a refusal; `kiosk` says which kind of page asks.
pub async fn require(
    state: &AppState,
    client: &Client,
    kiosk: bool,
) -> Result<TerminalRow, AppError> {
    let row = terminal(state, client, state.now())
        .await?
        .ok_or(AppError::Rejected(Problem::TerminalRequired))?;
    let is_kiosk = row.device.kind == DeviceKind::Kiosk;
    if is_kiosk != kiosk {
        return Err(AppError::Rejected(Problem::TerminalKind));
    }
    Ok(row)
}

fn new_request_id() -> String {
    let bytes: [u8; 12] = rand::random();
    format!("web-{}", hex::encode(bytes))
}

pub async fn info(state: &AppState, t: &TerminalRow) -> Result<TerminalInfo, AppError> {
    let now = state.now();
    let day = state.db.device_day(t.device.id, day_start(now)).await?;
    let last_sale = state.db.last_sale(t.device.id).await?.map(|s| SaleView {
        journal_id: s.journal_id,
        amount: s.amount,
        at: s.at.to_rfc3339(),
        holder: masked_name(&s.holder_name),
        refunded: s.refunded || s.at < now - ledger::REFUND_WINDOW,
    });
    Ok(TerminalInfo {
        device_code: t.device.code.clone(),
        kind: t.device.kind,
        place: t.device.place.clone(),
        merchant_zh: t.merchant.as_ref().map(|m| m.0.clone()),
        merchant_en: t.merchant.as_ref().map(|m| m.1.clone()),
        sales: day.sales,
        sales_total: day.sales_total,
        refunds: day.refunds,
        refunds_total: day.refunds_total,
        last_sale,
        request_id: new_request_id(),
    })
}

fn request_id_ok(request_id: &str) -> Result<(), AppError> {
    if request_id.is_empty()
        || request_id.len() > 64
        || !request_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(AppError::Invalid("bad request id".into()));
    }
    Ok(())
}

fn presented(scan: &str) -> Result<Presented, AppError> {
    let scan = scan.trim();
    if scan.is_empty() {
        return Err(AppError::Rejected(Problem::ScanEmpty));
    }
    Ok(if scan_is_code(scan) {
        Presented::Code(scan.to_string())
    } else {
        Presented::Card(scan.to_uppercase())
    })
}

fn outcome_result(outcome: PaymentOutcome) -> TillResult {
    match outcome {
        PaymentOutcome::Approved {
            amount, balance, ..
        } => TillResult {
            approved: true,
            amount: Some(amount),
            balance: Some(balance),
            holder: None,
            reason: None,
        },
        PaymentOutcome::Declined { reason } => TillResult::declined(reason),
    }
}

fn ledger_error(e: ledger::LedgerError) -> AppError {
    match e {
        ledger::LedgerError::Conflict => {
            AppError::Invalid("this sale number was used for another sale".into())
        }
        other => internal(other),
    }
}

/// A sale at the till.
pub async fn pay(
    state: &AppState,
    t: &TerminalRow,
    request_id: &str,
    amount: &str,
    scan: &str,
    password: Option<&str>,
) -> Result<TillResult, AppError> {
    request_id_ok(request_id)?;
    let amount = Money::parse_yuan(amount).map_err(|_| AppError::Rejected(Problem::LimitFormat))?;
    if amount.fen() <= 0 {
        return Ok(TillResult::declined(Decline::InvalidAmount));
    }
    let presented = presented(scan)?;
    let (card, code) = match &presented {
        Presented::Card(s) => (Some(s.as_str()), None),
        Presented::Code(c) => (None, Some(c.as_str())),
    };
    let hash = ledger::pay_payload_hash(request_id, amount.fen(), card, code);
    let outcome = ledger::pay(
        state,
        &t.device,
        &PayRequest {
            request_id,
            amount,
            presented: Some(presented.clone()),
            password: password.filter(|p| !p.is_empty()),
        },
        &hash,
        state.now(),
    )
    .await
    .map_err(ledger_error)?;
    Ok(outcome_result(outcome))
}

/// Refunds a sale of this merchant.
pub async fn refund(
    state: &AppState,
    t: &TerminalRow,
    request_id: &str,
    payment_id: i64,
) -> Result<TillResult, AppError> {
    request_id_ok(request_id)?;
    let hash = ledger::refund_payload_hash(request_id, payment_id);
    let outcome = ledger::refund(state, &t.device, request_id, payment_id, &hash, state.now())
        .await
        .map_err(ledger_error)?;
    // The amount of an approved refund is the money given back (positive).
    Ok(outcome_result(outcome))
}

/// A card or code held to the till with no amount.
pub async fn balance(state: &AppState, scan: &str) -> Result<TillResult, AppError> {
    let presented = presented(scan)?;
    Ok(
        match ledger::balance(state, &presented, state.now())
            .await
            .map_err(ledger_error)?
        {
            Ok((payer, _)) => TillResult {
                approved: true,
                amount: None,
                balance: Some(payer.balance),
                holder: Some(masked_name(&payer.name)),
                reason: None,
            },
            Err(reason) => TillResult::declined(reason),
        },
    )
}
