//! A signed device over real HTTP, and lookups the device tests share.
#![allow(clippy::unwrap_used, dead_code)]

use super::TestApp;
use app::model::Money;
use app::server::store::SubjectKind;
use chrono::Utc;
use ed25519_dalek::{Signer, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub struct Device {
    pub code: String,
    pub key: SigningKey,
}

pub async fn device(app: &TestApp, code: &str) -> Device {
    let row = app.state.db.device_by_code(code).await.unwrap().unwrap();
    let secret = app::server::ledger::issue_device_key(&app.state, &row, Utc::now())
        .await
        .unwrap();
    let bytes: [u8; 32] = hex::decode(secret).unwrap().try_into().unwrap();
    Device {
        code: code.into(),
        key: SigningKey::from_bytes(&bytes),
    }
}

pub fn nonce() -> String {
    format!("n-{}", uuid_like())
}

pub fn uuid_like() -> String {
    let bytes: [u8; 12] = rand::random();
    hex::encode(bytes)
}

impl Device {
    pub fn sign(&self, path: &str, nonce: &str, ts: i64, body: &[u8]) -> String {
        let msg = server::device_api::signing_string("POST", path, &ts.to_string(), nonce, body);
        hex::encode(self.key.sign(msg.as_bytes()).to_bytes())
    }

    pub async fn post_raw(
        &self,
        app: &TestApp,
        path: &str,
        body: &Value,
        nonce: &str,
        ts: i64,
    ) -> (StatusCode, Value) {
        let bytes = serde_json::to_vec(body).unwrap();
        let res = app
            .client
            .post(app.url(path))
            .header("x-device", &self.code)
            .header("x-timestamp", ts.to_string())
            .header("x-nonce", nonce)
            .header("x-signature", self.sign(path, nonce, ts, &bytes))
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_raw(app, path, &body, &nonce(), Utc::now().timestamp_millis())
            .await
    }

    pub async fn pay(
        &self,
        app: &TestApp,
        request_id: &str,
        fen: i64,
        card: Option<&str>,
        code: Option<&str>,
        password: Option<&str>,
    ) -> Value {
        let (status, body) = self
            .post(app, "/api/device/v1/pay", json!({"request_id": request_id, "amount_fen": fen, "card_serial": card, "code": code, "password": password}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

pub async fn holder(app: &TestApp, login: &str) -> i64 {
    app.state
        .db
        .holder_auth_by_login(login)
        .await
        .unwrap()
        .unwrap()
        .holder_id
}

pub async fn live_serial(app: &TestApp, holder_id: i64) -> String {
    let cards = app.state.db.cards_of(holder_id).await.unwrap();
    cards
        .iter()
        .find(|c| c.status != app::model::CardStatus::Void)
        .unwrap()
        .chip_serial
        .clone()
}

pub async fn balance(app: &TestApp, holder_id: i64) -> Money {
    let day = Utc::now();
    app.state
        .db
        .payer(holder_id, day)
        .await
        .unwrap()
        .unwrap()
        .balance
}

pub async fn code_for(app: &TestApp, holder_id: i64, session: &str) -> String {
    app.state
        .db
        .create_session(&app::server::store::NewSession {
            token_hash: session.into(),
            subject: SubjectKind::Holder,
            subject_id: holder_id,
            now: Utc::now(),
            ip: String::new(),
            user_agent: String::new(),
        })
        .await
        .ok();
    app::server::paycode::current_code(&app.state.db, holder_id, session, Utc::now())
        .await
        .unwrap()
        .unwrap()
        .0
}
