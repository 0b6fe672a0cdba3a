//! The server's one source of "now". Every rule that depends on time (the campus day, daily
//! limits, refund windows, pay-code steps, lockouts, session idle time, device timestamps)
//! asks the clock in `AppState` instead of the operating system, so a test can run the real
//! server at any moment it chooses: the last minute of a month, 23:59 campus time, 29 February.
//!
//! Production uses [`Clock::system`]. A non-production server may be started at a chosen
//! moment (`YIKATONG_CLOCK_START`), from which its clock runs on in real time; the end-to-end
//! suite does that, so its journeys see the same campus day whatever the calendar says.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// The server's clock. Cheap to clone; clones share one time.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Mutex<Manual>>>);

/// A clock that a test (or a non-production start-up setting) controls.
struct Manual {
    /// The time at `since`.
    at: DateTime<Utc>,
    /// When ticking, the real instant at which the clock read `at`; frozen when `None`.
    since: Option<Instant>,
}

impl Manual {
    fn now(&self) -> DateTime<Utc> {
        match self.since {
            None => self.at,
            Some(since) => self.at + elapsed(since),
        }
    }
}

fn elapsed(since: Instant) -> Duration {
    Duration::from_std(since.elapsed()).unwrap_or(Duration::MAX)
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::system"),
            Some(_) => write!(f, "Clock::manual({})", self.now().to_rfc3339()),
        }
    }
}

impl Clock {
    /// The operating system's clock.
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock that reads `at` now and runs on in real time from there.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self::manual(at, Some(Instant::now()))
    }

    /// A clock that stands still at `at` until it is set or advanced.
    pub fn frozen(at: DateTime<Utc>) -> Self {
        Self::manual(at, None)
    }

    fn manual(at: DateTime<Utc>, since: Option<Instant>) -> Self {
        Clock(Some(Arc::new(Mutex::new(Manual { at, since }))))
    }

    /// Whether this is the operating system's clock.
    pub fn is_system(&self) -> bool {
        self.0.is_none()
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            None => Utc::now(),
            Some(manual) => manual.lock().unwrap_or_else(PoisonError::into_inner).now(),
        }
    }

    /// Moves a manual clock to `at` (it keeps ticking if it ticked). The system clock cannot be
    /// set: that is a programming error in a test, reported as `false`.
    pub fn set(&self, at: DateTime<Utc>) -> bool {
        let Some(manual) = &self.0 else { return false };
        let mut manual = manual.lock().unwrap_or_else(PoisonError::into_inner);
        manual.at = at;
        if manual.since.is_some() {
            manual.since = Some(Instant::now());
        }
        true
    }

    /// Moves a manual clock on by `by` (back when negative).
    pub fn advance(&self, by: Duration) -> bool {
        let now = self.now();
        self.set(now + by)
    }
}

/// The test clock's time: it starts at the test moment when the test process first asks, and
/// runs on from there, so every test in a process sees one consistent timeline (a store's
/// timestamps and a test's own "now" agree). The moment is `YIKATONG_TEST_NOW` (RFC 3339) when
/// set, so the on-demand check `scripts/clock-check.sh` can run every test at awkward moments,
/// and otherwise a fixed Wednesday morning in term time. Never the wall clock.
pub fn test_now() -> DateTime<Utc> {
    static START: std::sync::OnceLock<(DateTime<Utc>, Instant)> = std::sync::OnceLock::new();
    let (at, since) = START.get_or_init(|| (test_moment(), Instant::now()));
    *at + elapsed(*since)
}

/// A clock on the test timeline (see `test_now`), for a server or store under test.
pub fn test_clock() -> Clock {
    Clock::starting_at(test_now())
}

fn test_moment() -> DateTime<Utc> {
    match std::env::var("YIKATONG_TEST_NOW") {
        Ok(text) if !text.trim().is_empty() => DateTime::parse_from_rfc3339(text.trim())
            .unwrap_or_else(|e| panic!("YIKATONG_TEST_NOW={text:?} is not RFC 3339: {e}"))
            .with_timezone(&Utc),
        _ => REFERENCE_TEST_NOW
            .parse::<DateTime<Utc>>()
            .unwrap_or(DateTime::UNIX_EPOCH),
    }
}

/// The default test moment: 10:30 campus time (UTC+8) on Wednesday 14 October 2026.
pub const REFERENCE_TEST_NOW: &str = "2026-10-14T02:30:00Z";

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn a_frozen_clock_moves_only_when_told() {
        let clock = Clock::frozen(t("2028-02-29T15:59:00Z"));
        assert_eq!(clock.now(), t("2028-02-29T15:59:00Z"));
        assert!(clock.advance(Duration::minutes(2)));
        assert_eq!(clock.now(), t("2028-02-29T16:01:00Z"));
        let shared = clock.clone();
        assert!(shared.set(t("2030-01-01T00:00:00Z")));
        assert_eq!(
            clock.now(),
            t("2030-01-01T00:00:00Z"),
            "clones share one time"
        );
    }

    #[test]
    fn a_started_clock_runs_on_from_its_start() {
        let start = t("2027-01-31T15:59:59Z");
        let clock = Clock::starting_at(start);
        let now = clock.now();
        assert!(now >= start && now < start + Duration::minutes(1), "{now}");
        assert!(clock.set(t("2027-02-01T00:00:00Z")));
        assert!(clock.now() >= t("2027-02-01T00:00:00Z"));
    }

    #[test]
    fn the_system_clock_cannot_be_set() {
        let clock = Clock::system();
        assert!(clock.is_system());
        assert!(!clock.set(t("2030-01-01T00:00:00Z")));
        assert!(!clock.advance(Duration::days(1)));
    }

    #[test]
    fn the_test_timeline_starts_at_the_test_moment_and_runs_on() {
        let moment = test_moment();
        if std::env::var_os("YIKATONG_TEST_NOW").is_none() {
            assert_eq!(moment, t("2026-10-14T02:30:00Z"), "a constant, never today");
        }
        let (a, b) = (test_now(), test_now());
        assert!(
            a >= moment && b >= a && b < moment + Duration::hours(1),
            "{a} {b}"
        );
        let clock = test_clock();
        assert!(clock.now() >= b && clock.now() <= test_now());
    }
}
