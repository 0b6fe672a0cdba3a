//! The store's part of notices: the holder's inbox, its unread count, marking it read, and the
//! holder's choices. Notices are written by the writes whose events they tell of, in the same
//! transaction (`sql::notices`), as `server::domain::notices` decides.

use super::StoreError;
use crate::notice_model::{NoticePrefs, NoticeView};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// The holder's newest notices, at most `limit`.
    async fn notices(&self, holder_id: i64, limit: i64) -> Result<Vec<NoticeView>, StoreError>;

    /// How many of the holder's notices are unread (the bell).
    async fn unread_notices(&self, holder_id: i64) -> Result<i64, StoreError>;

    /// Marks the holder's unread notices up to `up_to` (their number, inclusive) read at `now`:
    /// a notice that arrived after the page was shown stays unread. Answers how many.
    async fn mark_notices_read(
        &self,
        holder_id: i64,
        up_to: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// The holder's choices, or the defaults if none were saved.
    async fn notice_prefs(&self, holder_id: i64) -> Result<NoticePrefs, StoreError>;

    async fn save_notice_prefs(
        &self,
        holder_id: i64,
        prefs: &NoticePrefs,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
