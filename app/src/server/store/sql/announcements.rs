//! Announcements: publishing, withdrawing, and the lists.

use super::{ThisStore, insert_audit, opt_ts_of, ts_of};
use crate::model::Localized;
use crate::portal_model::{AnnouncementView, Problem};
use crate::server::domain::announcements::{self as rules, AnnouncementDraft};
use crate::server::store::{AnnouncementRow, AnnouncementStore, Audit, Finish, StoreError, Ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

type DbRow = super::DbRow;

const COLUMNS: &str = "a.id, a.title_zh, a.title_en, a.body_zh, a.body_en, a.starts_at, a.ends_at,
    a.audience, a.department, s.display_name AS created_by, a.withdrawn_at, a.withdraw_reason";

fn row_of(row: &DbRow) -> Result<AnnouncementRow, StoreError> {
    let starts: Ts = row.try_get("starts_at")?;
    let ends: Ts = row.try_get("ends_at")?;
    let withdrawn_at = opt_ts_of(row, "withdrawn_at")?;
    Ok(AnnouncementRow {
        starts_at: starts.0,
        ends_at: ends.0,
        withdrawn: withdrawn_at.is_some(),
        view: AnnouncementView {
            id: row.try_get("id")?,
            title: Localized::new(
                row.try_get::<String, _>("title_zh")?,
                row.try_get::<String, _>("title_en")?,
            ),
            body: Localized::new(
                row.try_get::<String, _>("body_zh")?,
                row.try_get::<String, _>("body_en")?,
            ),
            starts_at: ts_of(row, "starts_at")?,
            ends_at: ts_of(row, "ends_at")?,
            audience: row.try_get("audience")?,
            department: row.try_get("department")?,
            created_by: row.try_get("created_by")?,
            withdrawn_at,
            withdraw_reason: row.try_get("withdraw_reason")?,
        },
    })
}

#[async_trait]
impl AnnouncementStore for ThisStore {
    async fn publish_announcement(
        &self,
        draft: &AnnouncementDraft,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<i64, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO announcements (title_zh, title_en, body_zh, body_en, starts_at, ends_at,
                        audience, department, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(&draft.title.zh)
            .bind(&draft.title.en)
            .bind(&draft.body.zh)
            .bind(&draft.body.en)
            .bind(Ts::new(draft.starts_at))
            .bind(Ts::new(draft.ends_at))
            .bind(draft.audience)
            .bind(&draft.department)
            .bind(staff_id)
            .bind(Ts::new(now))
            .fetch_one(&mut *tx)
            .await?;
            let mut audit = audit.clone();
            audit.after = rules::publish_audit(id, draft);
            insert_audit(&mut tx, &audit, now).await?;
            Ok(Finish::Commit(id))
        })
    }

    async fn withdraw_announcement(
        &self,
        id: i64,
        staff_id: i64,
        reason: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Result<(), Problem>, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            let withdrawn: Option<bool> = sqlx::query_scalar(concat!(
                "SELECT withdrawn_at IS NOT NULL FROM announcements WHERE id = $1",
                for_update!()
            ))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Err(problem) = rules::decide_withdraw(withdrawn) {
                return Ok(Finish::Rollback(Err(problem)));
            }
            sqlx::query(
                "UPDATE announcements SET withdrawn_by = $1, withdrawn_at = $2, withdraw_reason = $3
                 WHERE id = $4 AND withdrawn_at IS NULL",
            )
            .bind(staff_id)
            .bind(Ts::new(now))
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(Ok(())))
        })
    }

    async fn live_announcements(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<AnnouncementRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM announcements a JOIN staff_users s ON s.id = a.created_by
             WHERE a.withdrawn_at IS NULL AND a.ends_at > $1 ORDER BY a.starts_at, a.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(Ts::new(now))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_of).collect()
    }

    async fn announcements(&self, limit: i64) -> Result<Vec<AnnouncementRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM announcements a JOIN staff_users s ON s.id = a.created_by
             ORDER BY a.id DESC LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_of).collect()
    }
}
