//! The holder's inbox: the notices the stores wrote with their events
//! (`server::domain::notices` decides which), marking them read, and the holder's choices.

use super::AppState;
use super::domain::notices::{self as rules, PrefsForm};
use crate::error::AppError;
use crate::notice_model::{NoticePrefs, NoticesPage};

/// How many notices the inbox shows.
pub const INBOX_SIZE: i64 = 50;

pub async fn page(state: &AppState, holder_id: i64) -> Result<NoticesPage, AppError> {
    Ok(NoticesPage {
        notices: state.db.notices(holder_id, INBOX_SIZE).await?,
        unread: state.db.unread_notices(holder_id).await?,
        prefs: state.db.notice_prefs(holder_id).await?,
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
