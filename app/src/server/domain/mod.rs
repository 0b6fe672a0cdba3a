//! The business rules: every decision a write makes, as plain functions of what the store
//! loaded under its lock. No I/O, no SQL, no clock: what a rule needs is handed in, and what it
//! decides comes back as a plan for the store to apply (with the audit record's texts) or as
//! the reason it refuses. Both backends call these same functions; each rule has its table of
//! cases in the module's tests.
//!
//! - `announcements`: an announcement's fields and window, and who sees it;
//! - `bills`: issuing a bill (待缴费), paying it from the balance, cancelling it;
//! - `payments`: a debit at a till (status, limits, balance), a refund, a credit;
//! - `cards`: issuing and replacing a card, cancelling it, a lost report and its lifting;
//! - `attempts`: how many password checks come before a lock, and what a checked one means;
//! - `accounts`: freezing, closing with its payout, a status set by the office;
//! - `corrections`: correcting a payment, alone or on a second person's approval;
//! - `delivery`: when a notice goes out by e-mail or push (quiet hours), retries, addresses;
//! - `masking`: what of a name or number a screen may show;
//! - `notices`: which events make a notice in the holder's inbox, and the holder's choices;
//! - `push`: which push services a browser's notices are posted to, and their answers;
//! - `calendar`: the campus day (UTC+8), from which daily limits and the day's reports count;
//! - `audit`: the reason every staff change must give, and who decides a two-person request;
//! - `shifts`: an operator's shifts, the cash credited against the cash counted;
//! - `settlement`: a biller's day, our purchases matched with its records, and the differences;
//! - `sessions`: when a holder's, a staff member's or a terminal's session is over;
//! - `bindings`: how long a remembered phone stays remembered, and what ends it;
//! - `terminals`: who may take a browser out of terminal mode;
//! - `utilities`: 缴费 to billers (a room's electricity and water, the network): a purchase
//!   against the balance and the daily limit, and a biller's outcome settling it once.

pub mod accounts;
pub mod announcements;
pub mod attempts;
pub mod audit;
pub mod bills;
pub mod bindings;
pub mod calendar;
pub mod cards;
pub mod corrections;
pub mod delivery;
pub mod masking;
pub mod notices;
pub mod payments;
pub mod push;
pub mod sessions;
pub mod settlement;
pub mod shifts;
pub mod terminals;
pub mod utilities;

/// A write that cannot be right whatever the rules say: money arithmetic on stored amounts
/// that does not fit in an `i64` of fen, or a request no service makes. The data or the caller
/// broke an invariant, and the write stops (the store reports it as corrupt data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken(pub &'static str);

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

use crate::model::Money;

/// `a + b`, or `Broken(what)`.
fn add(a: Money, b: Money, what: &'static str) -> Result<Money, Broken> {
    a.checked_add(b).ok_or(Broken(what))
}

/// `a - b`, or `Broken(what)`.
fn sub(a: Money, b: Money, what: &'static str) -> Result<Money, Broken> {
    a.checked_sub(b).ok_or(Broken(what))
}

/// `-a`, or `Broken(what)`.
fn neg(a: Money, what: &'static str) -> Result<Money, Broken> {
    a.checked_neg().ok_or(Broken(what))
}
