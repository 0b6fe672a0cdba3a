//! The store's part of announcements: publishing one, withdrawing it, and reading the ones
//! not yet over. Who sees which is `server::domain::announcements::shown`, asked by the service.

use super::{Audit, StoreError};
use crate::portal_model::{AnnouncementView, Problem};
use crate::server::domain::announcements::AnnouncementDraft;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// An announcement with its window as instants, for `domain::announcements::shown`.
#[derive(Debug, Clone)]
pub struct AnnouncementRow {
    pub view: AnnouncementView,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub withdrawn: bool,
}

#[async_trait]
pub trait AnnouncementStore: Send + Sync {
    /// Publishes an announcement with its audit record (whose `after` the store fills in from
    /// the new number: `domain::announcements::publish_audit`). Answers its number.
    async fn publish_announcement(
        &self,
        draft: &AnnouncementDraft,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<i64, StoreError>;

    async fn withdraw_announcement(
        &self,
        id: i64,
        staff_id: i64,
        reason: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Result<(), Problem>, StoreError>;

    /// The announcements not withdrawn whose window has not ended at `now`, soonest first.
    async fn live_announcements(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<AnnouncementRow>, StoreError>;

    /// Every announcement, newest first.
    async fn announcements(&self, limit: i64) -> Result<Vec<AnnouncementRow>, StoreError>;
}
