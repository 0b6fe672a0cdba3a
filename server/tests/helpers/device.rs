//! A signed device over real HTTP, and lookups the device tests share.
#![allow(clippy::unwrap_used, dead_code)]

use super::TestApp;
use app::model::Money;
use app::server::store::SubjectKind;
use ed25519_dalek::{Signer, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub struct Device {
    pub code: String,
    pub key: SigningKey,
}

/// A new credential for the device, as an administrator issues one: (the device, its private
/// key in hex).
pub async fn issue_key(app: &TestApp, code: &str) -> (app::server::store::DeviceRow, String) {
    let row = app.state.db.device_by_code(code).await.unwrap().unwrap();
    let secret = app::server::ledger::issue_device_key(
        &app.state,
        &row,
        app.state.now(),
        "the integration tests",
    )
    .await
    .unwrap();
    (row, secret)
}

pub async fn device(app: &TestApp, code: &str) -> Device {
    let (_, secret) = issue_key(app, code).await;
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
        self.post_raw(
            app,
            path,
            &body,
            &nonce(),
            app.state.now().timestamp_millis(),
        )
        .await
    }

    /// A card payment the till must have approved.
    pub async fn card_sale(&self, app: &TestApp, request_id: &str, fen: i64, card: &str) {
        let sale = self.pay(app, request_id, fen, Some(card), None, None).await;
        assert_eq!(sale["approved"], true, "{request_id}: {sale}");
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
    let day = app.state.now();
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
            now: app.state.now(),
            ip: String::new(),
            user_agent: String::new(),
        })
        .await
        .ok();
    app::server::paycode::current_code(
        &app.state.db,
        &app.state.secrets.sealer,
        holder_id,
        app::server::paycode::KeyOf::Session(session),
        app.state.now(),
    )
    .await
    .unwrap()
    .unwrap()
    .0
}

/// A cardholder a test makes for itself: no history, one live card, and `balance` from a
/// single cash top-up an hour before the test's moment. Unlike the demo students, whose
/// history (and so balance and today's spending) depends on the day the demo was generated,
/// its state is exactly what the test says.
pub struct Fresh {
    pub id: i64,
    pub login: String,
    pub serial: String,
}

/// The query (login) password of every `fresh_holder`.
pub const FRESH_QUERY_PASSWORD: &str = "482916";
/// The consumption password of every `fresh_holder`.
pub const FRESH_CONSUMPTION_PASSWORD: &str = "730519";

pub async fn fresh_holder(app: &TestApp, n: u32, balance: Money) -> Fresh {
    use app::model::{CardStatus, HolderKind, IdDocKind};
    use app::server::store::{NewCard, NewHolder};
    let now = app.state.now();
    let login = format!("2026{n:06}");
    let serial = format!("FE{n:06X}");
    let id_number = format!("4403052006{n:08}");
    let hash = |pw: &str| app.state.hasher.hash(pw.to_string());
    let holder = NewHolder {
        student_no: login.clone(),
        name: format!("测试{n}"),
        kind: HolderKind::Student,
        department: "计算机工程学院".into(),
        class_name: "计算机26级1班".into(),
        id_doc_kind: IdDocKind::ResidentId,
        id_doc_hash: app::server::ids::keyed_hash(b"fresh-holder", &id_number),
        id_doc_masked: app::server::ids::mask(&id_number),
        phone_masked: "138******00".into(),
        query_pw_hash: hash(FRESH_QUERY_PASSWORD).await.unwrap(),
        query_pw_is_initial: false,
        consumption_pw_hash: hash(FRESH_CONSUMPTION_PASSWORD).await.unwrap(),
        personal_pins: Vec::new(),
        single_limit: Money::yuan(50),
        daily_limit: Money::yuan(200),
        created_at: now - chrono::Duration::days(30),
        cards: vec![NewCard {
            card_no: format!("{}", 38_000_000 + n),
            chip_serial: serial.clone(),
            status: CardStatus::Active,
            issued_at: now - chrono::Duration::days(30),
        }],
        entries: Vec::new(),
    };
    app.state
        .db
        .enrol(
            &[holder],
            test_audit(app::model::AuditAction::HolderEnrol, None),
        )
        .await
        .unwrap();
    let id = self::holder(app, &login).await;
    if balance > Money::ZERO {
        cash_topup(
            app,
            id,
            balance,
            &format!("fresh-{n}"),
            now - chrono::Duration::hours(1),
        )
        .await;
    }
    assert_eq!(self::balance(app, id).await, balance);
    Fresh { id, login, serial }
}

/// Gives a demo holder room to pay whatever the demo history left: a cash top-up of `amount`
/// and a daily limit of ¥1000 (today's demo spending is never near that). Returns the balance.
pub async fn make_room(app: &TestApp, holder_id: i64, amount: Money) -> Money {
    let reference = format!("room-{holder_id}-{}", uuid_like());
    cash_topup(app, holder_id, amount, &reference, app.state.now()).await;
    let single = app
        .state
        .db
        .payer(holder_id, app.state.now())
        .await
        .unwrap()
        .unwrap()
        .single_limit;
    app.state
        .db
        .set_limits(
            holder_id,
            single,
            Money::yuan(1000),
            test_audit(app::model::AuditAction::AccountSetLimits, Some(holder_id)),
        )
        .await
        .unwrap();
    balance(app, holder_id).await
}

/// A cash top-up written straight to the store, as the counter would record it.
async fn cash_topup(
    app: &TestApp,
    holder_id: i64,
    amount: Money,
    reference: &str,
    at: chrono::DateTime<chrono::Utc>,
) {
    app.state
        .db
        .credit(&app::server::store::Credit {
            holder_id,
            amount,
            kind: app::model::EntryKind::Topup,
            channel: Some(app::model::Channel::Cash),
            merchant_id: None,
            staff_id: None,
            reference,
            memo: "",
            now: at,
        })
        .await
        .unwrap();
}

/// The audit record of a change a test makes directly in the store.
pub fn test_audit(
    action: app::model::AuditAction,
    holder_id: Option<i64>,
) -> app::server::store::Audit {
    app::server::store::Audit {
        actor: app::server::store::Actor::System,
        action,
        holder_id,
        target: Default::default(),
        before: Default::default(),
        after: Default::default(),
        reason: "test".into(),
        ip: String::new(),
    }
}

/// Sets a browser up as the device's web terminal with its credential (`key`, as issued);
/// returns the terminal cookie.
pub async fn set_up_terminal(app: &TestApp, code: &str, key: &str) -> String {
    let (status, body, cookie) = super::call(
        app,
        None,
        "terminal/set_up",
        &[("device", code), ("credential", key)],
    )
    .await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status} {body}"
    );
    let cookie = cookie.expect("terminal cookie");
    assert!(cookie.starts_with("ykt_terminal="), "{cookie}");
    cookie
}
