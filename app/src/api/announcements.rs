//! Announcements: the public list for the home page, and the administrators' list, publish
//! and withdraw (`guarded` with the roles of `staff_model::roles`; the authorization matrix in
//! `server/tests/staff.rs`).
// A form's fields are a server function's arguments (both languages of a title and a text).
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::portal_model::AnnouncementView;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::announcements;
#[cfg(feature = "ssr")]
use crate::staff_model::roles;

/// The announcements for everyone, now (no login).
#[server(prefix = "/api", endpoint = "announcements")]
pub async fn public_announcements() -> Result<Vec<AnnouncementView>, AppError> {
    crate::api::served(|state, _client| async move { announcements::public(&state).await }).await
}

/// Every announcement, newest first, with who published it and whether it was withdrawn.
#[server(prefix = "/api", endpoint = "admin/announcements")]
pub async fn staff_announcements() -> Result<Vec<AnnouncementView>, AppError> {
    crate::api::staff::guarded(roles::OVERSIGHT, |s, _| async move {
        announcements::listed(&s).await
    })
    .await
}

/// Publishes an announcement. Times are campus time (`YYYY-MM-DDTHH:MM`); `audience` is
/// `everyone`, `students` or `department` (then `department` names it). Answers its number.
#[server(prefix = "/api", endpoint = "admin/publish_announcement")]
pub async fn publish_announcement(
    title_zh: String,
    title_en: String,
    body_zh: String,
    body_en: String,
    starts_at: String,
    ends_at: String,
    audience: String,
    #[server(default)] department: String,
) -> Result<i64, AppError> {
    crate::api::staff::guarded(roles::ADMIN, |s, who| async move {
        let form = crate::server::domain::announcements::DraftForm {
            title_zh: &title_zh,
            title_en: &title_en,
            body_zh: &body_zh,
            body_en: &body_en,
            starts_at: &starts_at,
            ends_at: &ends_at,
            audience: &audience,
            department: &department,
        };
        announcements::publish(&s, &who, &form).await
    })
    .await
}

/// Withdraws an announcement before its end, with the reason.
#[server(prefix = "/api", endpoint = "admin/withdraw_announcement")]
pub async fn withdraw_announcement(id: i64, reason: String) -> Result<(), AppError> {
    crate::api::staff::guarded(roles::ADMIN, |s, who| async move {
        announcements::withdraw(&s, &who, id, &reason).await
    })
    .await
}
