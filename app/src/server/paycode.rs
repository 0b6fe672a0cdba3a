//! The 深职通码 on the server: checking scanned codes, and making the codes a logged-in browser
//! shows. The digits themselves are `crate::code_format`, shared with the remembered phone's
//! wasm, which makes its own codes from its binding's secret.
//!
//! A code is accepted for `VALID_STEPS` steps (about a minute), and one step early for clock
//! skew. A code used for a payment is recorded and refused after; revoking the key (logout,
//! password change, freeze; for a phone: removing the binding or its expiry) kills every code
//! it made.

use super::domain::bindings;
use super::sealing::{Sealed, Sealer};
use super::store::{Db, PayKey, StoreError};
use crate::code_format::{self as format, is_phone_key};
pub use crate::code_format::{Purpose, STEP_SECS, VALID_STEPS};
use crate::model::AccountStatus;
use chrono::{DateTime, Utc};

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
    format::step_of(now.timestamp())
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
    format::digits(&key.secret, purpose, key.key_id, step)
}

/// A code that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub holder_id: i64,
    pub key_id: i64,
    pub step: i64,
    /// Made on a remembered phone without the network: pays without the consumption password
    /// only up to the campus's offline amount.
    pub offline: bool,
}

/// Checks scanned digits for `wanted` (`Pay` or `Identity`). Nothing is consumed: a payment
/// code already used answers `Used`, and a payment uses it with `consume` once the sale is
/// decided (after the password step), so a sale retried with the password can still use its
/// code.
pub async fn verify(
    db: &Db,
    sealer: &Sealer,
    digits: &str,
    wanted: Purpose,
    now: DateTime<Utc>,
) -> Result<Verified, CodeError> {
    let code = format::parse(digits).ok_or(CodeError::Malformed)?;
    let phone = is_phone_key(code.key_id);
    // Only a phone makes offline codes; an identity code does not pay.
    if (code.purpose == Purpose::Offline && !phone) || (wanted.pays() && !code.purpose.pays()) {
        return Err(CodeError::WrongPurpose);
    }
    let key = if phone {
        db.phone_key(code.key_id).await?
    } else {
        db.pay_key(code.key_id).await?
    };
    let key = opened(sealer, key.ok_or(CodeError::Forged)?)?;
    let current = step_at(now);
    let step = format::full_step(current, code.residue);
    let expected = format::mac(&key.secret, code.purpose, code.key_id, step);
    if !format::same_mac(expected, code.mac) {
        return Err(CodeError::Forged);
    }
    if key.revoked
        || key
            .expires_at
            .is_some_and(|at| !bindings::alive(false, at, now))
    {
        return Err(CodeError::Revoked);
    }
    if !format::in_window(step, current) {
        return Err(CodeError::Expired);
    }
    if key.account_status != AccountStatus::Active {
        return Err(CodeError::AccountNotActive);
    }
    if wanted.pays() && db.pay_code_used(code.key_id, step).await? {
        return Err(CodeError::Used);
    }
    Ok(Verified {
        holder_id: key.holder_id,
        key_id: code.key_id,
        step,
        offline: code.purpose == Purpose::Offline,
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

/// Which key a code page shows codes of: its remembered phone's, or its session's.
pub enum KeyOf<'a> {
    Phone(i64),
    Session(&'a str),
}

/// The code a holder's device shows now: the current step's, or the next step's if the
/// current one was just used for a payment. Creates a session's key on first use (a phone's
/// key was made with its binding).
pub async fn current_code(
    db: &Db,
    sealer: &Sealer,
    holder_id: i64,
    of: KeyOf<'_>,
    now: DateTime<Utc>,
) -> Result<Option<(String, i64)>, CodeError> {
    let key = match of {
        KeyOf::Phone(key_id) => db.phone_key(key_id).await?.ok_or(CodeError::Revoked)?,
        KeyOf::Session(session_hash) => {
            session_key(db, sealer, holder_id, session_hash, now).await?
        }
    };
    let key = opened(sealer, key)?;
    if key.account_status != AccountStatus::Active {
        return Err(CodeError::AccountNotActive);
    }
    let current = step_at(now);
    for step in [current, current + 1] {
        if !db.pay_code_used(key.key_id, step).await? {
            return Ok(Some((
                code_digits(&key, Purpose::Pay, step),
                format::expires_in(step, now.timestamp()),
            )));
        }
    }
    Ok(None)
}

/// A random key id from `range` (session keys and phone keys each have their own).
pub fn random_key_id(range: std::ops::Range<i64>) -> i64 {
    let span = (range.end - range.start) as u64;
    range.start + (rand::random::<u64>() % span) as i64
}

async fn session_key(
    db: &Db,
    sealer: &Sealer,
    holder_id: i64,
    session_hash: &str,
    now: DateTime<Utc>,
) -> Result<PayKey, CodeError> {
    if let Some(key) = db.pay_key_for_session(session_hash).await? {
        return Ok(key);
    }
    for _ in 0..5 {
        let key_id = random_key_id(format::SESSION_KEYS);
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let sealed = sealer.seal(Sealed::PayCodeKey, &secret);
        let created = db
            .create_pay_key(key_id, holder_id, session_hash, &sealed, now)
            .await?;
        // Made now, or by a concurrent request of the same page.
        if let Some(key) = db.pay_key_for_session(session_hash).await? {
            return Ok(key);
        }
        if created {
            break;
        }
    }
    Err(CodeError::Store("no free key id".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditAction;
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
        let (code, expires_in) = current_code(&db, &sealer, 1, KeyOf::Session(&sess), now)
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
        let (next, _) = current_code(&db, &sealer, 1, KeyOf::Session(&sess), now)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(next, code);
        assert!(verify(&db, &sealer, &next, Purpose::Pay, now).await.is_ok());
        let later = now + Duration::seconds(STEP_SECS * (VALID_STEPS + 1));
        let (old, _) = current_code(
            &db,
            &sealer,
            1,
            KeyOf::Session(&sess),
            now - Duration::seconds(20),
        )
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
        let (code, _) = current_code(&db, &sealer, 1, KeyOf::Session(&sess), now)
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

    /// A remembered phone's binding with a known secret, as `phone::bind` stores one.
    async fn bind_phone(db: &Db, sealer: &Sealer, key_id: i64, now: DateTime<Utc>) -> String {
        let secret = "ab".repeat(32);
        let sealed = sealer.seal(Sealed::PayCodeKey, &secret);
        assert!(
            db.create_binding(&crate::server::store::NewBinding {
                key_id,
                holder_id: 1,
                token_hash: "phone",
                secret: &sealed,
                device_name: "Chrome · Android",
                now,
                expires_at: now + Duration::days(30),
            })
            .await
            .unwrap()
        );
        secret
    }

    #[tokio::test]
    async fn codes_a_remembered_phone_makes_offline() {
        let (_dir, db, _sess) = setup().await;
        let sealer = sealer();
        let now = crate::server::clock::test_now();
        let key_id = 4_242;
        let secret = bind_phone(&db, &sealer, key_id, now).await;
        let current = step_at(now);
        let made = |step: i64| format::digits(&secret, Purpose::Offline, key_id, step);
        let pay = |digits: String, at: DateTime<Utc>| {
            let (db, sealer) = (&db, &sealer);
            async move { verify(db, sealer, &digits, Purpose::Pay, at).await }
        };

        // Valid: the holder, marked as made offline.
        let v = pay(made(current), now).await.unwrap();
        assert_eq!(
            (v.holder_id, v.key_id, v.step, v.offline),
            (1, key_id, current, true)
        );

        // Clock skew, at both edges of the window: one step ahead is accepted, two are not;
        // five steps behind is accepted, six are not (expired).
        assert!(pay(made(current + 1), now).await.is_ok(), "phone 10 s fast");
        assert_eq!(
            pay(made(current + 2), now).await,
            Err(CodeError::Expired),
            "20 s fast"
        );
        assert!(pay(made(current - 5), now).await.is_ok(), "made 50 s ago");
        assert_eq!(
            pay(made(current - 6), now).await,
            Err(CodeError::Expired),
            "60 s ago"
        );

        // Replayed: used once, then refused.
        assert_eq!(consume(&db, &v, now).await, Ok(()));
        assert_eq!(pay(made(current), now).await, Err(CodeError::Used));
        // A server-made code of the same key and step is the same code, used too.
        assert_eq!(
            pay(format::digits(&secret, Purpose::Pay, key_id, current), now).await,
            Err(CodeError::Used)
        );
        // An identity check does not use it, and still works.
        assert!(
            verify(&db, &sealer, &made(current), Purpose::Identity, now)
                .await
                .is_ok()
        );

        // Forged: another secret, a changed digit, a session's key claiming to be a phone's.
        let other = format::digits(&"cd".repeat(32), Purpose::Offline, key_id, current - 1);
        assert_eq!(pay(other, now).await, Err(CodeError::Forged));
        let mut changed = made(current - 1).into_bytes();
        changed[15] = if changed[15] == b'9' {
            b'0'
        } else {
            changed[15] + 1
        };
        assert_eq!(
            pay(String::from_utf8(changed).unwrap(), now).await,
            Err(CodeError::Forged)
        );
        let relabelled = format!("81{}", &made(current - 1)[2..]);
        assert_eq!(pay(relabelled, now).await, Err(CodeError::Forged));
        let session_offline = format::digits(&secret, Purpose::Offline, 12_345_678, current);
        assert_eq!(
            pay(session_offline, now).await,
            Err(CodeError::WrongPurpose)
        );
        assert_eq!(
            pay(
                format::digits(&secret, Purpose::Offline, 4_243, current),
                now
            )
            .await,
            Err(CodeError::Forged),
            "no such binding"
        );

        // After the binding's days, its codes are refused.
        let later = now + Duration::days(30);
        assert_eq!(
            pay(made(step_at(later)), later).await,
            Err(CodeError::Revoked)
        );

        // Removed: refused at once, even a code made a moment before.
        let audit = crate::server::store::Audit {
            actor: crate::server::store::Actor::Holder(1),
            action: AuditAction::HolderPhoneRemoved,
            holder_id: Some(1),
            target: Default::default(),
            before: Default::default(),
            after: Default::default(),
            reason: String::new(),
            ip: String::new(),
        };
        assert!(
            db.end_binding(1, key_id, "removed", now, audit)
                .await
                .unwrap()
        );
        assert_eq!(pay(made(current - 1), now).await, Err(CodeError::Revoked));
    }
}
