//! Rules about ID documents: the initial password they give, the keyed hash that lets an
//! operator check a presented document, and the masked form shown on screen. The number
//! itself is never stored.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why an ID document number cannot be used for enrolment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdDocError {
    #[error("the ID number is empty")]
    Empty,
    #[error("the ID number may contain only letters and digits")]
    BadCharacters,
    #[error("the ID number has fewer than 6 digits before its end")]
    TooFewDigits,
}

/// Upper-cases and strips spaces, so "4403 0119 9001 01123x" and "44030119900101123X" agree.
pub fn normalize(id_number: &str) -> String {
    id_number
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// The initial query and consumption password: the last 6 digits of the ID document; when it
/// ends in the letter X, the 6 digits before the X. Passports and Hong Kong/Macau permits
/// follow the same rule. (SPEC §4.)
pub fn initial_password(id_number: &str) -> Result<String, IdDocError> {
    let id = normalize(id_number);
    if id.is_empty() {
        return Err(IdDocError::Empty);
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(IdDocError::BadCharacters);
    }
    let body = id.strip_suffix('X').unwrap_or(&id);
    let tail: String = body
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if tail.len() == 6 && tail.chars().all(|c| c.is_ascii_digit()) {
        Ok(tail)
    } else {
        Err(IdDocError::TooFewDigits)
    }
}

/// HMAC-SHA256 of the normalized number, hex. Equal documents give equal hashes under one key.
pub fn keyed_hash(key: &[u8], id_number: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(normalize(id_number).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The keyed hash of a PIN the holder may not choose; kept apart from ID hashes by a prefix.
pub fn pin_hash(key: &[u8], pin: &str) -> String {
    keyed_hash(key, &format!("PIN:{pin}"))
}

/// Six-digit forms of the birth date in an 18-character resident ID number (YYYYMMDD at
/// positions 7–14): YYMMDD, MMDDYY and DDMMYY.
pub fn birth_date_pins(id_number: &str) -> Vec<String> {
    let id = normalize(id_number);
    if id.len() != 18 || !id[..17].bytes().all(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    let (yy, mm, dd) = (&id[8..10], &id[10..12], &id[12..14]);
    vec![
        format!("{yy}{mm}{dd}"),
        format!("{mm}{dd}{yy}"),
        format!("{dd}{mm}{yy}"),
    ]
}

/// The keyed hashes of the PINs too personal for this ID document: the initial password and
/// the birth date forms.
pub fn personal_pin_hashes(key: &[u8], id_number: &str) -> Vec<String> {
    let mut pins = birth_date_pins(id_number);
    if let Ok(initial) = initial_password(id_number) {
        pins.push(initial);
    }
    pins.iter().map(|p| pin_hash(key, p)).collect()
}

/// Keeps the first 3 and last 2 characters: "440***********123X" style masking.
pub fn mask(id_number: &str) -> String {
    let id: Vec<char> = normalize(id_number).chars().collect();
    if id.len() <= 5 {
        return "*".repeat(id.len());
    }
    let mut out: String = id[..3].iter().collect();
    out.push_str(&"*".repeat(id.len() - 5));
    out.extend(&id[id.len() - 2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_password_follows_the_id_rule() {
        assert_eq!(
            initial_password("440301199001011234").as_deref(),
            Ok("011234")
        );
        // SPEC example: ends in X, take the 6 digits before it.
        assert_eq!(
            initial_password("44030119900101123X").as_deref(),
            Ok("101123")
        );
        assert_eq!(
            initial_password("44030119900101123x").as_deref(),
            Ok("101123")
        );
        assert_eq!(initial_password("E12345678").as_deref(), Ok("345678"));
        assert_eq!(initial_password("H0123456789").as_deref(), Ok("456789"));
        assert_eq!(initial_password("E1234"), Err(IdDocError::TooFewDigits));
        assert_eq!(initial_password("AB12C456"), Err(IdDocError::TooFewDigits));
        assert_eq!(initial_password("   "), Err(IdDocError::Empty));
        assert_eq!(
            initial_password("4403-0119"),
            Err(IdDocError::BadCharacters)
        );
    }

    #[test]
    fn keyed_hash_is_stable_and_keyed() {
        let a = keyed_hash(b"k1", "44030119900101123x");
        assert_eq!(a, keyed_hash(b"k1", "4403 0119 9001 01123X"));
        assert_ne!(a, keyed_hash(b"k2", "44030119900101123X"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask("44030119900101123X"), "440*************3X");
        assert_eq!(mask("E1234"), "*****");
    }

    #[test]
    fn birth_date_forms_come_from_the_id() {
        assert_eq!(
            birth_date_pins("44030520030918273X"),
            vec!["030918".to_string(), "091803".into(), "180903".into()]
        );
        assert!(birth_date_pins("E12345678").is_empty());
    }
}
