//! The 深职通码: a rotating code the holder's phone shows and a scanner reads as digits.
//!
//! Layout (20 digits): `8` · purpose (1 = pay, also good as identity; 2 = identity only) ·
//! key id (8 digits, random per logged-in device) · time step mod 100 (2 digits) · MAC (8
//! digits). The MAC is HMAC-SHA256 over purpose, key id and the full time step, keyed with the
//! device's random secret, truncated to 8 decimal digits. A step is 10 s; a code is accepted
//! for 6 steps (about a minute), and one step early for clock skew. A code used for a payment
//! is recorded and refused after; revoking the key (logout, password change, freeze) kills
//! every code it made.

use super::sealing::{Sealed, Sealer};
use super::store::{Db, PayKey, StoreError};
use crate::model::AccountStatus;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const STEP_SECS: i64 = 10;
pub const VALID_STEPS: i64 = 6;
const PREFIX: char = '8';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Pay,
    Identity,
}

impl Purpose {
    fn digit(self) -> char {
        match self {
            Purpose::Pay => '1',
            Purpose::Identity => '2',
        }
    }
}

/// Why a scanned code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("not a code")]
    Malformed,
    #[error("forged or unknown code")]
    Forged,
    #[error("code expired")]
    Expired,
    #[error("code already used")]
    Used,
    #[error("code revoked")]
    Revoked,
    #[error("code not valid for this purpose")]
    WrongPurpose,
    #[error("account not active")]
    AccountNotActive,
    #[error("store: {0}")]
    Store(String),
}

impl From<StoreError> for CodeError {
    fn from(e: StoreError) -> Self {
        CodeError::Store(e.to_string())
    }
}

pub fn step_at(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(STEP_SECS)
}

fn mac(secret: &str, purpose: Purpose, key_id: i64, step: i64) -> u64 {
    let mut m = match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    m.update(&[purpose.digit() as u8]);
    m.update(&key_id.to_be_bytes());
    m.update(&step.to_be_bytes());
    let out = m.finalize().into_bytes();
    let mut first = [0u8; 8];
    first.copy_from_slice(&out[..8]);
    u64::from_be_bytes(first) % 100_000_000
}

/// A key as stored, with its secret opened (`sealing`).
pub fn opened(sealer: &Sealer, key: PayKey) -> Result<PayKey, CodeError> {
    let secret = sealer
        .open(Sealed::PayCodeKey, &key.secret)
        .map_err(|e| CodeError::Store(e.to_string()))?;
    Ok(PayKey { secret, ..key })
}

/// The digits for a key (its secret opened) at a step.
pub fn code_digits(key: &PayKey, purpose: Purpose, step: i64) -> String {
    format!(
        "{PREFIX}{}{:08}{:02}{:08}",
        purpose.digit(),
        key.key_id,
        step.rem_euclid(100),
        mac(&key.secret, purpose, key.key_id, step)
    )
}

/// Parsed digits: purpose, key id, step residue, MAC.
fn parse(digits: &str) -> Result<(Purpose, i64, i64, u64), CodeError> {
    let d = digits.trim();
    if d.len() != 20 || !d.bytes().all(|b| b.is_ascii_digit()) || !d.starts_with(PREFIX) {
        return Err(CodeError::Malformed);
    }
    let purpose = match &d[1..2] {
        "1" => Purpose::Pay,
        "2" => Purpose::Identity,
        _ => return Err(CodeError::Malformed),
    };
    let num = |r: std::ops::Range<usize>| d[r].parse::<u64>().map_err(|_| CodeError::Malformed);
    Ok((
        purpose,
        num(2..10)? as i64,
        num(10..12)? as i64,
        num(12..20)?,
    ))
}

/// A code that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub holder_id: i64,
    pub key_id: i64,
    pub step: i64,
}

/// Checks scanned digits for `wanted`. Nothing is consumed: a payment code already used
/// answers `Used`, and a payment uses it with `consume` once the sale is decided (after the
/// password step), so a sale retried with the password can still use its code.
pub async fn verify(
    db: &Db,
    sealer: &Sealer,
    digits: &str,
    wanted: Purpose,
    now: DateTime<Utc>,
) -> Result<Verified, CodeError> {
    let (purpose, key_id, residue, presented) = parse(digits)?;
    if wanted == Purpose::Pay && purpose != Purpose::Pay {
        return Err(CodeError::WrongPurpose);
    }
    let key = db.pay_key(key_id).await?.ok_or(CodeError::Forged)?;
    let key = opened(sealer, key)?;
    let current = step_at(now);
    // The full step with this residue closest to now (within ±50 steps).
    let mut step = current - (current - residue).rem_euclid(100);
    if current - step > 50 {
        step += 100;
    }
    // Constant-time comparison of the MAC.
    let expected = mac(&key.secret, purpose, key_id, step);
    let same: bool = {
        let (a, b) = (expected.to_be_bytes(), presented.to_be_bytes());
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    };
    if !same {
        return Err(CodeError::Forged);
    }
    if key.revoked {
        return Err(CodeError::Revoked);
    }
    if step > current + 1 || current - step >= VALID_STEPS {
        return Err(CodeError::Expired);
    }
    if key.account_status != AccountStatus::Active {
        return Err(CodeError::AccountNotActive);
    }
    if wanted == Purpose::Pay && db.pay_code_used(key_id, step).await? {
        return Err(CodeError::Used);
    }
    Ok(Verified {
        holder_id: key.holder_id,
        key_id,
        step,
    })
}

/// Uses a verified payment code: one atomic insert, so of two tills with the same code only
/// one gets it (the other: `Used`).
pub async fn consume(db: &Db, code: &Verified, now: DateTime<Utc>) -> Result<(), CodeError> {
    if db.use_pay_code(code.key_id, code.step, now).await? {
        Ok(())
    } else {
        Err(CodeError::Used)
    }
}

/// The code a holder's device shows now: the current step's, or the next step's if the
/// current one was just used for a payment. Creates the device's key on first use.
pub async fn current_code(
    db: &Db,
    sealer: &Sealer,
    holder_id: i64,
    session_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(String, i64)>, CodeError> {
    let key = match db.pay_key_for_session(session_hash).await? {
        Some(key) => key,
        None => {
            let mut created = None;
            for _ in 0..5 {
                let key_id = 10_000_000 + (rand::random::<u32>() % 90_000_000) as i64;
                let secret = hex::encode(rand::random::<[u8; 32]>());
                let sealed = sealer.seal(Sealed::PayCodeKey, &secret);
                if db
                    .create_pay_key(key_id, holder_id, session_hash, &sealed, now)
                    .await?
                {
                    created = db.pay_key(key_id).await?;
                    break;
                }
            }
            created.ok_or_else(|| CodeError::Store("no free key id".into()))?
        }
    };
    let key = opened(sealer, key)?;
    if key.account_status != AccountStatus::Active {
        return Err(CodeError::AccountNotActive);
    }
    let current = step_at(now);
    for step in [current, current + 1] {
        if !db.pay_code_used(key.key_id, step).await? {
            let expires_at = (step + VALID_STEPS) * STEP_SECS;
            return Ok(Some((
                code_digits(&key, Purpose::Pay, step),
                expires_at - now.timestamp(),
            )));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::{NewSession, SubjectKind};
    use chrono::Duration;

    fn sealer() -> Sealer {
        Sealer::from_hex(&"5a".repeat(32)).unwrap()
    }

    async fn setup() -> (tempfile::TempDir, Db, String) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::server::store::open(&format!("sqlite://{}/c.db", dir.path().display()))
            .await
            .unwrap();
        let hasher = crate::server::PasswordHasher::new(secrecy::SecretString::from("p"), 2);
        let demo =
            crate::server::demo::build(&hasher, b"k", 1, crate::server::clock::test_now()).unwrap();
        db.load_demo(&demo).await.unwrap();
        db.create_session(&NewSession {
            token_hash: "sess".into(),
            subject: SubjectKind::Holder,
            subject_id: 1,
            now: crate::server::clock::test_now(),
            ip: String::new(),
            user_agent: String::new(),
        })
        .await
        .unwrap();
        (dir, db, "sess".into())
    }

    #[tokio::test]
    async fn valid_codes_verify_once_for_payment_and_expire() {
        let (_dir, db, sess) = setup().await;
        let sealer = sealer();
        let now = crate::server::clock::test_now();
        let (code, expires_in) = current_code(&db, &sealer, 1, &sess, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(code.len(), 20);
        assert!(expires_in > 50 && expires_in <= 60, "{expires_in}");
        // Identity checks do not consume it.
        assert_eq!(
            verify(&db, &sealer, &code, Purpose::Identity, now)
                .await
                .unwrap()
                .holder_id,
            1
        );
        let paid = verify(&db, &sealer, &code, Purpose::Pay, now)
            .await
            .unwrap();
        assert_eq!(paid.holder_id, 1);
        // Verifying does not use it; consuming does, once.
        assert!(verify(&db, &sealer, &code, Purpose::Pay, now).await.is_ok());
        assert_eq!(consume(&db, &paid, now).await, Ok(()));
        assert_eq!(consume(&db, &paid, now).await, Err(CodeError::Used));
        assert_eq!(
            verify(&db, &sealer, &code, Purpose::Pay, now).await,
            Err(CodeError::Used)
        );
        // The device shows a fresh code after use.
        let (next, _) = current_code(&db, &sealer, 1, &sess, now)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(next, code);
        assert!(verify(&db, &sealer, &next, Purpose::Pay, now).await.is_ok());
        let later = now + Duration::seconds(STEP_SECS * (VALID_STEPS + 1));
        let (old, _) = current_code(&db, &sealer, 1, &sess, now - Duration::seconds(20))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            verify(&db, &sealer, &old, Purpose::Identity, later).await,
            Err(CodeError::Expired)
        );
    }

    #[tokio::test]
    async fn forged_revoked_and_wrong_purpose_codes_are_refused() {
        let (_dir, db, sess) = setup().await;
        let sealer = sealer();
        let now = crate::server::clock::test_now();
        let (code, _) = current_code(&db, &sealer, 1, &sess, now)
            .await
            .unwrap()
            .unwrap();
        let mut forged: Vec<u8> = code.clone().into_bytes();
        forged[19] = if forged[19] == b'9' {
            b'0'
        } else {
            forged[19] + 1
        };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            verify(&db, &sealer, &forged, Purpose::Identity, now).await,
            Err(CodeError::Forged)
        );
        assert_eq!(
            verify(&db, &sealer, "12345", Purpose::Pay, now).await,
            Err(CodeError::Malformed)
        );
        // An identity-only code cannot pay.
        let key = db.pay_key_for_session(&sess).await.unwrap().unwrap();
        // Stored sealed: the database alone cannot make a code.
        assert!(Sealer::is_sealed(&key.secret), "{}", key.secret);
        let key = opened(&sealer, key).unwrap();
        let id_code = code_digits(&key, Purpose::Identity, step_at(now));
        assert_eq!(
            verify(&db, &sealer, &id_code, Purpose::Pay, now).await,
            Err(CodeError::WrongPurpose)
        );
        assert!(
            verify(&db, &sealer, &id_code, Purpose::Identity, now)
                .await
                .is_ok()
        );
        // Logging the device out revokes its codes.
        db.end_session(&sess, now).await.unwrap();
        assert_eq!(
            verify(&db, &sealer, &code, Purpose::Identity, now).await,
            Err(CodeError::Revoked)
        );
    }
}
