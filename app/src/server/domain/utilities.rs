//! 缴费 to billers: a dorm room's electricity and water, and time on the campus network,
//! bought from the card balance and delivered by the biller that sells them.
//!
//! The rules:
//! - a purchase buys a whole number of units within `quantity_range` (kWh, tonnes, months of
//!   network time) at the biller's unit price, for the room or network account the holder
//!   bound;
//! - it is paid from the balance, never below zero, while the account is active, and it
//!   counts towards the holder's daily limit (and the campus's) like a payment at a till; it
//!   is not held to the single-payment limit, which guards a card someone else may hold (the
//!   holder is logged in to buy);
//! - the charge is a `purchase` journal entry made before the biller is asked, so a biller
//!   that delivers never delivers what was not paid; the biller's outcome settles it: delivered,
//!   or failed and refunded in full, once (a `refund` entry reversing the purchase);
//! - an outcome must name the purchase's amount exactly, and a purchase is settled once: a
//!   repeated outcome changes nothing, and one that contradicts the settled outcome changes
//!   nothing either and is reported for follow-up.

use super::payments::spent_for_limits;
use super::{Broken, add, neg, sub};
use crate::audit_text::{AuditText, Fact, Phrase};
use crate::model::{AccountStatus, Money, PurchaseStatus, Utility};
use crate::portal_model::Problem;
use chrono::{DateTime, Duration, Utc};
use std::ops::RangeInclusive;

/// What a holder binds to buy for: their dorm room, or their campus network account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundKind {
    Room,
    Network,
}

impl BoundKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BoundKind::Room => "room",
            BoundKind::Network => "network",
        }
    }

    /// What a utility is bought for: a room's electricity and water, the network's time.
    pub fn of(utility: Utility) -> BoundKind {
        match utility {
            Utility::Electricity | Utility::Water => BoundKind::Room,
            Utility::Network => BoundKind::Network,
        }
    }

    /// What is bought for it.
    pub fn utilities(self) -> &'static [Utility] {
        match self {
            BoundKind::Room => &[Utility::Electricity, Utility::Water],
            BoundKind::Network => &[Utility::Network],
        }
    }
}

/// The longest building name, room number and network account.
pub const MAX_BUILDING: usize = 10;
pub const MAX_ROOM: usize = 10;
pub const MAX_NETWORK_ACCOUNT: usize = 32;

/// A room as the billers and the purchases name it, "building-room", from the form's fields
/// (trimmed; neither empty nor too long; the building without a "-", so the name reads back
/// one way). Whether the campus lists it is the store's to say.
pub fn room_account(building: &str, room: &str) -> Result<String, Problem> {
    let (building, room) = (building.trim(), room.trim());
    let fits = |text: &str, max: usize| {
        !text.is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
    };
    if !fits(building, MAX_BUILDING) || !fits(room, MAX_ROOM) || building.contains('-') {
        return Err(Problem::UnknownUtilityAccount);
    }
    Ok(format!("{building}-{room}"))
}

/// The most rooms one list may add.
pub const MAX_ROOM_LIST: usize = 5000;

/// A room list as an administrator pastes it (the housing office's export): one room a line,
/// its building and room separated by a comma (or "，"), a tab, spaces or a hyphen ("8,601",
/// "8 601", "8-601", "8 - 601"); blank lines are skipped, and a first line naming the columns
/// ("building,room", "楼栋,房间号") too. Each must be a room `room_account` accepts, with no
/// separator or quote left in either part. Refused whole, naming the first line that is not a
/// room (counting from 1), so that nothing of a wrong list is added.
pub fn parse_room_list(text: &str) -> Result<Vec<(String, String)>, Problem> {
    let mut lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .collect();
    if let Some((_, first)) = lines.first()
        && room_of_line(first).is_some_and(|(b, r)| is_header(b, r))
    {
        lines.remove(0);
    }
    if lines.is_empty() {
        return Err(Problem::RoomListEmpty);
    }
    if lines.len() > MAX_ROOM_LIST {
        return Err(Problem::RoomListTooLong { max: MAX_ROOM_LIST });
    }
    lines
        .into_iter()
        .map(|(number, line)| {
            let refused = Problem::RoomListLine { line: number };
            let (building, room) = room_of_line(line).ok_or(refused.clone())?;
            let stray = |part: &str| {
                part.chars()
                    .any(|c| matches!(c, ',' | '，' | '"' | '\'') || c.is_whitespace())
            };
            if stray(building) || stray(room) {
                return Err(refused);
            }
            room_account(building, room).map_err(|_| refused)?;
            Ok((building.to_string(), room.to_string()))
        })
        .collect()
}

/// A line's building and room: split at its comma or tab if it has one, else at its spaces
/// ("8 601", "8 - 601"), else at its first hyphen ("8-601").
fn room_of_line(line: &str) -> Option<(&str, &str)> {
    if let Some((building, room)) = line.split_once([',', '，', '\t']) {
        return Some((building.trim(), room.trim()));
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [building, room] | [building, "-", room] => Some((building, room)),
        [one] => one.split_once('-'),
        _ => None,
    }
}

/// Whether a list's first line names its columns instead of a room.
fn is_header(building: &str, room: &str) -> bool {
    let building = building.to_lowercase();
    let room = room.to_lowercase();
    matches!(building.as_str(), "building" | "楼栋" | "楼号")
        && matches!(room.as_str(), "room" | "房间" | "房间号" | "宿舍")
}

/// Whether a room may be taken off the list: it was listed (`removed`), and no student has it
/// bound (`holders`); it stays until they bind another.
pub fn room_removable(removed: bool, holders: i64) -> Result<(), Problem> {
    if !removed {
        return Err(Problem::UnknownUtilityAccount);
    }
    if holders > 0 {
        return Err(Problem::RoomBound { holders });
    }
    Ok(())
}

/// The audit record (target, after) of a room list added: how many rooms it listed, and how
/// many of them were new.
pub fn rooms_added_audit(listed: usize, added: i64) -> (AuditText, AuditText) {
    use crate::audit_text::Counted;
    (
        Fact::Count(Counted::RoomsInList, listed as i64).into(),
        Fact::Count(Counted::RoomsAdded, added).into(),
    )
}

/// A campus network account as typed: letters, digits, "_" and ".", at most 32.
pub fn check_network_account(account: &str) -> Result<String, Problem> {
    let account = account.trim();
    if account.is_empty()
        || account.chars().count() > MAX_NETWORK_ACCOUNT
        || !account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Err(Problem::UnknownUtilityAccount);
    }
    Ok(account.to_string())
}

/// A biller's own number for a delivery, as kept: at most 64 characters.
pub fn biller_ref_text(biller_ref: &str) -> String {
    biller_ref.trim().chars().take(64).collect()
}

/// Whether a purchase sent with a form key used before is the same purchase (then the first
/// answer stands); another purchase under a used key is refused, not taken for the first.
pub fn same_purchase(earlier: (Utility, i64, &str), now: (Utility, i64, &str)) -> bool {
    earlier == now
}

/// How much of a purchase a holder is shown: all of their own; a roommate's purchase for the
/// room, made since the holder bound the room, without its receipt numbers; nothing of
/// another holder's network time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Whole,
    WithoutReceipt,
    Hidden,
}

pub fn shown(
    viewer: i64,
    bound_at: DateTime<Utc>,
    buyer: i64,
    utility: Utility,
    bought_at: DateTime<Utc>,
) -> Shown {
    if viewer == buyer {
        Shown::Whole
    } else if BoundKind::of(utility) == BoundKind::Room && bought_at >= bound_at {
        Shown::WithoutReceipt
    } else {
        Shown::Hidden
    }
}

/// How many units one purchase may buy.
pub fn quantity_range(utility: Utility) -> RangeInclusive<i64> {
    match utility {
        Utility::Electricity => 1..=500,
        Utility::Water => 1..=50,
        Utility::Network => 1..=12,
    }
}

/// What one unit sold adds to the biller's meter, in the meter's thousandths: a kWh, a tonne,
/// or a month of 30 days of network time.
pub fn metered_per_unit(utility: Utility) -> i64 {
    match utility {
        Utility::Network => 30 * 1000,
        Utility::Electricity | Utility::Water => 1000,
    }
}

/// Reads a quantity as typed (a whole number of units within the range).
pub fn check_quantity(utility: Utility, text: &str) -> Result<i64, Problem> {
    let range = quantity_range(utility);
    let refused = Problem::PurchaseQuantity {
        min: *range.start(),
        max: *range.end(),
    };
    let quantity: i64 = text.trim().parse().map_err(|_| refused.clone())?;
    if range.contains(&quantity) {
        Ok(quantity)
    } else {
        Err(refused)
    }
}

/// The price of `quantity` units at `unit_price`.
pub fn price(unit_price: Money, quantity: i64) -> Result<Money, Broken> {
    unit_price
        .fen()
        .checked_mul(quantity)
        .map(Money::from_fen)
        .filter(|m| *m > Money::ZERO)
        .ok_or(Broken("purchase price out of range"))
}

/// The account as the store loaded it under its lock.
#[derive(Debug, Clone, Copy)]
pub struct BuyerNow {
    pub status: AccountStatus,
    pub balance: Money,
    pub daily_limit: Money,
    /// Paid today (payments and purchases less refunds) before this purchase.
    pub spent_today: Money,
    /// The campus's ceiling on a day's payments.
    pub campus_max_daily: Money,
}

/// What an approved purchase writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchasePlan {
    /// The journal entry's amount (negative).
    pub entry: Money,
    pub balance_after: Money,
}

/// The decision on a purchase of `amount`: its plan, or why it is refused.
pub fn decide_purchase(
    amount: Money,
    buyer: &BuyerNow,
) -> Result<Result<PurchasePlan, Problem>, Broken> {
    if buyer.status != AccountStatus::Active {
        return Ok(Err(Problem::AccountNotActive));
    }
    let allowance = buyer.daily_limit.min(buyer.campus_max_daily);
    let spent = spent_for_limits(buyer.spent_today);
    let left = sub(allowance, spent, "daily allowance overflow")?.max(Money::ZERO);
    if amount > left {
        return Ok(Err(Problem::PurchaseOverDailyLimit { left }));
    }
    if amount > buyer.balance {
        return Ok(Err(Problem::PurchaseAboveBalance));
    }
    Ok(Ok(PurchasePlan {
        entry: neg(amount, "amount overflow")?,
        balance_after: sub(buyer.balance, amount, "balance overflow")?,
    }))
}

/// What a biller said of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        /// The biller's own number for the delivery.
        biller_ref: String,
    },
    Failed {
        reason: String,
    },
}

/// A purchase as the store loaded it under its account's lock.
#[derive(Debug, Clone, Copy)]
pub struct PurchaseNow {
    pub status: PurchaseStatus,
    pub amount: Money,
    /// The account's balance now (the refund's starting point).
    pub balance: Money,
}

/// What an outcome does to a purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Mark it delivered.
    Deliver,
    /// Give the money back: a `refund` entry of `entry` reversing the purchase.
    Refund { entry: Money, balance_after: Money },
    /// Settled this way already (the biller said it again): nothing to do.
    Repeated,
    /// Settled the other way already: nothing changes; the difference is for follow-up.
    Contradicts(PurchaseStatus),
}

/// Why an outcome is not taken at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeRefused {
    /// The outcome names another amount than the purchase's.
    AmountDiffers,
}

/// The decision on a biller's outcome for a purchase.
pub fn decide_outcome(
    purchase: &PurchaseNow,
    notified_amount: Money,
    outcome: &Outcome,
) -> Result<Result<Settle, OutcomeRefused>, Broken> {
    if notified_amount != purchase.amount {
        return Ok(Err(OutcomeRefused::AmountDiffers));
    }
    Ok(Ok(match (purchase.status, outcome) {
        (PurchaseStatus::Pending, Outcome::Delivered { .. }) => Settle::Deliver,
        (PurchaseStatus::Pending, Outcome::Failed { .. }) => Settle::Refund {
            entry: purchase.amount,
            balance_after: add(purchase.balance, purchase.amount, "balance overflow")?,
        },
        (PurchaseStatus::Delivered, Outcome::Delivered { .. })
        | (PurchaseStatus::Refunded, Outcome::Failed { .. }) => Settle::Repeated,
        (settled, _) => Settle::Contradicts(settled),
    }))
}

/// A biller's status word for a delivery: delivered (`Some(true)`), failed (`Some(false)`), or
/// one we do not know (`None`: refused, never guessed).
pub fn delivered(status: &str) -> Option<bool> {
    match status {
        "delivered" => Some(true),
        "failed" => Some(false),
        _ => None,
    }
}

/// A failure reason as stored and shown: trimmed, at most 200 characters, never empty.
pub fn failure_text(reason: &str) -> String {
    let reason = reason.trim();
    if reason.is_empty() {
        "the biller did not deliver".to_string()
    } else {
        reason.chars().take(200).collect()
    }
}

/// The journal reference of a purchase and of its refund: the reference the biller knows it
/// by.
pub fn entry_reference(reference: &str) -> String {
    format!("purchase:{reference}")
}

/// The audit record's `after` of a purchase: what, for which account, the amount and the
/// entry.
pub fn purchase_audit(
    utility: Utility,
    quantity: i64,
    account: &str,
    amount: Money,
    journal_id: i64,
) -> AuditText {
    AuditText::from(Fact::Purchase {
        utility,
        quantity,
        account: account.to_string(),
    })
    .and(Fact::Amount(amount))
    .and(Fact::Entry(journal_id))
}

/// The audit record of a biller's outcome that contradicts the one on record: (before: the
/// purchase's status, after: what the biller said, reason). Nothing changes; the record is
/// for the operators to follow up with the biller (`/staff/audit?action=utility.conflict`).
pub fn conflict_audit(
    settled: PurchaseStatus,
    outcome: &Outcome,
) -> (AuditText, AuditText, String) {
    let said = match outcome {
        Outcome::Delivered { .. } => Phrase::BillerSaidDelivered,
        Outcome::Failed { .. } => Phrase::BillerSaidFailed,
    };
    (
        Fact::PurchaseStatus(settled).into(),
        Fact::Said(said).into(),
        Phrase::FollowUpWithBiller.stored(),
    )
}

/// A purchase waits this long for its biller's outcome before it is first asked about.
pub const FIRST_ASK: Duration = Duration::minutes(2);
/// A purchase with no outcome after this long is reported to the operators, once.
pub const OVERDUE_AFTER: Duration = Duration::hours(24);
/// The longest wait between two asks.
pub const MAX_ASK_GAP: Duration = Duration::hours(1);
/// A next ask stored further ahead of now than this was set by a clock that ran ahead, and is
/// due now: a purchase is never left unasked for long. Twice the longest gap, so that a server
/// whose run began a while before another's does not take the ask the other just stored.
pub const ASK_HORIZON: Duration = Duration::hours(2);

/// When to ask the biller again about a purchase charged at `created`, still waiting and asked
/// about at `now`: every minute in its first hour, every quarter of an hour until it is a day
/// old, then every hour. A biller that is down for a week is not asked ten thousand times, and
/// the purchase is never forgotten: it is asked about until its outcome comes.
pub fn next_ask(created: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let age = now - created;
    let gap = if age < Duration::hours(1) {
        Duration::minutes(1)
    } else if age < OVERDUE_AFTER {
        Duration::minutes(15)
    } else {
        MAX_ASK_GAP
    };
    now + gap
}

/// Whether a purchase charged at `created` and still waiting at `now` is overdue: the
/// operators are told (`overdue_audit`) so that someone asks the biller. The money stays
/// charged: without the biller's word that nothing was delivered, a refund could pay twice.
pub fn overdue(created: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - created >= OVERDUE_AFTER
}

/// The audit record (before, after, reason) of an overdue purchase, for the operators
/// (`/staff/audit?action=utility.overdue`).
pub fn overdue_audit(amount: Money) -> (AuditText, AuditText, String) {
    (
        AuditText::from(Fact::PurchaseStatus(PurchaseStatus::Pending)).and(Fact::Amount(amount)),
        AuditText::none(),
        Phrase::NoOutcomeForADay.stored(),
    )
}

/// The audit record (before: the purchase, after: the refund, reason: the biller's) of a
/// refund of a failed delivery.
pub fn refund_audit(
    (utility, quantity, account): (Utility, i64, &str),
    amount: Money,
    journal_id: i64,
    reason: String,
) -> (AuditText, AuditText, String) {
    (
        AuditText::from(Fact::Purchase {
            utility,
            quantity,
            account: account.to_string(),
        }),
        AuditText::from(Fact::Credit(amount)).and(Fact::Entry(journal_id)),
        reason,
    )
}

/// The lowest and highest threshold of an automatic room top-up, in whole units.
pub const AUTO_BELOW: std::ops::RangeInclusive<i64> = 1..=100;

/// An automatic room top-up's settings as typed: for a room's meter (electricity or water),
/// below a whole number of units (`AUTO_BELOW`), buy a quantity a purchase may buy. Answers
/// (threshold in thousandths, quantity).
pub fn check_autobuy(utility: Utility, below: &str, quantity: &str) -> Result<(i64, i64), Problem> {
    let refused = Problem::AutoBuyThreshold {
        min: *AUTO_BELOW.start(),
        max: *AUTO_BELOW.end(),
    };
    if BoundKind::of(utility) != BoundKind::Room {
        return Err(refused);
    }
    let below: i64 = below.trim().parse().map_err(|_| refused.clone())?;
    if !AUTO_BELOW.contains(&below) {
        return Err(refused);
    }
    Ok((below * 1000, check_quantity(utility, quantity)?))
}

/// Whether an automatic top-up buys now: the meter was read, reads below the threshold, and no
/// purchase for it is on its way (its units are not on the reading yet). Once a day is the
/// purchase's form key, `autobuy_key`.
pub fn wants_autobuy(reading_milli: Option<i64>, below_milli: i64, on_its_way: bool) -> bool {
    !on_its_way && reading_milli.is_some_and(|r| r < below_milli)
}

/// The form key of a day's automatic top-up: one purchase per utility and campus day.
pub fn autobuy_key(utility: Utility, today: chrono::NaiveDate) -> String {
    format!("auto-{utility}-{today}")
}

/// A meter at a sandbox biller (a real biller keeps its own): the reading at `as_of`, in
/// thousandths of the utility's unit, running down by `per_hour_milli` an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meter {
    pub milli: i64,
    pub as_of: DateTime<Utc>,
    pub per_hour_milli: i64,
    /// The meter's reader lost contact: it takes no delivery until it is back.
    pub offline: bool,
}

/// The most a meter holds: 1,000 kWh, 100 tonnes, or a year of network time.
pub fn capacity_milli(utility: Utility) -> i64 {
    match utility {
        Utility::Electricity => 1_000_000,
        Utility::Water => 100_000,
        Utility::Network => 366_000,
    }
}

impl Meter {
    /// What is left at `now` (never below nothing; a reading before `as_of` is the stored one).
    pub fn reading(&self, now: DateTime<Utc>) -> i64 {
        let seconds = (now - self.as_of).num_seconds().max(0);
        let used = self.per_hour_milli.saturating_mul(seconds) / 3600;
        self.milli.saturating_sub(used).max(0)
    }

    /// The meter after `add` more at `now`, or why the biller refuses the delivery (it is
    /// offline, or it would hold more than the meter's capacity).
    pub fn fill(&self, now: DateTime<Utc>, add: i64, utility: Utility) -> Result<Meter, String> {
        if self.offline {
            return Err(
                "表计离线，暂时无法充值 (the meter is offline and cannot be topped up now)".into(),
            );
        }
        let after = self.reading(now).saturating_add(add);
        let capacity = capacity_milli(utility);
        if after > capacity {
            let (zh, en) = match utility {
                Utility::Electricity => (
                    "电表已满：最多可存 1000 度",
                    "meter full: it holds at most 1,000 kWh",
                ),
                Utility::Water => (
                    "水表已满：最多可存 100 吨",
                    "meter full: it holds at most 100 tonnes",
                ),
                Utility::Network => (
                    "网络账号最多可预存一年",
                    "network time is sold at most a year ahead",
                ),
            };
            return Err(format!("{zh} ({en})"));
        }
        Ok(Meter {
            milli: after,
            as_of: now,
            ..*self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_purchase_is_asked_about_less_often_as_it_ages_and_reported_after_a_day() {
        let created = DateTime::parse_from_rfc3339("2026-12-07T10:00:00+08:00")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        let m = Duration::minutes;
        // (age when asked, next ask after it, overdue)
        let cases = [
            (m(2), m(1), false),
            (m(59), m(1), false),
            (m(60), m(15), false),
            (m(23 * 60 + 59), m(15), false),
            (m(24 * 60), m(60), true),
            (m(7 * 24 * 60), m(60), true),
        ];
        for (age, gap, late) in cases {
            let now = created + age;
            assert_eq!(next_ask(created, now), now + gap, "age {age}");
            assert_eq!(overdue(created, now), late, "age {age}");
        }
        // A week of a silent biller: about 60 + 92 + 144 asks, not 10,080.
        let mut now = created + FIRST_ASK;
        let mut asks = 0;
        while now < created + Duration::days(7) {
            asks += 1;
            let next = next_ask(created, now);
            assert!(next > now && next <= now + MAX_ASK_GAP, "{now} → {next}");
            assert!(next - now < ASK_HORIZON);
            now = next;
        }
        assert!((290..=300).contains(&asks), "{asks}");
    }

    #[test]
    fn a_room_list_is_read_a_room_a_line_or_refused_whole() {
        type Rooms = Vec<(String, String)>;
        let rooms = |list: &[(&str, &str)]| -> Rooms {
            list.iter()
                .map(|(b, r)| (b.to_string(), r.to_string()))
                .collect()
        };
        let long = "8,601\n".repeat(MAX_ROOM_LIST + 1);
        let cases: Vec<(&str, Result<Rooms, Problem>)> = vec![
            ("8,601", Ok(rooms(&[("8", "601")]))),
            (
                "8,601\r\n8\t602\n\n  8 603  \n8-604\n8，605\n9 - 101\n9 , 102",
                Ok(rooms(&[
                    ("8", "601"),
                    ("8", "602"),
                    ("8", "603"),
                    ("8", "604"),
                    ("8", "605"),
                    ("9", "101"),
                    ("9", "102"),
                ])),
            ),
            // A room's own number may hold a hyphen; a building's may not.
            ("东1,A-101", Ok(rooms(&[("东1", "A-101")]))),
            ("东1 A-101", Ok(rooms(&[("东1", "A-101")]))),
            ("A-1,101", Err(Problem::RoomListLine { line: 1 })),
            // A first line naming the columns is skipped; anywhere else it is not a room.
            ("楼栋,房间号\n8,601", Ok(rooms(&[("8", "601")]))),
            ("Building,Room\n8,601", Ok(rooms(&[("8", "601")]))),
            (
                "8,601\nbuilding,room",
                Ok(rooms(&[("8", "601"), ("building", "room")])),
            ),
            ("building,room", Err(Problem::RoomListEmpty)),
            ("", Err(Problem::RoomListEmpty)),
            ("\n  \n", Err(Problem::RoomListEmpty)),
            ("8,601\n8601\n8,602", Err(Problem::RoomListLine { line: 2 })),
            ("8,601\n\n8,", Err(Problem::RoomListLine { line: 3 })),
            (",601", Err(Problem::RoomListLine { line: 1 })),
            // Another column, a spaced building or quoted fields: not guessed at.
            ("8,601,4", Err(Problem::RoomListLine { line: 1 })),
            ("8,,601", Err(Problem::RoomListLine { line: 1 })),
            ("West 3,101", Err(Problem::RoomListLine { line: 1 })),
            ("West 3 101", Err(Problem::RoomListLine { line: 1 })),
            ("\"8\",\"601\"", Err(Problem::RoomListLine { line: 1 })),
            ("12345678901,1", Err(Problem::RoomListLine { line: 1 })),
            ("8,\u{7}01", Err(Problem::RoomListLine { line: 1 })),
            (&long, Err(Problem::RoomListTooLong { max: MAX_ROOM_LIST })),
        ];
        for (text, want) in cases {
            assert_eq!(parse_room_list(text), want, "{text:?}");
        }
        let most = "8,601\n".repeat(MAX_ROOM_LIST);
        assert_eq!(parse_room_list(&most).unwrap().len(), MAX_ROOM_LIST);
    }

    #[test]
    fn a_room_students_have_bound_stays_listed() {
        let cases = [
            (true, 0, Ok(())),
            (true, 2, Err(Problem::RoomBound { holders: 2 })),
            (false, 0, Err(Problem::UnknownUtilityAccount)),
            (false, 1, Err(Problem::UnknownUtilityAccount)),
        ];
        for (removed, holders, want) in cases {
            assert_eq!(
                room_removable(removed, holders),
                want,
                "{removed} {holders}"
            );
        }
    }

    #[test]
    fn an_overdue_purchase_is_recorded_in_words() {
        let (before, after, reason) = overdue_audit(Money::from_fen(1240));
        assert_eq!(before.text(true), "purchase pending; amount ¥12.40");
        assert_eq!(after.text(true), "");
        assert_eq!(
            AuditText::show(&reason, true),
            "no outcome from the biller for a day; the money stays charged; ask the biller"
        );
        assert_eq!(
            AuditText::show(&reason, false),
            "缴费单位一天未给结果，款项仍已扣除；请与缴费单位核实"
        );
    }

    #[test]
    fn a_contradicting_outcome_is_recorded_in_words() {
        use PurchaseStatus::*;
        let delivered = Outcome::Delivered {
            biller_ref: "B1".into(),
        };
        let failed = Outcome::Failed {
            reason: "meter full".into(),
        };
        // (on record, the biller's outcome, before and after in English, and in Chinese)
        let cases = [
            (
                Delivered,
                &failed,
                "purchase delivered",
                "the biller said not delivered",
                "缴费已到账",
                "缴费单位称未到账",
            ),
            (
                Refunded,
                &delivered,
                "purchase not delivered, refunded",
                "the biller said delivered",
                "缴费未到账，已退款",
                "缴费单位称已到账",
            ),
        ];
        for (settled, outcome, before_en, after_en, before_zh, after_zh) in cases {
            let (before, after, reason) = conflict_audit(settled, outcome);
            let show = |t: &AuditText, en| AuditText::show(&t.stored(), en);
            assert_eq!(show(&before, true), before_en);
            assert_eq!(show(&after, true), after_en);
            assert_eq!(show(&before, false), before_zh);
            assert_eq!(show(&after, false), after_zh);
            assert!(AuditText::show(&reason, true).contains("follow up with the biller"));
        }
    }

    fn buyer(status: AccountStatus, balance: i64, daily: i64, spent: i64) -> BuyerNow {
        BuyerNow {
            status,
            balance: Money::yuan(balance),
            daily_limit: Money::yuan(daily),
            spent_today: Money::yuan(spent),
            campus_max_daily: Money::yuan(1000),
        }
    }

    #[test]
    fn quantities_are_whole_units_within_the_range() {
        use Utility::*;
        let cases: &[(Utility, &str, Result<i64, Problem>)] = &[
            (Electricity, "50", Ok(50)),
            (Electricity, " 1 ", Ok(1)),
            (Electricity, "500", Ok(500)),
            (
                Electricity,
                "501",
                Err(Problem::PurchaseQuantity { min: 1, max: 500 }),
            ),
            (
                Electricity,
                "0",
                Err(Problem::PurchaseQuantity { min: 1, max: 500 }),
            ),
            (
                Electricity,
                "-5",
                Err(Problem::PurchaseQuantity { min: 1, max: 500 }),
            ),
            (
                Electricity,
                "2.5",
                Err(Problem::PurchaseQuantity { min: 1, max: 500 }),
            ),
            (Water, "50", Ok(50)),
            (
                Water,
                "51",
                Err(Problem::PurchaseQuantity { min: 1, max: 50 }),
            ),
            (Network, "12", Ok(12)),
            (
                Network,
                "13",
                Err(Problem::PurchaseQuantity { min: 1, max: 12 }),
            ),
            (
                Network,
                "",
                Err(Problem::PurchaseQuantity { min: 1, max: 12 }),
            ),
        ];
        for (utility, text, want) in cases {
            assert_eq!(check_quantity(*utility, text), *want, "{utility} {text:?}");
        }
        assert_eq!(metered_per_unit(Network), 30_000);
        assert_eq!(metered_per_unit(Electricity), 1000);
    }

    #[test]
    fn prices_are_exact_and_never_overflow() {
        assert_eq!(price(Money::from_fen(62), 50), Ok(Money::from_fen(3100)));
        assert_eq!(price(Money::yuan(25), 12), Ok(Money::yuan(300)));
        assert!(price(Money::from_fen(i64::MAX), 2).is_err());
        assert!(
            price(Money::ZERO, 5).is_err(),
            "a free delivery is no purchase"
        );
    }

    #[test]
    fn a_purchase_is_held_to_status_daily_limit_and_balance() {
        use AccountStatus::*;
        let ok = |balance_after: i64, amount: i64| {
            Ok(Ok(PurchasePlan {
                entry: Money::yuan(-amount),
                balance_after: Money::yuan(balance_after),
            }))
        };
        type Decided = Result<Result<PurchasePlan, Problem>, Broken>;
        let cases: &[(BuyerNow, i64, Decided)] = &[
            (buyer(Active, 100, 300, 0), 31, ok(69, 31)),
            (buyer(Active, 31, 300, 0), 31, ok(0, 31)),
            (
                buyer(Active, 30, 300, 0),
                31,
                Ok(Err(Problem::PurchaseAboveBalance)),
            ),
            (
                buyer(Frozen, 100, 300, 0),
                31,
                Ok(Err(Problem::AccountNotActive)),
            ),
            (
                buyer(Closed, 100, 300, 0),
                31,
                Ok(Err(Problem::AccountNotActive)),
            ),
            // Paid 280 today of 300: 20 left.
            (
                buyer(Active, 100, 300, 280),
                31,
                Ok(Err(Problem::PurchaseOverDailyLimit {
                    left: Money::yuan(20),
                })),
            ),
            (buyer(Active, 100, 300, 280), 20, ok(80, 20)),
            // A total below nothing (the stores never load one) does not raise today's allowance.
            (buyer(Active, 500, 300, -200), 300, ok(200, 300)),
            (
                buyer(Active, 500, 300, -200),
                301,
                Ok(Err(Problem::PurchaseOverDailyLimit {
                    left: Money::yuan(300),
                })),
            ),
            // Over the limit already (limit lowered since): nothing left, not a negative.
            (
                buyer(Active, 500, 100, 150),
                1,
                Ok(Err(Problem::PurchaseOverDailyLimit { left: Money::ZERO })),
            ),
        ];
        for (i, (b, amount, want)) in cases.iter().enumerate() {
            assert_eq!(decide_purchase(Money::yuan(*amount), b), *want, "case {i}");
        }
        // The campus's ceiling stands above a holder's own limit.
        let mut high = buyer(Active, 5000, 3000, 0);
        high.campus_max_daily = Money::yuan(500);
        assert_eq!(
            decide_purchase(Money::yuan(501), &high),
            Ok(Err(Problem::PurchaseOverDailyLimit {
                left: Money::yuan(500)
            }))
        );
    }

    #[test]
    fn an_outcome_settles_a_purchase_once() {
        use PurchaseStatus::*;
        let delivered = Outcome::Delivered {
            biller_ref: "D1".into(),
        };
        let failed = Outcome::Failed {
            reason: "meter full".into(),
        };
        let now = |status| PurchaseNow {
            status,
            amount: Money::yuan(31),
            balance: Money::yuan(69),
        };
        let cases: &[(
            PurchaseStatus,
            i64,
            &Outcome,
            Result<Settle, OutcomeRefused>,
        )] = &[
            (Pending, 31, &delivered, Ok(Settle::Deliver)),
            (
                Pending,
                31,
                &failed,
                Ok(Settle::Refund {
                    entry: Money::yuan(31),
                    balance_after: Money::yuan(100),
                }),
            ),
            (Delivered, 31, &delivered, Ok(Settle::Repeated)),
            (Refunded, 31, &failed, Ok(Settle::Repeated)),
            (Delivered, 31, &failed, Ok(Settle::Contradicts(Delivered))),
            (Refunded, 31, &delivered, Ok(Settle::Contradicts(Refunded))),
            (Pending, 30, &delivered, Err(OutcomeRefused::AmountDiffers)),
            (Pending, 32, &failed, Err(OutcomeRefused::AmountDiffers)),
            (Refunded, 3100, &failed, Err(OutcomeRefused::AmountDiffers)),
        ];
        for (status, amount, outcome, want) in cases {
            assert_eq!(
                decide_outcome(&now(*status), Money::yuan(*amount), outcome),
                Ok(want.clone()),
                "{status} {amount} {outcome:?}"
            );
        }
    }

    #[test]
    fn a_sandbox_meter_runs_down_and_refuses_to_overfill() {
        let t0 = DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let hours = |h: i64| t0 + chrono::Duration::hours(h);
        let meter = Meter {
            milli: 30_000,
            as_of: t0,
            per_hour_milli: 500,
            offline: false,
        };
        let readings: &[(DateTime<Utc>, i64)] = &[
            (hours(-5), 30_000),
            (t0, 30_000),
            (hours(1), 29_500),
            (t0 + chrono::Duration::minutes(30), 29_750),
            (hours(60), 0),
            (hours(100_000), 0),
        ];
        for (at, want) in readings {
            assert_eq!(meter.reading(*at), *want, "{at}");
        }
        let filled = meter.fill(hours(10), 50_000, Utility::Electricity);
        assert_eq!(
            filled,
            Ok(Meter {
                milli: 75_000,
                as_of: hours(10),
                per_hour_milli: 500,
                offline: false,
            })
        );
        assert!(meter.fill(t0, 970_000, Utility::Electricity).is_ok());
        let full = meter.fill(t0, 970_001, Utility::Electricity);
        assert!(full.is_err_and(|why| why.contains("1,000 kWh")));
        assert!(meter.fill(t0, 70_001, Utility::Water).is_err());
        let offline = Meter {
            offline: true,
            ..meter
        };
        assert!(
            offline
                .fill(t0, 1000, Utility::Electricity)
                .is_err_and(|why| why.contains("offline"))
        );
        assert_eq!(
            offline.reading(hours(2)),
            29_000,
            "an offline meter still runs down"
        );
    }

    #[test]
    fn rooms_and_network_accounts_are_read_one_way() {
        let cases: &[(&str, &str, Result<&str, Problem>)] = &[
            ("7", "101", Ok("7-101")),
            (" 7 ", " 101 ", Ok("7-101")),
            ("荔园1栋", "A203", Ok("荔园1栋-A203")),
            ("7-1", "01", Err(Problem::UnknownUtilityAccount)),
            ("", "101", Err(Problem::UnknownUtilityAccount)),
            ("7", "", Err(Problem::UnknownUtilityAccount)),
            ("7", "12345678901", Err(Problem::UnknownUtilityAccount)),
            ("7", "1\n01", Err(Problem::UnknownUtilityAccount)),
        ];
        for (building, room, want) in cases {
            assert_eq!(
                room_account(building, room),
                want.clone().map(str::to_string),
                "{building:?} {room:?}"
            );
        }
        assert_eq!(
            check_network_account(" 2023020215 "),
            Ok("2023020215".into())
        );
        assert_eq!(check_network_account("li.hr_2"), Ok("li.hr_2".into()));
        for bad in ["", "a b", "a;b", &"x".repeat(33), "名字"] {
            assert_eq!(
                check_network_account(bad),
                Err(Problem::UnknownUtilityAccount),
                "{bad}"
            );
        }
        assert_eq!(biller_ref_text(&"r".repeat(100)).len(), 64);
        assert_eq!(BoundKind::of(Utility::Water), BoundKind::Room);
        assert_eq!(BoundKind::Network.utilities(), &[Utility::Network]);
    }

    #[test]
    fn a_used_form_key_answers_only_the_same_purchase() {
        use Utility::*;
        assert!(same_purchase(
            (Electricity, 50, "7-101"),
            (Electricity, 50, "7-101")
        ));
        assert!(!same_purchase(
            (Electricity, 50, "7-101"),
            (Water, 50, "7-101")
        ));
        assert!(!same_purchase(
            (Electricity, 50, "7-101"),
            (Electricity, 20, "7-101")
        ));
        assert!(!same_purchase(
            (Electricity, 50, "7-101"),
            (Electricity, 50, "7-102")
        ));
    }

    #[test]
    fn a_holder_sees_their_own_purchases_and_their_rooms_since_they_bound_it() {
        let t = |h: i64| {
            DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
                + chrono::Duration::hours(h)
        };
        use Utility::*;
        let cases = [
            // (viewer, bound at, buyer, what, bought at, shown)
            (1, t(5), 1, Electricity, t(0), Shown::Whole),
            (1, t(5), 1, Network, t(0), Shown::Whole),
            (1, t(5), 2, Electricity, t(6), Shown::WithoutReceipt),
            (1, t(5), 2, Water, t(5), Shown::WithoutReceipt),
            (1, t(5), 2, Electricity, t(4), Shown::Hidden),
            (1, t(5), 2, Network, t(6), Shown::Hidden),
        ];
        for (viewer, bound, buyer, utility, at, want) in cases {
            assert_eq!(
                shown(viewer, bound, buyer, utility, at),
                want,
                "{buyer} {utility} {at}"
            );
        }
    }

    #[test]
    fn automatic_top_ups_are_for_rooms_once_a_day_below_the_threshold() {
        use Utility::*;
        let threshold = Problem::AutoBuyThreshold { min: 1, max: 100 };
        type Checked = Result<(i64, i64), Problem>;
        let cases: &[(Utility, &str, &str, Checked)] = &[
            (Electricity, "10", "50", Ok((10_000, 50))),
            (Water, " 2 ", "5", Ok((2_000, 5))),
            (Electricity, "100", "500", Ok((100_000, 500))),
            (Electricity, "0", "50", Err(threshold.clone())),
            (Electricity, "101", "50", Err(threshold.clone())),
            (Electricity, "1.5", "50", Err(threshold.clone())),
            (
                Electricity,
                "10",
                "501",
                Err(Problem::PurchaseQuantity { min: 1, max: 500 }),
            ),
            (Network, "10", "1", Err(threshold.clone())),
        ];
        for (utility, below, quantity, want) in cases {
            assert_eq!(
                check_autobuy(*utility, below, quantity),
                *want,
                "{utility} {below} {quantity}"
            );
        }
        assert!(wants_autobuy(Some(9_999), 10_000, false));
        assert!(!wants_autobuy(Some(9_999), 10_000, true), "one on its way");
        assert!(!wants_autobuy(Some(10_000), 10_000, false));
        assert!(
            !wants_autobuy(None, 10_000, false),
            "an unread (offline) meter buys nothing"
        );
        let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 14).unwrap_or_default();
        assert_eq!(autobuy_key(Electricity, day), "auto-electricity-2026-10-14");
        assert_ne!(autobuy_key(Water, day), autobuy_key(Electricity, day));
    }

    #[test]
    fn failure_reasons_are_kept_short_and_never_empty() {
        assert_eq!(failure_text("  "), "the biller did not deliver");
        assert_eq!(failure_text(" meter full "), "meter full");
        assert_eq!(failure_text(&"x".repeat(500)).len(), 200);
        assert_eq!(entry_reference("E1"), "purchase:E1");
        assert_eq!(delivered("delivered"), Some(true));
        assert_eq!(delivered("failed"), Some(false));
        assert_eq!(delivered("DELIVERED"), None);
        assert_eq!(delivered(""), None);
    }
}
