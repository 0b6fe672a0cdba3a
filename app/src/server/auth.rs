//! Logging in and staying logged in. Passwords are checked with a constant amount of work
//! whether or not the login exists; every attempt is counted before the password is hashed, so
//! a burst of guesses gets no more checks than one guess after another; wrong passwords lock
//! the account (5 in a row: 30 minutes) and throttle the client address; sessions live in the database, identified by the SHA-256
//! of a random cookie token, with idle and absolute timeouts.

use super::domain::attempts::{Lockout, Verdict, throttle_address, verdict};
use super::domain::sessions::{SessionLimits, SessionState, session_state};
use super::store::{
    Actor, Attempt, Attempts, Audit, HolderAuth, NewSession, SessionRow, SubjectKind,
};
use super::{AppState, internal};
use crate::audit_text::{AuditText, Counted, Fact};
use crate::error::AppError;
use crate::model::AuditAction;
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
    /// The remembered-phone cookie's token (`phone`).
    pub phone_token: Option<String>,
    /// The browser cookie's value: who logged in from this browser before (`note_browser`).
    pub browser_token: Option<String>,
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

/// The query password's lockout: 5 wrong in a row lock it for 30 minutes.
pub const HOLDER_LOCKOUT: Lockout = Lockout {
    max: MAX_FAILED_LOGINS,
    lock_for: LOCKOUT,
};

/// A password checked against its lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Right,
    /// Wrong; `locked_until` when this attempt used up the last one before the lock.
    Wrong {
        locked_until: Option<DateTime<Utc>>,
    },
    /// Not checked: locked until then.
    Locked {
        until: DateTime<Utc>,
    },
}

/// Checks a password under its lockout, race-free: the attempt is reserved (counted) in the
/// store before the hash is computed, so however many requests arrive at once, at most
/// `rule.max` are checked before the lock, and one right password among the later ones is
/// refused like the rest. A right password clears the count.
pub async fn check_password(
    state: &AppState,
    who: Attempts,
    rule: Lockout,
    stored_hash: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Checked, AppError> {
    let lock_until = now + rule.lock_for;
    let nth = match state
        .db
        .reserve_attempt(who, rule.max, lock_until, now)
        .await?
    {
        Attempt::Locked { until } => return Ok(Checked::Locked { until }),
        Attempt::Allowed { nth } => nth,
    };
    let right = state
        .hasher
        .verify(password.to_string(), Some(stored_hash.to_string()))
        .await
        .map_err(internal)?;
    Ok(match verdict(rule, nth, right, lock_until) {
        Verdict::Right => {
            state.db.attempt_succeeded(who).await?;
            Checked::Right
        }
        Verdict::Wrong { locked_until } => Checked::Wrong { locked_until },
    })
}

/// Hashes for nothing: a refusal that needs no hash (an unknown login, a locked one) takes
/// as long as a wrong password, so timing does not tell them apart either.
pub async fn hash_for_nothing(state: &AppState, password: &str) -> Result<(), AppError> {
    state
        .hasher
        .verify(password.to_string(), None)
        .await
        .map_err(internal)?;
    Ok(())
}

/// Reserves one attempt of the client's address under `kind` (`MAX_FAILURES_PER_ADDRESS` per
/// `ADDRESS_WINDOW`), or refuses as throttled. Returns the key, to give the reservation back
/// with `throttle_release` when the attempt succeeds.
pub async fn reserve_address(
    state: &AppState,
    kind: &str,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let key = format!("{kind}:{}", throttle_address(&client.ip));
    if state
        .db
        .throttle_reserve(&key, MAX_FAILURES_PER_ADDRESS, now, now - ADDRESS_WINDOW)
        .await?
    {
        Ok(key)
    } else {
        Err(AppError::Rejected(Problem::Throttled {
            retry_after_secs: ADDRESS_WINDOW.num_seconds(),
        }))
    }
}

/// Checks a login and, when it is right, opens a session. Returns the cookie token, whether
/// the initial password must be changed first, and the holder.
///
/// Every refusal is the same `BadCredentials`, with the same work behind it: an unknown
/// login, a wrong password and a locked account cannot be told apart, so the answers do not
/// say which logins exist.
pub async fn login(
    state: &AppState,
    login: &str,
    password: &str,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<(String, bool, i64), AppError> {
    let db = &state.db;
    let address_key = reserve_address(state, "ip", client, now).await?;
    let refused = || Err(AppError::Rejected(Problem::BadCredentials));
    let Some(holder) = db.holder_auth_by_login(login.trim()).await? else {
        hash_for_nothing(state, password).await?;
        return refused();
    };
    let who = Attempts::Query(holder.holder_id);
    match check_password(
        state,
        who,
        HOLDER_LOCKOUT,
        &holder.query_pw_hash,
        password,
        now,
    )
    .await?
    {
        Checked::Right => {}
        Checked::Locked { .. } => {
            hash_for_nothing(state, password).await?;
            return refused();
        }
        Checked::Wrong { locked_until } => {
            if let Some(until) = locked_until {
                db.audit(Audit {
                    actor: Actor::System,
                    action: AuditAction::HolderLocked,
                    holder_id: Some(holder.holder_id),
                    target: Fact::Holder(holder.student_no.clone()).into(),
                    before: AuditText::none(),
                    after: Fact::LockedUntil(until.to_rfc3339()).into(),
                    reason: Fact::Count(Counted::WrongQueryPasswords, MAX_FAILED_LOGINS).stored(),
                    ip: client.ip.clone(),
                })
                .await?;
            }
            return refused();
        }
    }
    // Only failures count against the address.
    db.throttle_release(&address_key).await?;
    let token = open_session(state, SubjectKind::Holder, holder.holder_id, client, now).await?;
    Ok((token, holder.must_change_password, holder.holder_id))
}

/// Records the browser of a holder's login, and tells the holder of it when it is new to them
/// (`domain::sessions::new_browser`). Answers the browser cookie's value to set (the one the
/// browser had, or a new one: the cookie is renewed at every login).
pub async fn note_browser(
    state: &AppState,
    holder_id: i64,
    client: &Client,
    session_token: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    // A value as this server makes them (`new_token`: 64 hex digits), or a new one.
    let token = client
        .browser_token
        .clone()
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(new_token);
    state
        .db
        .note_login_browser(
            holder_id,
            &token_hash(&token),
            &token_hash(session_token),
            now,
        )
        .await?;
    Ok(token)
}

/// Opens a session for a holder or a staff member who just logged in, and returns its token.
/// A fresh token at every login: a session id planted before login is worth nothing. Only
/// the token's hash is stored.
pub async fn open_session(
    state: &AppState,
    subject: SubjectKind,
    subject_id: i64,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let token = new_token();
    state
        .db
        .create_session(&NewSession {
            token_hash: token_hash(&token),
            subject,
            subject_id,
            now,
            ip: client.ip.clone(),
            user_agent: client.user_agent.chars().take(200).collect(),
        })
        .await?;
    Ok(token)
}

/// Checks a holder's query password outside a login (a confirmation in the portal, a kiosk),
/// under the same lockout as the login. The holder is known here (a session, a card on the
/// reader), so a lock is said as such. `Ok(Err(problem))` is a refusal to show.
pub async fn check_query_password(
    state: &AppState,
    auth: &HolderAuth,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Problem>, AppError> {
    Ok(
        match check_password(
            state,
            Attempts::Query(auth.holder_id),
            HOLDER_LOCKOUT,
            &auth.query_pw_hash,
            password,
            now,
        )
        .await?
        {
            Checked::Right => Ok(()),
            Checked::Wrong { locked_until: None } => Err(Problem::WrongPassword),
            Checked::Wrong {
                locked_until: Some(until),
            }
            | Checked::Locked { until } => Err(Problem::Locked {
                until: until.to_rfc3339(),
            }),
        },
    )
}

/// Whether a session row is still good at `now`.
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

/// Whether a holder's session (by its token hash) is still alive, without counting this as
/// activity: a page that only listens (the code page's event stream) keeps nobody logged in.
pub async fn holder_session_open(
    state: &AppState,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    Ok(state
        .db
        .session(token_hash)
        .await?
        .is_some_and(|row| row.subject == SubjectKind::Holder && session_alive(&row, now)))
}

/// The cardholder behind the request's session cookie, if it is alive.
pub async fn holder_session(
    state: &AppState,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<Option<HolderSession>, AppError> {
    holder_session_with(state, client, now, true).await
}

/// `touch`: the request counts as activity (it keeps an idle session alive).
async fn holder_session_with(
    state: &AppState,
    client: &Client,
    now: DateTime<Utc>,
    touch: bool,
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
        SessionState::Alive { touch: true } if touch => state.db.touch_session(&hash, now).await?,
        SessionState::Alive { .. } => {}
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
    let session = holder_session(state, client, state.now()).await?;
    admitted(session, allow_initial)
}

/// `holder_session` for a page that only listens (the code page's event stream): opening it,
/// or opening it again after a dropped connection, is not activity and keeps nobody logged in.
pub async fn listening_session(
    state: &AppState,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<Option<HolderSession>, AppError> {
    holder_session_with(state, client, now, false).await
}

fn admitted(
    session: Option<HolderSession>,
    allow_initial: bool,
) -> Result<HolderSession, AppError> {
    let session = session.ok_or(AppError::Unauthorized)?;
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
