//! Top-ups through a payment provider (bank card, WeChat Pay) and automatic top-up from a
//! bound bank card.
//!
//! The flow is the one real providers use: we create an order, send the holder to the
//! provider's pay page, and credit the account only when the provider's signed asynchronous
//! notification says "paid". Notifications may come twice, late, or out of order (a "failed"
//! after a "paid"); the order row and the journal's unique reference make every case credit
//! exactly once. A credited top-up is usable at once.
//!
//! `PaymentProvider` is the interface; `Sandbox` is the shipped provider. It behaves like the
//! real services: its own pay page, HMAC-SHA256-signed notifications delivered asynchronously
//! and deliberately twice, and test cards that are declined.

use super::AppState;
use super::store::{Actor, Audit, AutoTopup, NewOrder, OrderPaid, OrderRow};
use crate::audit_text::{AuditText, Fact, Phrase};
use crate::model::{AuditAction, Channel, Money, TopupStatus};
use crate::portal_model::Problem;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The smallest and largest online top-up.
pub const MIN_TOPUP: Money = Money::yuan(1);
pub const MAX_TOPUP: Money = Money::yuan(1000);
/// After a failed automatic top-up, no new attempt for this long (or until the settings
/// change): a declined card is not charged again at every meal.
pub const AUTO_RETRY_AFTER: Duration = Duration::hours(24);

/// What a provider tells us about an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub order_no: String,
    /// "paid" or "failed".
    pub status: String,
    pub amount_fen: i64,
    /// The provider's own transaction number.
    pub provider_ref: String,
    #[serde(default)]
    pub failure: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotifyError {
    #[error("bad signature")]
    BadSignature,
    #[error("malformed notification: {0}")]
    Malformed(String),
    #[error("unknown order")]
    UnknownOrder,
    #[error("amount differs from the order")]
    AmountMismatch,
    #[error("internal: {0}")]
    Internal(String),
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Where the holder pays an order (the provider's page).
    fn pay_url(&self, order: &OrderRow) -> String;
    /// Binds a bank card for automatic top-up: (masked number, provider token). The number
    /// itself is never stored by us.
    fn bind_card(&self, number: &str) -> Result<(String, String), Problem>;
    /// Charges a bound card (automatic top-up): the provider's reference, or why it failed.
    async fn charge_bound_card(&self, token: &str, order: &OrderRow) -> Result<String, String>;
    /// Checks a notification's signature and reads it.
    fn verify_notification(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<Notification, NotifyError>;
}

/// The sandbox provider. Test cards: any number that passes the Luhn check; one ending in
/// `0002` is declined for insufficient funds.
pub struct Sandbox {
    key: Vec<u8>,
}

pub const SANDBOX_DECLINED_SUFFIX: &str = "0002";

impl Sandbox {
    pub fn new(key: Vec<u8>) -> Self {
        Sandbox { key }
    }

    /// The sandbox's notification key, derived from a server secret (a real provider's key
    /// comes from its merchant console).
    pub fn derive_key(server_secret: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(server_secret)
            .expect("HMAC takes any key length");
        mac.update(b"yikatong sandbox provider v1");
        mac.finalize().into_bytes().to_vec()
    }

    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    /// A signed notification body, as the sandbox would post it.
    pub fn notification(&self, n: &Notification) -> (String, Vec<u8>) {
        let body = serde_json::to_vec(n).unwrap_or_default();
        (self.sign(&body), body)
    }
}

fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

#[async_trait]
impl PaymentProvider for Sandbox {
    fn pay_url(&self, order: &OrderRow) -> String {
        format!("/sandbox/pay/{}", order.order_no)
    }

    fn bind_card(&self, number: &str) -> Result<(String, String), Problem> {
        let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
        if !(16..=19).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !luhn_ok(&digits)
        {
            return Err(Problem::BankCardInvalid);
        }
        let last4 = &digits[digits.len() - 4..];
        let masked = format!("{} **** **** {last4}", &digits[..4]);
        let random: [u8; 8] = rand::random();
        Ok((masked, format!("sbx_{last4}_{}", hex::encode(random))))
    }

    async fn charge_bound_card(&self, token: &str, order: &OrderRow) -> Result<String, String> {
        // A bank answers in a moment, not at once.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let last4 = token.split('_').nth(1).unwrap_or("");
        if last4 == SANDBOX_DECLINED_SUFFIX {
            return Err("insufficient funds on the bound bank card".into());
        }
        Ok(format!("SBX-AUTO-{}", order.order_no))
    }

    fn verify_notification(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<Notification, NotifyError> {
        let given = hex::decode(signature.trim()).map_err(|_| NotifyError::BadSignature)?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(body);
        mac.verify_slice(&given)
            .map_err(|_| NotifyError::BadSignature)?;
        serde_json::from_slice(body).map_err(|e| NotifyError::Malformed(e.to_string()))
    }
}

/// A fresh order number: a letter for the channel, the time, and randomness.
pub fn new_order_no(channel: Channel, now: DateTime<Utc>) -> String {
    let prefix = match channel {
        Channel::Bank => "B",
        Channel::Wechat => "W",
        Channel::Auto => "A",
        Channel::Cash => "C",
    };
    let random: [u8; 5] = rand::random();
    format!(
        "{prefix}{}{}",
        now.format("%Y%m%d%H%M%S"),
        hex::encode_upper(random)
    )
}

/// Starts an online top-up: validates, creates the order, returns the provider's pay page.
pub async fn start(
    state: &AppState,
    holder_id: i64,
    channel: Channel,
    amount: Money,
    now: DateTime<Utc>,
) -> Result<Result<String, Problem>, super::StoreError> {
    let Some(provider) = state.provider.as_ref() else {
        return Ok(Err(Problem::TopupUnavailable));
    };
    if !matches!(channel, Channel::Bank | Channel::Wechat) {
        return Ok(Err(Problem::TopupChannel));
    }
    if amount < MIN_TOPUP || amount > MAX_TOPUP {
        return Ok(Err(Problem::TopupAmount {
            min: MIN_TOPUP,
            max: MAX_TOPUP,
        }));
    }
    let order_no = new_order_no(channel, now);
    state
        .db
        .create_order(&NewOrder {
            order_no: &order_no,
            holder_id,
            channel,
            amount,
            now,
        })
        .await?;
    let order = state
        .db
        .order(&order_no)
        .await?
        .ok_or_else(|| super::StoreError::Corrupt("order vanished".into()))?;
    Ok(Ok(provider.pay_url(&order)))
}

/// Handles a provider notification (from the HTTP endpoint or the sandbox's own delivery).
/// Returns the order's status after it.
pub async fn notify(
    state: &AppState,
    signature: &str,
    body: &[u8],
) -> Result<TopupStatus, NotifyError> {
    let provider = state.provider.as_ref().ok_or(NotifyError::BadSignature)?;
    let n = provider.verify_notification(signature, body)?;
    let internal = |e: super::StoreError| NotifyError::Internal(e.to_string());
    let order = state
        .db
        .order(&n.order_no)
        .await
        .map_err(internal)?
        .ok_or(NotifyError::UnknownOrder)?;
    if n.amount_fen != order.amount.fen() {
        tracing::error!(order = %n.order_no, notified = n.amount_fen, ordered = order.amount.fen(),
            "provider notification amount differs from the order; not credited");
        return Err(NotifyError::AmountMismatch);
    }
    let now = state.now();
    match n.status.as_str() {
        "paid" => {
            match state
                .db
                .order_paid(&n.order_no, &n.provider_ref, now)
                .await
                .map_err(internal)?
            {
                OrderPaid::Credited { journal_id, .. } => {
                    tracing::info!(order = %n.order_no, journal_id, "top-up credited");
                }
                OrderPaid::AlreadyPaid => {
                    tracing::info!(order = %n.order_no, "duplicate notification; already credited");
                }
                OrderPaid::AccountClosed => {
                    state
                        .db
                        .order_failed(&n.order_no, "account closed: refund due from provider", now)
                        .await
                        .map_err(internal)?;
                    tracing::warn!(order = %n.order_no, "paid top-up for a closed account");
                }
                OrderPaid::NotFound => return Err(NotifyError::UnknownOrder),
            }
        }
        "failed" => {
            // Only a pending order can fail: a "failed" that arrives after "paid" changes
            // nothing.
            let failure = if n.failure.trim().is_empty() {
                "declined by the provider".to_string()
            } else {
                n.failure.chars().take(200).collect()
            };
            state
                .db
                .order_failed(&n.order_no, &failure, now)
                .await
                .map_err(internal)?;
        }
        other => return Err(NotifyError::Malformed(format!("status {other}"))),
    }
    let order = state
        .db
        .order(&n.order_no)
        .await
        .map_err(internal)?
        .ok_or(NotifyError::UnknownOrder)?;
    Ok(order.status)
}

/// The sandbox's pay page was answered: it notifies us asynchronously, like a real provider,
/// and delivers the same notification a second time a moment later.
pub fn sandbox_complete(
    state: AppState,
    sandbox: std::sync::Arc<Sandbox>,
    order: OrderRow,
    pay: bool,
) {
    let n = Notification {
        order_no: order.order_no.clone(),
        status: if pay { "paid" } else { "failed" }.into(),
        amount_fen: order.amount.fen(),
        provider_ref: format!("SBX-{}", order.order_no),
        failure: if pay {
            String::new()
        } else {
            "the payer cancelled or the bank declined".into()
        },
    };
    let (signature, body) = sandbox.notification(&n);
    tokio::spawn(async move {
        for delay_ms in [200u64, 1500] {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            if let Err(e) = notify(&state, &signature, &body).await {
                tracing::error!(order = %n.order_no, error = %e, "sandbox notification refused");
            }
        }
    });
}

/// Starts an automatic top-up in the background (a payment left the balance below the
/// holder's threshold).
pub fn start_auto_topup(state: AppState, holder_id: i64) {
    tokio::spawn(async move {
        if let Err(e) = auto_topup(&state, holder_id, state.now()).await {
            tracing::error!(holder_id, error = %e, "automatic top-up could not run");
        }
    });
}

/// One automatic top-up attempt. Returns the order it made, if any.
pub async fn auto_topup(
    state: &AppState,
    holder_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<OrderRow>, super::StoreError> {
    let Some(provider) = state.provider.as_ref() else {
        return Ok(None);
    };
    let Some(settings) = state.db.auto_topup(holder_id).await?.filter(|s| s.enabled) else {
        return Ok(None);
    };
    let recent_failure = state
        .db
        .failed_auto_topups(Some(holder_id))
        .await?
        .into_iter()
        .any(|o| o.created_at > now - AUTO_RETRY_AFTER);
    if recent_failure {
        return Ok(None);
    }
    let order_no = new_order_no(Channel::Auto, now);
    let created = state
        .db
        .create_order(&NewOrder {
            order_no: &order_no,
            holder_id,
            channel: Channel::Auto,
            amount: settings.amount,
            now,
        })
        .await?;
    if !created {
        // One is already in flight.
        return Ok(None);
    }
    let order = state
        .db
        .order(&order_no)
        .await?
        .ok_or_else(|| super::StoreError::Corrupt("order vanished".into()))?;
    match provider
        .charge_bound_card(&settings.card_token, &order)
        .await
    {
        Ok(reference) => {
            state
                .db
                .order_paid(&order_no, &reference, state.now())
                .await?;
        }
        Err(reason) => {
            state
                .db
                .order_failed(&order_no, &reason, state.now())
                .await?;
            state
                .db
                .audit(Audit {
                    actor: Actor::System,
                    action: AuditAction::TopupAutoFailed,
                    holder_id: Some(holder_id),
                    target: Fact::Order(order_no.clone()).into(),
                    before: AuditText::none(),
                    after: AuditText::from(Fact::Amount(settings.amount))
                        .and(Fact::Said(Phrase::Failed)),
                    reason,
                    ip: String::new(),
                })
                .await?;
        }
    }
    state.db.order(&order_no).await
}

/// Validated automatic top-up settings from the form.
pub fn auto_settings(
    threshold: Money,
    amount: Money,
    card: (String, String),
) -> Result<AutoTopup, Problem> {
    if threshold < Money::yuan(1) || threshold > Money::yuan(500) {
        return Err(Problem::AutoThreshold);
    }
    if amount < Money::yuan(10) || amount > MAX_TOPUP {
        return Err(Problem::TopupAmount {
            min: Money::yuan(10),
            max: MAX_TOPUP,
        });
    }
    Ok(AutoTopup {
        enabled: true,
        threshold,
        amount,
        card_masked: card.0,
        card_token: card.1,
    })
}

pub fn order_view(o: &OrderRow) -> crate::portal_model::TopupView {
    crate::portal_model::TopupView {
        order_no: o.order_no.clone(),
        channel: o.channel,
        amount: o.amount,
        status: o.status,
        failure: o.failure.clone(),
        at: o.created_at.to_rfc3339(),
    }
}

fn auto_view(a: &AutoTopup) -> crate::portal_model::AutoTopupView {
    crate::portal_model::AutoTopupView {
        enabled: a.enabled,
        threshold: a.threshold,
        amount: a.amount,
        card_masked: a.card_masked.clone(),
    }
}

/// The holder's top-up page: balance, recent orders, automatic top-up settings.
pub async fn page(
    state: &AppState,
    holder_id: i64,
    order_no: Option<&str>,
) -> Result<crate::portal_model::TopupPage, crate::error::AppError> {
    // Only the holder's own order: another's number shows nothing.
    let order = match order_no {
        Some(no) => state
            .db
            .order(no)
            .await?
            .filter(|o| o.holder_id == holder_id)
            .as_ref()
            .map(order_view),
        None => None,
    };
    let day = super::domain::calendar::day_start(state.now());
    let payer = state
        .db
        .payer(holder_id, day)
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
    Ok(crate::portal_model::TopupPage {
        order,
        balance: payer.balance,
        orders: state
            .db
            .orders_of(holder_id, 10)
            .await?
            .iter()
            .map(order_view)
            .collect(),
        auto: state
            .db
            .auto_topup(holder_id)
            .await?
            .as_ref()
            .map(auto_view),
        online: state.provider.is_some(),
        min: MIN_TOPUP,
        max: MAX_TOPUP,
    })
}

/// Saves automatic top-up settings; binds `card` when given, else keeps the bound card.
pub async fn save_auto(
    state: &AppState,
    holder_id: i64,
    ip: &str,
    threshold: &str,
    amount: &str,
    card: &str,
) -> Result<crate::portal_model::AutoTopupView, crate::error::AppError> {
    use crate::error::AppError;
    let parse =
        |text: &str| Money::parse_yuan(text).map_err(|_| AppError::Rejected(Problem::LimitFormat));
    let (threshold, amount) = (parse(threshold)?, parse(amount)?);
    let existing = state.db.auto_topup(holder_id).await?;
    let bound = if card.trim().is_empty() {
        existing
            .as_ref()
            .map(|e| (e.card_masked.clone(), e.card_token.clone()))
            .ok_or(AppError::Rejected(Problem::BankCardInvalid))?
    } else {
        state
            .provider
            .as_ref()
            .ok_or(AppError::Rejected(Problem::TopupUnavailable))?
            .bind_card(card)
            .map_err(AppError::Rejected)?
    };
    let settings = auto_settings(threshold, amount, bound).map_err(AppError::Rejected)?;
    state
        .db
        .save_auto_topup(
            holder_id,
            Some(&settings),
            state.now(),
            Audit {
                actor: Actor::Holder(holder_id),
                action: AuditAction::TopupAutoSettings,
                holder_id: Some(holder_id),
                target: AuditText::none(),
                before: existing
                    .as_ref()
                    .map(auto_fact)
                    .map(AuditText::from)
                    .unwrap_or_default(),
                after: auto_fact(&settings).into(),
                reason: Phrase::SelfService.stored(),
                ip: ip.to_string(),
            },
        )
        .await?;
    Ok(auto_view(&settings))
}

/// Automatic top-up as its audit record says it (the bank card masked).
fn auto_fact(a: &AutoTopup) -> Fact {
    Fact::AutoTopup {
        threshold: a.threshold,
        amount: a.amount,
        card: a.card_masked.clone(),
    }
}

/// Switches automatic top-up off and forgets the bound card.
pub async fn remove_auto(
    state: &AppState,
    holder_id: i64,
    ip: &str,
) -> Result<(), crate::error::AppError> {
    state
        .db
        .save_auto_topup(
            holder_id,
            None,
            state.now(),
            Audit {
                actor: Actor::Holder(holder_id),
                action: AuditAction::TopupAutoRemoved,
                holder_id: Some(holder_id),
                target: AuditText::none(),
                before: AuditText::none(),
                after: Fact::Said(Phrase::Off).into(),
                reason: Phrase::SelfService.stored(),
                ip: ip.to_string(),
            },
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_signatures_verify_and_forgeries_do_not() {
        let sandbox = Sandbox::new(Sandbox::derive_key(b"server secret"));
        let n = Notification {
            order_no: "B1".into(),
            status: "paid".into(),
            amount_fen: 5000,
            provider_ref: "SBX-B1".into(),
            failure: String::new(),
        };
        let (sig, body) = sandbox.notification(&n);
        assert_eq!(sandbox.verify_notification(&sig, &body), Ok(n));
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert_eq!(
            sandbox.verify_notification(&sig, &tampered),
            Err(NotifyError::BadSignature)
        );
        let other = Sandbox::new(Sandbox::derive_key(b"another secret"));
        assert_eq!(
            other.verify_notification(&sig, &body),
            Err(NotifyError::BadSignature)
        );
    }

    #[test]
    fn bank_cards_are_checked_and_masked() {
        let sandbox = Sandbox::new(vec![1; 32]);
        let (masked, token) = sandbox
            .bind_card("6222 0212 3456 7890 3")
            .unwrap_or_default();
        assert_eq!(masked, "6222 **** **** 8903");
        assert!(token.starts_with("sbx_8903_"));
        assert_eq!(
            sandbox.bind_card("6222021234567890"),
            Err(Problem::BankCardInvalid),
            "fails the Luhn check"
        );
        assert_eq!(sandbox.bind_card("1234"), Err(Problem::BankCardInvalid));
    }
}
