use crate::error::AppError;
use crate::model::CampusProfile;
use leptos::prelude::*;

/// The public campus profile: names, service points, hours, hotlines, limits. Public data;
/// no login needed.
#[server(prefix = "/api", endpoint = "campus_profile")]
pub async fn get_campus_profile() -> Result<CampusProfile, AppError> {
    crate::api::served(|state, _client| async move {
        state.campus.get(&state.db).await?.ok_or(AppError::NotFound)
    })
    .await
}
