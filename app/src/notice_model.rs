//! What the portal's inbox sends to the browser: a cardholder's notices about their own card,
//! the unread count for the bell, and what they chose to hear about.

use crate::model::{Localized, Money, NoticeKind};
use serde::{Deserialize, Serialize};

/// One notice, newest first in the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeView {
    pub id: i64,
    pub kind: NoticeKind,
    /// RFC 3339.
    pub at: String,
    /// The money it is about and the balance after, where it is about money.
    pub amount: Option<Money>,
    pub balance: Option<Money>,
    /// Where a payment was made.
    pub place: Option<Localized>,
    pub read: bool,
}

/// The inbox: the newest notices, how many are unread, the holder's choices and e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticesPage {
    pub notices: Vec<NoticeView>,
    pub unread: i64,
    pub prefs: NoticePrefs,
    /// The holder's address for notices, if they gave one.
    pub email: Option<EmailView>,
    /// The campus has a mail server: notices can go out by e-mail.
    pub email_available: bool,
    /// Notices by Web Push, when the server can send them: its key and the holder's browsers.
    pub push: Option<PushView>,
}

/// What a browser needs to subscribe (the server's VAPID public key, base64url), and the
/// holder's subscribed browsers, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushView {
    pub key: String,
    pub browsers: Vec<PushBrowser>,
}

/// A browser the holder's notices are pushed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushBrowser {
    pub id: i64,
    /// "Chrome on Android", where the browser said.
    pub label: Option<String>,
    /// The push service's URL for it: the page compares it with its own browser's.
    pub endpoint: String,
    /// RFC 3339.
    pub since: String,
}

/// A holder's address for notices: confirmed (its link opened), or waiting for that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailView {
    pub address: String,
    pub confirmed: bool,
}

/// What a cardholder wants to hear about. Security notices (a lost report, a password or a
/// phone changed, the account frozen) cannot be switched off and are not listed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticePrefs {
    /// Payments above this amount (zero: every payment); `None`: no payment notices.
    pub payment_above: Option<Money>,
    /// The balance falling below this amount; `None`: never.
    pub low_balance_below: Option<Money>,
    /// Top-ups credited, and automatic top-ups that failed.
    pub topups: bool,
    /// Bills issued to the holder.
    pub bills: bool,
    /// 缴费: a purchase that was not delivered and came back.
    pub utilities: bool,
    /// Which of those also go by e-mail (to a confirmed address). Security notices always do.
    pub email: ChannelChoices,
    /// Which of those are also pushed to the holder's browsers. Security notices always are.
    pub push: ChannelChoices,
}

impl Default for NoticePrefs {
    fn default() -> Self {
        Self {
            payment_above: Some(Money::ZERO),
            low_balance_below: Some(Money::yuan(20)),
            topups: true,
            bills: true,
            utilities: true,
            email: ChannelChoices::default(),
            push: ChannelChoices::default(),
        }
    }
}

/// The notices a holder wants by a channel (e-mail, push) as well as in the inbox, by event.
/// By default all of them: an address is given, and a browser subscribed, to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelChoices {
    pub payments: bool,
    pub low_balance: bool,
    pub topups: bool,
    pub bills: bool,
    pub utilities: bool,
}

impl Default for ChannelChoices {
    fn default() -> Self {
        Self {
            payments: true,
            low_balance: true,
            topups: true,
            bills: true,
            utilities: true,
        }
    }
}

/// An e-mail given up after its last try, for the operators (`/staff/reports`): whose, to
/// which address (masked), what, how often it was tried and the mail server's last answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedNoticeView {
    pub id: i64,
    pub student_no: String,
    pub address: String,
    pub subject: String,
    pub attempts: i64,
    pub last_error: String,
    /// RFC 3339.
    pub created_at: String,
}
