//! Notices by Web Push: which browsers may be pushed to, and what a push service's answer
//! means.
//!
//! A browser that allows notifications hands the portal a subscription: the push service's
//! URL for it (the endpoint) and two keys (RFC 8291). The server later POSTs an encrypted
//! notice to that URL, signed with its VAPID key (RFC 8292). The rules here are plain:
//! - the server only ever POSTs to a push service the campus trusts (`endpoint_allowed`): an
//!   HTTPS URL on one of the browsers' own push services, never an address a student made up
//!   (which would let anyone make the server call into the campus network);
//! - the keys must be a P-256 point and a 16-byte secret (`check_keys` decodes them; the
//!   point's validity is the sender's to check);
//! - a holder has at most `MAX_BROWSERS` browsers; a new one beyond that replaces the oldest;
//! - a push service's status decides the delivery (`after_status`): 201 is sent; 404 and 410
//!   mean the browser unsubscribed (the subscription is forgotten); 429 and 5xx are tried
//!   again like an e-mail (`delivery::after_failure`); any other answer is given up.

use crate::portal_model::Problem;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How many browsers a holder may have subscribed at once.
pub const MAX_BROWSERS: i64 = 10;
/// The longest endpoint taken (the browsers' are under 500 characters).
pub const MAX_ENDPOINT: usize = 1_000;
/// How long a push service keeps a notice for a browser that is offline (its `TTL`): a day,
/// as long as a notice is still worth e-mailing (`delivery::DISPATCH_WITHIN`).
pub const TTL_SECS: i64 = 86_400;
/// How long a VAPID token is good for (RFC 8292 allows at most a day).
pub const TOKEN_FOR_SECS: i64 = 12 * 3_600;

/// The push services of the browsers in use (Chrome and Edge's, Firefox's, Safari's and
/// Windows'): an endpoint's host must be one of these or end in `.` and one of these.
pub const KNOWN_SERVICES: [&str; 5] = [
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
    "android.googleapis.com",
];

/// Whether the server may POST to `endpoint`. `services` are host names (HTTPS, the host or a
/// subdomain of it) or whole origins such as `http://127.0.0.1:8025` (that origin exactly:
/// for a push service of the campus's own, or a test's).
pub fn endpoint_allowed(endpoint: &str, services: &[String]) -> Result<(), Problem> {
    let refused = Err(Problem::PushSubscription);
    if endpoint.len() > MAX_ENDPOINT
        || endpoint
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return refused;
    }
    let origin_ok = |origin: &str| {
        endpoint
            .strip_prefix(origin.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with('/'))
    };
    if services.iter().any(|s| s.contains("://") && origin_ok(s)) {
        return Ok(());
    }
    // Otherwise HTTPS to a host name only: no user name or password, no port but the default.
    let Some((authority, _path)) = endpoint
        .strip_prefix("https://")
        .and_then(|rest| rest.split_once('/'))
    else {
        return refused;
    };
    if authority.is_empty() || authority.contains('@') || authority.contains(':') {
        return refused;
    }
    let host = authority.to_ascii_lowercase();
    let allowed = services.iter().filter(|s| !s.contains("://")).any(|s| {
        let s = s.to_ascii_lowercase();
        host == s || host.strip_suffix(&s).is_some_and(|sub| sub.ends_with('.'))
    });
    if allowed { Ok(()) } else { refused }
}

/// A subscription's keys as the browser gives them (base64url, with or without padding):
/// the 65-byte uncompressed P-256 point `p256dh` and the 16-byte `auth` secret.
pub fn check_keys(p256dh: &str, auth: &str) -> Result<([u8; 65], [u8; 16]), Problem> {
    let decode = |text: &str| URL_SAFE_NO_PAD.decode(text.trim().trim_end_matches('='));
    let key = decode(p256dh)
        .ok()
        .and_then(|k| <[u8; 65]>::try_from(k).ok());
    let secret = decode(auth).ok().and_then(|a| <[u8; 16]>::try_from(a).ok());
    match (key, secret) {
        (Some(key), Some(secret)) if key[0] == 4 => Ok((key, secret)),
        _ => Err(Problem::PushSubscription),
    }
}

/// What a push service's answer means for a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Accepted (201; any 2xx).
    Sent,
    /// The browser is gone (404, 410): forget its subscription, and the delivery.
    Gone,
    /// Busy or down (429, 5xx): try again later.
    Again,
    /// Refused for good (a bad token, a payload too large): give the delivery up.
    GiveUp,
}

pub fn after_status(status: u16) -> Answer {
    match status {
        200..=299 => Answer::Sent,
        404 | 410 => Answer::Gone,
        429 | 500..=599 => Answer::Again,
        _ => Answer::GiveUp,
    }
}

/// The VAPID token's audience: the endpoint's origin (its scheme, host and any port).
pub fn audience(endpoint: &str) -> Option<&str> {
    let scheme_end = endpoint.find("://")? + 3;
    let path = endpoint[scheme_end..]
        .find('/')
        .map_or(endpoint.len(), |i| scheme_end + i);
    Some(&endpoint[..path])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        KNOWN_SERVICES.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_the_trusted_push_services_are_posted_to() {
        let mut services = known();
        services.push("http://127.0.0.1:8025".into());
        let cases = [
            ("https://fcm.googleapis.com/fcm/send/abc:def", true),
            (
                "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
                true,
            ),
            ("https://web.push.apple.com/QGuQ", true),
            ("https://wns2-par02p.notify.windows.com/w/?token=BQY", true),
            ("https://FCM.googleapis.com/fcm/send/x", true),
            ("http://127.0.0.1:8025/push/1", true),
            // Not a known service, or one only by its looks.
            ("https://example.edu.cn/push/1", false),
            ("https://evilfcm.googleapis.com.example.com/x", false),
            ("https://notfcm.googleapis.com/x", false),
            ("https://fcm.googleapis.com.evil.cn/x", false),
            ("https://user@fcm.googleapis.com/x", false),
            ("https://fcm.googleapis.com:8443/x", false),
            ("https://fcm.googleapis.com", false),
            // Plain HTTP only to an origin named whole.
            ("http://fcm.googleapis.com/fcm/send/x", false),
            ("http://127.0.0.1:8026/push/1", false),
            ("http://127.0.0.1:80251/push/1", false),
            ("http://127.0.0.1:8025", false),
            ("http://127.0.0.1:8025@10.0.0.1/push", false),
            ("ftp://fcm.googleapis.com/x", false),
            ("", false),
            ("https://fcm.googleapis.com/a b", false),
            ("https://fcm.googleapis.com\\@10.0.0.1/", false),
        ];
        for (endpoint, ok) in cases {
            assert_eq!(
                endpoint_allowed(endpoint, &services).is_ok(),
                ok,
                "{endpoint}"
            );
        }
        let long = format!("https://fcm.googleapis.com/{}", "a".repeat(MAX_ENDPOINT));
        assert_eq!(
            endpoint_allowed(&long, &services),
            Err(Problem::PushSubscription)
        );
        // With no services named, nothing is.
        assert!(endpoint_allowed("https://fcm.googleapis.com/x", &[]).is_err());
    }

    #[test]
    fn a_subscriptions_keys_are_a_point_and_a_secret() {
        let point = URL_SAFE_NO_PAD.encode([4u8; 65]);
        let secret = URL_SAFE_NO_PAD.encode([7u8; 16]);
        assert!(check_keys(&point, &secret).is_ok());
        // Padded, as some browsers send them.
        assert!(check_keys(&format!("{point}="), &format!("{secret}==")).is_ok());
        let compressed = URL_SAFE_NO_PAD.encode([2u8; 33]);
        let not_uncompressed = URL_SAFE_NO_PAD.encode([3u8; 65]);
        for (key, auth) in [
            (compressed.as_str(), secret.as_str()),
            (not_uncompressed.as_str(), secret.as_str()),
            (point.as_str(), "AAAA"),
            ("not base64!", secret.as_str()),
            ("", ""),
        ] {
            assert_eq!(
                check_keys(key, auth),
                Err(Problem::PushSubscription),
                "{key} {auth}"
            );
        }
    }

    #[test]
    fn a_push_services_answer_decides_the_delivery() {
        let cases = [
            (201, Answer::Sent),
            (200, Answer::Sent),
            (202, Answer::Sent),
            (404, Answer::Gone),
            (410, Answer::Gone),
            (429, Answer::Again),
            (500, Answer::Again),
            (503, Answer::Again),
            (400, Answer::GiveUp),
            (401, Answer::GiveUp),
            (403, Answer::GiveUp),
            (413, Answer::GiveUp),
            (301, Answer::GiveUp),
        ];
        for (status, answer) in cases {
            assert_eq!(after_status(status), answer, "{status}");
        }
    }

    #[test]
    fn the_tokens_audience_is_the_endpoints_origin() {
        let cases = [
            (
                "https://fcm.googleapis.com/fcm/send/x",
                Some("https://fcm.googleapis.com"),
            ),
            (
                "http://127.0.0.1:8025/push/1",
                Some("http://127.0.0.1:8025"),
            ),
            ("https://host.example", Some("https://host.example")),
            ("host/x", None),
        ];
        for (endpoint, origin) in cases {
            assert_eq!(audience(endpoint), origin, "{endpoint}");
        }
    }
}
