//! A push service on the loopback interface for the tests, standing in for a browser's
//! (FCM's, Mozilla's): it takes `POST /push/{browser}` as RFC 8030 describes, checks the
//! server's VAPID token (RFC 8292) and decrypts the payload with the browser's own keys
//! (RFC 8291, RFC 8188's aes128gcm), with code of its own rather than the sender's library.
//! It answers what the test tells it (201 by default; 410 for a browser that is gone; 503 for
//! a service that is down).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A browser's side of a subscription: what it hands the portal, and its private key.
pub struct Browser {
    pub endpoint: String,
    /// The uncompressed public key, base64url (`keys.p256dh`).
    pub p256dh: String,
    /// The 16-byte secret, base64url (`keys.auth`).
    pub auth: String,
}

/// One push the service accepted, decrypted.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub browser: String,
    pub ttl: Option<String>,
    pub urgency: Option<String>,
    /// The VAPID token's claims, its signature checked with the `k=` key.
    pub claims: serde_json::Value,
    /// The `k=` key (the server's VAPID public key).
    pub vapid_key: String,
    /// The notification, as the service worker reads it.
    pub payload: serde_json::Value,
}

#[derive(Default)]
struct Shared {
    keys: HashMap<String, (p256::SecretKey, [u8; 16])>,
    /// Answers to give a browser's next pushes, in turn (then 201).
    answers: HashMap<String, VecDeque<u16>>,
    received: Vec<Pushed>,
    /// Every push tried, read or not: (browser, the status answered).
    tries: Vec<(String, u16)>,
    /// Pushes refused because they could not be read: each a reason.
    unreadable: Vec<String>,
}

pub struct PushService {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl PushService {
    pub async fn start() -> PushService {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = axum::Router::new()
            .route("/push/{browser}", axum::routing::post(take))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        PushService { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT`: the origin the server is told to trust.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new browser subscribed at this service: its endpoint and keys.
    pub fn browser(&self, name: &str) -> Browser {
        let secret = loop {
            if let Ok(k) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break k;
            }
        };
        let auth: [u8; 16] = rand::random();
        let public = secret.public_key().to_encoded_point(false);
        self.shared
            .lock()
            .unwrap()
            .keys
            .insert(name.to_string(), (secret, auth));
        Browser {
            endpoint: format!("{}/push/{name}", self.origin()),
            p256dh: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            auth: URL_SAFE_NO_PAD.encode(auth),
        }
    }

    /// The next pushes to `browser` get these statuses, in turn.
    pub fn answer(&self, browser: &str, statuses: &[u16]) {
        self.shared
            .lock()
            .unwrap()
            .answers
            .entry(browser.to_string())
            .or_default()
            .extend(statuses);
    }

    /// How many pushes to `browser` were tried (whatever was answered).
    pub fn tries(&self, browser: &str) -> usize {
        let shared = self.shared.lock().unwrap();
        shared.tries.iter().filter(|(b, _)| b == browser).count()
    }

    /// Waits until `n` pushes to `browser` were tried.
    pub async fn wait_for_tries(&self, browser: &str, n: usize) {
        super::wait_until(
            &format!("{n} tries to {browser}"),
            || self.tries(browser),
            |tried| *tried >= n,
        )
        .await;
    }

    pub fn received(&self) -> Vec<Pushed> {
        let shared = self.shared.lock().unwrap();
        assert!(
            shared.unreadable.is_empty(),
            "pushes that could not be read: {:?}",
            shared.unreadable
        );
        shared.received.clone()
    }

    /// Waits (real time, at most 15 s) until `pred` holds of what was received.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[Pushed]) -> bool) -> Vec<Pushed> {
        super::wait_until(what, || self.received(), |got| pred(got)).await
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn take(
    State(shared): State<Arc<Mutex<Shared>>>,
    Path(browser): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let mut shared = shared.lock().unwrap();
    let Some((secret, auth)) = shared.keys.get(&browser).cloned() else {
        return StatusCode::NOT_FOUND;
    };
    let answer = shared
        .answers
        .get_mut(&browser)
        .and_then(|a| a.pop_front())
        .unwrap_or(201);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let read = header("authorization")
        .ok_or("no Authorization".to_string())
        .and_then(|a| vapid(&a))
        .and_then(|(claims, key)| {
            if header("content-encoding").as_deref() != Some("aes128gcm") {
                return Err("not aes128gcm".into());
            }
            let plain = decrypt(&body, &secret, &auth)?;
            let payload = serde_json::from_slice(&plain).map_err(|e| e.to_string())?;
            Ok((claims, key, payload))
        });
    match read {
        Err(why) => {
            shared.unreadable.push(why);
            StatusCode::BAD_REQUEST
        }
        Ok((claims, vapid_key, payload)) => {
            shared.tries.push((browser.clone(), answer));
            let status = StatusCode::from_u16(answer).unwrap();
            if status == StatusCode::CREATED {
                shared.received.push(Pushed {
                    browser,
                    ttl: header("ttl"),
                    urgency: header("urgency"),
                    claims,
                    vapid_key,
                    payload,
                });
            }
            status
        }
    }
}

/// Checks `vapid t=<JWT>, k=<key>`: an ES256 JWT whose signature the key verifies. Answers its
/// claims and the key.
fn vapid(authorization: &str) -> Result<(serde_json::Value, String), String> {
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or("not a vapid scheme")?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => token = Some(v.to_string()),
            Some(("k", v)) => key = Some(v.to_string()),
            _ => {}
        }
    }
    let (token, key) = token.zip(key).ok_or("no t= or k=")?;
    let (signed, signature) = token.rsplit_once('.').ok_or("not a JWT")?;
    let (header, claims) = signed.split_once('.').ok_or("not a JWT")?;
    let decode = |t: &str| URL_SAFE_NO_PAD.decode(t).map_err(|e| e.to_string());
    let header: serde_json::Value =
        serde_json::from_slice(&decode(header)?).map_err(|e| e.to_string())?;
    if header["alg"] != "ES256" {
        return Err(format!("alg {header}"));
    }
    let verifier =
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&decode(&key)?).map_err(|e| e.to_string())?;
    let signature =
        p256::ecdsa::Signature::from_slice(&decode(signature)?).map_err(|e| e.to_string())?;
    verifier
        .verify(signed.as_bytes(), &signature)
        .map_err(|e| format!("the token's signature: {e}"))?;
    let claims = serde_json::from_slice(&decode(claims)?).map_err(|e| e.to_string())?;
    Ok((claims, key))
}

/// RFC 8291: the content-encryption key and nonce from the browser's key and secret and the
/// sender's one-time key in the record's header; one record (RFC 8188), its padding taken off.
fn decrypt(body: &[u8], secret: &p256::SecretKey, auth: &[u8; 16]) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("too short".into());
    }
    let (salt, rest) = body.split_at(16);
    let record_size = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
    let id_len = rest[4] as usize;
    // RFC 8291: the key id is the sender's uncompressed P-256 key; records of at least 18.
    if id_len != 65 || record_size < 18 {
        return Err(format!(
            "key id of {id_len} bytes, records of {record_size}"
        ));
    }
    let sender = rest.get(5..5 + id_len).ok_or("no key id")?;
    if sender[0] != 4 {
        return Err("the key id is not an uncompressed point".into());
    }
    let ciphertext = &rest[5 + id_len..];
    if ciphertext.len() > record_size {
        return Err("more than one record".into());
    }
    let sender_key = p256::PublicKey::from_sec1_bytes(sender).map_err(|e| e.to_string())?;
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), sender_key.as_affine());
    let browser_key = secret.public_key().to_encoded_point(false);
    let mut info = b"WebPush: info\0".to_vec();
    info.extend_from_slice(browser_key.as_bytes());
    info.extend_from_slice(sender);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes())
        .expand(&info, &mut ikm)
        .map_err(|e| e.to_string())?;
    let content = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    content
        .expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|e| e.to_string())?;
    content
        .expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|e| e.to_string())?;
    let mut plain = Aes128Gcm::new_from_slice(&cek)
        .map_err(|e| e.to_string())?
        .decrypt(Nonce::from_slice(&nonce), ciphertext)
        .map_err(|_| "the payload does not decrypt with the browser's keys".to_string())?;
    // The last record ends with 0x02, then zeros.
    while plain.last() == Some(&0) {
        plain.pop();
    }
    if plain.pop() != Some(2) {
        return Err("no last-record delimiter".into());
    }
    Ok(plain)
}
