//! 缴费 to billers: the holder's page, binding the room and the network account, and buying
//! (each the holder's own, checked by `as_holder`); and the card office's settlement with each
//! biller (`guarded`, administrators and auditors).

use crate::error::AppError;
use crate::utility_model::{
    BillerSettlement, PurchaseMade, RoomList, RoomsAdded, UtilitiesPage, WaitingPurchases,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::utilities;

/// The holder's room and network account, what is left on them, prices and latest purchases.
#[server(prefix = "/api", endpoint = "utilities")]
pub async fn get_utilities() -> Result<UtilitiesPage, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        utilities::page(&state, &s).await
    })
    .await
}

/// Binds the holder's dorm room (a building and room on the campus's list).
#[server(prefix = "/api", endpoint = "bind_room")]
pub async fn bind_room(building: String, room: String) -> Result<String, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        let bound = utilities::bind_room(&state, &s, &client, &building, &room).await?;
        crate::api::after_plain_form("/portal/utilities");
        Ok(bound)
    })
    .await
}

/// Binds the holder's campus network account.
#[server(prefix = "/api", endpoint = "bind_network")]
pub async fn bind_network(account: String) -> Result<String, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        let bound = utilities::bind_network(&state, &s, &client, &account).await?;
        crate::api::after_plain_form("/portal/utilities");
        Ok(bound)
    })
    .await
}

/// Buys electricity, water or network time from the balance. `request_key` is the form's: the
/// same form sent twice is one purchase.
#[server(prefix = "/api", endpoint = "buy_utility")]
pub async fn buy_utility(
    utility: String,
    quantity: String,
    request_key: String,
) -> Result<PurchaseMade, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        let made = utilities::buy(&state, &s, &client, &utility, &quantity, &request_key).await?;
        crate::api::after_plain_form(&format!(
            "/portal/utilities?bought={}",
            made.purchase.reference
        ));
        Ok(made)
    })
    .await
}

/// Switches on the holder's automatic top-up of a room utility, confirmed with the query
/// password.
#[server(prefix = "/api", endpoint = "save_autobuy")]
pub async fn save_autobuy(
    utility: String,
    below: String,
    quantity: String,
    password: String,
) -> Result<(), AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        utilities::save_autobuy(&state, &s, &client, &utility, &below, &quantity, &password)
            .await?;
        crate::api::after_plain_form("/portal/utilities");
        Ok(())
    })
    .await
}

/// Switches the holder's automatic top-up of a room utility off.
#[server(prefix = "/api", endpoint = "remove_autobuy")]
pub async fn remove_autobuy(utility: String) -> Result<(), AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        utilities::remove_autobuy(&state, &s, &client, &utility).await?;
        crate::api::after_plain_form("/portal/utilities");
        Ok(())
    })
    .await
}

/// A biller's settlement for one campus day (`day`: `YYYY-MM-DD`, today when empty; `biller`:
/// its code, the first biller when empty): administrators and auditors.
#[server(prefix = "/api", endpoint = "staff/biller_settlement")]
pub async fn get_biller_settlement(
    #[server(default)] biller: String,
    #[server(default)] day: String,
) -> Result<BillerSettlement, AppError> {
    crate::api::staff::guarded(crate::staff_model::roles::OVERSIGHT, |s, _| async move {
        utilities::settlement(&s, &biller, &day).await
    })
    .await
}

/// The purchases still waiting for their billers' outcome, oldest first: administrators and
/// auditors.
#[server(prefix = "/api", endpoint = "staff/waiting_purchases")]
pub async fn get_waiting_purchases() -> Result<WaitingPurchases, AppError> {
    crate::api::staff::guarded(crate::staff_model::roles::OVERSIGHT, |s, _| async move {
        utilities::waiting(&s).await
    })
    .await
}

/// The campus's dorm room list, by building: administrators and auditors.
#[server(prefix = "/api", endpoint = "admin/rooms")]
pub async fn get_rooms() -> Result<RoomList, AppError> {
    crate::api::staff::guarded(crate::staff_model::roles::OVERSIGHT, |s, who| async move {
        Ok(RoomList {
            buildings: s.db.rooms_by_building().await?,
            can_change: crate::staff_model::roles::ADMIN.contains(&who.role),
        })
    })
    .await
}

/// Adds the rooms of a pasted list, one a line: administrators.
#[server(prefix = "/api", endpoint = "admin/add_rooms")]
pub async fn add_rooms(list: String) -> Result<RoomsAdded, AppError> {
    crate::api::staff::guarded(crate::staff_model::roles::ADMIN, |s, who| async move {
        utilities::add_rooms(&s, &who, &list).await
    })
    .await
}

/// Takes a room no student has bound off the list: administrators.
#[server(prefix = "/api", endpoint = "admin/remove_room")]
pub async fn remove_room(building: String, room: String, reason: String) -> Result<(), AppError> {
    crate::api::staff::guarded(crate::staff_model::roles::ADMIN, |s, who| async move {
        utilities::remove_room(&s, &who, &building, &room, &reason).await
    })
    .await
}
