//! Secrets at rest. A copy of the database (a backup, a replica, a stolen disk) must not be
//! enough to log in as staff, to make a student's 深职通码 or to learn where money was paid
//! out. So the values that would allow it are stored sealed with XChaCha20-Poly1305 under the
//! data key from `secrets.toml`, which never enters the database:
//! - staff TOTP secrets (`staff_users`, `staff_enrolments`);
//! - pay-code keys (`pay_code_keys.secret`, `phone_bindings.secret`);
//! - payout bank accounts (`payouts`, `closing_requests`, the holder's recorded account).
//!
//! A sealed value is `v1:` and the hex of a random 24-byte nonce followed by the ciphertext.
//! The column kind is the associated data, so a value moved into a column of another kind does
//! not open. Values written before sealing existed are plain text; they still open, and the
//! server seals them at start (see `store::PortalStore::seal_legacy`).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const PREFIX: &str = "v1:";
const NONCE: usize = 24;

/// What a sealed value is; bound into the seal as associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    TotpSecret,
    PayCodeKey,
    BankAccount,
}

impl Sealed {
    fn label(self) -> &'static [u8] {
        match self {
            Sealed::TotpSecret => b"yikatong totp secret",
            Sealed::PayCodeKey => b"yikatong pay-code key",
            Sealed::BankAccount => b"yikatong bank account",
        }
    }

    /// Every sealed column: (table, its key column, the sealed column, the kind).
    pub const COLUMNS: [(&'static str, &'static str, &'static str, Sealed); 7] = [
        ("staff_users", "id", "totp_secret", Sealed::TotpSecret),
        (
            "staff_enrolments",
            "token_hash",
            "totp_secret",
            Sealed::TotpSecret,
        ),
        ("pay_code_keys", "key_id", "secret", Sealed::PayCodeKey),
        ("phone_bindings", "key_id", "secret", Sealed::PayCodeKey),
        ("payouts", "id", "bank_account", Sealed::BankAccount),
        (
            "closing_requests",
            "id",
            "bank_account",
            Sealed::BankAccount,
        ),
        (
            "payout_accounts",
            "holder_id",
            "bank_account",
            Sealed::BankAccount,
        ),
    ];
}

/// A sealed value that does not open: another data key, or a changed value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealed {0:?} does not open with this data key")]
pub struct Unsealable(pub Sealed);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the data key must be 64 hex digits (32 bytes)")]
pub struct BadDataKey;

/// The data key, ready to seal and open. Not `Debug`: it never reaches a log.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// From the 64 hex digits in `secrets.toml`.
    pub fn from_hex(hex_key: &str) -> Result<Self, BadDataKey> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| BadDataKey)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| BadDataKey)?;
        Ok(Sealer { cipher })
    }

    /// Seals a value under a fresh random nonce.
    pub fn seal(&self, kind: Sealed, plain: &str) -> String {
        let nonce_bytes: [u8; NONCE] = rand::random();
        let nonce = XNonce::from_slice(&nonce_bytes);
        let payload = Payload {
            msg: plain.as_bytes(),
            aad: kind.label(),
        };
        // Encryption fails only for messages near 256 GiB; these are tens of bytes.
        let sealed = self
            .cipher
            .encrypt(nonce, payload)
            .unwrap_or_else(|_| unreachable!("a short message always seals"));
        let mut out = String::with_capacity(PREFIX.len() + 2 * (NONCE + sealed.len()));
        out.push_str(PREFIX);
        out.push_str(&hex::encode(nonce_bytes));
        out.push_str(&hex::encode(sealed));
        out
    }

    /// Opens a stored value. A value without the prefix was written before sealing and is
    /// returned as it is (the start-up pass seals those).
    pub fn open(&self, kind: Sealed, stored: &str) -> Result<String, Unsealable> {
        let Some(body) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let bytes = hex::decode(body).map_err(|_| Unsealable(kind))?;
        if bytes.len() < NONCE {
            return Err(Unsealable(kind));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: kind.label(),
                },
            )
            .map_err(|_| Unsealable(kind))?;
        String::from_utf8(plain).map_err(|_| Unsealable(kind))
    }

    /// Whether a stored value is sealed already.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::from_hex(&hex::encode([byte; 32])).expect("key")
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_kind() {
        let s = sealer(7);
        let sealed = s.seal(Sealed::BankAccount, "6222021234567890");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("6222021234567890"));
        assert_eq!(
            s.open(Sealed::BankAccount, &sealed).as_deref(),
            Ok("6222021234567890")
        );
        // Fresh nonce each time: the same value never seals to the same text.
        assert_ne!(sealed, s.seal(Sealed::BankAccount, "6222021234567890"));
        for (sealer, kind) in [
            (sealer(8), Sealed::BankAccount),
            (s.clone(), Sealed::TotpSecret),
            (s.clone(), Sealed::PayCodeKey),
        ] {
            assert_eq!(sealer.open(kind, &sealed), Err(Unsealable(kind)));
        }
    }

    #[test]
    fn a_changed_or_broken_seal_does_not_open() {
        let s = sealer(1);
        let sealed = s.seal(Sealed::TotpSecret, "JBSWY3DPEHPK3PXP");
        let last = sealed.len() - 1;
        let flipped = format!(
            "{}{}",
            &sealed[..last],
            if sealed.ends_with('0') { '1' } else { '0' }
        );
        for broken in [flipped.as_str(), "v1:", "v1:zz", "v1:00ff", &sealed[..last]] {
            assert_eq!(
                s.open(Sealed::TotpSecret, broken),
                Err(Unsealable(Sealed::TotpSecret)),
                "{broken}"
            );
        }
    }

    #[test]
    fn plain_values_from_before_sealing_still_open() {
        let s = sealer(2);
        assert_eq!(
            s.open(Sealed::PayCodeKey, "abc123").as_deref(),
            Ok("abc123")
        );
        assert!(!Sealer::is_sealed("abc123"));
    }

    #[test]
    fn a_data_key_is_32_bytes_of_hex() {
        assert!(Sealer::from_hex(&"ab".repeat(32)).is_ok());
        for bad in [
            "",
            "ab",
            &"ab".repeat(31),
            &"zz".repeat(32),
            &"ab".repeat(33),
        ] {
            assert!(Sealer::from_hex(bad).is_err(), "{bad}");
        }
    }
}
