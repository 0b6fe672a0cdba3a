//! The 深职通码's digits, made the same way by the server and by a remembered phone's wasm.
//!
//! Layout (20 digits): `8` · purpose · key id (8 digits) · time step mod 100 (2 digits) · MAC
//! (8 digits). The MAC is HMAC-SHA256 over the purpose, the key id and the full time step,
//! keyed with the key's random secret, truncated to 8 decimal digits. A step is 10 s.
//!
//! Purposes: `1` pays (and proves identity), `2` proves identity only, `3` pays and was made
//! on the phone itself (a remembered phone without a network): the server caps what such a
//! code pays without the consumption password. The purpose is inside the MAC, so a copied
//! code cannot be relabelled.
//!
//! Key ids: a logged-in browser's key is 10,000,000–99,999,999; a remembered phone's key is
//! below 10,000,000 (`is_phone_key`), so the server knows where to look it up from the digits.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const STEP_SECS: i64 = 10;
/// A code is accepted for this many steps from its own (about a minute)…
pub const VALID_STEPS: i64 = 6;
/// …and this many steps before it, for a phone whose clock runs a little ahead.
pub const EARLY_STEPS: i64 = 1;
const PREFIX: char = '8';
/// Session keys are drawn from `SESSION_KEYS`, phone keys from `PHONE_KEYS`.
pub const SESSION_KEYS: std::ops::Range<i64> = 10_000_000..100_000_000;
pub const PHONE_KEYS: std::ops::Range<i64> = 1..10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Pay,
    Identity,
    /// Made on a remembered phone, offline: pays, within the campus's offline amount.
    Offline,
}

impl Purpose {
    fn digit(self) -> char {
        match self {
            Purpose::Pay => '1',
            Purpose::Identity => '2',
            Purpose::Offline => '3',
        }
    }

    /// Whether a code of this purpose may pay.
    pub fn pays(self) -> bool {
        matches!(self, Purpose::Pay | Purpose::Offline)
    }
}

/// Whether a key id belongs to a remembered phone (not a logged-in browser).
pub fn is_phone_key(key_id: i64) -> bool {
    PHONE_KEYS.contains(&key_id)
}

/// The time step of a moment given in seconds since 1970.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The MAC of a code: the first 8 bytes of HMAC-SHA256, as 8 decimal digits.
pub fn mac(secret: &str, purpose: Purpose, key_id: i64, step: i64) -> u64 {
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

/// The digits of a code.
pub fn digits(secret: &str, purpose: Purpose, key_id: i64, step: i64) -> String {
    format!(
        "{PREFIX}{}{:08}{:02}{:08}",
        purpose.digit(),
        key_id,
        step.rem_euclid(100),
        mac(secret, purpose, key_id, step)
    )
}

/// Scanned digits, taken apart (not yet checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub purpose: Purpose,
    pub key_id: i64,
    /// The step mod 100.
    pub residue: i64,
    pub mac: u64,
}

/// Takes scanned digits apart; `None` when they are not a code.
pub fn parse(digits: &str) -> Option<Parsed> {
    let d = digits.trim();
    if d.len() != 20 || !d.bytes().all(|b| b.is_ascii_digit()) || !d.starts_with(PREFIX) {
        return None;
    }
    let purpose = match &d[1..2] {
        "1" => Purpose::Pay,
        "2" => Purpose::Identity,
        "3" => Purpose::Offline,
        _ => return None,
    };
    let num = |r: std::ops::Range<usize>| d[r].parse::<u64>().ok();
    Some(Parsed {
        purpose,
        key_id: num(2..10)? as i64,
        residue: num(10..12)? as i64,
        mac: num(12..20)?,
    })
}

/// The full step with this residue closest to `current` (within ±50 steps).
pub fn full_step(current: i64, residue: i64) -> i64 {
    let step = current - (current - residue).rem_euclid(100);
    if current - step > 50 {
        step + 100
    } else {
        step
    }
}

/// Whether a code of `step` is inside its window at `current`: at most `EARLY_STEPS` ahead
/// (a phone's clock a little fast), and fewer than `VALID_STEPS` behind.
pub fn in_window(step: i64, current: i64) -> bool {
    step <= current + EARLY_STEPS && current - step < VALID_STEPS
}

/// Seconds until a code of `step` stops being accepted, seen at `unix_secs`.
pub fn expires_in(step: i64, unix_secs: i64) -> i64 {
    (step + VALID_STEPS) * STEP_SECS - unix_secs
}

/// Whether two MACs are equal, in time that does not depend on where they differ.
pub fn same_mac(a: u64, b: u64) -> bool {
    a.to_be_bytes()
        .iter()
        .zip(b.to_be_bytes().iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The code as a QR image (SVG), black on white with its quiet zone.
pub fn qr_svg(digits: &str) -> Option<String> {
    Some(
        qrcode::QrCode::new(digits.as_bytes())
            .ok()?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_round_trip_for_each_purpose() {
        for purpose in [Purpose::Pay, Purpose::Identity, Purpose::Offline] {
            let d = digits("secret", purpose, 1234, 177_000_123);
            assert_eq!(d.len(), 20);
            let p = parse(&d).unwrap();
            assert_eq!(p.purpose, purpose);
            assert_eq!(p.key_id, 1234);
            assert_eq!(p.residue, 23);
            assert_eq!(p.mac, mac("secret", purpose, 1234, 177_000_123));
        }
        // The purpose is inside the MAC: relabelling a code breaks it.
        assert_ne!(
            mac("s", Purpose::Pay, 1, 5),
            mac("s", Purpose::Offline, 1, 5)
        );
    }

    #[test]
    fn only_codes_parse() {
        for bad in [
            "",
            "1234",
            "91000012340012345678",
            "84000012340012345678",
            "8100001234001234567x",
            "810000123400123456789",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_window_and_its_edges() {
        let now = 1_000;
        // (case, step, in window)
        for (case, step, ok) in [
            ("this step", now, true),
            ("one step ahead (fast clock)", now + 1, true),
            ("two steps ahead", now + 2, false),
            ("five steps old", now - 5, true),
            ("six steps old", now - 6, false),
        ] {
            assert_eq!(in_window(step, now), ok, "{case}");
        }
        // Residues wrap around 100.
        assert_eq!(full_step(1_000, 99), 999);
        assert_eq!(full_step(1_099, 0), 1_100);
        assert_eq!(full_step(1_050, 50), 1_050);
    }

    #[test]
    fn phone_and_session_keys_do_not_overlap() {
        assert!(is_phone_key(1) && is_phone_key(9_999_999));
        assert!(!is_phone_key(0) && !is_phone_key(10_000_000));
        const { assert!(SESSION_KEYS.start == PHONE_KEYS.end) };
    }
}
