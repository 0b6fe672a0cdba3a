//! The holder's inbox: the notices the stores wrote with their events
//! (`server::domain::notices` decides which), marking them read, and the holder's choices.

use super::AppState;
use super::domain::delivery;
use super::domain::notices::{self as rules, Channel, PrefsForm};
use super::domain::push as push_rules;
use crate::error::AppError;
use crate::notice_model::{EmailView, FailedNoticeView, NoticePrefs, NoticesPage};
use crate::portal_model::Problem;

/// How many notices the inbox shows.
pub const INBOX_SIZE: i64 = 50;

/// Deletes the notices and e-mails older than a year and a day (`domain::notices::kept_since`),
/// a batch at a time until a turn finds none. Answers how many notices and deliveries went.
pub async fn prune(state: &AppState) -> Result<(u64, u64), super::StoreError> {
    // Browsers ended by a password change a day ago: their last security notices have had
    // their day.
    state
        .db
        .purge_ended_pushes(state.now() - super::domain::delivery::DISPATCH_WITHIN)
        .await?;
    let before = rules::kept_since(state.now());
    let mut total = (0, 0);
    loop {
        let (notices, deliveries) = state.db.prune_notices(before, rules::PRUNE_BATCH).await?;
        if notices == 0 && deliveries == 0 {
            return Ok(total);
        }
        total = (total.0 + notices, total.1 + deliveries);
    }
}

/// Runs `prune` at start and then every hour (any server may: deleting twice deletes nothing
/// more).
pub fn run_retention(state: AppState) {
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        every_hour.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every_hour.tick().await;
            match prune(&state).await {
                Ok((0, 0)) => {}
                Ok((notices, deliveries)) => {
                    tracing::info!(notices, deliveries, "notices older than a year deleted")
                }
                Err(e) => tracing::error!(error = %e, "old notices could not be deleted"),
            }
        }
    });
}

pub async fn page(state: &AppState, holder_id: i64) -> Result<NoticesPage, AppError> {
    Ok(NoticesPage {
        notices: state.db.notices(holder_id, INBOX_SIZE).await?,
        unread: state.db.unread_notices(holder_id).await?,
        prefs: state.db.notice_prefs(holder_id).await?,
        email: state.db.notice_email(holder_id).await?.map(|e| EmailView {
            address: e.address,
            confirmed: e.confirmed,
        }),
        email_available: state.mailer.is_some(),
        push: super::push::view(state, holder_id).await?,
    })
}

/// Marks the holder's notices up to `up_to` (a notice number) read.
pub async fn mark_read(state: &AppState, holder_id: i64, up_to: &str) -> Result<u64, AppError> {
    let up_to: i64 = up_to
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid("not a notice number".into()))?;
    Ok(state
        .db
        .mark_notices_read(holder_id, up_to, state.now())
        .await?)
}

pub async fn save_prefs(
    state: &AppState,
    holder_id: i64,
    form: &PrefsForm<'_>,
) -> Result<NoticePrefs, AppError> {
    let prefs = rules::read_prefs(form).map_err(AppError::Rejected)?;
    state
        .db
        .save_notice_prefs(holder_id, &prefs, state.now())
        .await?;
    Ok(prefs)
}

/// Sends a confirmation link to `address`, which replaces the holder's address (unconfirmed
/// until the link is opened).
pub async fn request_email(
    state: &AppState,
    holder_id: i64,
    address: &str,
) -> Result<String, AppError> {
    let mailer = state
        .mailer
        .as_ref()
        .ok_or(AppError::Rejected(Problem::EmailUnavailable))?;
    let address = delivery::check_address(address).map_err(AppError::Rejected)?;
    // What the mail library will send to, too (it is stricter about some characters).
    if address.parse::<lettre::Address>().is_err() {
        return Err(AppError::Rejected(Problem::EmailAddress));
    }
    let token = super::auth::new_token();
    let hash = super::auth::token_hash(&token);
    let now = state.now();
    let key = format!("confirm-{}", &hash[..24]);
    let message = mailer.confirmation(holder_id, &address, &token, key, now);
    state
        .db
        .request_notice_email(holder_id, &address, &hash, &message, now)
        .await?
        .map_err(AppError::Rejected)?;
    Ok(address)
}

/// Opens a confirmation link: answers whether it confirmed an address.
pub async fn confirm_email(state: &AppState, token: &str) -> Result<bool, AppError> {
    if token.is_empty() || token.len() > 200 {
        return Ok(false);
    }
    let now = state.now();
    let hash = super::auth::token_hash(token);
    Ok(state
        .db
        .confirm_notice_email(&hash, now - delivery::CONFIRM_FOR, now)
        .await?
        .is_some())
}

/// The e-mails and pushes given up, newest first (at most 100), for the operators.
pub async fn failed(state: &AppState) -> Result<Vec<FailedNoticeView>, AppError> {
    Ok(state
        .db
        .failed_deliveries(100)
        .await?
        .into_iter()
        .map(|f| {
            // A mail server's answer often names the address: masked there too. A browser is
            // named by its push service's host alone.
            let shown = match f.channel {
                Channel::Email => delivery::masked_address(&f.address),
                Channel::Push => format!("Web Push · {}", push_rules::service_of(&f.address)),
            };
            FailedNoticeView {
                id: f.id,
                student_no: f.student_no,
                last_error: f.last_error.replace(&f.address, &shown),
                address: shown,
                subject: f.subject,
                attempts: f.attempts,
                created_at: super::store::Ts::new(f.created_at).text(),
            }
        })
        .collect())
}
