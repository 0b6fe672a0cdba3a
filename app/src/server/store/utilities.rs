//! The store's part of 缴费 to billers: the campus's room list, the room and network account a
//! holder buys for, purchases charged and settled, and the sandbox billers' own meters. A
//! purchase and its settlement each load under the account's lock, ask
//! `server::domain::utilities`, and apply the plan with its audit record in the same
//! transaction (the SQL is `sql/utilities.rs`, the same on both backends).

use super::{Audit, StoreError};
use crate::model::{Money, PurchaseStatus, Utility};
use crate::portal_model::Problem;
use crate::server::domain::utilities::{Meter, Outcome, OutcomeRefused, Settle};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use crate::server::domain::utilities::BoundKind;

/// A room or network account a holder bound, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub account: String,
    pub bound_at: DateTime<Utc>,
}

/// The holder's room and network account, each if bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UtilityAccounts {
    pub room: Option<Bound>,
    pub network: Option<Bound>,
}

impl UtilityAccounts {
    pub fn of(&self, kind: BoundKind) -> Option<&Bound> {
        match kind {
            BoundKind::Room => self.room.as_ref(),
            BoundKind::Network => self.network.as_ref(),
        }
    }
}

/// An automatic room top-up's setting: below `below_milli` on the meter of `room`, buy
/// `quantity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoBuySetting {
    pub room: String,
    pub below_milli: i64,
    pub quantity: i64,
}

/// An automatic room top-up that runs: its holder still has the room it was set for bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoBuy {
    pub holder_id: i64,
    pub utility: Utility,
    pub below_milli: i64,
    pub quantity: i64,
    pub room: String,
}

/// A purchase to charge.
#[derive(Debug, Clone)]
pub struct NewPurchase {
    pub holder_id: i64,
    /// The holder's form's key: the same key is the same purchase.
    pub request_key: String,
    /// Ours, sent to the biller as its idempotency key.
    pub reference: String,
    pub biller: String,
    pub utility: Utility,
    pub account: String,
    pub quantity: i64,
    pub amount: Money,
    /// The campus's ceiling on a day's payments, and the campus day's start.
    pub campus_max_daily: Money,
    pub day_start: DateTime<Utc>,
}

/// A purchase as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRow {
    pub id: i64,
    pub reference: String,
    pub holder_id: i64,
    pub biller: String,
    pub utility: Utility,
    pub account: String,
    pub quantity: i64,
    pub amount: Money,
    pub status: PurchaseStatus,
    pub entry_id: i64,
    pub refund_id: Option<i64>,
    pub biller_ref: String,
    pub failure: String,
    /// RFC 3339.
    pub created_at: String,
    pub settled_at: Option<String>,
}

impl PurchaseRow {
    /// When it was charged.
    pub fn charged_at(&self) -> Result<DateTime<Utc>, chrono::ParseError> {
        DateTime::parse_from_rfc3339(&self.created_at).map(|t| t.with_timezone(&Utc))
    }
}

/// A purchase still waiting for its biller, with its holder's student number and where its
/// asking stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingRow {
    pub purchase: PurchaseRow,
    pub student_no: String,
    /// RFC 3339.
    pub next_ask_at: Option<String>,
    pub overdue_at: Option<String>,
}

/// A purchase charged now, or the one charged earlier under the same form key (nothing charged
/// again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurchaseStart {
    Charged {
        purchase: PurchaseRow,
        balance: Money,
    },
    Earlier(PurchaseRow),
}

/// What a biller's outcome did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// No purchase has this reference.
    Unknown,
    Refused(OutcomeRefused),
    Done {
        settle: Settle,
        purchase: Box<PurchaseRow>,
    },
}

/// A delivery as a sandbox biller recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxDelivery {
    pub reference: String,
    pub utility: Utility,
    pub account: String,
    pub quantity: i64,
    pub amount: Money,
    pub delivered: bool,
    pub reason: String,
    pub biller_ref: String,
}

#[async_trait]
pub trait UtilityStore: Send + Sync {
    /// The campus's dorm buildings, in order.
    async fn buildings(&self) -> Result<Vec<String>, StoreError>;

    /// Adds rooms to the list (those listed already stay as they are), with `audit` if given
    /// (whose `after` the store fills in: `domain::utilities::rooms_added_audit`). Answers how
    /// many were new.
    async fn add_rooms(
        &self,
        rooms: &[(String, String)],
        audit: Option<Audit>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;

    /// How many rooms each building has on the list, by building.
    async fn rooms_by_building(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// Takes a room off the list, with its audit record: refused while students have it
    /// bound (as `account`, `domain::utilities::room_account`), or when it is not listed.
    async fn remove_room(
        &self,
        building: &str,
        room: &str,
        account: &str,
        audit: Audit,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Problem>, StoreError>;

    async fn room_listed(&self, building: &str, room: &str) -> Result<bool, StoreError>;

    /// Binds (or with `None` unbinds) what the holder buys for, with its audit record. A room
    /// is bound only while `listed` (its building and room) is on the list, checked in the
    /// same transaction and held there, so that the room is not taken off the list meanwhile:
    /// false, and nothing bound, when it is not.
    async fn bind_utility_account(
        &self,
        holder_id: i64,
        kind: BoundKind,
        account: Option<&str>,
        listed: Option<(&str, &str)>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError>;

    /// The holder's room and network account, if bound.
    async fn utility_accounts(&self, holder_id: i64) -> Result<UtilityAccounts, StoreError>;

    /// Charges a purchase: the `purchase` entry, the row and the audit record (whose `after`
    /// the store fills in: `domain::utilities::purchase_audit`), or why not.
    async fn start_purchase(
        &self,
        purchase: &NewPurchase,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Result<PurchaseStart, Problem>, StoreError>;

    /// Settles a purchase of `biller` by its outcome: delivered, or refunded once (the
    /// refund's audit record is the system's). Another biller's purchase is `Unknown`.
    async fn settle_purchase(
        &self,
        biller: &str,
        reference: &str,
        notified_amount: Money,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<Settled, StoreError>;

    async fn purchase(&self, reference: &str) -> Result<Option<PurchaseRow>, StoreError>;

    /// The latest purchases for a room (every roommate's) or a network account.
    async fn purchases_for(
        &self,
        kind: BoundKind,
        account: &str,
        limit: i64,
    ) -> Result<Vec<PurchaseRow>, StoreError>;

    /// A biller's purchases charged from `from` until `until`, oldest first.
    async fn purchases_of_biller(
        &self,
        biller: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<PurchaseRow>, StoreError>;

    /// Purchases still waiting for their biller's outcome, charged before `before` and due to
    /// be asked about at `now`: never asked yet, their next ask come, or their next ask set
    /// beyond `horizon` (by a clock that ran ahead), oldest first.
    async fn pending_purchases(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<PurchaseRow>, StoreError>;

    /// Every purchase still waiting for its biller's outcome, oldest first, at most `limit`.
    async fn waiting_purchases(&self, limit: i64) -> Result<Vec<WaitingRow>, StoreError>;

    /// Takes a waiting purchase's ask that is due at `now` (as `pending_purchases` says),
    /// setting the next one to `next_ask`. False when it is not due any more: another server
    /// took it, or the purchase was settled; the caller then does not ask.
    async fn claim_purchase_ask(
        &self,
        id: i64,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        next_ask: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Reports a purchase still waiting to the operators with `audit`, once whoever asks (a
    /// second server reporting it too writes nothing); nothing for a purchase settled
    /// meanwhile. True when the report was written now.
    async fn report_overdue_purchase(
        &self,
        id: i64,
        audit: &Audit,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Saves (or with `None` removes) a holder's automatic top-up of a room utility, with its
    /// audit record.
    async fn save_autobuy(
        &self,
        holder_id: i64,
        utility: Utility,
        setting: Option<&AutoBuySetting>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError>;

    /// Automatic top-ups whose holder still has their room bound: one holder's, or with
    /// `None` every holder's.
    async fn autobuys(&self, holder_id: Option<i64>) -> Result<Vec<AutoBuy>, StoreError>;

    // ---- The sandbox billers' own side ----

    async fn sandbox_meter(
        &self,
        utility: Utility,
        account: &str,
    ) -> Result<Option<Meter>, StoreError>;

    /// The meter, made with `initial` first if the sandbox has none for the account.
    async fn sandbox_ensure_meter(
        &self,
        utility: Utility,
        account: &str,
        initial: &Meter,
    ) -> Result<Meter, StoreError>;

    /// Sets a meter (the demo campus, and tests).
    async fn sandbox_set_meter(
        &self,
        utility: Utility,
        account: &str,
        meter: &Meter,
    ) -> Result<(), StoreError>;

    /// Records a delivery once: under the meter's lock, fills the meter by `add_milli`
    /// (`Meter::fill`; a missing meter starts as `initial`) or records why not. A reference
    /// seen before answers the delivery recorded then, and changes nothing.
    async fn sandbox_deliver(
        &self,
        delivery: &SandboxDelivery,
        add_milli: i64,
        initial: &Meter,
        now: DateTime<Utc>,
    ) -> Result<SandboxDelivery, StoreError>;

    async fn sandbox_delivery(
        &self,
        reference: &str,
    ) -> Result<Option<SandboxDelivery>, StoreError>;

    /// The deliveries the sandbox recorded from `from` until `until`, of these utilities.
    async fn sandbox_deliveries(
        &self,
        utilities: &[Utility],
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SandboxDelivery>, StoreError>;
}
