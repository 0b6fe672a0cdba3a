//! The cardholder's top-up, automatic top-up and access-record server functions. Each finds
//! the holder from the session cookie itself.

use crate::error::AppError;
use crate::portal_model::*;
use leptos::prelude::*;

/// The top-up page's data; `order` is the order the holder came back with from the pay page.
#[server(prefix = "/api", endpoint = "topups")]
pub async fn get_topups(order: Option<String>) -> Result<TopupPage, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        crate::server::topup::page(&state, s.holder_id, order.as_deref()).await
    })
    .await
}

/// Creates a top-up order and sends the browser to the provider's pay page.
#[server(prefix = "/api", endpoint = "start_topup")]
pub async fn start_topup(amount: String, channel: String) -> Result<String, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        use crate::model::{Channel, Money};
        let amount =
            Money::parse_yuan(&amount).map_err(|_| AppError::Rejected(Problem::LimitFormat))?;
        let channel = Channel::parse(&channel).ok_or(AppError::Rejected(Problem::TopupChannel))?;
        let url = crate::server::topup::start(&state, s.holder_id, channel, amount, state.now())
            .await?
            .map_err(AppError::Rejected)?;
        // The pay page is not one of the app's routes: a plain form post is redirected
        // there; the hydrated page leaves for it with a full page load.
        if crate::server::wants_html() {
            leptos_axum::redirect(&url);
        }
        Ok(url)
    })
    .await
}

/// One of the holder's own orders (the page polls it after paying).
#[server(prefix = "/api", endpoint = "topup_order")]
pub async fn get_topup_order(order_no: String) -> Result<Option<TopupView>, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        Ok(state
            .db
            .order(&order_no)
            .await?
            .filter(|o| o.holder_id == s.holder_id)
            .as_ref()
            .map(crate::server::topup::order_view))
    })
    .await
}

/// Turns automatic top-up on (or changes it), after the query password. `card` binds a new
/// bank card; empty keeps the bound one.
#[server(prefix = "/api", endpoint = "save_auto_topup")]
pub async fn save_auto_topup(
    threshold: String,
    amount: String,
    card: String,
    password: String,
) -> Result<AutoTopupView, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        crate::server::portal::confirm_password(&state, &s, &password).await?;
        crate::server::topup::save_auto(&state, s.holder_id, &client.ip, &threshold, &amount, &card)
            .await
    })
    .await
}

/// Turns automatic top-up off and unbinds the card, after the query password.
#[server(prefix = "/api", endpoint = "remove_auto_topup")]
pub async fn remove_auto_topup(password: String) -> Result<(), AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        crate::server::portal::confirm_password(&state, &s, &password).await?;
        crate::server::topup::remove_auto(&state, s.holder_id, &client.ip).await
    })
    .await
}

/// The holder's gate and attendance records, newest first.
#[server(prefix = "/api", endpoint = "access_records")]
pub async fn get_access_records() -> Result<Vec<AccessView>, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        Ok(state.db.access_of(s.holder_id, 100).await?)
    })
    .await
}
