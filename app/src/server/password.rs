//! Password hashing: argon2id at the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane)
//! with a server-side pepper. Hashing is CPU-heavy, so it runs on the blocking pool and at most
//! `permits` hashes run at once; a login storm queues instead of starving the async executor.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct PasswordHasher {
    pepper: Arc<SecretString>,
    permits: Arc<Semaphore>,
    /// Stored hashes checked so far (not the dummy checks of unknown or locked logins): what
    /// the lockout bounds, readable by tests and metrics.
    checks: Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing pool closed")]
    Closed,
}

impl PasswordHasher {
    pub fn new(pepper: SecretString, permits: usize) -> Self {
        PasswordHasher {
            pepper: Arc::new(pepper),
            permits: Arc::new(Semaphore::new(permits.max(1))),
            checks: Arc::default(),
        }
    }

    fn argon2(pepper: &[u8]) -> Result<Argon2<'_>, HashError> {
        let params =
            Params::new(19 * 1024, 2, 1, None).map_err(|e| HashError::Hash(e.to_string()))?;
        Argon2::new_with_secret(pepper, Algorithm::Argon2id, Version::V0x13, params)
            .map_err(|e| HashError::Hash(e.to_string()))
    }

    /// Hashes synchronously. For batch work already off the executor (demo data, imports).
    pub fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Self::argon2(self.pepper.expose_secret().as_bytes())?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Hash(e.to_string()))
    }

    /// Verifies synchronously; a malformed stored hash (an account enrolling by link has
    /// none) counts as a mismatch, after the same work as a real check, so timing does not
    /// tell such accounts apart.
    pub fn verify_blocking(&self, password: &str, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            let _ = self.hash_blocking(password);
            return false;
        };
        match Self::argon2(self.pepper.expose_secret().as_bytes()) {
            Ok(argon) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    }

    /// How many stored hashes `verify` has checked.
    pub fn checks(&self) -> u64 {
        self.checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Closed)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password))
            .await
            .map_err(|e| HashError::Hash(e.to_string()))?
    }

    /// Verifies against the stored hash, or against a dummy hash when there is none, so an
    /// unknown user costs the same time as a wrong password.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Closed)?;
        if stored.is_some() {
            self.checks
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || match stored {
            Some(hash) => this.verify_blocking(&password, &hash),
            None => {
                let _ = this.hash_blocking(&password);
                false
            }
        })
        .await
        .map_err(|e| HashError::Hash(e.to_string()))
    }
}

/// Staff passwords: at least 12 characters with letters and digits (not the 6-digit PINs of
/// cardholders).
pub fn staff_password_ok(password: &str) -> bool {
    password.chars().count() >= 12
        && password.chars().count() <= 128
        && password.chars().any(|c| c.is_alphabetic())
        && password.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_with_the_same_pepper_only() {
        let hasher = PasswordHasher::new(SecretString::from("pepper-one"), 2);
        let hash = hasher.hash("260817".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("260817".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("260818".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("260817".into(), None).await.unwrap());
        let other = PasswordHasher::new(SecretString::from("pepper-two"), 1);
        assert!(!other.verify("260817".into(), Some(hash)).await.unwrap());
    }
}
