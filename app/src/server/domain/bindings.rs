//! A remembered phone (a binding): the holder chose at login to keep this phone for the
//! 深职通码. The binding opens the code and the balance without a password and gives the phone
//! its own code key, so it makes codes without the network. It lasts the campus's number of
//! days and ends earlier with any event that says the phone or the password may be in other
//! hands.

use crate::model::PHONE_BINDING_DAYS;
use chrono::{DateTime, Duration, Utc};

/// When a binding made at `now` ends by itself (a profile's number of days is validated on
/// saving; one outside the range is held to it here too).
pub fn expires_at(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    now + Duration::days(days.clamp(*PHONE_BINDING_DAYS.start(), *PHONE_BINDING_DAYS.end()))
}

/// Whether a binding still works at `now`: not ended, and not expired (one that expires this
/// instant has expired).
pub fn alive(ended: bool, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    !ended && now < expires_at
}

/// What happened to a holder: each ends every binding or leaves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderEvent {
    /// The holder changed the query password.
    PasswordChanged,
    /// The counter reset a password after checking the holder's ID.
    PasswordReset,
    /// The card was reported lost (by the holder or at the counter).
    CardLost,
    /// The loss report was lifted.
    CardFound,
    AccountFrozen,
    AccountUnfrozen,
    AccountClosed,
    /// The holder logged one browser out (a session, not a binding).
    LoggedOut,
}

impl HolderEvent {
    /// As recorded on the ended bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            HolderEvent::PasswordChanged => "password changed",
            HolderEvent::PasswordReset => "password reset at the counter",
            HolderEvent::CardLost => "card reported lost",
            HolderEvent::CardFound => "loss report lifted",
            HolderEvent::AccountFrozen => "account frozen",
            HolderEvent::AccountUnfrozen => "account unfrozen",
            HolderEvent::AccountClosed => "account closed",
            HolderEvent::LoggedOut => "logged out",
        }
    }
}

/// Whether `event` ends all the holder's bindings. A password change, a reset, a loss, a
/// freeze and a closing do: each says the phone or the password may be in other hands.
pub fn ends_bindings(event: HolderEvent) -> bool {
    use HolderEvent::*;
    match event {
        PasswordChanged | PasswordReset | CardLost | AccountFrozen | AccountClosed => true,
        CardFound | AccountUnfrozen | LoggedOut => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_lasts_its_days_unless_ended() {
        let now = crate::server::clock::test_now();
        let day = Duration::days(1);
        let until = expires_at(now, 30);
        assert_eq!(until, now + Duration::days(30));
        // (case, ended, at, alive)
        for (case, ended, at, want) in [
            ("new", false, now, true),
            ("day 29", false, now + day * 29, true),
            ("the instant it expires", false, until, false),
            ("after", false, until + day, false),
            ("removed", true, now + day, false),
        ] {
            assert_eq!(alive(ended, until, at), want, "{case}");
        }
        // A campus setting outside the range is held to it.
        assert_eq!(expires_at(now, 0), now + day);
        assert_eq!(expires_at(now, 10_000), now + day * 180);
    }

    #[test]
    fn what_ends_the_bindings() {
        use HolderEvent::*;
        for (event, ends) in [
            (PasswordChanged, true),
            (PasswordReset, true),
            (CardLost, true),
            (AccountFrozen, true),
            (AccountClosed, true),
            (CardFound, false),
            (AccountUnfrozen, false),
            (LoggedOut, false),
        ] {
            assert_eq!(ends_bindings(event), ends, "{event:?}");
        }
    }
}
