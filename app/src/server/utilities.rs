//! 缴费 to billers: the holder binds their room and network account, sees what is left, and
//! buys from the card balance. The rules are `domain::utilities`; this module reads the forms,
//! talks to the billers (`billers`), and asks the store.
//!
//! A purchase is charged first (a `purchase` entry, under the account's lock), then the biller
//! is asked to deliver under the purchase's reference. Its signed outcome settles the
//! purchase: delivered, or refunded once. A purchase whose outcome does not come is asked
//! after (`follow_up`, every minute), so none waits for ever.

use super::AppState;
use super::auth::{Client, HolderSession};
use super::billers::{Delivery, DeliveryNotice, NoticeError};
use super::domain::calendar::day_start;
use super::domain::utilities::{self as rules, Outcome, OutcomeRefused, Settle, Shown};
use super::staff::StaffSession;
use super::store::{Actor, Audit, BoundKind, NewPurchase, PurchaseRow, PurchaseStart, Settled};
use crate::audit_text::{AuditText, Fact, Phrase};
use crate::error::AppError;
use crate::model::{AuditAction, Money, PurchaseStatus, Utility};
use crate::portal_model::Problem;
use crate::utility_model::{PurchaseMade, PurchaseView, UtilitiesPage, UtilityOffer};
use chrono::{DateTime, Utc};

/// Purchases the page lists.
const SHOWN: i64 = 20;
/// A purchase as `domain::utilities::shown` lets the holder see it: whole (their own), or a
/// roommate's without its receipt numbers.
fn view(p: &PurchaseRow, holder_id: i64, shown: Shown) -> PurchaseView {
    let mine = p.holder_id == holder_id;
    let whole = shown == Shown::Whole;
    PurchaseView {
        reference: if whole {
            p.reference.clone()
        } else {
            String::new()
        },
        utility: p.utility,
        account: p.account.clone(),
        quantity: p.quantity,
        amount: p.amount,
        status: p.status,
        failure: p.failure.clone(),
        at: p.created_at.clone(),
        mine,
        entry_id: whole.then_some(p.entry_id),
        refund_id: p.refund_id.filter(|_| whole),
    }
}

/// A fresh purchase reference: a letter for the utility, the time, and randomness.
fn new_reference(utility: Utility, now: DateTime<Utc>) -> String {
    let prefix = match utility {
        Utility::Electricity => "E",
        Utility::Water => "W",
        Utility::Network => "N",
    };
    let random: [u8; 5] = rand::random();
    format!(
        "{prefix}{}{}",
        now.format("%Y%m%d%H%M%S"),
        hex::encode_upper(random)
    )
}

/// A fresh key for a purchase form.
fn new_request_key() -> String {
    let random: [u8; 16] = rand::random();
    hex::encode(random)
}

/// The holder's 缴费 page.
pub async fn page(state: &AppState, s: &HolderSession) -> Result<UtilitiesPage, AppError> {
    let balance = state
        .db
        .dashboard(s.holder_id, day_start(state.now()))
        .await?
        .map(|d| d.balance)
        .ok_or(AppError::NotFound)?;
    let bound = state.db.utility_accounts(s.holder_id).await?;
    let buildings = state.db.buildings().await?;
    let autos = state.db.autobuys(Some(s.holder_id)).await?;
    let mut offers = Vec::new();
    let mut purchases = Vec::new();
    for utility in Utility::ALL.iter().copied() {
        let account = bound.of(BoundKind::of(utility)).map(|b| b.account.as_str());
        let (Some(biller), Some(account)) = (state.billers.selling(utility), account) else {
            continue;
        };
        // A biller that does not answer leaves the reading out; buying still works.
        let left_milli = match biller.lookup(utility, account).await {
            Ok(reading) => reading.and_then(|r| r.left_milli),
            Err(e) => {
                tracing::warn!(biller = biller.code(), error = %e, "biller lookup failed");
                None
            }
        };
        let range = rules::quantity_range(utility);
        offers.push(UtilityOffer {
            utility,
            unit_price: biller.unit_price(utility),
            min: *range.start(),
            max: *range.end(),
            left_milli,
            auto: autos
                .iter()
                .find(|a| a.utility == utility)
                .map(|a| (a.below_milli / 1000, a.quantity)),
        });
    }
    for kind in [BoundKind::Room, BoundKind::Network] {
        let Some(b) = bound.of(kind) else { continue };
        for p in state.db.purchases_for(kind, &b.account, SHOWN).await? {
            let bought_at = p.charged_at().map_err(super::internal)?;
            let shown = rules::shown(s.holder_id, b.bound_at, p.holder_id, p.utility, bought_at);
            if shown != Shown::Hidden {
                purchases.push(view(&p, s.holder_id, shown));
            }
        }
    }
    purchases.sort_by(|a, b| b.at.cmp(&a.at));
    Ok(UtilitiesPage {
        balance,
        room: bound.room.map(|b| b.account),
        network: bound.network.map(|b| b.account),
        buildings,
        offers,
        purchases,
        request_key: new_request_key(),
        available: !state.billers.0.is_empty(),
    })
}

fn bind_audit(s: &HolderSession, client: &Client, kind: BoundKind, account: &str) -> Audit {
    Audit {
        actor: Actor::Holder(s.holder_id),
        action: AuditAction::UtilityBind,
        holder_id: Some(s.holder_id),
        target: AuditText::none(),
        before: AuditText::none(),
        after: Fact::Text(format!("{}: {account}", kind.as_str())).into(),
        reason: Phrase::SelfService.stored(),
        ip: client.ip.clone(),
    }
}

/// Binds the holder's room (a building and room on the campus's list). Answers it as bound
/// ("building-room").
pub async fn bind_room(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    building: &str,
    room: &str,
) -> Result<String, AppError> {
    let account = rules::room_account(building, room).map_err(AppError::Rejected)?;
    let bound = state
        .db
        .bind_utility_account(
            s.holder_id,
            BoundKind::Room,
            Some(&account),
            Some((building.trim(), room.trim())),
            state.now(),
            bind_audit(s, client, BoundKind::Room, &account),
        )
        .await?;
    if !bound {
        return Err(AppError::Rejected(Problem::UnknownUtilityAccount));
    }
    Ok(account)
}

/// Binds the holder's campus network account, if the network's biller knows it.
pub async fn bind_network(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    account: &str,
) -> Result<String, AppError> {
    let biller = state
        .billers
        .selling(Utility::Network)
        .ok_or(AppError::Rejected(Problem::BillerUnavailable))?;
    let account = rules::check_network_account(account).map_err(AppError::Rejected)?;
    let account = account.as_str();
    let known = biller
        .lookup(Utility::Network, account)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "network biller lookup failed");
            AppError::Rejected(Problem::BillerUnavailable)
        })?;
    if known.is_none() {
        return Err(AppError::Rejected(Problem::UnknownUtilityAccount));
    }
    state
        .db
        .bind_utility_account(
            s.holder_id,
            BoundKind::Network,
            Some(account),
            None,
            state.now(),
            bind_audit(s, client, BoundKind::Network, account),
        )
        .await?;
    Ok(account.to_string())
}

/// Buys `quantity` of `utility` for the holder's bound room or network account, charged from
/// the balance; the biller is then asked to deliver. The same form (`request_key`) sent again
/// answers the first purchase and charges nothing.
pub async fn buy(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    utility: &str,
    quantity: &str,
    request_key: &str,
) -> Result<PurchaseMade, AppError> {
    let utility = utility_of(utility)?;
    let request_key = request_key.trim();
    if request_key.is_empty() || request_key.len() > 64 {
        return Err(AppError::Invalid("bad request key".into()));
    }
    let quantity = rules::check_quantity(utility, quantity).map_err(AppError::Rejected)?;
    let account = state
        .db
        .utility_accounts(s.holder_id)
        .await?
        .of(BoundKind::of(utility))
        .map(|b| b.account.clone())
        .ok_or(AppError::Rejected(Problem::NoUtilityAccount))?;
    let by = Buyer {
        holder_id: s.holder_id,
        actor: Actor::Holder(s.holder_id),
        reason: Phrase::SelfService.stored(),
        ip: client.ip.clone(),
    };
    match charge(
        state,
        &by,
        utility,
        quantity,
        account,
        request_key,
        state.now(),
    )
    .await?
    .map_err(AppError::Rejected)?
    {
        PurchaseStart::Earlier(p) => Ok(PurchaseMade {
            purchase: view(&p, s.holder_id, Shown::Whole),
            balance: None,
            repeated: true,
        }),
        PurchaseStart::Charged { purchase, balance } => Ok(PurchaseMade {
            purchase: view(&purchase, s.holder_id, Shown::Whole),
            balance: Some(balance),
            repeated: false,
        }),
    }
}

/// Who buys, as the audit record names them: the holder in the portal, or the system for the
/// holder's automatic top-up.
struct Buyer {
    holder_id: i64,
    actor: Actor,
    reason: String,
    ip: String,
}

/// Charges a purchase checked already (its quantity, the bound account) and asks the biller to
/// deliver it; the same form key answers the earlier purchase and charges nothing.
async fn charge(
    state: &AppState,
    by: &Buyer,
    utility: Utility,
    quantity: i64,
    account: String,
    request_key: &str,
    now: DateTime<Utc>,
) -> Result<Result<PurchaseStart, Problem>, AppError> {
    let Some(biller) = state.billers.selling(utility).cloned() else {
        return Ok(Err(Problem::BillerUnavailable));
    };
    let amount = rules::price(biller.unit_price(utility), quantity).map_err(super::internal)?;
    let profile = state
        .campus
        .get(&state.db)
        .await?
        .ok_or_else(|| super::internal("no campus profile"))?;
    let reference = new_reference(utility, now);
    let audit = Audit {
        actor: by.actor,
        action: AuditAction::UtilityPurchase,
        holder_id: Some(by.holder_id),
        target: Fact::Reference(reference.clone()).into(),
        before: AuditText::none(),
        after: AuditText::none(),
        reason: by.reason.clone(),
        ip: by.ip.clone(),
    };
    let started = state
        .db
        .start_purchase(
            &NewPurchase {
                holder_id: by.holder_id,
                request_key: request_key.to_string(),
                reference,
                biller: biller.code().to_string(),
                utility,
                account,
                quantity,
                amount,
                campus_max_daily: profile.max_daily_limit,
                day_start: day_start(now),
            },
            now,
            audit,
        )
        .await?;
    if let Ok(PurchaseStart::Charged { purchase, .. }) = &started {
        ask_delivery(state, purchase).await;
    }
    Ok(started)
}

/// Saves the holder's automatic top-up of a room utility (below a threshold, buy a quantity,
/// at most once a day), confirmed with the query password (a wrong one counts towards the
/// lockout like a wrong login).
pub async fn save_autobuy(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    utility: &str,
    below: &str,
    quantity: &str,
    password: &str,
) -> Result<(), AppError> {
    let utility = utility_of(utility)?;
    let (below_milli, quantity) =
        rules::check_autobuy(utility, below, quantity).map_err(AppError::Rejected)?;
    // For the room bound now: binding another room later leaves this one's setting idle.
    let room = state
        .db
        .utility_accounts(s.holder_id)
        .await?
        .room
        .map(|b| b.account)
        .ok_or(AppError::Rejected(Problem::NoUtilityAccount))?;
    super::portal::confirm_password(state, s, password).await?;
    let after = Fact::Text(format!(
        "{utility} {room}: < {} → {quantity}",
        below_milli / 1000
    ));
    let setting = super::store::AutoBuySetting {
        room,
        below_milli,
        quantity,
    };
    set_autobuy(state, s, client, utility, Some(setting), after).await
}

/// Switches the holder's automatic top-up of a room utility off.
pub async fn remove_autobuy(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    utility: &str,
) -> Result<(), AppError> {
    let utility = utility_of(utility)?;
    set_autobuy(state, s, client, utility, None, Fact::Said(Phrase::Off)).await
}

fn utility_of(text: &str) -> Result<Utility, AppError> {
    Utility::parse(text.trim()).ok_or_else(|| AppError::Invalid("unknown utility".into()))
}

/// Stores an automatic top-up setting (or its removal) with the holder's audit record.
async fn set_autobuy(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    utility: Utility,
    setting: Option<super::store::AutoBuySetting>,
    after: Fact,
) -> Result<(), AppError> {
    let audit = Audit {
        actor: Actor::Holder(s.holder_id),
        action: AuditAction::UtilityAutoBuy,
        holder_id: Some(s.holder_id),
        target: AuditText::none(),
        before: AuditText::none(),
        after: after.into(),
        reason: if setting.is_some() {
            Phrase::SelfServiceConfirmed.stored()
        } else {
            Phrase::SelfService.stored()
        },
        ip: client.ip.clone(),
    };
    state
        .db
        .save_autobuy(s.holder_id, utility, setting.as_ref(), state.now(), audit)
        .await?;
    Ok(())
}

/// Runs every automatic room top-up whose meter reads below its threshold: one purchase per
/// utility and campus day (its form key), from the balance, within the daily limit. Answers
/// how many purchases were charged.
pub async fn auto_buy(state: &AppState) -> Result<usize, AppError> {
    let mut charged = 0;
    for setting in state.db.autobuys(None).await? {
        match auto_buy_one(state, &setting).await {
            Ok(true) => charged += 1,
            Ok(false) => {}
            // One holder's failure does not hold up the others' top-ups.
            Err(e) => tracing::error!(holder_id = setting.holder_id, error = %e,
                "automatic room top-up could not run"),
        }
    }
    Ok(charged)
}

/// One holder's automatic top-up of one utility, for the room the setting was made for.
/// Answers whether it charged a purchase.
async fn auto_buy_one(state: &AppState, setting: &super::store::AutoBuy) -> Result<bool, AppError> {
    let Some(biller) = state.billers.selling(setting.utility) else {
        return Ok(false);
    };
    let reading = match biller.lookup(setting.utility, &setting.room).await {
        Ok(reading) => reading.and_then(|r| r.left_milli),
        Err(e) => {
            tracing::warn!(error = %e, "biller lookup failed; automatic top-up waits");
            return Ok(false);
        }
    };
    // A purchase for this room's meter still on its way (a roommate's, or the holder's own)
    // has not reached the reading yet.
    let on_its_way = state
        .db
        .purchases_for(BoundKind::Room, &setting.room, 20)
        .await?
        .iter()
        .any(|p| p.utility == setting.utility && p.status == PurchaseStatus::Pending);
    if !rules::wants_autobuy(reading, setting.below_milli, on_its_way) {
        return Ok(false);
    }
    let by = Buyer {
        holder_id: setting.holder_id,
        actor: Actor::System,
        reason: Phrase::AutomaticTopUp.stored(),
        ip: String::new(),
    };
    // The day's key and the daily limit from the same moment.
    let now = state.now();
    let key = rules::autobuy_key(setting.utility, super::domain::calendar::campus_date(now));
    let started = charge(
        state,
        &by,
        setting.utility,
        setting.quantity,
        setting.room.clone(),
        &key,
        now,
    )
    .await?;
    match started {
        Ok(PurchaseStart::Charged { .. }) => Ok(true),
        Ok(PurchaseStart::Earlier(_)) => Ok(false),
        Err(problem) => {
            tracing::info!(
                holder_id = setting.holder_id,
                ?problem,
                "automatic room top-up not made"
            );
            Ok(false)
        }
    }
}

/// Asks the purchase's biller to deliver. A biller that cannot be reached now is asked again
/// by `follow_up`; the purchase waits, charged, meanwhile.
async fn ask_delivery(state: &AppState, p: &PurchaseRow) {
    let Some(biller) = state.billers.by_code(&p.biller) else {
        tracing::error!(reference = %p.reference, biller = %p.biller, "purchase of an unknown biller");
        return;
    };
    let delivery = Delivery {
        reference: p.reference.clone(),
        utility: p.utility,
        account: p.account.clone(),
        quantity: p.quantity,
        amount: p.amount,
    };
    if let Err(e) = biller.deliver(&delivery).await {
        tracing::warn!(reference = %p.reference, error = %e, "delivery not taken yet; will ask again");
    }
}

/// Settles a purchase of `biller` by its outcome. Answers the purchase's status after it.
async fn settle(
    state: &AppState,
    biller: &str,
    n: &DeliveryNotice,
) -> Result<PurchaseStatus, NoticeError> {
    let outcome = match rules::delivered(&n.status) {
        Some(true) => Outcome::Delivered {
            biller_ref: n.biller_ref.clone(),
        },
        Some(false) => Outcome::Failed {
            reason: n.reason.clone(),
        },
        None => return Err(NoticeError::Malformed(format!("status {}", n.status))),
    };
    let settled = state
        .db
        .settle_purchase(
            biller,
            &n.reference,
            Money::from_fen(n.amount_fen),
            &outcome,
            state.now(),
        )
        .await
        .map_err(|e| NoticeError::Internal(e.to_string()))?;
    match settled {
        Settled::Unknown => Err(NoticeError::UnknownPurchase),
        Settled::Refused(OutcomeRefused::AmountDiffers) => {
            tracing::error!(reference = %n.reference, notified = n.amount_fen,
                "biller outcome names another amount than the purchase; nothing settled");
            Err(NoticeError::AmountMismatch)
        }
        Settled::Done { settle, purchase } => {
            match settle {
                Settle::Deliver => {
                    tracing::info!(reference = %purchase.reference, "purchase delivered")
                }
                Settle::Refund { .. } => {
                    tracing::info!(reference = %purchase.reference, "delivery failed; refunded")
                }
                Settle::Repeated => {
                    tracing::info!(reference = %purchase.reference, "repeated outcome; nothing to do")
                }
                Settle::Contradicts(was) => tracing::error!(
                    reference = %purchase.reference, settled = %was, said = %n.status,
                    "biller outcome contradicts the settled purchase; nothing changed but its audit record, follow up with the biller"
                ),
            }
            Ok(purchase.status)
        }
    }
}

/// A biller's signed notification (from the HTTP endpoint or a sandbox biller's own
/// delivery). Answers the purchase's status after it.
pub async fn notify(
    state: &AppState,
    biller_code: &str,
    signature: &str,
    body: &[u8],
) -> Result<PurchaseStatus, NoticeError> {
    let biller = state
        .billers
        .by_code(biller_code)
        .ok_or(NoticeError::UnknownBiller)?;
    let n = biller.verify_notification(signature, body)?;
    // A biller speaks only of its own purchases (`settle_purchase` checks).
    settle(state, biller_code, &n).await
}

/// Asks the billers about purchases still waiting for an outcome: settled if the biller has
/// one, asked to deliver again (the same reference: the same delivery) if not. Each is asked
/// again later, less often as it ages (`domain::utilities::next_ask`); one waiting a day is
/// reported to the operators once (`utility.overdue`), and its money stays charged until the
/// biller's word.
pub async fn follow_up(state: &AppState) -> Result<(), super::StoreError> {
    let started = state.now();
    let waiting = state
        .db
        .pending_purchases(
            started - rules::FIRST_ASK,
            started,
            started + rules::ASK_HORIZON,
        )
        .await?;
    for p in waiting {
        // The time of this purchase's turn: asking the ones before it took a while.
        let now = state.now();
        let created = p.charged_at().unwrap_or(now);
        // One server asks: the one that takes the ask.
        match state
            .db
            .claim_purchase_ask(
                p.id,
                now,
                now + rules::ASK_HORIZON,
                rules::next_ask(created, now),
            )
            .await
        {
            Ok(true) => ask_about(state, &p).await,
            Ok(false) => continue,
            Err(e) => {
                tracing::error!(reference = %p.reference, error = %e, "purchase follow-up could not be recorded");
                continue;
            }
        }
        if rules::overdue(created, now) {
            let audit = Audit::of_purchase(
                AuditAction::UtilityOverdue,
                p.holder_id,
                &p.reference,
                rules::overdue_audit(p.amount),
            );
            match state.db.report_overdue_purchase(p.id, &audit, now).await {
                Ok(true) => tracing::error!(reference = %p.reference, biller = %p.biller,
                    "purchase without an outcome for a day; reported to the operators (utility.overdue)"),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(reference = %p.reference, error = %e, "overdue purchase could not be reported")
                }
            }
        }
    }
    Ok(())
}

/// Asks a waiting purchase's biller for its outcome, and settles by it or asks for the
/// delivery again. A purchase of a biller no longer configured is only reported (above).
async fn ask_about(state: &AppState, p: &PurchaseRow) {
    let Some(biller) = state.billers.by_code(&p.biller) else {
        tracing::error!(reference = %p.reference, biller = %p.biller, "waiting purchase of an unknown biller");
        return;
    };
    match biller.outcome(&p.reference).await {
        Ok(Some(n)) if n.reference != p.reference => tracing::error!(
            reference = %p.reference, answered = %n.reference,
            "biller answered about another delivery; nothing settled"
        ),
        Ok(Some(n)) => {
            if let Err(e) = settle(state, &p.biller, &n).await {
                tracing::error!(reference = %p.reference, error = %e, "follow-up outcome refused");
            }
        }
        Ok(None) => ask_delivery(state, p).await,
        Err(e) => tracing::warn!(reference = %p.reference, error = %e, "biller unavailable"),
    }
}

/// Runs `auto_buy` every minute.
pub fn run_automatic_top_ups(state: AppState) {
    // Its own task: reading meters must not hold up the billers' notifications.
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        every_minute.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every_minute.tick().await;
            if let Err(e) = auto_buy(&state).await {
                tracing::error!(error = %e, "automatic room top-ups could not run");
            }
        }
    });
}

/// Runs the sandbox billers' notifications into `notify`, and `follow_up` every minute.
pub fn run(
    state: AppState,
    mut notices: tokio::sync::mpsc::UnboundedReceiver<super::billers::Notice>,
) {
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tokio::select! {
                notice = notices.recv() => {
                    let Some((code, signature, body)) = notice else { break };
                    if let Err(e) = notify(&state, &code, &signature, &body).await {
                        tracing::error!(biller = %code, error = %e, "biller notification refused");
                    }
                }
                _ = every_minute.tick() => {
                    if let Err(e) = follow_up(&state).await {
                        tracing::error!(error = %e, "purchase follow-up could not run");
                    }
                }
            }
        }
    });
}

/// Adds the rooms of a list an administrator pasted (`domain::utilities::parse_room_list`:
/// refused whole, naming the line), with a `rooms.add` audit record.
pub async fn add_rooms(
    state: &AppState,
    staff: &StaffSession,
    list: &str,
) -> Result<crate::utility_model::RoomsAdded, AppError> {
    let rooms = rules::parse_room_list(list).map_err(AppError::Rejected)?;
    let audit = staff.audit(AuditAction::RoomsAdd, None, AuditText::none(), "");
    let added = state.db.add_rooms(&rooms, Some(audit), state.now()).await?;
    Ok(crate::utility_model::RoomsAdded {
        listed: rooms.len(),
        added,
    })
}

/// Takes a room off the list, with a `rooms.remove` audit record: refused while students have
/// it bound.
pub async fn remove_room(
    state: &AppState,
    staff: &StaffSession,
    building: &str,
    room: &str,
    reason: &str,
) -> Result<(), AppError> {
    let reason = super::domain::audit::reason(reason)?;
    let account = rules::room_account(building, room).map_err(AppError::Rejected)?;
    let audit = staff.audit(
        AuditAction::RoomsRemove,
        None,
        Fact::Room(account.clone()),
        reason,
    );
    state
        .db
        .remove_room(building.trim(), room.trim(), &account, audit, state.now())
        .await?
        .map_err(AppError::Rejected)
}

/// The purchases still waiting for their billers, oldest first, for the card office to follow
/// up (administrators and auditors): overdue ones were reported to the operators.
pub async fn waiting(state: &AppState) -> Result<crate::utility_model::WaitingPurchases, AppError> {
    use crate::utility_model::{WAITING_SHOWN, WaitingPurchase, WaitingPurchases};
    let now = state.now();
    let mut rows = state.db.waiting_purchases(WAITING_SHOWN as i64 + 1).await?;
    let more = rows.len() > WAITING_SHOWN;
    rows.truncate(WAITING_SHOWN);
    let rows = rows
        .into_iter()
        .map(|w| {
            let p = w.purchase;
            let created = p.charged_at().map_err(super::internal)?;
            Ok(WaitingPurchase {
                overdue: rules::overdue(created, now),
                reference: p.reference,
                biller: p.biller,
                holder_id: p.holder_id,
                student_no: w.student_no,
                utility: p.utility,
                account: p.account,
                quantity: p.quantity,
                amount: p.amount,
                charged_at: p.created_at,
                next_ask_at: w.next_ask_at,
                reported_at: w.overdue_at,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(WaitingPurchases { rows, more })
}

/// A biller's settlement for one campus day (`day`: `YYYY-MM-DD`, today when empty): our
/// purchases of the day matched with the biller's statement of the day and its word on each of
/// our purchases it left out (one delivered after midnight), by `domain::settlement::settle`.
pub async fn settlement(
    state: &AppState,
    biller: &str,
    day: &str,
) -> Result<crate::utility_model::BillerSettlement, AppError> {
    use super::domain::calendar::{campus_date, local_midnight};
    use super::domain::settlement::{Ours, Theirs, settle};
    use crate::utility_model::BillerSettlement;
    let codes: Vec<String> = state
        .billers
        .0
        .iter()
        .map(|b| b.code().to_string())
        .collect();
    let biller = match biller.trim() {
        "" => state.billers.0.first(),
        code => state.billers.by_code(code),
    }
    .ok_or(AppError::Rejected(Problem::BillerUnavailable))?;
    let date = match day.trim() {
        "" => campus_date(state.now()),
        text => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| AppError::Rejected(Problem::DateFormat))?,
    };
    let (from, until) = (
        local_midnight(date),
        local_midnight(
            date.succ_opt()
                .ok_or(AppError::Rejected(Problem::DateFormat))?,
        ),
    );
    let ours: Vec<PurchaseRow> = state
        .db
        .purchases_of_biller(biller.code(), from, until)
        .await?;
    let unavailable = |e: super::billers::BillerError| {
        tracing::warn!(biller = biller.code(), error = %e, "biller statement unavailable");
        AppError::Rejected(Problem::BillerUnavailable)
    };
    let of_the_day: std::collections::HashSet<&str> =
        ours.iter().map(|p| p.reference.as_str()).collect();
    let mut theirs: Vec<Theirs> = Vec::new();
    let mut listed = std::collections::HashSet::new();
    let mut statement = biller.statement(from, until).await.map_err(unavailable)?;
    for p in ours.iter() {
        // What the statement left out (delivered after midnight): the biller's word on it.
        if !statement.iter().any(|n| n.reference == p.reference)
            && let Some(n) = biller.outcome(&p.reference).await.map_err(unavailable)?
            && n.reference == p.reference
        {
            statement.push(n);
        }
    }
    for n in statement {
        let Some(delivered) = rules::delivered(&n.status) else {
            tracing::warn!(biller = biller.code(), reference = %n.reference, status = %n.status,
                "statement line with an unknown status left out");
            continue;
        };
        // A purchase of another day delivered on this one is settled with its own day.
        if !of_the_day.contains(n.reference.as_str())
            && state
                .db
                .purchase(&n.reference)
                .await?
                .is_some_and(|p| p.biller == biller.code())
        {
            continue;
        }
        if listed.insert(n.reference.clone()) {
            theirs.push(Theirs {
                reference: n.reference,
                amount: Money::from_fen(n.amount_fen),
                delivered,
            });
        }
    }
    let ours: Vec<Ours> = ours
        .into_iter()
        .map(|p| Ours {
            reference: p.reference,
            amount: p.amount,
            status: p.status,
        })
        .collect();
    let s = settle(&ours, &theirs);
    Ok(BillerSettlement {
        billers: codes,
        biller: biller.code().to_string(),
        day: date.to_string(),
        settlement: s,
    })
}
