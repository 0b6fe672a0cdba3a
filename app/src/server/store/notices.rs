//! The store's part of notices: the holder's inbox, its unread count, marking it read, and the
//! holder's choices. Notices are written by the writes whose events they tell of, in the same
//! transaction (`sql::notices`), as `server::domain::notices` decides. The `notices` table is
//! also the outbox of e-mail and Web Push: the worker (`server::courier`) dispatches each notice
//! once, and takes, sends and finishes the deliveries (`server::domain::delivery` decides
//! when). A holder's subscribed browsers are kept here too.

use super::StoreError;
use crate::notice_model::{NoticePrefs, NoticeView};
use crate::portal_model::Problem;
use crate::server::domain::notices::Channel;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A holder's e-mail address for notices, and whether they confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeEmail {
    pub address: String,
    pub confirmed: bool,
}

/// A notice the worker has not dispatched yet, with its holder's confirmed address (if any).
#[derive(Debug, Clone)]
pub struct Undispatched {
    pub holder_id: i64,
    pub security: bool,
    pub notice: NoticeView,
    pub address: Option<String>,
}

/// A message to hand to the mail server or a push service (`domain::delivery`).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub holder_id: i64,
    pub notice_id: Option<i64>,
    pub channel: Channel,
    /// An e-mail address, or a subscription's endpoint.
    pub address: String,
    /// A push's subscription (the delivery is written only while it is the holder's).
    pub subscription_id: Option<i64>,
    pub subject: String,
    pub body: String,
    /// Its Message-ID's left part: one per notice or confirmation request.
    pub key: String,
    pub next_at: DateTime<Utc>,
}

/// A delivery a sender took (its lease is `domain::delivery::LEASE`).
#[derive(Debug, Clone)]
pub struct Taken {
    pub id: i64,
    pub holder_id: i64,
    pub channel: Channel,
    pub address: String,
    pub subscription_id: Option<i64>,
    /// A push delivery's subscription keys (`p256dh`, `auth`), while that subscription is still
    /// its holder's.
    pub keys: Option<(String, String)>,
    pub subject: String,
    pub body: String,
    pub key: String,
    /// This try's number (1 for the first); also the taker's hold on it: a sender whose lease
    /// ran out and was taken over cannot record its outcome (`finish_delivery`).
    pub attempts: i64,
    /// Sent in quiet hours too, retries included: a security notice, or a confirmation link
    /// (the holder is waiting for it).
    pub urgent: bool,
}

/// How a try ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tried {
    Sent,
    Again { at: DateTime<Utc>, error: String },
    GaveUp { error: String },
}

/// A delivery given up, for the operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDelivery {
    pub id: i64,
    pub holder_id: i64,
    pub student_no: String,
    pub channel: Channel,
    pub address: String,
    pub subject: String,
    pub attempts: i64,
    pub last_error: String,
    pub created_at: DateTime<Utc>,
}

/// A browser's subscription as the holder's session hands it in.
#[derive(Debug, Clone)]
pub struct NewSubscription<'a> {
    pub endpoint: &'a str,
    /// (`p256dh`, `auth`), base64url.
    pub keys: (&'a str, &'a str),
    pub label: Option<&'a str>,
    /// The subscribing session's token hash, and the browser cookie's hash.
    pub session_hash: &'a str,
    pub browser_hash: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// A browser a holder subscribed to pushed notices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    pub id: i64,
    pub endpoint: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
}

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

    /// The holder's address for notices, if they gave one.
    async fn notice_email(&self, holder_id: i64) -> Result<Option<NoticeEmail>, StoreError>;

    /// Replaces the holder's address with an unconfirmed one (`token_hash`: its link's), drops
    /// what was still waiting to go to the old one, and queues the confirmation message, in one
    /// transaction; refused when the last link was asked for a moment ago
    /// (`domain::delivery::may_ask_again`).
    async fn request_notice_email(
        &self,
        holder_id: i64,
        address: &str,
        token_hash: &str,
        confirmation: &NewDelivery,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Problem>, StoreError>;

    /// Confirms the address whose link's token hashes to `token_hash`, if it was asked for at
    /// or after `asked_since`. Answers its holder.
    async fn confirm_notice_email(
        &self,
        token_hash: &str,
        asked_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;

    /// Forgets the holder's address, and drops what was still waiting to go to it.
    async fn remove_notice_email(&self, holder_id: i64) -> Result<(), StoreError>;

    /// The oldest notices not yet dispatched, at most `limit`.
    async fn undispatched_notices(&self, limit: i64) -> Result<Vec<Undispatched>, StoreError>;

    /// Marks dispatched, without any delivery, every notice written before `before` not yet
    /// dispatched (too old to send: `domain::delivery::DISPATCH_WITHIN`). Answers how many.
    async fn skip_stale_notices(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes the browsers whose sessions were ended before `before`, with what still waited
    /// for them. Answers how many.
    async fn purge_ended_pushes(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Marks a notice dispatched and writes its delivery, if any, in one transaction; a notice
    /// dispatched already (by another server) is left alone.
    async fn dispatch_notice(
        &self,
        notice_id: i64,
        deliveries: &[NewDelivery],
    ) -> Result<(), StoreError>;

    /// Takes the delivery due at `now` that has waited longest and that no sender holds,
    /// holding it until `lease_until`, and counts the try.
    async fn take_delivery(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Taken>, StoreError>;

    /// Records how a try of a delivery ended (and lets go of it). Answers false when the
    /// sender no longer held it (its lease ran out and another sender took it).
    async fn finish_delivery(
        &self,
        taken: &Taken,
        tried: &Tried,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes, at most `limit` of each, the e-mail deliveries written before `before` that
    /// are finished (sent or given up), then the notices written before it that no delivery
    /// names any more: one whose e-mail is still being tried stays. Answers how many notices
    /// and deliveries were deleted.
    async fn prune_notices(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<(u64, u64), StoreError>;

    /// Deliveries given up, newest first.
    async fn failed_deliveries(&self, limit: i64) -> Result<Vec<FailedDelivery>, StoreError>;

    /// Subscribes a browser for the holder (`endpoint` unique: a browser another holder had
    /// subscribed is theirs no longer, and what waited for them there is dropped), then forgets
    /// the holder's oldest beyond `domain::push::MAX_BROWSERS`, in one transaction. Answers
    /// false when another holder subscribed the same browser at the same moment.
    async fn subscribe_push(
        &self,
        holder_id: i64,
        s: &NewSubscription<'_>,
    ) -> Result<bool, StoreError>;

    /// The holder's subscribed browsers, newest first; with `ended_since`, also those whose
    /// sessions were ended at or after it (a security notice written then still goes there).
    async fn push_subscriptions(
        &self,
        holder_id: i64,
        ended_since: Option<DateTime<Utc>>,
    ) -> Result<Vec<PushSubscription>, StoreError>;

    /// Forgets one of the holder's browsers still listed (not one whose session was ended), and
    /// what still waits to be pushed to it. Answers whether there was one.
    async fn unsubscribe_push(&self, holder_id: i64, id: i64) -> Result<bool, StoreError>;

    /// Forgets a subscription its push service says is gone (if it is still the holder's),
    /// and what still waits for it.
    async fn forget_push_subscription(&self, holder_id: i64, id: i64) -> Result<(), StoreError>;

    /// Forgets the holder's subscriptions made in the browser whose cookie hashes to
    /// `browser_hash` (the holder logged out there).
    async fn forget_browser_pushes(
        &self,
        holder_id: i64,
        browser_hash: &str,
    ) -> Result<(), StoreError>;
}
