//! When a notice goes out by e-mail or push, and what happens when the server says no.
//!
//! A notice is written with its event (`notices`); a worker hands each one with a confirmed
//! address to the mail server later, as a delivery with an idempotency key (its `Message-ID`).
//! The rules here are plain functions of the time and the attempt:
//! - quiet hours: 23:00–07:00 campus time, nothing but security notices is sent; what comes
//!   then waits for 07:00 (`send_at`);
//! - a delivery the mail server refused or did not answer is tried again later, each time
//!   waiting twice as long (from 30 seconds, at most an hour), and is given up after
//!   `MAX_ATTEMPTS`, to be shown to the operators (`after_failure`);
//! - a delivery is taken by one sender, one at a time, for `LEASE` (far longer than a send may
//!   take): a sender that dies in the middle leaves it to be taken again once the lease has run
//!   out, never lost. Delivery is at least once: a sender that dies after the mail server
//!   accepted a message but before it recorded that sends it again, with the same
//!   `Message-ID`;
//! - an address is checked before a confirmation link is sent to it (`check_address`), and a
//!   holder asks for a link at most once a minute (`may_ask_again`);
//! - a notice older than `DISPATCH_WITHIN` when the worker first sees it (the campus had no
//!   mail server then) stays in the inbox only.

use super::calendar::campus_tz;
use crate::portal_model::Problem;
use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};

/// Quiet hours, campus time: from this hour…
pub const QUIET_FROM: u32 = 23;
/// …to this one.
pub const QUIET_UNTIL: u32 = 7;
/// How many times a delivery is tried before it is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long one sender holds a delivery it took.
pub const LEASE: Duration = Duration::minutes(2);
/// How long a confirmation link works.
pub const CONFIRM_FOR: Duration = Duration::days(2);
/// How long a holder waits between two confirmation links.
pub const ASK_AGAIN_AFTER: Duration = Duration::minutes(1);
/// The oldest notice still sent by e-mail when the worker first sees it.
pub const DISPATCH_WITHIN: Duration = Duration::days(1);

/// Whether a holder may ask for another confirmation link, the last one asked for at `last`.
pub fn may_ask_again(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), Problem> {
    match last {
        Some(last) if now < last + ASK_AGAIN_AFTER => Err(Problem::EmailTooSoon {
            retry_after_secs: (last + ASK_AGAIN_AFTER - now).num_seconds().max(1),
        }),
        _ => Ok(()),
    }
}

/// Whether a notice made at `made` still goes out by e-mail when first seen at `now`.
pub fn still_worth_sending(made: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - made <= DISPATCH_WITHIN
}

/// When a notice made at `now` may be sent: at once, unless it falls in quiet hours and is not
/// a security notice; then at the end of them.
pub fn send_at(security: bool, now: DateTime<Utc>) -> DateTime<Utc> {
    if security {
        return now;
    }
    let local = now.with_timezone(&campus_tz());
    let hour = local.hour();
    if (QUIET_UNTIL..QUIET_FROM).contains(&hour) {
        return now;
    }
    let day = if hour >= QUIET_FROM {
        local.date_naive() + Duration::days(1)
    } else {
        local.date_naive()
    };
    let until = NaiveTime::from_hms_opt(QUIET_UNTIL, 0, 0).unwrap_or_default();
    day.and_time(until)
        .and_local_timezone(campus_tz())
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

/// What to do with a delivery whose `attempts`-th try failed at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    At(DateTime<Utc>),
    GiveUp,
}

/// The next try waits twice as long as the one before (from 30 seconds, at most an hour),
/// and, unless `urgent` (`send_at`'s security), no try lands in quiet hours: one due then
/// waits for their end.
pub fn after_failure(attempts: i64, urgent: bool, now: DateTime<Utc>) -> Retry {
    if attempts >= MAX_ATTEMPTS {
        return Retry::GiveUp;
    }
    let doubled = 30i64.saturating_mul(1i64 << attempts.clamp(1, 20).saturating_sub(1));
    Retry::At(send_at(urgent, now + Duration::seconds(doubled.min(3_600))))
}

/// A delivery's idempotency key, also its `Message-ID`'s left part: one per notice (or per
/// confirmation request) and channel, so a delivery taken again after a crash is the same
/// message to the receiving server.
pub fn notice_key(notice_id: i64) -> String {
    format!("notice-{notice_id}")
}

/// A push's idempotency key, also its notification's tag: one per notice and browser, so a
/// push sent again after a crash replaces the notification shown instead of adding one.
pub fn push_key(notice_id: i64, subscription_id: i64) -> String {
    format!("push-{notice_id}-{subscription_id}")
}

/// An e-mail address as a person typed it: trimmed, one `@`, a domain with a dot, no spaces or
/// angle brackets, at most 254 characters. Answers it in lower case.
pub fn check_address(text: &str) -> Result<String, Problem> {
    let address = text.trim().to_lowercase();
    let ok = address.len() <= 254
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        && match address.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if ok {
        Ok(address)
    } else {
        Err(Problem::EmailAddress)
    }
}

/// An address as the operators' list shows it: the first two characters of the mailbox and the
/// whole domain (`st***@campus.test`), enough to see a typing error in the domain.
pub fn masked_address(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let shown: String = local.chars().take(2).collect();
            format!("{shown}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campus(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_hold_all_but_security() {
        // (campus time made, security, campus time sent)
        let cases = [
            (
                "2026-10-14T10:30:00+08:00",
                false,
                "2026-10-14T10:30:00+08:00",
            ),
            (
                "2026-10-14T22:59:59+08:00",
                false,
                "2026-10-14T22:59:59+08:00",
            ),
            (
                "2026-10-14T23:00:00+08:00",
                false,
                "2026-10-15T07:00:00+08:00",
            ),
            (
                "2026-10-14T23:59:00+08:00",
                false,
                "2026-10-15T07:00:00+08:00",
            ),
            (
                "2026-10-15T00:10:00+08:00",
                false,
                "2026-10-15T07:00:00+08:00",
            ),
            (
                "2026-10-15T06:59:59+08:00",
                false,
                "2026-10-15T07:00:00+08:00",
            ),
            (
                "2026-10-15T07:00:00+08:00",
                false,
                "2026-10-15T07:00:00+08:00",
            ),
            (
                "2026-12-31T23:30:00+08:00",
                false,
                "2027-01-01T07:00:00+08:00",
            ),
            (
                "2026-10-14T23:30:00+08:00",
                true,
                "2026-10-14T23:30:00+08:00",
            ),
            (
                "2026-10-15T03:00:00+08:00",
                true,
                "2026-10-15T03:00:00+08:00",
            ),
        ];
        for (made, security, sent) in cases {
            assert_eq!(
                send_at(security, campus(made)),
                campus(sent),
                "{made} {security}"
            );
        }
    }

    #[test]
    fn failures_wait_longer_each_time_then_give_up() {
        let now = campus("2026-10-14T10:00:00+08:00");
        for urgent in [false, true] {
            let waits: Vec<Retry> = (1..=MAX_ATTEMPTS)
                .map(|n| after_failure(n, urgent, now))
                .collect();
            let secs = |r: &Retry| match r {
                Retry::At(at) => (*at - now).num_seconds(),
                Retry::GiveUp => -1,
            };
            assert_eq!(
                waits.iter().map(secs).collect::<Vec<_>>(),
                vec![30, 60, 120, 240, 480, 960, 1920, -1]
            );
            assert_eq!(after_failure(100, urgent, now), Retry::GiveUp);
            assert_eq!(
                after_failure(0, urgent, now),
                Retry::At(now + Duration::seconds(30))
            );
        }
    }

    #[test]
    fn a_retry_due_in_quiet_hours_waits_for_their_end_unless_urgent() {
        // (failed at, attempts, urgent, next try)
        let cases = [
            // Due at 22:59:30, before quiet hours: as it falls.
            (
                "2026-10-14T22:59:00+08:00",
                1,
                false,
                "2026-10-14T22:59:30+08:00",
            ),
            // Due at 23:00:30: waits for 07:00 the next morning.
            (
                "2026-10-14T23:00:00+08:00",
                1,
                false,
                "2026-10-15T07:00:00+08:00",
            ),
            (
                "2026-10-14T22:50:00+08:00",
                7,
                false,
                "2026-10-15T07:00:00+08:00",
            ),
            // In the small hours, and at 06:59 with a wait that ends after 07:00.
            (
                "2026-10-15T03:00:00+08:00",
                3,
                false,
                "2026-10-15T07:00:00+08:00",
            ),
            (
                "2026-10-15T06:59:00+08:00",
                2,
                false,
                "2026-10-15T07:00:00+08:00",
            ),
            (
                "2026-10-15T06:59:00+08:00",
                3,
                false,
                "2026-10-15T07:01:00+08:00",
            ),
            // A security notice or a confirmation link goes at night too.
            (
                "2026-10-14T23:00:00+08:00",
                1,
                true,
                "2026-10-14T23:00:30+08:00",
            ),
            (
                "2026-10-15T03:00:00+08:00",
                3,
                true,
                "2026-10-15T03:02:00+08:00",
            ),
        ];
        for (failed, attempts, urgent, next) in cases {
            assert_eq!(
                after_failure(attempts, urgent, campus(failed)),
                Retry::At(campus(next)),
                "{failed} {attempts} {urgent}"
            );
        }
    }

    #[test]
    fn a_link_at_most_once_a_minute_and_old_notices_stay_in_the_inbox() {
        let now = campus("2026-10-14T10:00:00+08:00");
        let s = Duration::seconds;
        assert_eq!(may_ask_again(None, now), Ok(()));
        assert_eq!(may_ask_again(Some(now - s(60)), now), Ok(()));
        assert_eq!(
            may_ask_again(Some(now - s(45)), now),
            Err(Problem::EmailTooSoon {
                retry_after_secs: 15
            })
        );
        assert_eq!(
            may_ask_again(Some(now), now),
            Err(Problem::EmailTooSoon {
                retry_after_secs: 60
            })
        );
        assert!(still_worth_sending(now - Duration::hours(23), now));
        assert!(still_worth_sending(now - DISPATCH_WITHIN, now));
        assert!(!still_worth_sending(now - DISPATCH_WITHIN - s(1), now));
    }

    #[test]
    fn operators_see_an_address_masked() {
        assert_eq!(masked_address("student11@campus.test"), "st***@campus.test");
        assert_eq!(masked_address("a@b.cn"), "a***@b.cn");
        assert_eq!(masked_address("李浩然@大学.cn"), "李浩***@大学.cn");
        assert_eq!(masked_address("broken"), "***");
    }

    #[test]
    fn addresses_are_checked() {
        let ok = [
            (" Li.Haoran@Example.EDU.cn ", "li.haoran@example.edu.cn"),
            ("a+b@mail.campus.cn", "a+b@mail.campus.cn"),
        ];
        for (typed, stored) in ok {
            assert_eq!(check_address(typed), Ok(stored.to_string()));
        }
        for bad in [
            "",
            "no-at",
            "@example.cn",
            "a@b",
            "a@.cn",
            "a@cn.",
            "a@b..cn",
            "a b@c.cn",
            "a@b@c.cn",
            "<a@b.cn>",
            "a@b.cn,c@d.cn",
            &format!("{}@b.cn", "a".repeat(260)),
        ] {
            assert_eq!(check_address(bad), Err(Problem::EmailAddress), "{bad:?}");
        }
    }
}
