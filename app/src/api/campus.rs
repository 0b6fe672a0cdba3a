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

/// The service centre's opening today and on the six days after it (campus dates, by the
/// server's clock), holidays included; `None` when the regular hours do not say their days of
/// the week. Public data; no login needed.
#[server(prefix = "/api", endpoint = "service_week")]
pub async fn service_week() -> Result<Option<Vec<crate::opening::DayHours>>, AppError> {
    crate::api::served(|state, _client| async move {
        let profile = state
            .campus
            .get(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = crate::server::domain::calendar::campus_date(state.clock.now());
        Ok(crate::opening::days_from(&profile, today, 7))
    })
    .await
}
