//! What the 缴费 page sends to the browser: the holder's room and network account, what is
//! left on them, what can be bought at which price, and the latest purchases.

use crate::model::{DifferenceKind, Money, PurchaseStatus, Utility};
use serde::{Deserialize, Serialize};

/// One thing the holder can buy now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UtilityOffer {
    pub utility: Utility,
    pub unit_price: Money,
    /// The fewest and most units one purchase may buy.
    pub min: i64,
    pub max: i64,
    /// What is left, in thousandths of the unit (kWh, tonnes, days), if the biller says.
    pub left_milli: Option<i64>,
    /// The holder's automatic top-up of a room utility: (below, buy), in whole units.
    pub auto: Option<(i64, i64)>,
}

/// A purchase, as the holder (or a roommate) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseView {
    pub reference: String,
    pub utility: Utility,
    pub account: String,
    pub quantity: i64,
    pub amount: Money,
    pub status: PurchaseStatus,
    /// Why the biller did not deliver (a refunded purchase).
    pub failure: String,
    /// RFC 3339.
    pub at: String,
    /// Bought by the holder looking (else by a roommate: then without its reference and
    /// entry numbers).
    pub mine: bool,
    /// The charge's journal entry, and the refund's.
    pub entry_id: Option<i64>,
    pub refund_id: Option<i64>,
}

/// The 缴费 page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UtilitiesPage {
    pub balance: Money,
    /// The bound room ("building-room") and network account.
    pub room: Option<String>,
    pub network: Option<String>,
    /// The campus's dorm buildings, for the room form.
    pub buildings: Vec<String>,
    pub offers: Vec<UtilityOffer>,
    /// The room's latest purchases (every roommate's) and the network account's.
    pub purchases: Vec<PurchaseView>,
    /// The key of the next purchase forms (each form adds its utility): the same key sent
    /// twice is one purchase.
    pub request_key: String,
    /// Whether any biller is configured.
    pub available: bool,
}

/// A purchase just made (or the one made earlier with the same form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseMade {
    pub purchase: PurchaseView,
    pub balance: Option<Money>,
    /// The form had been sent before: nothing was charged again.
    pub repeated: bool,
}

/// A difference between our purchases and a biller's records, to follow up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DifferenceView {
    pub kind: DifferenceKind,
    pub reference: String,
    /// Our amount and the biller's, where each has one.
    pub ours: Option<Money>,
    pub theirs: Option<Money>,
}

/// What a biller's day comes to: our purchases and the biller's deliveries, with every
/// difference listed (`server::domain::settlement::settle` makes it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Our purchases, and what we charged for them.
    pub purchases: i64,
    pub charged: Money,
    /// Of those, delivered and refunded (by our books).
    pub delivered: Money,
    pub refunded: Money,
    /// The biller's deliveries, and their money.
    pub confirmed: i64,
    pub confirmed_amount: Money,
    /// Purchases whose outcome and amount agree.
    pub matched: i64,
    pub differences: Vec<DifferenceView>,
}

/// A biller's settlement for one campus day: our purchases against the biller's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillerSettlement {
    /// The campus's billers, and the one shown.
    pub billers: Vec<String>,
    pub biller: String,
    /// The campus date (`YYYY-MM-DD`).
    pub day: String,
    #[serde(flatten)]
    pub settlement: Settlement,
}

/// A purchase still waiting for its biller's outcome, as the card office sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingPurchase {
    pub reference: String,
    pub biller: String,
    pub holder_id: i64,
    pub student_no: String,
    pub utility: Utility,
    pub account: String,
    pub quantity: i64,
    pub amount: Money,
    /// When it was charged, and when the biller is next asked about it (RFC 3339).
    pub charged_at: String,
    pub next_ask_at: Option<String>,
    /// A day without an outcome: reported to the operators (`utility.overdue`), when so.
    pub overdue: bool,
    pub reported_at: Option<String>,
}

/// How many waiting purchases the card office's list shows.
pub const WAITING_SHOWN: usize = 200;

/// The purchases waiting for their billers, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingPurchases {
    pub rows: Vec<WaitingPurchase>,
    /// More wait than are listed.
    pub more: bool,
}

/// The campus's dorm room list, by building, for administrators (auditors see it too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomList {
    /// (building, rooms listed), by building.
    pub buildings: Vec<(String, i64)>,
    pub can_change: bool,
}

/// A room list added: how many rooms it listed, and how many were new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomsAdded {
    pub listed: usize,
    pub added: i64,
}
