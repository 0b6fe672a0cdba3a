//! Sessions: a holder's on the portal, a staff member's at the counter, a browser's as a till or
//! kiosk. Each kind has its limits (set where the kind lives: `auth`, `staff`, `terminal`); the
//! rule that applies them is this one.

use chrono::{DateTime, Duration, Utc};

/// How long a kind of session lasts.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Ended after this long without a request.
    pub idle: Duration,
    /// Ended this long after the login, however busy.
    pub absolute: Duration,
    /// The last-seen time is written at most this often (not on every request).
    pub touch_every: Duration,
}

/// What a request finds a session to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Alive; `touch`: record this request as its last activity.
    Alive { touch: bool },
    /// Over (ended, idle too long, or too old); `end`: it is still open in the store and is
    /// to be ended now.
    Over { end: bool },
}

/// A session at `now`: alive while it has not ended, has been idle for less than the idle
/// limit, and is younger than the absolute limit. A session idle for exactly the limit is over.
pub fn session_state(
    limits: &SessionLimits,
    ended: bool,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SessionState {
    let idle = now - last_seen_at;
    if ended || idle >= limits.idle || now - created_at >= limits.absolute {
        SessionState::Over { end: !ended }
    } else {
        SessionState::Alive {
            touch: idle > limits.touch_every,
        }
    }
}

/// How many browsers a holder logged in from are remembered (the oldest beyond are forgotten,
/// and a login from one of those is new again).
pub const KNOWN_BROWSERS: i64 = 20;
/// How long a browser keeps its cookie (the most a browser allows).
pub const BROWSER_COOKIE_DAYS: i64 = 400;

/// Whether a holder's login is told as from a new browser: the browser's cookie is not one
/// the holder logged in with before (`known_here`), and the holder has logged in before from
/// some browser (`known_any`): a first login ever is no news.
pub fn new_browser(known_here: bool, known_any: bool) -> bool {
    known_any && !known_here
}

/// Whether a staff enrolment link still works at `now`: not used, and not expired (a link
/// that expires exactly now has expired).
pub fn enrolment_open(
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    used_at.is_none() && now < expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_news_only_from_a_browser_new_to_a_holder_who_logged_in_before() {
        // (this browser known, any browser known, told)
        let cases = [
            (false, false, false),
            (true, true, false),
            (false, true, true),
            // A browser known here is known anywhere: no news.
            (true, false, false),
        ];
        for (here, any, told) in cases {
            assert_eq!(new_browser(here, any), told, "{here} {any}");
        }
    }
    use chrono::TimeZone;

    #[test]
    fn sessions_end_when_idle_old_or_ended() {
        let limits = SessionLimits {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
            touch_every: Duration::seconds(60),
        };
        let login = Utc.with_ymd_and_hms(2026, 10, 14, 0, 0, 0).unwrap();
        let m = Duration::minutes;
        // (case, ended, minutes since login of the last request, minutes since login now, want)
        let cases = [
            ("fresh", false, 0, 0, SessionState::Alive { touch: false }),
            (
                "seen 30 s ago",
                false,
                10,
                10,
                SessionState::Alive { touch: false },
            ),
            (
                "seen 2 min ago: touch",
                false,
                10,
                12,
                SessionState::Alive { touch: true },
            ),
            (
                "idle 29 min",
                false,
                10,
                39,
                SessionState::Alive { touch: true },
            ),
            (
                "idle exactly 30 min",
                false,
                10,
                40,
                SessionState::Over { end: true },
            ),
            (
                "idle 31 min",
                false,
                10,
                41,
                SessionState::Over { end: true },
            ),
            (
                "busy but 12 h old",
                false,
                719,
                720,
                SessionState::Over { end: true },
            ),
            (
                "busy, 11 h 59 min old",
                false,
                718,
                719,
                SessionState::Alive { touch: false },
            ),
            (
                "ended already",
                true,
                0,
                1,
                SessionState::Over { end: false },
            ),
        ];
        for (case, ended, seen, now, want) in cases {
            let got = session_state(&limits, ended, login, login + m(seen), login + m(now));
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn an_enrolment_link_works_once_until_it_expires() {
        let now = crate::server::clock::test_now();
        let hour = Duration::hours(1);
        for (case, expires_at, used_at, open) in [
            ("fresh", now + hour, None, true),
            ("used", now + hour, Some(now - hour), false),
            ("expired", now - hour, None, false),
            ("expires this instant", now, None, false),
        ] {
            assert_eq!(enrolment_open(expires_at, used_at, now), open, "{case}");
        }
    }
}
