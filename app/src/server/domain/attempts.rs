//! Password attempts: how many checks a password gets before it locks, and what a checked
//! attempt means. The count is reserved in the store *before* the password is hashed (see
//! `PortalStore::reserve_attempt`), so the `max`-th reservation is the last check a burst of
//! parallel guesses gets; these rules say what follows from its result.

use chrono::{DateTime, Duration, Utc};

/// A password's lockout: `max` wrong ones in a row lock it for `lock_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub max: i64,
    pub lock_for: Duration,
}

/// The outcome of one reserved attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Right: the count is cleared.
    Right,
    /// Wrong; `locked_until` when this was the last attempt the lockout allows (the store
    /// locked the row when it reserved it).
    Wrong { locked_until: Option<DateTime<Utc>> },
}

/// What the `nth` reserved attempt in a row comes to, given whether the password was right.
/// `lock_until` is the lock end the reservation was made with.
pub fn verdict(rule: Lockout, nth: i64, right: bool, lock_until: DateTime<Utc>) -> Verdict {
    if right {
        Verdict::Right
    } else {
        Verdict::Wrong {
            locked_until: (nth >= rule.max).then_some(lock_until),
        }
    }
}

/// The part of a client address that throttles count by: an IPv4 address whole, an IPv6
/// address by its /64 network (one subscriber usually holds a whole /64, so counting single
/// IPv6 addresses would give an attacker billions of fresh counts). Anything else as it is.
pub fn throttle_address(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

/// The key that throttles one staff username at one client address: the lockout of a staff
/// login is per username *and* address, so a stranger elsewhere cannot keep a colleague's
/// account locked. The username is trimmed, lower-cased and cut to 64 characters, so neither
/// case nor padding opens a fresh count.
pub fn staff_key(username: &str, address: &str) -> String {
    let name: String = username.trim().to_lowercase().chars().take(64).collect();
    format!("staff-user:{name}@{}", throttle_address(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_allowed_wrong_attempt_locks() {
        let rule = Lockout {
            max: 5,
            lock_for: Duration::minutes(30),
        };
        let until = crate::server::clock::test_now() + rule.lock_for;
        for (nth, right, expected) in [
            (1, false, Verdict::Wrong { locked_until: None }),
            (4, false, Verdict::Wrong { locked_until: None }),
            (
                5,
                false,
                Verdict::Wrong {
                    locked_until: Some(until),
                },
            ),
            // A reservation past the limit never happens, but it would lock too.
            (
                6,
                false,
                Verdict::Wrong {
                    locked_until: Some(until),
                },
            ),
            (1, true, Verdict::Right),
            (5, true, Verdict::Right),
        ] {
            assert_eq!(verdict(rule, nth, right, until), expected, "{nth} {right}");
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network() {
        for (ip, key) in [
            ("203.0.113.7", "203.0.113.7"),
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("", ""),
        ] {
            assert_eq!(throttle_address(ip), key, "{ip}");
        }
    }

    #[test]
    fn staff_keys_ignore_case_padding_and_length() {
        for (name, address, key) in [
            ("wang.li", "10.0.0.1", "staff-user:wang.li@10.0.0.1"),
            ("  Wang.Li ", "10.0.0.1", "staff-user:wang.li@10.0.0.1"),
            ("wang.li", "10.0.0.2", "staff-user:wang.li@10.0.0.2"),
        ] {
            assert_eq!(staff_key(name, address), key);
        }
        let long = "a".repeat(500);
        assert_eq!(staff_key(&long, "x").len(), "staff-user:@x".len() + 64);
    }
}
