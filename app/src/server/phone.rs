//! Remembered phones. At login a student may keep this phone for the 深职通码: the phone gets
//! a long-lived cookie (`COOKIE`) that opens the code page and the balance on it, and nothing
//! else, without the password; and a code key of its own, whose secret the code page keeps in
//! the browser's storage to make codes without the network (`crate::code_format`). Every other
//! page still needs the logged-in session and its idle timeout.
//!
//! The binding lasts the campus's `phone_binding_days`. The holder removes it on the profile
//! page; a password change or reset, a loss report, a freeze and a closing end all of them
//! (`domain::bindings`). Ending the binding kills its key: its codes are refused at once.

use super::auth::{self, Client, HolderSession};
use super::domain::bindings;
use super::paycode::random_key_id;
use super::sealing::{Sealed, Sealer};
use super::store::{Actor, Audit, NewBinding, PhoneBinding};
use super::{AppState, internal};
use crate::audit_text::{AuditText, Fact, Phrase};
use crate::code_format::PHONE_KEYS;
use crate::error::AppError;
use crate::model::AuditAction;
use crate::portal_model::{PhoneCodeKey, PhoneView, Problem};
use crate::user_agent::DeviceName;
use chrono::{DateTime, Duration, Utc};

pub const COOKIE: &str = "ykt_phone";
pub const SECURE_COOKIE: &str = "__Host-ykt_phone";

/// The last-used time is written at most this often.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// `Set-Cookie` for a binding's token, kept by the browser for `days` (`None` clears it).
pub fn cookie(token: Option<&str>, secure: bool, days: i64) -> String {
    let name = if secure { SECURE_COOKIE } else { COOKIE };
    super::lasting_cookie_header(name, token, secure, Some(days * 86_400))
}

/// The holder's own record of a phone of theirs (`phone`) remembered or forgotten.
fn holder_audit(holder_id: i64, action: AuditAction, phone: Fact, after: Fact, ip: &str) -> Audit {
    Audit {
        actor: Actor::Holder(holder_id),
        action,
        holder_id: Some(holder_id),
        target: phone.into(),
        before: AuditText::none(),
        after: after.into(),
        reason: String::new(),
        ip: ip.to_string(),
    }
}

/// Remembers this browser for the holder who just logged in; returns the cookie's token and
/// the number of days. A binding the browser already had is ended first (one per phone).
pub async fn bind(
    state: &AppState,
    holder_id: i64,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<(String, i64), AppError> {
    let profile = state
        .campus
        .get(&state.db)
        .await?
        .ok_or_else(|| internal("no campus profile"))?;
    if let Some(old) = binding(state, client, now).await? {
        let audit = holder_audit(
            old.holder_id,
            AuditAction::HolderPhoneRemoved,
            Fact::Phone(old.key_id, None),
            Fact::Said(Phrase::ReplacedAtLogin),
            &client.ip,
        );
        state
            .db
            .end_binding(old.holder_id, old.key_id, "replaced", now, audit)
            .await?;
    }
    let device_name = DeviceName::of(&client.user_agent)
        .label()
        .unwrap_or_default();
    let expires_at = bindings::expires_at(now, profile.phone_binding_days);
    for _ in 0..5 {
        let key_id = random_key_id(PHONE_KEYS);
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let sealed = state.secrets.sealer.seal(Sealed::PayCodeKey, &secret);
        let token = auth::new_token();
        if state
            .db
            .create_binding(&NewBinding {
                key_id,
                holder_id,
                token_hash: &auth::token_hash(&token),
                secret: &sealed,
                device_name: &device_name,
                now,
                expires_at,
            })
            .await?
        {
            state
                .db
                .audit(holder_audit(
                    holder_id,
                    AuditAction::HolderPhoneBound,
                    Fact::Phone(key_id, Some(device_name.to_string())),
                    Fact::Until(expires_at.to_rfc3339()),
                    &client.ip,
                ))
                .await?;
            return Ok((token, profile.phone_binding_days));
        }
    }
    Err(internal("no free phone key id"))
}

/// The live binding behind the request's phone cookie, if any.
pub async fn binding(
    state: &AppState,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<Option<PhoneBinding>, AppError> {
    let Some(token) = client.phone_token.as_deref() else {
        return Ok(None);
    };
    Ok(state
        .db
        .binding_by_token(&auth::token_hash(token))
        .await?
        .filter(|b| bindings::alive(b.ended, b.expires_at, now)))
}

/// Who opened the code page.
pub struct CodeViewer {
    pub holder_id: i64,
    pub name: String,
    pub student_no: String,
    /// The logged-in session's token hash; `None` when the remembered phone alone opened it.
    pub session: Option<String>,
    /// This phone's binding (of the same holder), if it is remembered.
    pub phone: Option<PhoneBinding>,
}

/// What keeps an open code page (its event stream) allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The session, by its token hash.
    Session(String),
    /// The remembered phone, by its key id.
    Phone(i64),
}

impl CodeViewer {
    pub fn credential(&self) -> Credential {
        match (&self.session, &self.phone) {
            (Some(hash), _) => Credential::Session(hash.clone()),
            (None, Some(phone)) => Credential::Phone(phone.key_id),
            (None, None) => unreachable!("a viewer has a session or a phone"),
        }
    }
}

/// The holder behind the code page: the logged-in session, or else the remembered phone. The
/// phone alone opens only this (the code and the balance). `touch`: the request counts as
/// activity for the session (a page that only listens does not).
pub async fn code_viewer(
    state: &AppState,
    client: &Client,
    touch: bool,
) -> Result<CodeViewer, AppError> {
    let now = state.now();
    let session = if touch {
        auth::holder_session(state, client, now).await?
    } else {
        auth::listening_session(state, client, now).await?
    };
    let phone = binding(state, client, now).await?;
    // Another holder's binding on this browser does not count for the one logged in.
    let phone = phone.filter(|p| session.as_ref().is_none_or(|s| s.holder_id == p.holder_id));
    if let Some(s) = session {
        if s.must_change_password {
            return Err(AppError::Rejected(Problem::PasswordChangeRequired));
        }
        return Ok(viewer(s, phone));
    }
    let Some(phone) = phone else {
        return Err(AppError::Unauthorized);
    };
    let holder = state
        .db
        .holder_auth(phone.holder_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if now - phone.last_used_at > TOUCH_EVERY {
        state.db.touch_binding(phone.key_id, now).await?;
    }
    Ok(CodeViewer {
        holder_id: holder.holder_id,
        name: holder.name,
        student_no: holder.student_no,
        session: None,
        phone: Some(phone),
    })
}

fn viewer(s: HolderSession, phone: Option<PhoneBinding>) -> CodeViewer {
    CodeViewer {
        holder_id: s.holder_id,
        name: s.name,
        student_no: s.student_no,
        session: Some(s.token_hash),
        phone,
    }
}

/// Whether an open code page may go on hearing results.
pub async fn still_open(state: &AppState, credential: &Credential) -> Result<bool, AppError> {
    let now = state.now();
    Ok(match credential {
        Credential::Session(hash) => auth::holder_session_open(state, hash, now).await?,
        Credential::Phone(key_id) => state
            .db
            .phone_key(*key_id)
            .await?
            .and_then(|k| k.expires_at.map(|at| (k.revoked, at)))
            .is_some_and(|(revoked, at)| bindings::alive(revoked, at, now)),
    })
}

/// The phone's own code secret, for its browser storage. Only a logged-in session gets it,
/// and only for this browser's own binding: the password was typed on this phone.
pub async fn secret(
    state: &AppState,
    session: &HolderSession,
    client: &Client,
) -> Result<Option<PhoneCodeKey>, AppError> {
    let now = state.now();
    let Some(phone) = binding(state, client, now).await? else {
        return Ok(None);
    };
    if phone.holder_id != session.holder_id {
        return Ok(None);
    }
    let profile = state
        .campus
        .get(&state.db)
        .await?
        .ok_or_else(|| internal("no campus profile"))?;
    let secret = opened_secret(&state.secrets.sealer, &phone.secret)?;
    Ok(Some(PhoneCodeKey {
        key_id: phone.key_id,
        secret,
        name: session.name.clone(),
        student_no_tail: student_no_tail(&session.student_no),
        server_time_ms: now.timestamp_millis(),
        offline_max: profile.offline_code_max,
        expires_at: phone.expires_at.to_rfc3339(),
    }))
}

fn opened_secret(sealer: &Sealer, sealed: &str) -> Result<String, AppError> {
    sealer.open(Sealed::PayCodeKey, sealed).map_err(internal)
}

/// The last four characters of a student number, shown under the code for the cashier.
pub fn student_no_tail(student_no: &str) -> String {
    let from = student_no.chars().count().saturating_sub(4);
    student_no.chars().skip(from).collect()
}

/// The holder's remembered phones, for the profile page.
pub async fn list(
    state: &AppState,
    holder_id: i64,
    client: &Client,
) -> Result<Vec<PhoneView>, AppError> {
    let now = state.now();
    let this = binding(state, client, now).await?.map(|b| b.key_id);
    Ok(state
        .db
        .bindings_of(holder_id)
        .await?
        .into_iter()
        .filter(|b| bindings::alive(b.ended, b.expires_at, now))
        .map(|b| PhoneView {
            key_id: b.key_id,
            name: b.device_name,
            since: b.created_at.to_rfc3339(),
            until: b.expires_at.to_rfc3339(),
            last_used: b.last_used_at.to_rfc3339(),
            this_phone: this == Some(b.key_id),
        })
        .collect())
}

/// Removes one of the holder's remembered phones; its codes are refused from now on. Returns
/// whether it was this browser's own (whose cookie the caller clears).
pub async fn remove(
    state: &AppState,
    session: &HolderSession,
    key_id: i64,
    client: &Client,
) -> Result<bool, AppError> {
    let now = state.now();
    let this = binding(state, client, now).await?.map(|b| b.key_id);
    let audit = holder_audit(
        session.holder_id,
        AuditAction::HolderPhoneRemoved,
        Fact::Phone(key_id, None),
        Fact::Said(Phrase::RemovedOnProfile),
        &client.ip,
    );
    if !state
        .db
        .end_binding(
            session.holder_id,
            key_id,
            "removed by the holder",
            now,
            audit,
        )
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(this == Some(key_id))
}
