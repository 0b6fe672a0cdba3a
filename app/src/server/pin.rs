//! Rules for a new 6-digit query password (SPEC §4): six digits; not the initial password;
//! not the birth date from the ID number; not a run, a repeat or a pattern; not one of the PINs
//! people pick most often.

use crate::portal_model::Problem;

/// PINs that are guessed first in every attack on six-digit codes (patterns below catch the
/// rest: repeats, runs, periodic sequences).
const COMMON: &[&str] = &[
    "520520", "520131", "131420", "147258", "258369", "159753", "123321", "168168", "518518",
    "789456", "456123", "147369", "369258", "741852", "852963", "963852", "159357", "753951",
    "112358", "314159", "100200", "200000", "100000", "200200", "520000", "521521", "111222",
    "222333", "123654", "332211", "998877", "246810", "135790", "112211", "110110", "778899",
    "102030", "121314", "101010", "202020", "666888", "888666", "147147", "258258", "369369",
    "201314", "584520", "778899", "199999", "888999", "666999", "000111", "111000", "123000",
];

pub fn is_six_digits(pin: &str) -> bool {
    pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit())
}

/// Checks the shape of a PIN; the personal checks (initial, birth date) need the holder's
/// keyed hashes and are done by the caller.
pub fn check_new_pin(pin: &str) -> Result<(), Problem> {
    if !is_six_digits(pin) {
        return Err(Problem::PasswordFormat);
    }
    let d: Vec<i8> = pin.bytes().map(|b| (b - b'0') as i8).collect();
    let steps: Vec<i8> = d.windows(2).map(|w| (w[1] - w[0]).rem_euclid(10)).collect();
    let constant_step = steps.iter().all(|s| *s == steps[0]);
    // 111111, 123456, 654321, 890123, 135791 (any constant step, wrapping 9→0).
    if constant_step {
        return Err(Problem::PasswordTooSimple);
    }
    // 121212, 123123: the same two or three digits again and again.
    if (0..4).all(|i| d[i] == d[i + 2]) || (0..3).all(|i| d[i] == d[i + 3]) {
        return Err(Problem::PasswordTooSimple);
    }
    // 112233, 445566: three pairs.
    if d[0] == d[1] && d[2] == d[3] && d[4] == d[5] {
        return Err(Problem::PasswordTooSimple);
    }
    if COMMON.contains(&pin) {
        return Err(Problem::PasswordCommon);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_weak_pins() {
        for pin in [
            "111111", "123456", "654321", "890123", "135791", "121212", "123123", "112233",
        ] {
            assert_eq!(check_new_pin(pin), Err(Problem::PasswordTooSimple), "{pin}");
        }
        assert_eq!(check_new_pin("520131"), Err(Problem::PasswordCommon));
        assert_eq!(check_new_pin("12345"), Err(Problem::PasswordFormat));
        assert_eq!(check_new_pin("12345a"), Err(Problem::PasswordFormat));
        assert_eq!(check_new_pin("１２３４５６"), Err(Problem::PasswordFormat));
    }

    #[test]
    fn accepts_ordinary_pins() {
        for pin in ["260817", "739146", "408215", "907364"] {
            assert_eq!(check_new_pin(pin), Ok(()), "{pin}");
        }
    }
}
