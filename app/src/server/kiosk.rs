//! Self-service kiosks: balance, a new consumption password, a loss report. Each needs the
//! card (or, for a loss report, the card or student number) plus a password; wrong passwords
//! count towards the same lockouts as everywhere else, and a kiosk that keeps guessing is
//! throttled as a whole.

use super::AppState;
use super::auth::{ADDRESS_WINDOW, MAX_FAILURES_PER_ADDRESS, check_query_password};
use super::domain::calendar::day_start;
use super::ledger::LedgerError;
use super::store::{Actor, Audit, CardChange, DeviceRow, Payer};
use crate::audit_text::{AuditText, Fact};
use crate::error::AppError;
use crate::model::{AuditAction, CardStatus, Decline, DeviceKind};
use crate::portal_model::Problem;
use chrono::{DateTime, Utc};

/// A kiosk's answer: done, or refused with a reason the screen shows.
pub type KioskResult<T> = Result<Result<T, Decline>, LedgerError>;

fn store(e: impl Into<AppError>) -> LedgerError {
    LedgerError::Internal(e.into().to_string())
}

/// Refuses anything but a kiosk; the key of the kiosk's count of wrong passwords.
fn guard(device: &DeviceRow) -> Result<String, Decline> {
    if device.kind != DeviceKind::Kiosk {
        return Err(Decline::NotAllowedHere);
    }
    Ok(format!("device:{}", device.id))
}

/// Reserves one password attempt on the kiosk's count, right before a password is checked
/// (a kiosk that has had too many wrong passwords lately refuses); `release` gives it back
/// when the password was right. Declines that check no password never count.
async fn reserve(state: &AppState, key: &str, now: DateTime<Utc>) -> KioskResult<()> {
    if state
        .db
        .throttle_reserve(key, MAX_FAILURES_PER_ADDRESS, now, now - ADDRESS_WINDOW)
        .await?
    {
        Ok(Ok(()))
    } else {
        Ok(Err(Decline::QueryPasswordLocked))
    }
}

/// The attempt reserved by `guard` was not a wrong password: it does not count.
async fn release(state: &AppState, key: &str) -> Result<(), LedgerError> {
    Ok(state.db.throttle_release(key).await?)
}

/// The holder of a card on the reader, if the card may be used.
async fn card_holder(state: &AppState, serial: &str) -> KioskResult<i64> {
    let serial = serial.trim().to_uppercase();
    let Some(card) = state.db.card_by_serial(&serial).await? else {
        return Ok(Err(Decline::UnknownCard));
    };
    Ok(super::ledger::card_decline(card.status).map(|()| card.holder_id))
}

/// Checks the query password of a holder at a kiosk.
async fn query_password(
    state: &AppState,
    key: &str,
    holder_id: i64,
    password: &str,
    now: DateTime<Utc>,
) -> KioskResult<()> {
    let Some(auth) = state.db.holder_auth(holder_id).await? else {
        return Ok(Err(Decline::UnknownCard));
    };
    if let Err(d) = reserve(state, key, now).await? {
        return Ok(Err(d));
    }
    match check_query_password(state, &auth, password, now)
        .await
        .map_err(store)?
    {
        Ok(()) => {
            release(state, key).await?;
            Ok(Ok(()))
        }
        Err(problem) => Ok(Err(match problem {
            Problem::Locked { .. } => Decline::QueryPasswordLocked,
            _ => Decline::WrongQueryPassword,
        })),
    }
}

/// Balance at a kiosk: the card plus the query password.
pub async fn balance(
    state: &AppState,
    device: &DeviceRow,
    card_serial: &str,
    password: &str,
    now: DateTime<Utc>,
) -> KioskResult<Payer> {
    let key = match guard(device) {
        Ok(key) => key,
        Err(d) => return Ok(Err(d)),
    };
    let holder_id = match card_holder(state, card_serial).await? {
        Ok(h) => h,
        Err(d) => return Ok(Err(d)),
    };
    if let Err(d) = query_password(state, &key, holder_id, password, now).await? {
        return Ok(Err(d));
    }
    let day_start = day_start(now);
    Ok(state
        .db
        .payer(holder_id, day_start)
        .await?
        .ok_or(Decline::UnknownCard))
}

/// A new consumption password at a kiosk: the card, the old consumption password and the new
/// one, which follows the same rules as a query password.
pub async fn change_consumption_password(
    state: &AppState,
    device: &DeviceRow,
    card_serial: &str,
    old: &str,
    new: &str,
    now: DateTime<Utc>,
) -> KioskResult<()> {
    let key = match guard(device) {
        Ok(key) => key,
        Err(d) => return Ok(Err(d)),
    };
    let holder_id = match card_holder(state, card_serial).await? {
        Ok(h) => h,
        Err(d) => return Ok(Err(d)),
    };
    if old == new || super::pin::check_new_pin(new).is_err() {
        return Ok(Err(Decline::NewPasswordRejected));
    }
    let Some(auth) = state.db.holder_auth(holder_id).await? else {
        return Ok(Err(Decline::UnknownCard));
    };
    let id_key = {
        use secrecy::ExposeSecret;
        state
            .secrets
            .id_hash_key
            .expose_secret()
            .as_bytes()
            .to_vec()
    };
    if auth
        .personal_pins
        .contains(&super::ids::pin_hash(&id_key, new))
    {
        return Ok(Err(Decline::NewPasswordRejected));
    }
    let day_start = day_start(now);
    let Some(payer) = state.db.payer(holder_id, day_start).await? else {
        return Ok(Err(Decline::UnknownCard));
    };
    if payer
        .consumption_pw_locked_until
        .is_some_and(|until| until > now)
    {
        return Ok(Err(Decline::PasswordLocked));
    }
    if let Err(d) = reserve(state, &key, now).await? {
        return Ok(Err(d));
    }
    if let Err(reason) = super::ledger::check_consumption_password(state, &payer, old, now).await? {
        return Ok(Err(reason));
    }
    release(state, &key).await?;
    let hash = state
        .hasher
        .hash(new.to_string())
        .await
        .map_err(|e| LedgerError::Internal(e.to_string()))?;
    state
        .db
        .set_consumption_password(
            payer.account_id,
            &hash,
            Audit {
                actor: Actor::Device(device.id),
                action: AuditAction::HolderChangeConsumptionPassword,
                holder_id: Some(holder_id),
                target: Fact::Holder(auth.student_no.clone()).into(),
                before: AuditText::none(),
                after: AuditText::none(),
                reason: Fact::AtKiosk(device.code.clone()).stored(),
                ip: String::new(),
            },
        )
        .await?;
    Ok(Ok(()))
}

/// A loss report at a kiosk: the student or card number and the query password (the card
/// itself is what was lost).
pub async fn report_loss(
    state: &AppState,
    device: &DeviceRow,
    login: &str,
    password: &str,
    now: DateTime<Utc>,
) -> KioskResult<String> {
    let key = match guard(device) {
        Ok(key) => key,
        Err(d) => return Ok(Err(d)),
    };
    let Some(auth) = state.db.holder_auth_by_login(login.trim()).await? else {
        // An unknown number counts like a wrong password (it is how numbers are probed).
        if let Err(d) = reserve(state, &key, now).await? {
            return Ok(Err(d));
        }
        // Hash anyway: an unknown number costs what a wrong password costs.
        let _ = state.hasher.verify(password.to_string(), None).await;
        return Ok(Err(Decline::UnknownCard));
    };
    if let Err(d) = query_password(state, &key, auth.holder_id, password, now).await? {
        return Ok(Err(d));
    }
    let audit = Audit {
        actor: Actor::Device(device.id),
        action: AuditAction::CardReportLost,
        holder_id: Some(auth.holder_id),
        target: AuditText::none(),
        before: AuditText::none(),
        after: AuditText::none(),
        reason: Fact::AtKiosk(device.code.clone()).stored(),
        ip: String::new(),
    };
    Ok(
        match state
            .db
            .set_card_lost(auth.holder_id, true, now, audit)
            .await?
        {
            CardChange::Changed { card_no, .. } => Ok(super::portal::mask_card_no(&card_no)),
            CardChange::NoCard => Err(Decline::UnknownCard),
            CardChange::WrongState(CardStatus::Lost) => Err(Decline::CardLost),
            CardChange::WrongState(_) => Err(Decline::CardVoid),
        },
    )
}
