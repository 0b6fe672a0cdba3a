//! A device's side of the device API: signs requests the way a POS terminal, gate or kiosk
//! does. Used by the load generator, the device simulator and the integration tests.

use crate::device_api::signing_string;
use ed25519_dalek::{Signer, SigningKey};

pub struct DeviceClient {
    pub http: reqwest::Client,
    /// The server, e.g. `http://127.0.0.1:3000`.
    pub base_url: String,
    pub code: String,
    pub key: SigningKey,
}

impl DeviceClient {
    /// A client from a device code and its credential (the hex private key shown once when an
    /// administrator issued it).
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        code: &str,
        credential: &str,
    ) -> Result<DeviceClient, String> {
        let bytes: [u8; 32] = hex::decode(credential.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("a device credential is 64 hex digits")?;
        Ok(DeviceClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            code: code.to_string(),
            key: SigningKey::from_bytes(&bytes),
        })
    }

    /// A signed POST of `body` (JSON bytes) to `path`, with a fresh timestamp and `nonce`.
    pub fn signed(&self, path: &str, nonce: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
        let ts = chrono::Utc::now().timestamp_millis().to_string();
        let message = signing_string("POST", path, &ts, nonce, &body);
        let signature = hex::encode(self.key.sign(message.as_bytes()).to_bytes());
        self.http
            .post(format!("{}{path}", self.base_url))
            .header("x-device", &self.code)
            .header("x-timestamp", ts)
            .header("x-nonce", nonce)
            .header("x-signature", signature)
            .header("content-type", "application/json")
            .body(body)
    }

    /// Sends a signed JSON request with a random nonce; the status and the JSON answer.
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(reqwest::StatusCode, serde_json::Value), reqwest::Error> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let nonce = format!("n-{}", hex::encode(rand::random::<[u8; 12]>()));
        let res = self.signed(path, &nonce, bytes).send().await?;
        let status = res.status();
        Ok((status, res.json().await.unwrap_or(serde_json::Value::Null)))
    }
}
