//! Notices by Web Push: which browsers may be pushed to, and what a push service's answer
//! means.
//!
//! A browser that allows notifications hands the portal a subscription: the push service's
//! URL for it (the endpoint) and two keys (RFC 8291). The server later POSTs an encrypted
//! notice to that URL, signed with its VAPID key (RFC 8292). The rules here are plain:
//! - the server only ever POSTs to a push service the campus trusts (`endpoint_allowed`): an
//!   HTTPS URL on one of the browsers' own push services, read the way the HTTP client reads
//!   it, never an address a student made up (which would let anyone make the server call into
//!   the campus network);
//! - the keys must be a P-256 point and a 16-byte secret (`check_keys` decodes them; whether
//!   the point is on the curve is checked where the curve's code is, `server::push`);
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

/// A browser's endpoint the server may POST to: the URL as the HTTP client will read it (and
/// as it is stored and posted to), and its origin (the VAPID token's audience).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub origin: String,
}

/// Whether the server may POST to `endpoint`, read the way the HTTP client reads it.
/// `services` are host names (HTTPS on its default port, to the host or a subdomain of it) or
/// whole origins such as `http://127.0.0.1:8025` (that origin exactly: a push service of the
/// campus's own, or a test's). Never a user name or password, a fragment, or an IP address
/// outside an origin named whole.
pub fn endpoint_allowed(endpoint: &str, services: &[String]) -> Result<Endpoint, Problem> {
    let refused = Err(Problem::PushSubscription);
    if endpoint.len() > MAX_ENDPOINT {
        return refused;
    }
    let Ok(url) = url::Url::parse(endpoint.trim()) else {
        return refused;
    };
    if !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
        || !matches!(url.scheme(), "https" | "http")
    {
        return refused;
    }
    let origin = url.origin().ascii_serialization();
    let allowed = |ok: bool| {
        if ok && url.as_str().len() <= MAX_ENDPOINT {
            Ok(Endpoint {
                url: url.as_str().to_string(),
                origin: origin.clone(),
            })
        } else {
            Err(Problem::PushSubscription)
        }
    };
    let named_whole = services
        .iter()
        .filter(|s| s.contains("://"))
        .filter_map(|s| url::Url::parse(s).ok())
        .any(|s| s.origin().ascii_serialization() == origin);
    if named_whole {
        return allowed(true);
    }
    let Some(url::Host::Domain(host)) = url.host() else {
        return refused;
    };
    let host = host.to_string();
    allowed(
        url.scheme() == "https"
            && url.port().is_none()
            && !host.ends_with('.')
            && services.iter().filter(|s| !s.contains("://")).any(|s| {
                let s = s.trim().to_ascii_lowercase();
                !s.is_empty()
                    && (host == s || host.strip_suffix(&s).is_some_and(|sub| sub.ends_with('.')))
            }),
    )
}

/// The push service of an endpoint as the operators see it: its host (and port, if not the
/// default), never the browser's own part of the URL.
pub fn service_of(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| "?".into())
}

/// Checks the configured push services: each a host name (`fcm.googleapis.com`) or an origin
/// (`http://127.0.0.1:8025`), nothing empty. Answers what is wrong with the first that is not.
pub fn check_services(services: &[String]) -> Result<(), String> {
    for s in services {
        let ok = if s.contains("://") {
            url::Url::parse(s).is_ok_and(|u| {
                matches!(u.scheme(), "https" | "http")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.username().is_empty()
            })
        } else {
            // A host name of two labels at least, none empty, not an IP address (an endpoint
            // on an IP address is only ever taken from an origin named whole).
            let labels: Vec<&str> = s.split('.').collect();
            labels.len() >= 2
                && labels.iter().all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
                && s.parse::<std::net::IpAddr>().is_err()
        };
        if !ok {
            return Err(format!(
                "{s:?} is neither a push service's host name nor an origin such as http://127.0.0.1:8025"
            ));
        }
    }
    Ok(())
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
        services.push("https://push.campus.test:8443".into());
        // (endpoint, the URL posted to and its origin, or refused)
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (
                "https://fcm.googleapis.com/fcm/send/abc:def",
                Some((
                    "https://fcm.googleapis.com/fcm/send/abc:def",
                    "https://fcm.googleapis.com",
                )),
            ),
            (
                "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
                Some((
                    "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
                    "https://updates.push.services.mozilla.com",
                )),
            ),
            (
                "https://web.push.apple.com/QGuQ",
                Some((
                    "https://web.push.apple.com/QGuQ",
                    "https://web.push.apple.com",
                )),
            ),
            (
                "https://wns2-par02p.notify.windows.com/w/?token=BQY",
                Some((
                    "https://wns2-par02p.notify.windows.com/w/?token=BQY",
                    "https://wns2-par02p.notify.windows.com",
                )),
            ),
            // Read as the HTTP client reads it: the host in lower case, the default port gone.
            (
                "https://FCM.googleapis.com:443/fcm/send/x",
                Some((
                    "https://fcm.googleapis.com/fcm/send/x",
                    "https://fcm.googleapis.com",
                )),
            ),
            (
                "http://127.0.0.1:8025/push/1",
                Some(("http://127.0.0.1:8025/push/1", "http://127.0.0.1:8025")),
            ),
            (
                "https://push.campus.test:8443/p/1",
                Some((
                    "https://push.campus.test:8443/p/1",
                    "https://push.campus.test:8443",
                )),
            ),
            // Not a known service, or one only by its looks.
            ("https://example.edu.cn/push/1", None),
            ("https://evilfcm.googleapis.com.example.com/x", None),
            ("https://notfcm.googleapis.com/x", None),
            ("https://fcm.googleapis.com.evil.cn/x", None),
            ("https://evil.example?.fcm.googleapis.com/x", None),
            ("https://10.1.2.3#.push.apple.com/", None),
            ("https://evil.example\\.fcm.googleapis.com/x", None),
            ("https://fcm.googleapis.com./x", None),
            ("https://user@fcm.googleapis.com/x", None),
            ("https://:pw@fcm.googleapis.com/x", None),
            ("https://fcm.googleapis.com:8443/x", None),
            ("https://fcm.googleapis.com/x#frag", None),
            ("https://169.254.169.254/latest/meta-data", None),
            ("https://[::1]/x", None),
            // Plain HTTP only to an origin named whole.
            ("http://fcm.googleapis.com/fcm/send/x", None),
            ("http://127.0.0.1:8026/push/1", None),
            ("https://127.0.0.1:8025/push/1", None),
            ("http://127.0.0.1:8025@10.0.0.1/push", None),
            ("ftp://fcm.googleapis.com/x", None),
            ("", None),
            ("not a url", None),
        ];
        for (endpoint, posted) in cases {
            let got = endpoint_allowed(endpoint, &services)
                .ok()
                .map(|e| (e.url, e.origin));
            let want = posted.map(|(u, o)| (u.to_string(), o.to_string()));
            assert_eq!(got, want, "{endpoint}");
        }
        let long = format!("https://fcm.googleapis.com/{}", "a".repeat(MAX_ENDPOINT));
        assert_eq!(
            endpoint_allowed(&long, &services),
            Err(Problem::PushSubscription)
        );
        // With no services named, nothing is; an empty name allows nothing.
        assert!(endpoint_allowed("https://fcm.googleapis.com/x", &[]).is_err());
        assert!(endpoint_allowed("https://example.com./x", &["".to_string()]).is_err());
    }

    #[test]
    fn the_configured_services_are_host_names_or_origins() {
        let ok =
            |list: &[&str]| check_services(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(ok(&KNOWN_SERVICES).is_ok());
        assert!(ok(&["fcm.googleapis.com", "http://127.0.0.1:8025"]).is_ok());
        for bad in [
            "",
            "fcm.googleapis.com.",
            ".push.apple.com",
            "a..b",
            "com",
            "10.0.0.1",
            "http://127.0.0.1:8025/push",
            "ftp://x.cn",
            "a b",
            "http://u@h.cn",
        ] {
            assert!(ok(&[bad]).is_err(), "{bad:?}");
        }
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
}
