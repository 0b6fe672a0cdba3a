//! The money engine: every payment goes through `pay`, which decides, and the store's `debit`,
//! which writes the journal entry and the balance in one transaction. Balance inquiries and
//! gate checks identify the holder the same way.

use super::AppState;
use super::domain::attempts::Lockout;
use super::domain::calendar::day_start;
pub use super::domain::masking::masked_name;
use super::domain::payments::{LimitCheck, check_limits, single_without_password};
use super::paycode::{self, CodeError, Purpose};
use super::store::{
    AccessEvent, Attempts, Debit, DeviceRow, Payer, PaymentOutcome, Refund, StoreError,
};
use crate::audit_text::{Fact, Phrase};
use crate::model::{AccountStatus, AuditAction, CardStatus, Decline, DeviceKind, Money};
use crate::portal_model::CodeResult;
use chrono::{DateTime, Duration, Utc};

pub const MAX_CONSUMPTION_PW_FAILURES: i64 = 3;
pub const CONSUMPTION_PW_LOCK: Duration = Duration::minutes(30);

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The request id was used before with a different payload.
    #[error("request id reused with a different payload")]
    Conflict,
    #[error(transparent)]
    Store(StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for LedgerError {
    fn from(e: StoreError) -> Self {
        match e {
            // Found by the writer under its lock: two requests with one id raced.
            StoreError::RequestReused => LedgerError::Conflict,
            e => LedgerError::Store(e),
        }
    }
}

/// What a reader presented: a card's chip serial or the digits of a 深职通码.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Card(String),
    Code(String),
}

impl Presented {
    /// Exactly one of the two, where a field counts when it is a non-empty string: absent,
    /// `null` and `""` are the same. The device API's OpenAPI document states this very rule
    /// (`minLength: 1` in a `oneOf`), so a schema-driven client and the server agree on it.
    /// A serial or code of spaces counts, and is then an unknown card or code.
    pub fn from_parts(card_serial: Option<&str>, code: Option<&str>) -> Option<Presented> {
        match (
            card_serial.filter(|s| !s.is_empty()),
            code.filter(|s| !s.is_empty()),
        ) {
            (Some(serial), None) => Some(Presented::Card(serial.trim().to_uppercase())),
            (None, Some(code)) => Some(Presented::Code(code.trim().to_string())),
            _ => None,
        }
    }

    pub fn method(&self) -> &'static str {
        match self {
            Presented::Card(_) => "card",
            Presented::Code(_) => "code",
        }
    }
}

pub struct PayRequest<'a> {
    pub request_id: &'a str,
    pub amount: Money,
    pub presented: Option<Presented>,
    pub password: Option<&'a str>,
}

/// Who was identified, or why not.
pub struct Identified {
    pub holder_id: i64,
    pub card_id: Option<i64>,
    /// The 深职通码 it was, verified but not used yet (a payment uses it when decided).
    pub code: Option<paycode::Verified>,
}

fn code_decline(e: CodeError) -> Result<Decline, LedgerError> {
    Ok(match e {
        CodeError::Expired => Decline::CodeExpired,
        CodeError::Used => Decline::CodeUsed,
        CodeError::Malformed | CodeError::Forged | CodeError::Revoked | CodeError::WrongPurpose => {
            Decline::CodeInvalid
        }
        CodeError::AccountNotActive => Decline::AccountFrozen,
        CodeError::Store(s) => return Err(LedgerError::Internal(s)),
    })
}

/// Finds the holder behind a card or a code. A lost card is refused; the code still works
/// while the card is lost (it is bound to the holder's phone, not the plastic).
pub async fn identify(
    state: &AppState,
    presented: &Presented,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Result<Identified, Decline>, LedgerError> {
    match presented {
        Presented::Card(serial) => {
            let Some(card) = state.db.card_by_serial(serial).await? else {
                return Ok(Err(Decline::UnknownCard));
            };
            Ok(card_decline(card.status).map(|()| Identified {
                holder_id: card.holder_id,
                card_id: Some(card.card_id),
                code: None,
            }))
        }
        Presented::Code(digits) => {
            match paycode::verify(&state.db, &state.secrets.sealer, digits, purpose, now).await {
                Ok(v) => Ok(Ok(Identified {
                    holder_id: v.holder_id,
                    card_id: None,
                    code: Some(v),
                })),
                Err(e) => Ok(Err(code_decline(e)?)),
            }
        }
    }
}

/// The holder behind a card or code and their payer row. A card needs one query for both.
async fn identify_payer(
    state: &AppState,
    presented: &Presented,
    purpose: Purpose,
    day_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Result<(Identified, Payer), Decline>, LedgerError> {
    let (who, payer) = match presented {
        Presented::Card(serial) => {
            let Some((card, payer)) = state.db.card_and_payer(serial, day_start).await? else {
                return Ok(Err(Decline::UnknownCard));
            };
            if let Err(reason) = card_decline(card.status) {
                return Ok(Err(reason));
            }
            (
                Identified {
                    holder_id: card.holder_id,
                    card_id: Some(card.card_id),
                    code: None,
                },
                payer,
            )
        }
        Presented::Code(_) => match identify(state, presented, purpose, now).await? {
            Ok(who) => {
                let payer = state.db.payer(who.holder_id, day_start).await?;
                (who, payer)
            }
            Err(reason) => return Ok(Err(reason)),
        },
    };
    Ok(payer.map(|p| (who, p)).ok_or(Decline::UnknownCard))
}

/// Whether a card in this state may be used.
pub fn card_decline(status: CardStatus) -> Result<(), Decline> {
    match status {
        CardStatus::Active => Ok(()),
        CardStatus::Lost => Err(Decline::CardLost),
        CardStatus::Void | CardStatus::Cancelled => Err(Decline::CardVoid),
    }
}

fn account_decline(payer: &Payer) -> Option<Decline> {
    match payer.status {
        AccountStatus::Active => None,
        AccountStatus::Frozen => Some(Decline::AccountFrozen),
        AccountStatus::Closed => Some(Decline::AccountClosed),
    }
}

/// The hash that tells a retried sale from a different one under the same request id. The
/// password is not part of the sale: a retry with the password is the same sale.
pub fn pay_payload_hash(
    request_id: &str,
    amount_fen: i64,
    card_serial: Option<&str>,
    code: Option<&str>,
) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        format!(
            "{request_id}|{amount_fen}|{}|{}",
            card_serial.unwrap_or(""),
            code.unwrap_or("")
        )
        .as_bytes(),
    ))
}

/// The hash of a refund request (the payment it refunds).
pub fn refund_payload_hash(request_id: &str, payment_id: i64) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        format!("refund|{request_id}|{payment_id}").as_bytes(),
    ))
}

pub fn outcome_text(outcome: &PaymentOutcome) -> Result<String, LedgerError> {
    serde_json::to_string(outcome).map_err(|e| LedgerError::Internal(e.to_string()))
}

/// The first outcome of an earlier request with this id: the same payload gets it again, a
/// different payload is a conflict.
async fn replay(
    state: &AppState,
    device: &DeviceRow,
    request_id: &str,
    payload_hash: &str,
) -> Result<Option<PaymentOutcome>, LedgerError> {
    let Some((hash, outcome)) = state.db.earlier_request(device.id, request_id).await? else {
        return Ok(None);
    };
    if hash != payload_hash {
        return Err(LedgerError::Conflict);
    }
    serde_json::from_str(&outcome)
        .map(Some)
        .map_err(|e| LedgerError::Internal(e.to_string()))
}

/// Stores a decline made before the ledger under the request id, so a retry gets it again.
async fn remember_decline(
    state: &AppState,
    device: &DeviceRow,
    request_id: &str,
    payload_hash: &str,
    reason: Decline,
    now: DateTime<Utc>,
) -> Result<PaymentOutcome, LedgerError> {
    let outcome = PaymentOutcome::Declined { reason };
    state
        .db
        .remember_request(
            device.id,
            request_id,
            payload_hash,
            &outcome_text(&outcome)?,
            now,
        )
        .await?;
    Ok(outcome)
}

/// Takes a payment at a POS or meal table. Idempotent per (device, request id): a retry with
/// the same payload returns the first outcome and is never charged twice.
pub async fn pay(
    state: &AppState,
    device: &DeviceRow,
    req: &PayRequest<'_>,
    payload_hash: &str,
    now: DateTime<Utc>,
) -> Result<PaymentOutcome, LedgerError> {
    if let Some(outcome) = replay(state, device, req.request_id, payload_hash).await? {
        return Ok(outcome);
    }
    let (outcome, code_holder) = charge(state, device, req, payload_hash, now).await?;
    // The student who paid with the 深职通码 sees the result on the phone at once.
    if let Some(holder_id) = code_holder {
        let result = code_result(&outcome, req.amount, &device.place);
        super::code_events::tell(&state.code_events, &state.db, holder_id, result);
    }
    Ok(outcome)
}

/// What the code page of the payer is told about a sale.
pub fn code_result(outcome: &PaymentOutcome, asked: Money, place: &str) -> CodeResult {
    match outcome {
        PaymentOutcome::Approved {
            amount, balance, ..
        } => CodeResult {
            amount: *amount,
            place: place.to_string(),
            balance: Some(*balance),
            decline: None,
        },
        PaymentOutcome::Declined { reason } => CodeResult {
            amount: asked,
            place: place.to_string(),
            balance: None,
            decline: Some(*reason),
        },
    }
}

/// Decides and charges a sale not seen before. With the outcome comes the holder whose
/// 深职通码 paid, once the code is known to be theirs (`None` for a card, or a code refused
/// before it was known).
async fn charge(
    state: &AppState,
    device: &DeviceRow,
    req: &PayRequest<'_>,
    payload_hash: &str,
    now: DateTime<Utc>,
) -> Result<(PaymentOutcome, Option<i64>), LedgerError> {
    let decline = |reason: Decline| {
        remember_decline(state, device, req.request_id, payload_hash, reason, now)
    };
    if !matches!(device.kind, DeviceKind::Pos | DeviceKind::MealTable) {
        return Ok((decline(Decline::NotAllowedHere).await?, None));
    }
    if req.amount.fen() <= 0 {
        return Ok((decline(Decline::InvalidAmount).await?, None));
    }
    let Some(presented) = &req.presented else {
        return Ok((decline(Decline::UnknownCard).await?, None));
    };
    let day_start = day_start(now);
    let (who, payer) = match identify_payer(state, presented, Purpose::Pay, day_start, now).await? {
        Ok(found) => found,
        Err(reason) => return Ok((decline(reason).await?, None)),
    };
    let told = who.code.as_ref().map(|_| who.holder_id);
    if let Some(reason) = account_decline(&payer) {
        return Ok((decline(reason).await?, told));
    }
    let profile = state
        .campus
        .get(&state.db)
        .await?
        .ok_or_else(|| LedgerError::Internal("no campus profile".into()))?;
    // A code a phone made offline pays only the campus's offline amount without the password.
    let offline_max = who
        .code
        .as_ref()
        .is_some_and(|c| c.offline)
        .then_some(profile.offline_code_max);
    let limits = check_limits(
        req.amount,
        payer.spent_today,
        single_without_password(payer.single_limit, offline_max),
        payer.daily_limit,
        profile.max_single_limit,
        profile.max_daily_limit,
    )
    .map_err(|e| LedgerError::Internal(e.to_string()))?;
    if limits == LimitCheck::OverCeiling {
        return Ok((decline(Decline::LimitExceeded).await?, told));
    }
    let needs_password = limits == LimitCheck::NeedsPassword;
    let mut password_ok = false;
    if needs_password {
        if payer
            .consumption_pw_locked_until
            .is_some_and(|until| until > now)
        {
            return Ok((decline(Decline::PasswordLocked).await?, told));
        }
        // Not remembered under the request id: the cashier asks for the password and sends
        // the same sale again with it.
        let Some(password) = req.password.filter(|p| !p.is_empty()) else {
            return Ok((
                PaymentOutcome::Declined {
                    reason: Decline::PasswordRequired,
                },
                told,
            ));
        };
        // A wrong password is not remembered under the request id: the cashier retries the
        // same sale with the right one.
        if let Err(reason) = check_consumption_password(state, &payer, password, now).await? {
            return Ok((PaymentOutcome::Declined { reason }, told));
        }
        password_ok = true;
    }
    // The sale is decided up to the ledger's own checks: now the code is used, once.
    if let Some(code) = &who.code {
        match paycode::consume(&state.db, code, now).await {
            Ok(()) => {}
            Err(e) => return Ok((decline(code_decline(e)?).await?, told)),
        }
    }
    let outcome = state
        .db
        .debit(Debit {
            account_id: payer.account_id,
            amount: req.amount,
            device_id: device.id,
            merchant_id: device.merchant_id,
            card_id: who.card_id,
            request_id: req.request_id.to_string(),
            payload_hash: payload_hash.to_string(),
            password_ok,
            day_start,
            campus_max_single: profile.max_single_limit,
            campus_max_daily: profile.max_daily_limit,
            offline_max,
            now,
        })
        .await?;
    // Below the holder's automatic top-up threshold: top up in the background, after the
    // payment is durable and answered (never inside its transaction).
    if let (PaymentOutcome::Approved { balance, .. }, Some(threshold)) =
        (&outcome, payer.auto_topup_below)
        && *balance < threshold
    {
        super::topup::start_auto_topup(state.clone(), payer.holder_id);
    }
    Ok((outcome, told))
}

/// The consumption password's lockout: 3 wrong in a row lock password payments for 30 minutes.
pub const CONSUMPTION_LOCKOUT: Lockout = Lockout {
    max: MAX_CONSUMPTION_PW_FAILURES,
    lock_for: CONSUMPTION_PW_LOCK,
};

/// Checks a consumption password (at a till or a kiosk). Hashing happens here, outside any
/// database transaction, after the attempt has been counted (`auth::check_password`): a burst
/// of guesses at one card gets `MAX_CONSUMPTION_PW_FAILURES` checks, then the lock; a right
/// one clears the count.
pub async fn check_consumption_password(
    state: &AppState,
    payer: &Payer,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Decline>, LedgerError> {
    use super::auth::{Checked, check_password};
    let checked = check_password(
        state,
        Attempts::Consumption(payer.account_id),
        CONSUMPTION_LOCKOUT,
        &payer.consumption_pw_hash,
        password,
        now,
    )
    .await
    .map_err(|e| LedgerError::Internal(e.to_string()))?;
    Ok(match checked {
        Checked::Right => Ok(()),
        Checked::Wrong { locked_until: None } => Err(Decline::WrongPassword),
        Checked::Wrong {
            locked_until: Some(_),
        }
        | Checked::Locked { .. } => Err(Decline::PasswordLocked),
    })
}

/// How long after a sale the till may refund it; later refunds go through the card office.
pub const REFUND_WINDOW: Duration = Duration::days(7);

/// Refunds a payment made at the same merchant within the window. Idempotent per (device,
/// request id) like a payment; a payment is refunded at most once.
pub async fn refund(
    state: &AppState,
    device: &DeviceRow,
    request_id: &str,
    payment_id: i64,
    payload_hash: &str,
    now: DateTime<Utc>,
) -> Result<PaymentOutcome, LedgerError> {
    if let Some(outcome) = replay(state, device, request_id, payload_hash).await? {
        return Ok(outcome);
    }
    if !matches!(device.kind, DeviceKind::Pos | DeviceKind::MealTable)
        || device.merchant_id.is_none()
    {
        return remember_decline(
            state,
            device,
            request_id,
            payload_hash,
            Decline::NotAllowedHere,
            now,
        )
        .await;
    }
    Ok(state
        .db
        .refund(Refund {
            device_id: device.id,
            merchant_id: device.merchant_id,
            payment_id,
            request_id: request_id.to_string(),
            payload_hash: payload_hash.to_string(),
            window_start: now - REFUND_WINDOW,
            now,
        })
        .await?)
}

/// A balance inquiry: a card (or code) held to a terminal with no amount.
pub async fn balance(
    state: &AppState,
    presented: &Presented,
    now: DateTime<Utc>,
) -> Result<Result<(Payer, Option<i64>), Decline>, LedgerError> {
    let day_start = day_start(now);
    Ok(
        identify_payer(state, presented, Purpose::Identity, day_start, now)
            .await?
            .map(|(who, payer)| (payer, who.card_id)),
    )
}

/// A gate or attendance check. Every check is recorded, allowed or not.
pub async fn access(
    state: &AppState,
    device: &DeviceRow,
    presented: &Presented,
    now: DateTime<Utc>,
) -> Result<Result<i64, Decline>, LedgerError> {
    let result = if !matches!(device.kind, DeviceKind::Gate | DeviceKind::Attendance) {
        Err(Decline::NotAllowedHere)
    } else {
        identify(state, presented, Purpose::Identity, now)
            .await?
            .map(|who| (who.holder_id, who.card_id))
    };
    let (holder, card, allowed, reason) = match (&result, presented) {
        (Ok((holder, card)), _) => (Some(*holder), *card, true, ""),
        // A refused card still belongs to someone (lost, void): the record is theirs too, so
        // the holder sees where their lost card was tried.
        (Err(reason), Presented::Card(serial)) => {
            let card = state.db.card_by_serial(serial).await?;
            (
                card.as_ref().map(|c| c.holder_id),
                card.map(|c| c.card_id),
                false,
                reason.as_str(),
            )
        }
        (Err(reason), Presented::Code(_)) => (None, None, false, reason.as_str()),
    };
    state
        .db
        .record_access(&AccessEvent {
            device_id: device.id,
            holder_id: holder,
            card_id: card,
            method: presented.method(),
            allowed,
            reason,
            at: now,
        })
        .await?;
    Ok(result.map(|(holder, _)| holder))
}

/// Issues (or rotates) a device's credential outside the staff pages (the `server
/// issue-device-key` command, the load generator, the device simulator): the same audited
/// write as the administrators' page, by the system, with `by` saying who ran what. Returns
/// the private key, to show once.
pub async fn issue_device_key(
    state: &AppState,
    device: &DeviceRow,
    now: DateTime<Utc>,
    by: &str,
) -> Result<String, LedgerError> {
    let (secret, public) = new_device_key();
    install_device_key(&state.db, device, &public, now, by).await?;
    Ok(secret)
}

/// Makes `public` the device's key, audited as the system's act with `by` as the reason (the
/// tools that bring their own key pair: the load generator, the device simulator).
pub async fn install_device_key(
    db: &super::Db,
    device: &DeviceRow,
    public: &str,
    now: DateTime<Utc>,
    by: &str,
) -> Result<(), StoreError> {
    let rotating = device.public_key.is_some();
    let audit = super::store::Audit {
        actor: super::store::Actor::System,
        action: if rotating {
            AuditAction::DeviceRotateCredential
        } else {
            AuditAction::DeviceIssueCredential
        },
        holder_id: None,
        target: Fact::Device(device.code.clone()).into(),
        before: Fact::Said(if rotating {
            Phrase::CredentialLive
        } else {
            Phrase::NoCredential
        })
        .into(),
        after: Fact::PublicKey(public.get(..16).unwrap_or(public).into()).into(),
        reason: by.to_string(),
        ip: String::new(),
    };
    db.set_device_credential(device.id, Some(public), now, audit)
        .await
}

/// A fresh Ed25519 device credential: (the private key for the device, hex; the public key the
/// server keeps, hex).
pub fn new_device_key() -> (String, String) {
    let secret: [u8; 32] = rand::random();
    let signing = ed25519_dalek::SigningKey::from_bytes(&secret);
    let public = hex::encode(signing.verifying_key().to_bytes());
    (hex::encode(secret), public)
}

/// Nonces of signed device requests, remembered for the timestamp window so a captured request
/// cannot be sent again. Kept in memory: a write per request would double the disk syncs of
/// every payment. Across a restart a replay inside the window is still harmless for payments,
/// whose request id is idempotent in the database.
#[derive(Default)]
pub struct NonceCache {
    seen: std::sync::Mutex<NonceState>,
}

#[derive(Default)]
struct NonceState {
    entries: std::collections::HashMap<(i64, String), i64>,
    last_prune_ms: i64,
}

impl NonceCache {
    /// Records a nonce seen at `now_ms`; false if this device sent it within `window_ms`.
    pub fn first_use(&self, device_id: i64, nonce: &str, now_ms: i64, window_ms: i64) -> bool {
        let Ok(mut state) = self.seen.lock() else {
            return false;
        };
        if now_ms - state.last_prune_ms > 10_000 {
            state.entries.retain(|_, seen| now_ms - *seen <= window_ms);
            state.last_prune_ms = now_ms;
        }
        match state.entries.entry((device_id, nonce.to_string())) {
            std::collections::hash_map::Entry::Occupied(e) => now_ms - *e.get() > window_ms,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(now_ms);
                true
            }
        }
    }
}

#[cfg(test)]
mod nonce_tests {
    #[test]
    fn a_nonce_is_accepted_once_per_window() {
        let cache = super::NonceCache::default();
        assert!(cache.first_use(1, "abc", 1_000, 120_000));
        assert!(!cache.first_use(1, "abc", 2_000, 120_000));
        assert!(cache.first_use(2, "abc", 2_000, 120_000), "per device");
        assert!(cache.first_use(1, "abd", 2_000, 120_000));
    }
}

#[cfg(test)]
mod tests {
    use super::Presented;

    #[test]
    fn a_device_presents_exactly_one_non_empty_card_or_code() {
        let card = |s: &str| Some(Presented::Card(s.into()));
        let code = |s: &str| Some(Presented::Code(s.into()));
        for (serial, digits, expected) in [
            (Some("dec00001"), None, card("DEC00001")),
            (Some(" dec00001 "), Some(""), card("DEC00001")),
            (
                None,
                Some("12345678901234567890"),
                code("12345678901234567890"),
            ),
            (Some(""), Some("123"), code("123")),
            (Some("A"), Some("1"), None),
            (None, None, None),
            (Some(""), Some(""), None),
            // Spaces are a field (the document's `minLength: 1`), and then no known card.
            (Some("  "), None, card("")),
        ] {
            assert_eq!(
                Presented::from_parts(serial, digits),
                expected,
                "{serial:?} {digits:?}"
            );
        }
    }
}
