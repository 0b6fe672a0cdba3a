//! The holder's inbox: notices about their own card, marking them read, what to be told
//! about and the e-mail address (each the signed-in holder's own, `as_holder`); and the
//! e-mails given up, for the operators (`guarded`).

// A form's fields are a server function's arguments: the preferences form has a dozen.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::notice_model::{FailedNoticeView, NoticePrefs, NoticesPage};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::notices;

/// The newest notices, the unread count and the holder's choices.
#[server(prefix = "/api", endpoint = "notices")]
pub async fn get_notices() -> Result<NoticesPage, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        notices::page(&state, s.holder_id).await
    })
    .await
}

/// Confirms the e-mail address a confirmation link was sent to (the link's token, from the
/// page's button: opening the link alone confirms nothing). Answers whether it did; a wrong,
/// used or expired token confirms nothing. No login: the link may be opened anywhere.
#[server(prefix = "/api", endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<bool, AppError> {
    crate::api::served(|state, _client| async move {
        let confirmed = notices::confirm_email(&state, &token).await?;
        crate::api::after_plain_form(if confirmed {
            "/email/confirm?done=confirmed"
        } else {
            "/email/confirm?done=expired"
        });
        Ok(confirmed)
    })
    .await
}

/// Marks the notices up to `up_to` (the newest the page showed) read.
#[server(prefix = "/api", endpoint = "mark_notices_read")]
pub async fn mark_notices_read(up_to: String) -> Result<u64, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        let marked = notices::mark_read(&state, s.holder_id, &up_to).await?;
        crate::api::after_plain_form("/portal/notices");
        Ok(marked)
    })
    .await
}

/// Saves what the holder wants to be told about. `payments`: `every`, `above` or `none`;
/// the check boxes are present when ticked (`email_*`: that event by e-mail too; `push_*`:
/// pushed to the holder's browsers too).
#[server(prefix = "/api", endpoint = "save_notice_prefs")]
pub async fn save_notice_prefs(
    payments: String,
    #[server(default)] payment_above: String,
    #[server(default)] low_balance: Option<String>,
    #[server(default)] low_balance_below: String,
    #[server(default)] topups: Option<String>,
    #[server(default)] bills: Option<String>,
    #[server(default)] utilities: Option<String>,
    #[server(default)] email_payments: Option<String>,
    #[server(default)] email_low_balance: Option<String>,
    #[server(default)] email_topups: Option<String>,
    #[server(default)] email_bills: Option<String>,
    #[server(default)] email_utilities: Option<String>,
    #[server(default)] push_payments: Option<String>,
    #[server(default)] push_low_balance: Option<String>,
    #[server(default)] push_topups: Option<String>,
    #[server(default)] push_bills: Option<String>,
    #[server(default)] push_utilities: Option<String>,
) -> Result<NoticePrefs, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        let form = crate::server::domain::notices::PrefsForm {
            payments: &payments,
            payment_above: &payment_above,
            low_balance: low_balance.is_some(),
            low_balance_below: &low_balance_below,
            topups: topups.is_some(),
            bills: bills.is_some(),
            utilities: utilities.is_some(),
            email: crate::notice_model::ChannelChoices {
                payments: email_payments.is_some(),
                low_balance: email_low_balance.is_some(),
                topups: email_topups.is_some(),
                bills: email_bills.is_some(),
                utilities: email_utilities.is_some(),
            },
            push: crate::notice_model::ChannelChoices {
                payments: push_payments.is_some(),
                low_balance: push_low_balance.is_some(),
                topups: push_topups.is_some(),
                bills: push_bills.is_some(),
                utilities: push_utilities.is_some(),
            },
        };
        let saved = notices::save_prefs(&state, s.holder_id, &form).await?;
        crate::api::after_plain_form("/portal/notices?saved=1");
        Ok(saved)
    })
    .await
}

/// Sends a confirmation link to `address`, which becomes the holder's address for notices
/// once the link is opened.
#[server(prefix = "/api", endpoint = "set_notice_email")]
pub async fn set_notice_email(address: String) -> Result<String, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        let address = notices::request_email(&state, s.holder_id, &address).await?;
        crate::api::after_plain_form("/portal/notices?email=sent");
        Ok(address)
    })
    .await
}

/// Stops e-mails: forgets the holder's address.
#[server(prefix = "/api", endpoint = "remove_notice_email")]
pub async fn remove_notice_email() -> Result<(), AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        state.db.remove_notice_email(s.holder_id).await?;
        crate::api::after_plain_form("/portal/notices?email=removed");
        Ok(())
    })
    .await
}

/// Subscribes this browser to the holder's notices: what its `PushManager.subscribe` gave
/// (the push service's URL for it and its two keys, base64url). Only a URL on a push service
/// the campus trusts is taken.
#[server(prefix = "/api", endpoint = "subscribe_push")]
pub async fn subscribe_push(
    endpoint: String,
    p256dh: String,
    auth: String,
) -> Result<(), AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        crate::server::push::subscribe(&state, s.holder_id, &endpoint, (&p256dh, &auth), &client)
            .await
    })
    .await
}

/// Stops pushing to one of the holder's browsers (`id` from the notices page).
#[server(prefix = "/api", endpoint = "unsubscribe_push")]
pub async fn unsubscribe_push(id: i64) -> Result<bool, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        let removed = state.db.unsubscribe_push(s.holder_id, id).await?;
        crate::api::after_plain_form("/portal/notices");
        Ok(removed)
    })
    .await
}

/// The e-mails of notices given up after their last try: administrators and auditors.
#[server(prefix = "/api", endpoint = "staff/failed_notices")]
pub async fn get_failed_notices() -> Result<Vec<FailedNoticeView>, AppError> {
    crate::api::staff::guarded(crate::staff_model::roles::OVERSIGHT, |s, _| async move {
        notices::failed(&s).await
    })
    .await
}
