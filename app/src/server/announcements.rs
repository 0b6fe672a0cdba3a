//! Announcements: administrators publish and withdraw them; the home page shows those for
//! everyone and the dashboard those for the holder. The rules are `domain::announcements`.

use super::AppState;
use super::domain::announcements::{DraftForm, Shown, Viewer, check_draft, shown};
use super::domain::audit::reason;
use super::staff::StaffSession;
use super::store::AnnouncementRow;
use crate::audit_text::Fact;
use crate::error::AppError;
use crate::model::{AuditAction, HolderKind};
use crate::portal_model::AnnouncementView;
use chrono::{DateTime, Utc};

/// Announcements on the staff page.
const LISTED: i64 = 100;

/// Publishes an announcement from its form. Answers its number.
pub async fn publish(
    state: &AppState,
    staff: &StaffSession,
    form: &DraftForm<'_>,
) -> Result<i64, AppError> {
    let now = state.now();
    let draft = check_draft(form, now)?;
    let audit = staff.audit(
        AuditAction::AnnouncementPublish,
        None,
        Fact::Text(draft.title.zh.clone()),
        "",
    );
    Ok(state
        .db
        .publish_announcement(&draft, staff.id, now, audit)
        .await?)
}

pub async fn withdraw(
    state: &AppState,
    staff: &StaffSession,
    id: i64,
    why: &str,
) -> Result<(), AppError> {
    let why = reason(why)?;
    let audit = staff.audit(
        AuditAction::AnnouncementWithdraw,
        None,
        Fact::Announcement(id),
        why,
    );
    state
        .db
        .withdraw_announcement(id, staff.id, why, state.now(), audit)
        .await?
        .map_err(AppError::Rejected)
}

fn visible(
    rows: Vec<AnnouncementRow>,
    viewer: Viewer<'_>,
    now: DateTime<Utc>,
) -> Vec<AnnouncementView> {
    rows.into_iter()
        .filter(|r| {
            let a = Shown {
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                withdrawn: r.withdrawn,
                audience: r.view.audience,
                department: &r.view.department,
            };
            shown(&a, viewer, now)
        })
        // Who published it is for the staff list, not for the public pages.
        .map(|r| AnnouncementView {
            created_by: String::new(),
            ..r.view
        })
        .collect()
}

/// What the public pages show now: the announcements for everyone.
pub async fn public(state: &AppState) -> Result<Vec<AnnouncementView>, AppError> {
    let now = state.now();
    Ok(visible(
        state.db.live_announcements(now).await?,
        Viewer::Public,
        now,
    ))
}

/// What a holder's dashboard shows now: for everyone, for students if they are one (`kind`),
/// and for their `department`.
pub async fn for_holder(
    state: &AppState,
    kind: HolderKind,
    department: &str,
) -> Result<Vec<AnnouncementView>, AppError> {
    let now = state.now();
    Ok(visible(
        state.db.live_announcements(now).await?,
        Viewer::Holder(kind, department),
        now,
    ))
}

/// The staff page's list: every announcement, newest first.
pub async fn listed(state: &AppState) -> Result<Vec<AnnouncementView>, AppError> {
    Ok(state
        .db
        .announcements(LISTED)
        .await?
        .into_iter()
        .map(|r| r.view)
        .collect())
}
