//! Logging in and staying logged in. Passwords are checked with a constant amount of work
//! whether or not the login exists; wrong passwords lock the account (5 in a row: 30 minutes)
//! and throttle the client address; sessions live in the database, identified by the SHA-256
//! of a random cookie token, with idle and absolute timeouts.

use super::domain::sessions::{SessionLimits, SessionState, session_state};
use super::store::{Actor, Audit, HolderAuth, NewSession, SessionRow, SubjectKind};
use super::{AppState, internal};
use crate::error::AppError;
use crate::portal_model::Problem;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT: Duration = Duration::minutes(30);
pub const ADDRESS_WINDOW: Duration = Duration::minutes(15);
pub const MAX_FAILURES_PER_ADDRESS: i64 = 30;
pub const HOLDER_IDLE: Duration = Duration::minutes(30);
pub const HOLDER_ABSOLUTE: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often, so reading pages does not write every time.
const TOUCH_EVERY: Duration = Duration::seconds(60);
/// A holder's session on the portal.
const HOLDER_SESSION: SessionLimits = SessionLimits {
    idle: HOLDER_IDLE,
    absolute: HOLDER_ABSOLUTE,
    touch_every: TOUCH_EVERY,
};

/// Who is asking: the client's address and browser, for throttling and the session list.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
    /// The session cookie's token, if the request carried one.
    pub token: Option<String>,
    /// The terminal cookie's token (a browser set up as a POS or kiosk).
    pub terminal_token: Option<String>,
    /// The staff cookie's token (the card office's pages).
    pub staff_token: Option<String>,
}

/// A logged-in cardholder.
#[derive(Debug, Clone)]
pub struct HolderSession {
    pub holder_id: i64,
    pub token_hash: String,
    pub name: String,
    pub student_no: String,
    pub must_change_password: bool,
    pub personal_pins: Vec<String>,
    pub query_pw_hash: String,
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Checks a login and, when it is right, opens a session. Returns the cookie token.
pub async fn login(
    state: &AppState,
    login: &str,
    password: &str,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<(String, bool), AppError> {
    let db = &state.db;
    let address_key = format!("ip:{}", client.ip);
    let failures = db
        .throttle_failures(&address_key, now - ADDRESS_WINDOW)
        .await?;
    if failures >= MAX_FAILURES_PER_ADDRESS {
        return Err(AppError::Rejected(Problem::Throttled {
            retry_after_secs: ADDRESS_WINDOW.num_seconds(),
        }));
    }
    let holder = db.holder_auth_by_login(login.trim()).await?;
    // Always hash: an unknown login costs the same as a wrong password.
    let ok = state
        .hasher
        .verify(
            password.to_string(),
            holder.as_ref().map(|h| h.query_pw_hash.clone()),
        )
        .await
        .map_err(internal)?;
    let Some(holder) = holder else {
        db.throttle_record(&address_key, now, now - ADDRESS_WINDOW)
            .await?;
        return Err(AppError::Rejected(Problem::BadCredentials));
    };
    if let Some(until) = holder.locked_until.filter(|u| *u > now) {
        return Err(AppError::Rejected(Problem::Locked {
            until: until.to_rfc3339(),
        }));
    }
    if !ok {
        db.throttle_record(&address_key, now, now - ADDRESS_WINDOW)
            .await?;
        if let Some(until) = db
            .login_failed(holder.holder_id, MAX_FAILED_LOGINS, now + LOCKOUT)
            .await?
        {
            db.audit(Audit {
                actor: Actor::System,
                action: "holder.locked",
                holder_id: Some(holder.holder_id),
                target: format!("holder {}", holder.student_no),
                before: String::new(),
                after: format!("locked until {}", until.to_rfc3339()),
                reason: format!("{MAX_FAILED_LOGINS} wrong query passwords"),
                ip: client.ip.clone(),
            })
            .await?;
            return Err(AppError::Rejected(Problem::Locked {
                until: until.to_rfc3339(),
            }));
        }
        return Err(AppError::Rejected(Problem::BadCredentials));
    }
    db.login_succeeded(holder.holder_id).await?;
    // A fresh token at every login: a session id planted before login is worth nothing.
    let token = new_token();
    db.create_session(&NewSession {
        token_hash: token_hash(&token),
        subject: SubjectKind::Holder,
        subject_id: holder.holder_id,
        now,
        ip: client.ip.clone(),
        user_agent: client.user_agent.chars().take(200).collect(),
    })
    .await?;
    Ok((token, holder.must_change_password))
}

/// Checks a holder's query password outside a login (a confirmation in the portal, a kiosk):
/// a locked holder is refused without hashing; a wrong password counts towards the lockout
/// exactly like a wrong login. `Ok(Err(problem))` is a refusal to show.
pub async fn check_query_password(
    state: &AppState,
    auth: &HolderAuth,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Problem>, AppError> {
    if let Some(until) = auth.locked_until.filter(|until| *until > now) {
        return Ok(Err(Problem::Locked {
            until: until.to_rfc3339(),
        }));
    }
    let ok = state
        .hasher
        .verify(password.to_string(), Some(auth.query_pw_hash.clone()))
        .await
        .map_err(internal)?;
    if ok {
        state.db.login_succeeded(auth.holder_id).await?;
        return Ok(Ok(()));
    }
    Ok(Err(
        match state
            .db
            .login_failed(auth.holder_id, MAX_FAILED_LOGINS, now + LOCKOUT)
            .await?
        {
            Some(until) => Problem::Locked {
                until: until.to_rfc3339(),
            },
            None => Problem::WrongPassword,
        },
    ))
}

/// Whether a session row is still good at `now`.
#[cfg(test)]
fn session_alive(row: &SessionRow, now: DateTime<Utc>) -> bool {
    matches!(holder_session_state(row, now), SessionState::Alive { .. })
}

fn holder_session_state(row: &SessionRow, now: DateTime<Utc>) -> SessionState {
    session_state(
        &HOLDER_SESSION,
        row.ended,
        row.created_at,
        row.last_seen_at,
        now,
    )
}

/// The cardholder behind the request's session cookie, if it is alive.
pub async fn holder_session(
    state: &AppState,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<Option<HolderSession>, AppError> {
    let Some(token) = client.token.as_deref() else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let Some(row) = state.db.session(&hash).await? else {
        return Ok(None);
    };
    if row.subject != SubjectKind::Holder {
        return Ok(None);
    }
    match holder_session_state(&row, now) {
        SessionState::Over { end } => {
            if end {
                state.db.end_session(&hash, now).await?;
            }
            return Ok(None);
        }
        SessionState::Alive { touch: true } => state.db.touch_session(&hash, now).await?,
        SessionState::Alive { touch: false } => {}
    }
    let Some(holder) = state.db.holder_auth(row.subject_id).await? else {
        return Ok(None);
    };
    Ok(Some(session_of(holder, hash)))
}

fn session_of(h: HolderAuth, token_hash: String) -> HolderSession {
    HolderSession {
        holder_id: h.holder_id,
        token_hash,
        name: h.name,
        student_no: h.student_no,
        must_change_password: h.must_change_password,
        personal_pins: h.personal_pins,
        query_pw_hash: h.query_pw_hash,
    }
}

/// The logged-in holder, or `Unauthorized`. Unless `allow_initial`, a holder who still has
/// the initial password is refused until it is changed.
pub async fn require_holder(
    state: &AppState,
    client: &Client,
    allow_initial: bool,
) -> Result<HolderSession, AppError> {
    let session = holder_session(state, client, state.now())
        .await?
        .ok_or(AppError::Unauthorized)?;
    if session.must_change_password && !allow_initial {
        return Err(AppError::Rejected(Problem::PasswordChangeRequired));
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(created_mins_ago: i64, seen_mins_ago: i64, ended: bool) -> (SessionRow, DateTime<Utc>) {
        let now = crate::server::clock::test_now();
        (
            SessionRow {
                token_hash: "h".into(),
                subject: SubjectKind::Holder,
                subject_id: 1,
                created_at: now - Duration::minutes(created_mins_ago),
                last_seen_at: now - Duration::minutes(seen_mins_ago),
                ended,
                ip: String::new(),
                user_agent: String::new(),
            },
            now,
        )
    }

    #[test]
    fn sessions_expire_when_idle_too_old_or_ended() {
        let (r, now) = row(10, 1, false);
        assert!(session_alive(&r, now));
        let (r, now) = row(60, 31, false);
        assert!(!session_alive(&r, now), "idle timeout");
        let (r, now) = row(12 * 60 + 1, 1, false);
        assert!(!session_alive(&r, now), "absolute timeout");
        let (r, now) = row(10, 1, true);
        assert!(!session_alive(&r, now), "ended");
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
