//! Billers: the systems that sell what students pay for with the card besides meals, a dorm
//! room's electricity and water and time on the campus network. `Biller` is the interface
//! (the counterpart of `topup::PaymentProvider`); the campus's billers are `Billers`.
//!
//! A biller looks an account up (a room's meter, a network account: does it exist, what is
//! left), takes a delivery under our idempotent reference, and reports the delivery's outcome
//! later, as a signed asynchronous notification (and on request, for follow-up). We charge the
//! balance before asking for a delivery and settle the purchase by its outcome
//! (`server::utilities`).
//!
//! `Sandbox` is the shipped biller, one for the dorm utilities and one for the network. It
//! behaves like a real one: its meters run down by the hour (on the server's clock), a delivery
//! takes a moment, one that would overfill a meter fails, and every outcome arrives signed,
//! twice. Like the sandbox payment provider it moves no real service, so a production server
//! refuses it (`server::config`).

use super::clock::Clock;
use super::domain::utilities::{Meter, metered_per_unit};
use super::store::{Db, SandboxDelivery};
use crate::model::{Money, Utility};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;

/// What a biller says of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// What is left, in thousandths of the utility's unit (kWh, tonnes, days); `None` when the
    /// meter cannot be read now (offline).
    pub left_milli: Option<i64>,
}

/// A delivery we ask for: `quantity` units for `account`, paid `amount`, under our reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub reference: String,
    pub utility: Utility,
    pub account: String,
    pub quantity: i64,
    pub amount: Money,
}

/// A biller's word on a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryNotice {
    pub reference: String,
    /// "delivered" or "failed".
    pub status: String,
    pub amount_fen: i64,
    /// The biller's own number for the delivery.
    pub biller_ref: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BillerError {
    /// The biller could not be reached or answered with an error: try again later.
    #[error("biller unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoticeError {
    #[error("bad signature")]
    BadSignature,
    #[error("malformed notification: {0}")]
    Malformed(String),
    #[error("no such biller")]
    UnknownBiller,
    #[error("unknown purchase")]
    UnknownPurchase,
    #[error("amount differs from the purchase")]
    AmountMismatch,
    #[error("internal: {0}")]
    Internal(String),
}

#[async_trait]
pub trait Biller: Send + Sync {
    /// Its code, in notification URLs and on each purchase.
    fn code(&self) -> &str;
    /// What it sells.
    fn sells(&self) -> &[Utility];
    /// The price of one unit (a kWh, a tonne, a month of network time).
    fn unit_price(&self, utility: Utility) -> Money;
    /// What is left on an account; `None` when the biller knows no such account.
    async fn lookup(&self, utility: Utility, account: &str)
    -> Result<Option<Reading>, BillerError>;
    /// Asks for a delivery. Taken means only "received": the outcome comes as a notification.
    /// The same reference asked again is the same delivery.
    async fn deliver(&self, delivery: &Delivery) -> Result<(), BillerError>;
    /// The outcome of a delivery, if the biller has one (for purchases still waiting).
    async fn outcome(&self, reference: &str) -> Result<Option<DeliveryNotice>, BillerError>;
    /// The biller's statement: every delivery it recorded from `from` until `until` (the
    /// settlement report matches it with our purchases).
    async fn statement(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DeliveryNotice>, BillerError>;
    /// Checks a notification's signature and reads it.
    fn verify_notification(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<DeliveryNotice, NoticeError>;
}

/// The campus's billers.
#[derive(Clone, Default)]
pub struct Billers(pub Vec<Arc<dyn Biller>>);

impl Billers {
    /// The biller that sells `utility`, if any.
    pub fn selling(&self, utility: Utility) -> Option<&Arc<dyn Biller>> {
        self.0.iter().find(|b| b.sells().contains(&utility))
    }

    pub fn by_code(&self, code: &str) -> Option<&Arc<dyn Biller>> {
        self.0.iter().find(|b| b.code() == code)
    }
}

/// A signed notification on its way from a sandbox biller to us: (biller code, signature,
/// body).
pub type Notice = (String, String, Vec<u8>);

/// A sandbox biller. Its meters and deliveries are in the sandbox's own tables.
pub struct Sandbox {
    code: &'static str,
    sells: &'static [Utility],
    key: Vec<u8>,
    db: Db,
    clock: Clock,
    notices: tokio::sync::mpsc::UnboundedSender<Notice>,
    /// How long a delivery takes, and when the notification is sent again.
    pub delays: (std::time::Duration, std::time::Duration),
}

/// The sandbox dorm-utility biller's code, and the network's.
pub const SANDBOX_DORM: &str = "sandbox-dorm";
pub const SANDBOX_NETWORK: &str = "sandbox-network";

impl Sandbox {
    /// The two sandbox billers, their notifications sent to `notices`.
    pub fn both(
        server_secret: &[u8],
        db: &Db,
        clock: &Clock,
        notices: tokio::sync::mpsc::UnboundedSender<Notice>,
    ) -> Billers {
        let one = |code: &'static str, sells: &'static [Utility]| -> Arc<dyn Biller> {
            Arc::new(Sandbox {
                code,
                sells,
                key: Self::derive_key(server_secret, code),
                db: db.clone(),
                clock: clock.clone(),
                notices: notices.clone(),
                delays: (
                    std::time::Duration::from_millis(300),
                    std::time::Duration::from_millis(1500),
                ),
            })
        };
        Billers(vec![
            one(SANDBOX_DORM, &[Utility::Electricity, Utility::Water]),
            one(SANDBOX_NETWORK, &[Utility::Network]),
        ])
    }

    /// A sandbox biller's notification key, derived from a server secret (a real biller's
    /// comes from its merchant console).
    pub fn derive_key(server_secret: &[u8], code: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(server_secret)
            .expect("HMAC takes any key length");
        mac.update(b"yikatong sandbox biller v1 ");
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A notification's signature under `key`.
    pub fn sign(key: &[u8], body: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    fn notice_of(d: &SandboxDelivery) -> DeliveryNotice {
        DeliveryNotice {
            reference: d.reference.clone(),
            status: if d.delivered { "delivered" } else { "failed" }.into(),
            amount_fen: d.amount.fen(),
            biller_ref: d.biller_ref.clone(),
            reason: d.reason.clone(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The meter the sandbox has for a room it has not read before: a lived-in room's
    /// (`demo_meter`, seeded by the account's name).
    fn first_meter(&self, utility: Utility, account: &str) -> Meter {
        demo_meter(utility, seed_of(account), self.now())
    }
}

/// A stable number from an account's name (FNV-1a), so a room's first reading is the same
/// on every run.
fn seed_of(account: &str) -> u64 {
    account.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[async_trait]
impl Biller for Sandbox {
    fn code(&self) -> &str {
        self.code
    }

    fn sells(&self) -> &[Utility] {
        self.sells
    }

    fn unit_price(&self, utility: Utility) -> Money {
        match utility {
            Utility::Electricity => Money::from_fen(62),
            Utility::Water => Money::from_fen(420),
            Utility::Network => Money::yuan(25),
        }
    }

    async fn lookup(
        &self,
        utility: Utility,
        account: &str,
    ) -> Result<Option<Reading>, BillerError> {
        // Every room the campus lists has its meters (the campus checks the room before it
        // asks); a network account is known only if the network has it.
        let unavailable = |e: super::StoreError| BillerError::Unavailable(e.to_string());
        let mut meter = self
            .db
            .sandbox_meter(utility, account)
            .await
            .map_err(unavailable)?;
        if meter.is_none() && utility != Utility::Network {
            let first = self.first_meter(utility, account);
            meter = Some(
                self.db
                    .sandbox_ensure_meter(utility, account, &first)
                    .await
                    .map_err(unavailable)?,
            );
        }
        Ok(meter.map(|m| Reading {
            left_milli: (!m.offline).then(|| m.reading(self.now())),
        }))
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<(), BillerError> {
        let recorded = SandboxDelivery {
            reference: delivery.reference.clone(),
            utility: delivery.utility,
            account: delivery.account.clone(),
            quantity: delivery.quantity,
            amount: delivery.amount,
            delivered: false,
            reason: String::new(),
            biller_ref: format!("SBX-{}", delivery.reference),
        };
        let add = delivery
            .quantity
            .saturating_mul(metered_per_unit(delivery.utility));
        let initial = self.first_meter(delivery.utility, &delivery.account);
        let (db, clock, key, notices, code, delays) = (
            self.db.clone(),
            self.clock.clone(),
            self.key.clone(),
            self.notices.clone(),
            self.code.to_string(),
            self.delays,
        );
        // The delivery takes a moment; its outcome is then posted, and posted again.
        tokio::spawn(async move {
            tokio::time::sleep(delays.0).await;
            let done = match db
                .sandbox_deliver(&recorded, add, &initial, clock.now())
                .await
            {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!(reference = %recorded.reference, error = %e,
                        "sandbox biller could not record a delivery");
                    return;
                }
            };
            let body = serde_json::to_vec(&Sandbox::notice_of(&done)).unwrap_or_default();
            let signature = Sandbox::sign(&key, &body);
            let _ = notices.send((code.clone(), signature.clone(), body.clone()));
            tokio::time::sleep(delays.1).await;
            let _ = notices.send((code, signature, body));
        });
        Ok(())
    }

    async fn outcome(&self, reference: &str) -> Result<Option<DeliveryNotice>, BillerError> {
        let delivery = self
            .db
            .sandbox_delivery(reference)
            .await
            .map_err(|e| BillerError::Unavailable(e.to_string()))?;
        Ok(delivery.as_ref().map(Sandbox::notice_of))
    }

    async fn statement(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DeliveryNotice>, BillerError> {
        let deliveries = self
            .db
            .sandbox_deliveries(self.sells, from, until)
            .await
            .map_err(|e| BillerError::Unavailable(e.to_string()))?;
        Ok(deliveries.iter().map(Sandbox::notice_of).collect())
    }

    fn verify_notification(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<DeliveryNotice, NoticeError> {
        let given = hex::decode(signature.trim()).map_err(|_| NoticeError::BadSignature)?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(body);
        mac.verify_slice(&given)
            .map_err(|_| NoticeError::BadSignature)?;
        serde_json::from_slice(body).map_err(|e| NoticeError::Malformed(e.to_string()))
    }
}

/// The demo campus's rooms whose meters are offline (building 8's sixth floor is being
/// rewired): a purchase for one fails at the biller and is refunded, as a newcomer can see.
pub fn demo_offline(building: &str, room: &str) -> bool {
    building == "8" && room.starts_with('6')
}

/// The meter a new demo room starts with: a reading between 5 and 60 (kWh or tonnes), running
/// down like a lived-in room (about 4 kWh and 0.15 t a day).
pub fn demo_meter(utility: Utility, seed: u64, now: DateTime<Utc>) -> Meter {
    let (low, span, per_hour) = match utility {
        Utility::Electricity => (5_000, 55_000, 170),
        Utility::Water => (2_000, 18_000, 6),
        Utility::Network => (3_000, 27_000, 1000 / 24),
    };
    Meter {
        milli: low + (seed.wrapping_mul(2_654_435_761) % span as u64) as i64,
        as_of: now,
        per_hour_milli: per_hour,
        offline: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_verify_with_their_own_billers_key_only() {
        let key = Sandbox::derive_key(b"secret", SANDBOX_DORM);
        let other = Sandbox::derive_key(b"secret", SANDBOX_NETWORK);
        assert_ne!(key, other, "each biller signs with its own key");
        let body = br#"{"reference":"P1","status":"delivered","amount_fen":3100,"biller_ref":"X"}"#;
        let signature = Sandbox::sign(&key, body);
        assert_eq!(signature, Sandbox::sign(&key, body));
        assert_ne!(signature, Sandbox::sign(&other, body));
    }

    #[test]
    fn a_rooms_first_reading_is_the_same_every_time() {
        assert_eq!(seed_of("7-101"), seed_of("7-101"));
        assert_ne!(seed_of("7-101"), seed_of("7-102"));
        assert_eq!(seed_of(""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn demo_meters_are_plausible() {
        let now = DateTime::<Utc>::default();
        for seed in 0..200 {
            let m = demo_meter(Utility::Electricity, seed, now);
            assert!((5_000..60_000).contains(&m.milli), "{m:?}");
            let w = demo_meter(Utility::Water, seed, now);
            assert!((2_000..20_000).contains(&w.milli), "{w:?}");
        }
    }
}
