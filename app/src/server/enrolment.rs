//! Staff enrolment by one-time link: the only way a staff account gets its password and
//! second factor. `server create-admin USERNAME` makes the first administrator and prints a
//! link. Whoever opens it sets their own password and scans their own authenticator QR code,
//! confirming it with a code, so nobody else (not the administrator, not the person at the
//! command line) ever sees either. Links work once, for `LINK_VALID`, and only their SHA-256
//! is stored.

use super::auth::{Client, hash_for_nothing, new_token, reserve_address, token_hash};
use super::domain::sessions::enrolment_open;
use super::sealing::Sealed;
use super::staff::{new_totp_secret, otpauth_uri, totp_step};
use super::store::{Actor, Audit, EnrolmentRow, NewEnrolment, NewStaffUser};
use super::{AppState, internal};
use crate::audit_text::{AuditText, Fact, Phrase};
use crate::error::AppError;
use crate::model::{AuditAction, StaffRole};
use crate::portal_model::Problem;
use crate::staff_model::StaffEnrolment;
use chrono::{DateTime, Duration, Utc};

/// How long an enrolment link works.
pub const LINK_VALID: Duration = Duration::hours(24);

/// The path of an enrolment link (the server's address goes in front).
pub fn link_path(token: &str) -> String {
    format!("/staff/welcome?token={token}")
}

/// Opens a link for `staff_id` (ending any earlier one, its sessions and its password) and
/// returns the token. `audit` says who asked and why.
pub async fn open_link(
    state: &AppState,
    staff_id: i64,
    now: DateTime<Utc>,
    audit: Audit,
) -> Result<String, AppError> {
    let token = new_token();
    state
        .db
        .open_enrolment(
            staff_id,
            &token_hash(&token),
            &seal_totp(state, &new_totp_secret()),
            now + LINK_VALID,
            now,
            audit,
        )
        .await?;
    Ok(token)
}

/// A TOTP secret as it is stored (sealed; `sealing`).
fn seal_totp(state: &AppState, secret: &str) -> String {
    state.secrets.sealer.seal(Sealed::TotpSecret, secret)
}

/// A staff account to create with an enrolment link.
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: StaffRole,
    pub merchant_id: Option<i64>,
}

/// Creates a staff account together with its enrolment link, in one audited write; `None`
/// when the username is taken. Returns the link's token.
pub async fn new_account(
    state: &AppState,
    account: &NewAccount<'_>,
    now: DateTime<Utc>,
    audit: Audit,
) -> Result<Option<String>, AppError> {
    let token = new_token();
    let secret = seal_totp(state, &new_totp_secret());
    let created = state
        .db
        .create_staff(
            &NewStaffUser {
                username: account.username,
                display_name: account.display_name,
                role: account.role,
                merchant_id: account.merchant_id,
                // No password works before enrolment ('!' is no argon2 hash).
                password_hash: "!",
                totp_secret: "",
                enrolment: Some(NewEnrolment {
                    token_hash: &token_hash(&token),
                    totp_secret: &secret,
                    expires_at: now + LINK_VALID,
                }),
            },
            now,
            audit,
        )
        .await?;
    Ok(created.map(|_| token))
}

/// `server create-admin USERNAME`: creates an administrator without any password, or, for an
/// administrator who exists, ends their credentials; either way returns a fresh link's token.
/// `by` (who ran the command) goes into the audit records.
pub async fn create_admin(state: &AppState, username: &str, by: &str) -> Result<String, AppError> {
    let username = username.trim().to_ascii_lowercase();
    if !super::staff::code_ok(&username) {
        return Err(AppError::Rejected(Problem::CodeFormat));
    }
    let now = state.now();
    let audit = |action: crate::model::AuditAction, after: AuditText| Audit {
        actor: Actor::System,
        action,
        holder_id: None,
        target: Fact::Staff(username.clone()).into(),
        before: AuditText::none(),
        after,
        reason: by.to_string(),
        ip: String::new(),
    };
    let link_audit = |action| {
        audit(
            action,
            AuditText::from(Fact::Role(StaffRole::Admin))
                .and(Fact::LinkValidHours(LINK_VALID.num_hours())),
        )
    };
    match state.db.staff_auth(&username).await? {
        Some(existing) if existing.role == StaffRole::Admin => {
            open_link(
                state,
                existing.id,
                now,
                link_audit(AuditAction::StaffEnrolmentLink),
            )
            .await
        }
        Some(_) => Err(AppError::Rejected(Problem::CodeTaken)),
        None => new_account(
            state,
            &NewAccount {
                username: &username,
                display_name: &username,
                role: StaffRole::Admin,
                merchant_id: None,
            },
            now,
            link_audit(AuditAction::StaffCreate),
        )
        .await?
        .ok_or(AppError::Rejected(Problem::CodeTaken)),
    }
}

/// The enrolment behind a link, while it is open; otherwise the refusal to show.
async fn open_enrolment(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> Result<EnrolmentRow, AppError> {
    let refused = AppError::Rejected(Problem::EnrolmentLink);
    let row = state
        .db
        .enrolment(&token_hash(token.trim()))
        .await?
        .ok_or(refused.clone())?;
    if enrolment_open(row.expires_at, row.used_at, now) {
        let totp_secret = state
            .secrets
            .sealer
            .open(Sealed::TotpSecret, &row.totp_secret)
            .map_err(internal)?;
        Ok(EnrolmentRow { totp_secret, ..row })
    } else {
        Err(refused)
    }
}

/// What the link's page shows: who is enrolling, and the second factor to scan.
pub async fn view(
    state: &AppState,
    token: &str,
    client: &Client,
) -> Result<StaffEnrolment, AppError> {
    let now = state.now();
    // Tokens are 256 random bits; the throttle only keeps scanners from hammering the table.
    let key = reserve_address(state, "enrol-ip", client, now).await?;
    let row = open_enrolment(state, token, now).await?;
    state.db.throttle_release(&key).await?;
    qr_view(&row.username, row.totp_secret)
}

/// Completes an enrolment: the person's own password (twice) and a code from the
/// authenticator they just set up, which proves the QR code was scanned.
pub async fn complete(
    state: &AppState,
    token: &str,
    password: &str,
    confirm: &str,
    code: &str,
    client: &Client,
) -> Result<String, AppError> {
    let now = state.now();
    let key = reserve_address(state, "enrol-ip", client, now).await?;
    let row = match open_enrolment(state, token, now).await {
        Ok(row) => row,
        Err(e) => {
            hash_for_nothing(state, password).await?;
            return Err(e);
        }
    };
    if password != confirm {
        return Err(AppError::Rejected(Problem::PasswordsDiffer));
    }
    if !super::staff::new_password_ok(password) {
        return Err(AppError::Rejected(Problem::StaffPasswordWeak));
    }
    let Some(step) = totp_step(&row.totp_secret, code, now)? else {
        return Err(AppError::Rejected(Problem::StaffBadCredentials));
    };
    let hash = state
        .hasher
        .hash(password.to_string())
        .await
        .map_err(internal)?;
    let audit = Audit {
        actor: Actor::Staff(row.staff_id),
        action: AuditAction::StaffEnrolled,
        holder_id: None,
        target: Fact::Staff(row.username.clone()).into(),
        before: Fact::Said(Phrase::EnrolmentLinkOpen).into(),
        after: Fact::Said(Phrase::EnrolmentDone).into(),
        reason: Phrase::EnrolmentByLink.stored(),
        ip: client.ip.clone(),
    };
    if !state
        .db
        .complete_enrolment(&token_hash(token.trim()), &hash, step, now, audit)
        .await?
    {
        return Err(AppError::Rejected(Problem::EnrolmentLink));
    }
    state.db.throttle_release(&key).await?;
    Ok(row.username)
}

/// The second factor on the link's page: the secret and its QR code.
fn qr_view(username: &str, secret: String) -> Result<StaffEnrolment, AppError> {
    let uri = otpauth_uri("Yikatong", username, &secret);
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .map_err(internal)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(StaffEnrolment {
        username: username.to_string(),
        totp_secret: secret,
        otpauth_uri: uri,
        qr_svg,
    })
}
