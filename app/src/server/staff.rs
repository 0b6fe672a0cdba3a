//! Staff of the card office: login with a password and a TOTP code from an authenticator app,
//! their own session cookie with a short idle timeout, and the role check every staff server
//! function starts with.

use super::auth::{Checked, Client, check_password, hash_for_nothing, reserve_address, token_hash};
use super::domain::attempts::{Lockout, Verdict, staff_key, verdict};
use super::domain::sessions::{SessionLimits, SessionState, session_state};
use super::store::{Actor, Attempt, Attempts, Audit, SessionRow, StaffAuth, SubjectKind};
use super::{AppState, internal};
use crate::audit_text::{AuditText, Counted, Fact, Phrase};
use crate::error::AppError;
use crate::model::{AuditAction, StaffRole};
use crate::portal_model::Problem;
use crate::staff_model::{StaffBrief, StaffPage};
use chrono::{DateTime, Duration, Utc};

pub const COOKIE: &str = "ykt_staff";
pub const SECURE_COOKIE: &str = "__Host-ykt_staff";
/// Staff sessions end sooner than students': a counter PC left alone is locked in 15 minutes.
pub const IDLE: Duration = Duration::minutes(15);
pub const ABSOLUTE: Duration = Duration::hours(10);
/// Failed logins of one username from one address before that address must wait.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT: Duration = Duration::minutes(30);
/// Failed logins of one account, from anywhere, before the account locks.
pub const ACCOUNT_LOCKOUT: Lockout = Lockout {
    max: 20,
    lock_for: LOCKOUT,
};
const TOUCH_EVERY: Duration = Duration::seconds(30);
/// A staff member's session at the counter.
const STAFF_SESSION: SessionLimits = SessionLimits {
    idle: IDLE,
    absolute: ABSOLUTE,
    touch_every: TOUCH_EVERY,
};
/// RFC 6238 parameters every authenticator app uses by default.
pub const TOTP_STEP: u64 = 30;
const TOTP_DIGITS: usize = 6;

/// Who may call what: one table, shared with the pages (`crate::staff_model::roles`).
pub use crate::staff_model::roles;

/// A logged-in staff member.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: StaffRole,
    pub merchant_id: Option<i64>,
    pub merchant_name: Option<String>,
    pub must_change_password: bool,
    pub token_hash: String,
    pub ip: String,
}

impl StaffSession {
    pub fn brief(&self) -> StaffBrief {
        StaffBrief {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            merchant: self.merchant_name.clone(),
            must_change_password: self.must_change_password,
        }
    }

    /// An audit record by this staff member; the store fills before/after where it knows them.
    pub fn audit(
        &self,
        action: crate::model::AuditAction,
        holder_id: Option<i64>,
        target: impl Into<AuditText>,
        reason: &str,
    ) -> Audit {
        Audit {
            actor: Actor::Staff(self.id),
            action,
            holder_id,
            target: target.into(),
            before: AuditText::none(),
            after: AuditText::none(),
            reason: reason.trim().to_string(),
            ip: self.ip.clone(),
        }
    }
}

pub fn cookie(token: Option<&str>, secure: bool) -> String {
    super::cookie_header(if secure { SECURE_COOKIE } else { COOKIE }, token, secure)
}

fn totp(secret_base32: &str) -> Result<totp_rs::TOTP, AppError> {
    let bytes = totp_rs::Secret::Encoded(secret_base32.to_string())
        .to_bytes()
        .map_err(internal)?;
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, TOTP_DIGITS, 1, TOTP_STEP, bytes).map_err(internal)
}

/// The time step a code belongs to, looking one step either side for clock drift.
pub fn totp_step(
    secret_base32: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, AppError> {
    let totp = totp(secret_base32)?;
    let code = code.trim();
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let now_step = now.timestamp().max(0) as u64 / TOTP_STEP;
    for step in [now_step, now_step.saturating_sub(1), now_step + 1] {
        let expected = totp.generate(step * TOTP_STEP);
        // Compared without an early exit on the first differing digit.
        let same = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same {
            return Ok(Some(step as i64));
        }
    }
    Ok(None)
}

/// A fresh secret for a new staff member's authenticator app (160 bits, base32).
pub fn new_totp_secret() -> String {
    let bytes: [u8; 20] = rand::random();
    match totp_rs::Secret::Raw(bytes.to_vec()).to_encoded() {
        totp_rs::Secret::Encoded(text) => text,
        totp_rs::Secret::Raw(_) => unreachable!("to_encoded gives the encoded form"),
    }
}

/// The otpauth URI an authenticator app scans.
pub fn otpauth_uri(issuer: &str, username: &str, secret: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(username),
        enc(issuer)
    )
}

/// Checks username, password and TOTP code, and returns the staff member they belong to.
/// A code is good once: the step it belongs to is recorded.
/// One answer for every wrong part, so the form does not reveal which was wrong, and the same
/// answer (after the same work) for an unknown, disabled or locked username.
///
/// Attempts are counted before anything is hashed, at three levels: the client address
/// (`MAX_FAILURES_PER_ADDRESS` per `ADDRESS_WINDOW`), the username at that address
/// (`MAX_FAILED_LOGINS` per `LOCKOUT`: the back-off a guesser meets), and the account
/// wherever the guesses come from (`ACCOUNT_LOCKOUT`, higher, so that a stranger at one
/// address cannot keep a colleague locked out, while guesses spread over many addresses still
/// stop).
pub async fn verify(
    state: &AppState,
    username: &str,
    password: &str,
    code: &str,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<StaffAuth, AppError> {
    let db = &state.db;
    let address_key = reserve_address(state, "staff-ip", client, now).await?;
    let refuse = || Err(AppError::Rejected(Problem::StaffBadCredentials));
    let user_key = staff_key(username, &client.ip);
    if !db
        .throttle_reserve(&user_key, MAX_FAILED_LOGINS, now, now - LOCKOUT)
        .await?
    {
        hash_for_nothing(state, password).await?;
        return refuse();
    }
    let Some(staff) = db.staff_auth(username.trim()).await?.filter(|s| s.active) else {
        hash_for_nothing(state, password).await?;
        return refuse();
    };
    let lock_until = now + ACCOUNT_LOCKOUT.lock_for;
    let nth = match db
        .reserve_attempt(
            Attempts::Staff(staff.id),
            ACCOUNT_LOCKOUT.max,
            lock_until,
            now,
        )
        .await?
    {
        Attempt::Allowed { nth } => nth,
        Attempt::Locked { .. } => {
            hash_for_nothing(state, password).await?;
            return refuse();
        }
    };
    let password_ok = state
        .hasher
        .verify(password.to_string(), Some(staff.password_hash.clone()))
        .await
        .map_err(internal)?;
    let step = match (&staff.totp_secret, password_ok) {
        (Some(sealed), true) => {
            let secret = state
                .secrets
                .sealer
                .open(super::sealing::Sealed::TotpSecret, sealed)
                .map_err(internal)?;
            totp_step(&secret, code, now)?
        }
        _ => None,
    };
    let (Verdict::Right, Some(step)) = (
        verdict(ACCOUNT_LOCKOUT, nth, step.is_some(), lock_until),
        step,
    ) else {
        if nth >= ACCOUNT_LOCKOUT.max {
            db.audit(Audit {
                actor: Actor::System,
                action: AuditAction::StaffLocked,
                holder_id: None,
                target: Fact::Staff(staff.username.clone()).into(),
                before: AuditText::none(),
                after: Fact::LockedUntil(lock_until.to_rfc3339()).into(),
                reason: Fact::Count(Counted::FailedStaffLogins, ACCOUNT_LOCKOUT.max).stored(),
                ip: client.ip.clone(),
            })
            .await?;
        }
        return refuse();
    };
    // Only failures count against the address and the username there.
    db.throttle_release(&address_key).await?;
    db.throttle_release(&user_key).await?;
    if !db.staff_login_succeeded(staff.id, step).await? {
        return Err(AppError::Rejected(Problem::TotpReused));
    }
    Ok(staff)
}

/// Checks the credentials (`verify`) and opens a staff session. Returns its token and the
/// page to go to: the password page while the password must change, otherwise the role's
/// start page.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    code: &str,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<(String, &'static str), AppError> {
    let staff = verify(state, username, password, code, client, now).await?;
    let token = super::auth::open_session(state, SubjectKind::Staff, staff.id, client, now).await?;
    let next = if staff.must_change_password {
        StaffPage::Password
    } else {
        StaffPage::home(staff.role)
    };
    Ok((token, next.href()))
}

/// Codes of merchants and devices, and staff usernames: letters, digits and dashes, 2 to 40 of them.
pub(crate) fn code_ok(code: &str) -> bool {
    (2..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
fn alive(row: &SessionRow, now: DateTime<Utc>) -> bool {
    matches!(staff_session_state(row, now), SessionState::Alive { .. })
}

fn staff_session_state(row: &SessionRow, now: DateTime<Utc>) -> SessionState {
    session_state(
        &STAFF_SESSION,
        row.ended,
        row.created_at,
        row.last_seen_at,
        now,
    )
}

/// The staff member behind the request's staff cookie, if the session is alive and the
/// account still active.
pub async fn session(
    state: &AppState,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<Option<StaffSession>, AppError> {
    let Some(token) = client.staff_token.as_deref() else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let Some(row) = state.db.session(&hash).await? else {
        return Ok(None);
    };
    if row.subject != SubjectKind::Staff {
        return Ok(None);
    }
    let touch = match staff_session_state(&row, now) {
        SessionState::Over { end } => {
            if end {
                state.db.end_session(&hash, now).await?;
            }
            return Ok(None);
        }
        SessionState::Alive { touch } => touch,
    };
    let Some(staff) = state.db.staff_by_id(row.subject_id).await? else {
        return Ok(None);
    };
    if !staff.active {
        return Ok(None);
    }
    if touch {
        state.db.touch_session(&hash, now).await?;
    }
    Ok(Some(session_of(staff, client, hash)))
}

fn session_of(s: StaffAuth, client: &Client, token_hash: String) -> StaffSession {
    StaffSession {
        id: s.id,
        username: s.username,
        display_name: s.display_name,
        role: s.role,
        merchant_id: s.merchant_id,
        merchant_name: s.merchant_name,
        must_change_password: s.must_change_password,
        token_hash,
        ip: client.ip.clone(),
    }
}

/// The logged-in staff member if their role is one of `allowed`: no staff session is
/// `Unauthorized` (a student's session is no staff session), another role `Forbidden`.
pub async fn require(
    state: &AppState,
    client: &Client,
    allowed: &[StaffRole],
) -> Result<StaffSession, AppError> {
    let staff = session(state, client, state.now())
        .await?
        .ok_or(AppError::Unauthorized)?;
    if !allowed.contains(&staff.role) {
        return Err(AppError::Forbidden);
    }
    if staff.must_change_password {
        return Err(AppError::Rejected(Problem::StaffPasswordChange));
    }
    Ok(staff)
}

/// Whether a staff member may choose `password`: long enough with letters and digits, and
/// not one of the demo campus's published passwords (those are the first thing an attacker
/// tries).
pub fn new_password_ok(password: &str) -> bool {
    super::password::staff_password_ok(password)
        && !super::demo::DEMO_LOGINS
            .iter()
            .any(|l| l.password.eq_ignore_ascii_case(password.trim()))
}

/// Changes the logged-in staff member's own password (the only thing a staff member with a
/// published demo password may do). A wrong current password counts towards the lockout.
pub async fn change_password(
    state: &AppState,
    client: &Client,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<(), AppError> {
    let now = state.now();
    let me = session(state, client, now)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let auth = state
        .db
        .staff_by_id(me.id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    match check_password(
        state,
        Attempts::Staff(me.id),
        ACCOUNT_LOCKOUT,
        &auth.password_hash,
        current,
        now,
    )
    .await?
    {
        Checked::Right => {}
        Checked::Wrong { locked_until: None } => {
            return Err(AppError::Rejected(Problem::WrongPassword));
        }
        Checked::Wrong {
            locked_until: Some(until),
        }
        | Checked::Locked { until } => {
            // Locked: the session ends with it.
            state.db.end_session(&me.token_hash, now).await?;
            return Err(AppError::Rejected(Problem::Locked {
                until: until.to_rfc3339(),
            }));
        }
    }
    if new != confirm {
        return Err(AppError::Rejected(Problem::PasswordsDiffer));
    }
    if !new_password_ok(new) || new == current {
        return Err(AppError::Rejected(Problem::StaffPasswordWeak));
    }
    let hash = state.hasher.hash(new.to_string()).await.map_err(internal)?;
    let mut audit = me.audit(
        AuditAction::StaffPassword,
        None,
        Fact::Staff(me.username.clone()),
        "",
    );
    audit.before = if me.must_change_password {
        Fact::Said(Phrase::DemoPassword).into()
    } else {
        Fact::Said(Phrase::Password).into()
    };
    audit.after = Fact::Said(Phrase::ChangedByOwner).into();
    state
        .db
        .set_staff_password(me.id, &hash, &me.token_hash, now, audit)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_demo_passwords_are_never_a_new_password() {
        for (password, ok) in [
            ("Yikatong-Counter-2026", false),
            ("Yikatong-Admin2-2026", false),
            ("Yikatong-Canteen-2026", false),
            ("yikatong-canteen-2026 ", false),
            ("Yikatong-Counter-2027", true),
            ("short1", false),
            ("no-digits-at-all", false),
            ("Counter-own-2026", true),
        ] {
            assert_eq!(new_password_ok(password), ok, "{password}");
        }
    }

    #[test]
    fn totp_codes_match_their_step_and_nothing_else() {
        let secret = "YKTDEMOADMINSECRETKEYFORTOTPAAAA";
        let t = totp(secret).expect("valid secret");
        let now = crate::server::clock::test_now();
        let step = now.timestamp() as u64 / TOTP_STEP;
        let code = t.generate(step * TOTP_STEP);
        assert_eq!(
            totp_step(secret, &code, now).expect("ok"),
            Some(step as i64)
        );
        let previous = t.generate((step - 1) * TOTP_STEP);
        assert_eq!(
            totp_step(secret, &previous, now).expect("ok"),
            Some(step as i64 - 1),
            "one step of clock drift is accepted"
        );
        let old = t.generate((step - 3) * TOTP_STEP);
        if old != code && old != previous {
            assert_eq!(totp_step(secret, &old, now).expect("ok"), None);
        }
        assert_eq!(totp_step(secret, "12345", now).expect("ok"), None);
        assert_eq!(totp_step(secret, "abcdef", now).expect("ok"), None);
    }

    #[test]
    fn staff_sessions_end_after_15_idle_minutes_or_10_hours() {
        let now = crate::server::clock::test_now();
        let row = |created: i64, seen: i64, ended: bool| SessionRow {
            token_hash: "h".into(),
            subject: SubjectKind::Staff,
            subject_id: 1,
            created_at: now - Duration::minutes(created),
            last_seen_at: now - Duration::minutes(seen),
            ended,
            ip: String::new(),
            user_agent: String::new(),
        };
        assert!(alive(&row(60, 14, false), now));
        assert!(
            !alive(&row(60, 16, false), now),
            "idle: shorter than a student's 30"
        );
        assert!(!alive(&row(10 * 60 + 1, 1, false), now), "absolute");
        assert!(!alive(&row(5, 1, true), now), "ended");
        assert!(IDLE < super::super::auth::HOLDER_IDLE);
    }

    #[test]
    fn new_secrets_are_base32_and_usable() {
        let a = new_totp_secret();
        assert_ne!(a, new_totp_secret());
        assert_eq!(a.len(), 32);
        assert!(totp(&a).is_ok());
        let uri = otpauth_uri("一卡通", "op 1", &a);
        assert!(uri.starts_with("otpauth://totp/%E4%B8%80"));
        assert!(uri.contains("op%201"));
        assert!(uri.contains(&format!("secret={a}")));
    }
}
