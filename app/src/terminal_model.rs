//! What the web terminals (the POS and kiosk pages) and their server functions exchange.

use crate::model::{Decline, DeviceKind, Money};
use serde::{Deserialize, Serialize};

/// The till's header: which device this browser is, today's takings, the last sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalInfo {
    pub device_code: String,
    pub kind: DeviceKind,
    pub place: String,
    pub merchant_zh: Option<String>,
    pub merchant_en: Option<String>,
    pub sales: i64,
    pub sales_total: Money,
    pub refunds: i64,
    pub refunds_total: Money,
    pub last_sale: Option<SaleView>,
    /// A fresh request id for the next sale; a retry of the same sale reuses it, so a sale is
    /// never charged twice.
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleView {
    pub journal_id: i64,
    pub amount: Money,
    pub at: String,
    /// The payer's name, masked ("李*然").
    pub holder: String,
    pub refunded: bool,
}

/// The answer to a sale, a refund or a balance inquiry at the till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillResult {
    pub approved: bool,
    pub amount: Option<Money>,
    pub balance: Option<Money>,
    pub holder: Option<String>,
    pub reason: Option<Decline>,
}

impl TillResult {
    pub fn declined(reason: Decline) -> Self {
        TillResult {
            approved: false,
            amount: None,
            balance: None,
            holder: None,
            reason: Some(reason),
        }
    }
}

/// Whether the scan field holds the digits of a 深职通码 (20 digits) rather than a card's
/// chip serial.
pub fn scan_is_code(scan: &str) -> bool {
    let scan = scan.trim();
    scan.len() == 20 && scan.bytes().all(|b| b.is_ascii_digit())
}
