//! Notices by Web Push: the server's VAPID key (RFC 8292), a holder's browsers, and the send of
//! one delivery to a browser's push service, encrypted for that browser alone (RFC 8291).
//!
//! The worker (`server::courier`) dispatches and takes the deliveries as it does e-mails. A
//! push carries the notice's key as its notification's tag, so a push sent again after a crash
//! replaces the one shown instead of showing a second. What `domain::push` decides: which push
//! services are posted to, what a subscription's keys must be, what an answer means.

use super::AppState;
use super::domain::delivery;
use super::domain::push::{self as rules, Answer};
use super::outbox::{Refused, notice_texts};
use crate::error::AppError;
use crate::notice_model::{PushBrowser, PushView};
use crate::portal_model::Problem;
use crate::server::store::{NewDelivery, NewSubscription, PushSubscription, Taken, Undispatched};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use sha2::Sha256;
use std::time::Duration;

/// The server's side of Web Push.
pub struct Pusher {
    key: SigningKey,
    /// The VAPID public key, base64url (the browser's `applicationServerKey`).
    public: String,
    /// Who the push services may write to about this server (the token's `sub`): a `mailto:`
    /// or an `https:` URL.
    contact: String,
    /// The push services posted to (`domain::push::endpoint_allowed`).
    services: Vec<String>,
    http: reqwest::Client,
}

impl Pusher {
    /// The VAPID key is derived from the server's secret (as the sandbox provider's key is):
    /// it stays the same across restarts and servers, and subscriptions with it.
    pub fn new(server_secret: &[u8], contact: &str, services: Vec<String>) -> Result<Self, String> {
        rules::check_services(&services)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(server_secret)
            .map_err(|e| format!("the server secret is not a key: {e}"))?;
        mac.update(b"yikatong web push vapid key v1");
        let key = SigningKey::from_bytes(&mac.finalize().into_bytes())
            .map_err(|e| format!("the derived VAPID key is not a P-256 key: {e}"))?;
        let public = URL_SAFE_NO_PAD.encode(key.verifying_key().to_encoded_point(false).as_bytes());
        if !(contact.starts_with("mailto:") || contact.starts_with("https://")) {
            return Err(format!(
                "the contact for push services must be a mailto: or https: URL, not {contact:?}"
            ));
        }
        let http = reqwest::Client::builder()
            // A push service answers at once; and the server never follows a push service
            // elsewhere.
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("no HTTP client: {e}"))?;
        Ok(Self {
            key,
            public,
            contact: contact.to_string(),
            services,
            http,
        })
    }

    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The VAPID token for a push service at `origin`, good for
    /// `domain::push::TOKEN_FOR_SECS` from `now` (the server's clock).
    fn token(&self, origin: &str, now: DateTime<Utc>) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": origin,
            "exp": now.timestamp() + rules::TOKEN_FOR_SECS,
            "sub": self.contact,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature: Signature = self.key.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// The push of a notice to one of its holder's browsers, to go out at `next_at`.
    pub(crate) fn delivery_of(
        n: &Undispatched,
        browser: &PushSubscription,
        next_at: DateTime<Utc>,
    ) -> NewDelivery {
        let (subject, zh, en) = notice_texts(n);
        NewDelivery {
            holder_id: n.holder_id,
            notice_id: Some(n.notice.id),
            channel: super::domain::notices::Channel::Push,
            address: browser.endpoint.clone(),
            subscription_id: Some(browser.id),
            subject: subject.to_string(),
            body: format!("{zh}\n{en}"),
            key: delivery::push_key(n.notice.id, browser.id),
            next_at,
        }
    }

    /// Sends one taken delivery: the notification's title, text, tag and link, encrypted for
    /// the browser, to its push service.
    pub(crate) async fn send(&self, t: &Taken, now: DateTime<Utc>) -> Result<(), Refused> {
        let refused = |error: String| Refused {
            error,
            permanent: true,
            gone: false,
        };
        let Some((p256dh, auth)) = &t.keys else {
            return Err(refused(
                "the browser is no longer its holder's subscription".into(),
            ));
        };
        // Checked again: the campus may have trusted fewer push services since.
        let endpoint = rules::endpoint_allowed(&t.address, &self.services)
            .map_err(|_| refused("not a push service this server posts to".into()))?;
        let (point, secret) = rules::check_keys(p256dh, auth)
            .map_err(|_| refused("not a subscription's keys".into()))?;
        let browser = p256::PublicKey::from_sec1_bytes(&point)
            .map_err(|_| refused("the browser's key is not a P-256 point".into()))?;
        let payload = serde_json::json!({
            "title": t.subject,
            "body": t.body,
            "tag": t.key,
            "url": "/portal/notices",
        });
        let body = web_push_native::encrypt(
            payload.to_string().into_bytes(),
            &browser,
            &web_push_native::Auth::clone_from_slice(&secret),
        )
        .map_err(|e| refused(format!("encryption: {e}")))?;
        let token = self.token(&endpoint.origin, now);
        let mut answer = self
            .http
            .post(&endpoint.url)
            .header("TTL", rules::TTL_SECS.to_string())
            .header("Urgency", if t.urgent { "high" } else { "normal" })
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header(
                "Authorization",
                format!("vapid t={token}, k={}", self.public),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| Refused {
                error: format!("the push service did not answer: {e}"),
                permanent: false,
                gone: false,
            })?;
        let status = answer.status().as_u16();
        // The service's reason, for the log and the operators: its first 200 bytes at most.
        let mut said = Vec::new();
        while said.len() < 200
            && let Ok(Some(chunk)) = answer.chunk().await
        {
            said.extend_from_slice(&chunk);
        }
        said.truncate(200);
        let said = String::from_utf8_lossy(&said);
        let error = format!("the push service answered {status}: {said}");
        match rules::after_status(status) {
            Answer::Sent => Ok(()),
            Answer::Again => Err(Refused {
                error,
                permanent: false,
                gone: false,
            }),
            Answer::Gone => Err(Refused {
                error,
                permanent: true,
                gone: true,
            }),
            Answer::GiveUp => Err(refused(error)),
        }
    }
}

/// The holder's side for the notices page: the key to subscribe with and their browsers.
pub async fn view(state: &AppState, holder_id: i64) -> Result<Option<PushView>, AppError> {
    let Some(pusher) = &state.pusher else {
        return Ok(None);
    };
    let browsers = state.db.push_subscriptions(holder_id, None).await?;
    Ok(Some(PushView {
        key: pusher.public_key().to_string(),
        browsers: browsers
            .into_iter()
            .map(|b| PushBrowser {
                id: b.id,
                label: b.label,
                endpoint: b.endpoint,
                since: super::store::Ts::new(b.created_at).text(),
            })
            .collect(),
    }))
}

/// Subscribes the holder's browser (what its `PushManager` gave), named by its User-Agent,
/// tied to the session that subscribed it and to the browser's cookie.
pub async fn subscribe(
    state: &AppState,
    holder_id: i64,
    endpoint: &str,
    keys: (&str, &str),
    client: &crate::server::auth::Client,
) -> Result<(), AppError> {
    let pusher = state
        .pusher
        .as_ref()
        .ok_or(AppError::Rejected(Problem::PushUnavailable))?;
    let endpoint =
        rules::endpoint_allowed(endpoint, &pusher.services).map_err(AppError::Rejected)?;
    let (point, _) = rules::check_keys(keys.0, keys.1).map_err(AppError::Rejected)?;
    p256::PublicKey::from_sec1_bytes(&point)
        .map_err(|_| AppError::Rejected(Problem::PushSubscription))?;
    let label = crate::user_agent::DeviceName::of(&client.user_agent).label();
    let hash = crate::server::auth::token_hash;
    let session_hash = client.token.as_deref().map(hash).unwrap_or_default();
    let browser_hash = client.browser_token.as_deref().map(hash);
    let saved = state
        .db
        .subscribe_push(
            holder_id,
            &NewSubscription {
                endpoint: &endpoint.url,
                keys: (keys.0.trim(), keys.1.trim()),
                label: label.as_deref(),
                session_hash: &session_hash,
                browser_hash: browser_hash.as_deref(),
                now: state.now(),
            },
        )
        .await?;
    if !saved {
        return Err(AppError::Rejected(Problem::PushSubscription));
    }
    Ok(())
}
