//! SQLite: the card office (staff accounts, the counter, administration, reports).

use super::sqlite::{SqliteStore, count_failure, db_err, insert_holder, parse_ts, ts};
use super::sqlite_ledger::{credit_in_tx, set_balance};
use super::sqlite_portal::{account_status, card_status, end_sessions_tx, insert_audit};
use super::staff::*;
use super::{
    Audit, CardChange, Credit, CreditOutcome, NewCard, NewHolder, StoreError, SubjectKind,
};
use crate::model::{
    CampusProfile, CardStatus, Channel, DeviceKind, EntryKind, HolderKind, IdDocKind,
    MerchantCategory, Money, StaffRole,
};
use crate::staff_model::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected {what}: {value}"))
}

fn opt_ts(row: &SqliteRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let text: Option<String> = row.try_get(column).map_err(db_err)?;
    text.as_deref().map(parse_ts).transpose()
}

const STAFF_COLUMNS: &str =
    "s.id, s.username, s.display_name, s.role, s.merchant_id, m.name_zh AS merchant_name,
    s.password_hash, s.totp_secret, s.active, s.locked_until,
    s.password_changed_at IS NULL AS must_change_password";

fn staff_row(row: &SqliteRow) -> Result<StaffAuth, StoreError> {
    let role: String = row.try_get("role").map_err(db_err)?;
    Ok(StaffAuth {
        id: row.try_get("id").map_err(db_err)?,
        username: row.try_get("username").map_err(db_err)?,
        display_name: row.try_get("display_name").map_err(db_err)?,
        role: StaffRole::parse(&role).ok_or_else(|| corrupt("staff role", &role))?,
        merchant_id: row.try_get("merchant_id").map_err(db_err)?,
        merchant_name: row.try_get("merchant_name").map_err(db_err)?,
        password_hash: row.try_get("password_hash").map_err(db_err)?,
        totp_secret: row.try_get("totp_secret").map_err(db_err)?,
        active: row.try_get("active").map_err(db_err)?,
        locked_until: opt_ts(row, "locked_until")?,
        must_change_password: row.try_get("must_change_password").map_err(db_err)?,
    })
}

const HOLDER_COLUMNS: &str = "h.id AS holder_id, a.id AS account_id, h.student_no, h.name, h.kind, h.department,
    h.class_name, h.id_doc_kind, h.id_doc_hash, h.id_doc_masked, h.phone_masked, a.balance, a.status,
    a.status_reason, a.single_limit, a.daily_limit, h.query_pw_is_initial, h.failed_logins,
    h.locked_until, a.consumption_pw_is_initial, a.consumption_pw_failures, a.consumption_pw_locked_until";

fn holder_row(row: &SqliteRow) -> Result<HolderRecord, StoreError> {
    let kind: String = row.try_get("kind").map_err(db_err)?;
    let doc: String = row.try_get("id_doc_kind").map_err(db_err)?;
    Ok(HolderRecord {
        holder_id: row.try_get("holder_id").map_err(db_err)?,
        account_id: row.try_get("account_id").map_err(db_err)?,
        student_no: row.try_get("student_no").map_err(db_err)?,
        name: row.try_get("name").map_err(db_err)?,
        kind: HolderKind::parse(&kind).ok_or_else(|| corrupt("holder kind", &kind))?,
        department: row.try_get("department").map_err(db_err)?,
        class_name: row.try_get("class_name").map_err(db_err)?,
        id_doc_kind: IdDocKind::parse(&doc).ok_or_else(|| corrupt("id document", &doc))?,
        id_doc_hash: row.try_get("id_doc_hash").map_err(db_err)?,
        id_doc_masked: row.try_get("id_doc_masked").map_err(db_err)?,
        phone_masked: row.try_get("phone_masked").map_err(db_err)?,
        balance: Money::from_fen(row.try_get("balance").map_err(db_err)?),
        status: account_status(&row.try_get::<String, _>("status").map_err(db_err)?)?,
        status_reason: row.try_get("status_reason").map_err(db_err)?,
        single_limit: Money::from_fen(row.try_get("single_limit").map_err(db_err)?),
        daily_limit: Money::from_fen(row.try_get("daily_limit").map_err(db_err)?),
        query_pw_is_initial: row.try_get("query_pw_is_initial").map_err(db_err)?,
        failed_logins: row.try_get("failed_logins").map_err(db_err)?,
        locked_until: opt_ts(row, "locked_until")?,
        consumption_pw_is_initial: row.try_get("consumption_pw_is_initial").map_err(db_err)?,
        consumption_pw_failures: row.try_get("consumption_pw_failures").map_err(db_err)?,
        consumption_pw_locked_until: opt_ts(row, "consumption_pw_locked_until")?,
    })
}

const AUDIT_COLUMNS: &str = "l.id, l.at, l.actor_kind, l.actor_id, s.username AS staff_username,
    s.display_name AS staff_name, d.code AS device_code, ah.student_no AS actor_student_no,
    l.action, h.student_no AS holder_no, l.target, l.before_state, l.after_state, l.reason";
const AUDIT_JOINS: &str = "FROM audit_log l
    LEFT JOIN staff_users s ON l.actor_kind = 'staff' AND s.id = l.actor_id
    LEFT JOIN devices d ON l.actor_kind = 'device' AND d.id = l.actor_id
    LEFT JOIN cardholders ah ON l.actor_kind = 'holder' AND ah.id = l.actor_id
    LEFT JOIN cardholders h ON h.id = l.holder_id";

fn audit_row(row: &SqliteRow) -> Result<AuditView, StoreError> {
    let kind: String = row.try_get("actor_kind").map_err(db_err)?;
    let get = |c: &str| -> Result<Option<String>, StoreError> { row.try_get(c).map_err(db_err) };
    let actor = match kind.as_str() {
        "staff" => format!(
            "staff {} ({})",
            get("staff_username")?.unwrap_or_default(),
            get("staff_name")?.unwrap_or_default()
        ),
        "device" => format!("device {}", get("device_code")?.unwrap_or_default()),
        "holder" => format!("holder {}", get("actor_student_no")?.unwrap_or_default()),
        _ => "system".to_string(),
    };
    Ok(AuditView {
        id: row.try_get("id").map_err(db_err)?,
        at: row.try_get("at").map_err(db_err)?,
        actor,
        action: row.try_get("action").map_err(db_err)?,
        holder: get("holder_no")?,
        target: row.try_get("target").map_err(db_err)?,
        before: row.try_get("before_state").map_err(db_err)?,
        after: row.try_get("after_state").map_err(db_err)?,
        reason: row.try_get("reason").map_err(db_err)?,
    })
}

fn found_row(row: &SqliteRow) -> Result<FoundCardView, StoreError> {
    Ok(FoundCardView {
        id: row.try_get("id").map_err(db_err)?,
        holder_id: row.try_get("holder_id").map_err(db_err)?,
        card_no: row.try_get("card_no").map_err(db_err)?,
        name: row.try_get("name").map_err(db_err)?,
        student_no: row.try_get("student_no").map_err(db_err)?,
        place: row.try_get("place").map_err(db_err)?,
        found_at: row.try_get("found_at").map_err(db_err)?,
        returned_at: row.try_get("returned_at").map_err(db_err)?,
    })
}

const FOUND_SELECT: &str =
    "SELECT f.id, f.holder_id, c.card_no, h.name, h.student_no, f.place, f.found_at, f.returned_at
    FROM found_cards f JOIN cards c ON c.id = f.card_id JOIN cardholders h ON h.id = f.holder_id";

fn reversal_view(row: &SqliteRow) -> Result<ReversalView, StoreError> {
    Ok(ReversalView {
        id: row.try_get("id").map_err(db_err)?,
        journal_id: row.try_get("journal_id").map_err(db_err)?,
        holder_id: row.try_get("holder_id").map_err(db_err)?,
        student_no: row.try_get("student_no").map_err(db_err)?,
        name: row.try_get("name").map_err(db_err)?,
        amount: Money::from_fen(row.try_get("amount").map_err(db_err)?),
        reason: row.try_get("reason").map_err(db_err)?,
        requested_by: row.try_get("requested_by_name").map_err(db_err)?,
        requested_at: row.try_get("requested_at").map_err(db_err)?,
    })
}

fn kind_of(text: &str) -> Result<EntryKind, StoreError> {
    EntryKind::parse(text).ok_or_else(|| corrupt("entry kind", text))
}

fn channel_of(text: Option<String>) -> Result<Option<Channel>, StoreError> {
    text.map(|c| Channel::parse(&c).ok_or_else(|| corrupt("channel", &c)))
        .transpose()
}

/// Ends every live session of a staff member or a holder inside the caller's transaction.
async fn end_all_sessions(
    tx: &mut Transaction<'_, Sqlite>,
    subject: SubjectKind,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    end_sessions_tx(tx, subject, id, None, &ts(now)).await?;
    Ok(())
}

/// Ends a write transaction: with its audit record and a commit when something changed;
/// otherwise it is dropped (rolled back) and nothing is recorded. Returns `changed`.
async fn commit_if(
    mut tx: Transaction<'_, Sqlite>,
    changed: bool,
    audit: &Audit,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if changed {
        insert_audit(&mut tx, audit, now).await?;
        tx.commit().await.map_err(db_err)?;
    }
    Ok(changed)
}

#[async_trait]
impl StaffStore for SqliteStore {
    async fn staff_auth(&self, username: &str) -> Result<Option<StaffAuth>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM staff_users s LEFT JOIN merchants m ON m.id = s.merchant_id
             WHERE s.username = ?"
        )))
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(staff_row).transpose()
    }

    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAuth>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM staff_users s LEFT JOIN merchants m ON m.id = s.merchant_id
             WHERE s.id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(staff_row).transpose()
    }

    async fn staff_login_failed(
        &self,
        id: i64,
        max: i64,
        lock_until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        count_failure(
            &self.pool,
            "staff_users",
            "failed_logins",
            "locked_until",
            id,
            max,
            lock_until,
        )
        .await
    }

    async fn staff_login_succeeded(&self, id: i64, step: i64) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE staff_users SET failed_logins = 0, locked_until = NULL, totp_last_step = ?1
             WHERE id = ?2 AND (totp_last_step IS NULL OR totp_last_step < ?1)",
        )
        .bind(step)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn search_holders(&self, query: &str, limit: i64) -> Result<Vec<HolderHit>, StoreError> {
        let like = format!("%{}%", query.replace(['%', '_'], ""));
        let rows = sqlx::query(
            "SELECT h.id, h.student_no, h.name, h.class_name, a.status, a.balance,
                    (SELECT card_no FROM cards WHERE holder_id = h.id AND status IN ('active', 'lost')) AS card_no
             FROM cardholders h JOIN accounts a ON a.holder_id = h.id
             WHERE h.student_no = ?1 OR h.name LIKE ?2
                OR h.id IN (SELECT holder_id FROM cards WHERE card_no = ?1 OR chip_serial = ?1)
             ORDER BY h.student_no LIMIT ?3",
        )
        .bind(query)
        .bind(like)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(HolderHit {
                    holder_id: row.try_get("id").map_err(db_err)?,
                    student_no: row.try_get("student_no").map_err(db_err)?,
                    name: row.try_get("name").map_err(db_err)?,
                    class_name: row.try_get("class_name").map_err(db_err)?,
                    card_no: row.try_get("card_no").map_err(db_err)?,
                    account_status: account_status(
                        &row.try_get::<String, _>("status").map_err(db_err)?,
                    )?,
                    balance: Money::from_fen(row.try_get("balance").map_err(db_err)?),
                })
            })
            .collect()
    }

    async fn holder_record(&self, holder_id: i64) -> Result<Option<HolderRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {HOLDER_COLUMNS} FROM cardholders h JOIN accounts a ON a.holder_id = h.id WHERE h.id = ?"
        )))
        .bind(holder_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(holder_row).transpose()
    }

    async fn holder_by_student_no(
        &self,
        student_no: &str,
    ) -> Result<Option<HolderRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {HOLDER_COLUMNS} FROM cardholders h JOIN accounts a ON a.holder_id = h.id WHERE h.student_no = ?"
        )))
        .bind(student_no)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(holder_row).transpose()
    }

    async fn card_views(&self, holder_id: i64) -> Result<Vec<CardView>, StoreError> {
        let rows = sqlx::query(
            "SELECT card_no, chip_serial, status, issued_at, ended_at FROM cards WHERE holder_id = ?
             ORDER BY issued_at DESC, id DESC",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(CardView {
                    card_no: row.try_get("card_no").map_err(db_err)?,
                    chip_serial: row.try_get("chip_serial").map_err(db_err)?,
                    status: card_status(&row.try_get::<String, _>("status").map_err(db_err)?)?,
                    issued_at: row.try_get("issued_at").map_err(db_err)?,
                    ended_at: row.try_get("ended_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn staff_entries(
        &self,
        holder_id: i64,
        limit: i64,
    ) -> Result<Vec<StaffEntryView>, StoreError> {
        let rows = sqlx::query(
            "SELECT j.id, j.created_at, j.kind, j.amount, j.balance_after, j.channel, m.name_zh AS merchant,
                    j.reference, j.memo,
                    EXISTS (SELECT 1 FROM journal_entries r WHERE r.reverses_id = j.id) AS reversed
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id
             LEFT JOIN merchants m ON m.id = j.merchant_id
             WHERE a.holder_id = ? ORDER BY j.created_at DESC, j.id DESC LIMIT ?",
        )
        .bind(holder_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(StaffEntryView {
                    id: row.try_get("id").map_err(db_err)?,
                    at: row.try_get("created_at").map_err(db_err)?,
                    kind: kind_of(&row.try_get::<String, _>("kind").map_err(db_err)?)?,
                    amount: Money::from_fen(row.try_get("amount").map_err(db_err)?),
                    balance_after: Money::from_fen(row.try_get("balance_after").map_err(db_err)?),
                    channel: channel_of(row.try_get("channel").map_err(db_err)?)?,
                    merchant: row.try_get("merchant").map_err(db_err)?,
                    reference: row.try_get("reference").map_err(db_err)?,
                    memo: row.try_get("memo").map_err(db_err)?,
                    reversed: row.try_get("reversed").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn audit_records(&self, q: &AuditQuery) -> Result<Vec<AuditView>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} {AUDIT_JOINS}
             WHERE (?1 IS NULL OR s.username = ?1)
               AND (?2 IS NULL OR h.student_no = ?2)
               AND (?3 IS NULL OR l.action = ?3 OR l.action LIKE ?3 || '%')
               AND (?4 IS NULL OR l.at >= ?4)
               AND (?5 IS NULL OR l.at < ?5)
             ORDER BY l.at DESC, l.id DESC LIMIT ?6"
        )))
        .bind(&q.person)
        .bind(&q.holder)
        .bind(&q.action)
        .bind(&q.from)
        .bind(&q.until)
        .bind(q.limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(audit_row).collect()
    }

    async fn audit_of_holder(
        &self,
        holder_id: i64,
        limit: i64,
    ) -> Result<Vec<AuditView>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} {AUDIT_JOINS} WHERE l.holder_id = ? ORDER BY l.at DESC, l.id DESC LIMIT ?"
        )))
        .bind(holder_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(audit_row).collect()
    }

    async fn enrol(&self, holders: &[NewHolder], audit: Audit) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for h in holders {
            insert_holder(&mut tx, h).await?;
        }
        insert_audit(&mut tx, &audit, self.clock.now()).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn issue_card(
        &self,
        holder_id: i64,
        card: &NewCard,
        replace: bool,
        fee: Money,
        staff_id: i64,
        mut audit: Audit,
    ) -> Result<CardIssue, StoreError> {
        let now = card.issued_at;
        let mut tx = self.write_tx().await?;
        let account = sqlx::query("SELECT id, balance, status FROM accounts WHERE holder_id = ?")
            .bind(holder_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let account_id: i64 = account.try_get("id").map_err(db_err)?;
        let balance = Money::from_fen(account.try_get("balance").map_err(db_err)?);
        if account.try_get::<String, _>("status").map_err(db_err)? == "closed" {
            return Ok(CardIssue::AccountClosed);
        }
        let live = sqlx::query(
            "SELECT id, card_no, status FROM cards WHERE holder_id = ? AND status IN ('active', 'lost')",
        )
        .bind(holder_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        match (&live, replace) {
            (Some(_), false) => return Ok(CardIssue::HasLiveCard),
            (None, true) => return Ok(CardIssue::NoLiveCard),
            _ => {}
        }
        let taken: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM cards WHERE card_no = ? OR chip_serial = ?")
                .bind(&card.card_no)
                .bind(&card.chip_serial)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if taken > 0 {
            return Ok(CardIssue::Taken);
        }
        if fee > balance {
            return Ok(CardIssue::FeeAboveBalance);
        }
        let mut replaced = None;
        let mut balance_after = balance;
        if let Some(old) = &live {
            let old_id: i64 = old.try_get("id").map_err(db_err)?;
            let old_no: String = old.try_get("card_no").map_err(db_err)?;
            let old_status: String = old.try_get("status").map_err(db_err)?;
            sqlx::query("UPDATE cards SET status = 'void', ended_at = ? WHERE id = ?")
                .bind(ts(now))
                .bind(old_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            audit.before = format!("card {old_no} {old_status}");
            replaced = Some(old_no);
        }
        sqlx::query(
            "INSERT INTO cards (holder_id, card_no, chip_serial, status, issued_at) VALUES (?, ?, ?, 'active', ?)",
        )
        .bind(holder_id)
        .bind(&card.card_no)
        .bind(&card.chip_serial)
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if fee > Money::ZERO {
            balance_after = balance
                .checked_sub(fee)
                .ok_or_else(|| StoreError::Corrupt("fee overflow".into()))?;
            sqlx::query(
                "INSERT INTO journal_entries (account_id, kind, amount, balance_after, staff_id, memo, created_at)
                 VALUES (?, 'fee', ?, ?, ?, ?, ?)",
            )
            .bind(account_id)
            .bind(-fee.fen())
            .bind(balance_after.fen())
            .bind(staff_id)
            .bind(format!("card replacement {}", card.card_no))
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            set_balance(&mut tx, account_id, balance, balance_after).await?;
        }
        audit.after = if fee > Money::ZERO {
            format!("card {} active; fee {}", card.card_no, fee.yuan_string())
        } else {
            format!("card {} active", card.card_no)
        };
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(CardIssue::Issued {
            replaced,
            balance: balance_after,
        })
    }

    async fn cancel_card(
        &self,
        holder_id: i64,
        now: DateTime<Utc>,
        mut audit: Audit,
    ) -> Result<CardChange, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT id, card_no, status FROM cards WHERE holder_id = ? AND status IN ('active', 'lost')",
        )
        .bind(holder_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(CardChange::NoCard);
        };
        let card_no: String = row.try_get("card_no").map_err(db_err)?;
        let from = card_status(&row.try_get::<String, _>("status").map_err(db_err)?)?;
        sqlx::query("UPDATE cards SET status = 'cancelled', ended_at = ? WHERE id = ?")
            .bind(ts(now))
            .bind(row.try_get::<i64, _>("id").map_err(db_err)?)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        audit.target = format!("card {card_no}");
        audit.before = from.as_str().into();
        audit.after = "cancelled".into();
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(CardChange::Changed {
            card_no,
            from,
            to: CardStatus::Cancelled,
        })
    }

    async fn reset_password(
        &self,
        holder_id: i64,
        which: PasswordKind,
        new_hash: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        match which {
            PasswordKind::Query => {
                sqlx::query(
                    "UPDATE cardholders SET query_pw_hash = ?, query_pw_is_initial = 1, failed_logins = 0,
                         locked_until = NULL, query_pw_changed_at = ? WHERE id = ?",
                )
                .bind(new_hash)
                .bind(ts(now))
                .bind(holder_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                end_all_sessions(&mut tx, SubjectKind::Holder, holder_id, now).await?;
            }
            PasswordKind::Consumption => {
                sqlx::query(
                    "UPDATE accounts SET consumption_pw_hash = ?, consumption_pw_is_initial = 1,
                         consumption_pw_failures = 0, consumption_pw_locked_until = NULL WHERE holder_id = ?",
                )
                .bind(new_hash)
                .bind(holder_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
        }
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn lift_lockout(
        &self,
        holder_id: i64,
        which: PasswordKind,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let sql = match which {
            PasswordKind::Query => {
                "UPDATE cardholders SET failed_logins = 0, locked_until = NULL WHERE id = ?"
            }
            PasswordKind::Consumption => {
                "UPDATE accounts SET consumption_pw_failures = 0, consumption_pw_locked_until = NULL WHERE holder_id = ?"
            }
        };
        sqlx::query(sql)
            .bind(holder_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        insert_audit(&mut tx, &audit, self.clock.now()).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn set_frozen(
        &self,
        holder_id: i64,
        frozen: bool,
        mut audit: Audit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let before: String = sqlx::query_scalar("SELECT status FROM accounts WHERE holder_id = ?")
            .bind(holder_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if before == "closed" {
            return Ok(false);
        }
        let after = if frozen { "frozen" } else { "active" };
        sqlx::query("UPDATE accounts SET status = ?, status_reason = ? WHERE holder_id = ?")
            .bind(after)
            .bind(if frozen { audit.reason.as_str() } else { "" })
            .bind(holder_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        audit.before = before;
        audit.after = after.into();
        insert_audit(&mut tx, &audit, self.clock.now()).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn close_account(
        &self,
        holder_id: i64,
        reference: &str,
        bank_account: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        mut audit: Audit,
    ) -> Result<Closing, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT id, balance, status FROM accounts WHERE holder_id = ?")
            .bind(holder_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let account_id: i64 = row.try_get("id").map_err(db_err)?;
        let balance = Money::from_fen(row.try_get("balance").map_err(db_err)?);
        let status: String = row.try_get("status").map_err(db_err)?;
        if status == "closed" {
            return Ok(Closing::AlreadyClosed);
        }
        let mut journal_id = None;
        if balance > Money::ZERO {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO journal_entries (account_id, kind, amount, balance_after, staff_id, reference, memo, created_at)
                 VALUES (?, 'payout', ?, 0, ?, ?, ?, ?) RETURNING id",
            )
            .bind(account_id)
            .bind(-balance.fen())
            .bind(staff_id)
            .bind(reference)
            .bind(&audit.reason)
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            set_balance(&mut tx, account_id, balance, Money::ZERO).await?;
            sqlx::query(
                "INSERT INTO payouts (journal_id, holder_id, amount, bank_account, reference, created_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(holder_id)
            .bind(balance.fen())
            .bind(bank_account)
            .bind(reference)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            journal_id = Some(id);
        }
        sqlx::query(
            "UPDATE cards SET status = 'cancelled', ended_at = ? WHERE holder_id = ? AND status IN ('active', 'lost')",
        )
        .bind(ts(now))
        .bind(holder_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "UPDATE accounts SET status = 'closed', status_reason = ?, closed_at = ? WHERE id = ?",
        )
        .bind(&audit.reason)
        .bind(ts(now))
        .bind(account_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("UPDATE auto_topup SET enabled = 0 WHERE holder_id = ?")
            .bind(holder_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        end_all_sessions(&mut tx, SubjectKind::Holder, holder_id, now).await?;
        audit.before = format!("{status}; balance {}", balance.yuan_string());
        audit.after = format!("closed; paid out {} ({reference})", balance.yuan_string());
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Closing::Closed {
            paid_out: balance,
            journal_id,
        })
    }

    async fn card_by_number(&self, number: &str) -> Result<Option<(i64, i64, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, holder_id, card_no FROM cards WHERE card_no = ?1 OR chip_serial = ?1",
        )
        .bind(number)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| {
            Ok((
                r.try_get("id").map_err(db_err)?,
                r.try_get("holder_id").map_err(db_err)?,
                r.try_get("card_no").map_err(db_err)?,
            ))
        })
        .transpose()
    }

    async fn record_found_card(
        &self,
        card_id: i64,
        holder_id: i64,
        place: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO found_cards (card_id, holder_id, place, found_at, recorded_by) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(card_id)
        .bind(holder_id)
        .bind(place)
        .bind(ts(now))
        .bind(staff_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        commit_if(tx, inserted > 0, &audit, now).await
    }

    async fn cash_topup(
        &self,
        credit: &Credit<'_>,
        mut audit: Audit,
    ) -> Result<CreditOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let outcome = credit_in_tx(&mut tx, credit).await?;
        if let CreditOutcome::Credited { balance, .. } = &outcome {
            audit.after = format!("balance {}", balance.yuan_string());
            insert_audit(&mut tx, &audit, credit.now).await?;
            tx.commit().await.map_err(db_err)?;
        }
        Ok(outcome)
    }

    async fn found_cards(&self, open_only: bool) -> Result<Vec<FoundCardView>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{FOUND_SELECT} WHERE (?1 = 0 OR f.returned_at IS NULL) ORDER BY f.found_at DESC LIMIT 200"
        )))
        .bind(open_only)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(found_row).collect()
    }

    async fn found_card(&self, id: i64) -> Result<Option<FoundCardView>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{FOUND_SELECT} WHERE f.id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(found_row).transpose()
    }

    async fn found_cards_of(&self, holder_id: i64) -> Result<Vec<FoundCardView>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{FOUND_SELECT} WHERE f.holder_id = ? ORDER BY f.found_at DESC"
        )))
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(found_row).collect()
    }

    async fn found_card_returned(
        &self,
        id: i64,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(
            "UPDATE found_cards SET returned_at = ?, returned_by = ? WHERE id = ? AND returned_at IS NULL",
        )
        .bind(ts(now))
        .bind(staff_id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        commit_if(tx, updated > 0, &audit, now).await
    }

    async fn journal_entry(&self, id: i64) -> Result<Option<EntryRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT j.id, a.holder_id, j.kind, j.amount, j.balance_after, j.merchant_id, j.created_at,
                    EXISTS (SELECT 1 FROM journal_entries r WHERE r.reverses_id = j.id) AS reversed
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id WHERE j.id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| {
            Ok(EntryRecord {
                id: r.try_get("id").map_err(db_err)?,
                holder_id: r.try_get("holder_id").map_err(db_err)?,
                kind: kind_of(&r.try_get::<String, _>("kind").map_err(db_err)?)?,
                amount: Money::from_fen(r.try_get("amount").map_err(db_err)?),
                balance_after: Money::from_fen(r.try_get("balance_after").map_err(db_err)?),
                merchant_id: r.try_get("merchant_id").map_err(db_err)?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at").map_err(db_err)?)?,
                reversed: r.try_get("reversed").map_err(db_err)?,
            })
        })
        .transpose()
    }

    async fn correct_payment(
        &self,
        payment_id: i64,
        reason: &str,
        staff_id: i64,
        request: Option<i64>,
        now: DateTime<Utc>,
        mut audit: Audit,
    ) -> Result<Correction, StoreError> {
        let mut tx = self.write_tx().await?;
        if let Some(request_id) = request {
            let decided = sqlx::query(
                "UPDATE reversal_requests SET status = 'approved', decided_by = ?, decided_at = ?
                 WHERE id = ? AND journal_id = ? AND status = 'pending'",
            )
            .bind(staff_id)
            .bind(ts(now))
            .bind(request_id)
            .bind(payment_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if decided == 0 {
                return Ok(Correction::RequestDecided);
            }
        }
        let row = sqlx::query(
            "SELECT j.account_id, j.amount, j.merchant_id, a.balance, a.status,
                    EXISTS (SELECT 1 FROM journal_entries r WHERE r.reverses_id = j.id) AS reversed
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id
             WHERE j.id = ? AND j.kind = 'payment'",
        )
        .bind(payment_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if row.try_get::<bool, _>("reversed").map_err(db_err)? {
            // Refunded at the till meanwhile: the request is closed, not left pending.
            if let Some(request_id) = request {
                sqlx::query("UPDATE reversal_requests SET status = 'rejected' WHERE id = ?")
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                audit.after = "rejected: the payment was refunded or corrected already".into();
                insert_audit(&mut tx, &audit, now).await?;
                tx.commit().await.map_err(db_err)?;
            }
            return Ok(Correction::AlreadyReversed);
        }
        if row.try_get::<String, _>("status").map_err(db_err)? == "closed" {
            return Ok(Correction::AccountClosed);
        }
        let account_id: i64 = row.try_get("account_id").map_err(db_err)?;
        let amount = Money::from_fen(-row.try_get::<i64, _>("amount").map_err(db_err)?);
        let balance = Money::from_fen(row.try_get("balance").map_err(db_err)?);
        let new_balance = balance
            .checked_add(amount)
            .ok_or_else(|| StoreError::Corrupt("balance overflow".into()))?;
        let journal_id: i64 = sqlx::query_scalar(
            "INSERT INTO journal_entries (account_id, kind, amount, balance_after, merchant_id, staff_id, reverses_id, memo, created_at)
             VALUES (?, 'correction', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(amount.fen())
        .bind(new_balance.fen())
        .bind(row.try_get::<Option<i64>, _>("merchant_id").map_err(db_err)?)
        .bind(staff_id)
        .bind(payment_id)
        .bind(reason)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        set_balance(&mut tx, account_id, balance, new_balance).await?;
        if let Some(request_id) = request {
            sqlx::query("UPDATE reversal_requests SET correction_id = ? WHERE id = ?")
                .bind(journal_id)
                .bind(request_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        audit.after = format!(
            "correction #{journal_id} +{}; balance {}",
            amount.yuan_string(),
            new_balance.yuan_string()
        );
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Correction::Corrected {
            journal_id,
            balance: new_balance,
        })
    }

    async fn request_correction(
        &self,
        entry: &EntryRecord,
        reason: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO reversal_requests (journal_id, holder_id, amount, reason, requested_by, requested_at, status)
             VALUES (?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(entry.id)
        .bind(entry.holder_id)
        .bind(-entry.amount.fen())
        .bind(reason)
        .bind(staff_id)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        commit_if(tx, id.is_some(), &audit, now).await?;
        Ok(id)
    }

    async fn reversal_request(&self, id: i64) -> Result<Option<ReversalRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, journal_id, holder_id, amount, reason, requested_by, status FROM reversal_requests WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| {
            Ok(ReversalRow {
                id: r.try_get("id").map_err(db_err)?,
                journal_id: r.try_get("journal_id").map_err(db_err)?,
                holder_id: r.try_get("holder_id").map_err(db_err)?,
                amount: Money::from_fen(r.try_get("amount").map_err(db_err)?),
                reason: r.try_get("reason").map_err(db_err)?,
                requested_by: r.try_get("requested_by").map_err(db_err)?,
                pending: r.try_get::<String, _>("status").map_err(db_err)? == "pending",
            })
        })
        .transpose()
    }

    async fn pending_reversals(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<ReversalView>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.journal_id, r.holder_id, h.student_no, h.name, r.amount, r.reason,
                    s.display_name AS requested_by_name, r.requested_at
             FROM reversal_requests r JOIN cardholders h ON h.id = r.holder_id
             JOIN staff_users s ON s.id = r.requested_by
             WHERE r.status = 'pending' AND (?1 IS NULL OR r.holder_id = ?1)
             ORDER BY r.requested_at",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(reversal_view).collect()
    }

    async fn resolve_failed_topup(
        &self,
        order_no: &str,
        resolution: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(
            "UPDATE topup_orders SET resolved_at = ?, resolved_by = ?, resolution = ?
             WHERE order_no = ? AND status = 'failed' AND channel = 'auto' AND resolved_at IS NULL",
        )
        .bind(ts(now))
        .bind(staff_id)
        .bind(resolution)
        .bind(order_no)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        commit_if(tx, updated > 0, &audit, now).await
    }

    async fn failed_topup_views(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<FailedTopupView>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.order_no, o.holder_id, h.student_no, h.name, o.amount, o.failure, o.updated_at
             FROM topup_orders o JOIN cardholders h ON h.id = o.holder_id
             WHERE o.status = 'failed' AND o.channel = 'auto' AND o.resolved_at IS NULL
               AND (?1 IS NULL OR o.holder_id = ?1)
             ORDER BY o.updated_at DESC LIMIT 200",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(FailedTopupView {
                    order_no: r.try_get("order_no").map_err(db_err)?,
                    holder_id: r.try_get("holder_id").map_err(db_err)?,
                    student_no: r.try_get("student_no").map_err(db_err)?,
                    name: r.try_get("name").map_err(db_err)?,
                    amount: Money::from_fen(r.try_get("amount").map_err(db_err)?),
                    failure: r.try_get("failure").map_err(db_err)?,
                    at: r.try_get("updated_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn merchants(&self) -> Result<Vec<MerchantView>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, code, name_zh, name_en, category, place, active FROM merchants ORDER BY code",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let category: String = r.try_get("category").map_err(db_err)?;
                Ok(MerchantView {
                    id: r.try_get("id").map_err(db_err)?,
                    code: r.try_get("code").map_err(db_err)?,
                    name_zh: r.try_get("name_zh").map_err(db_err)?,
                    name_en: r.try_get("name_en").map_err(db_err)?,
                    category: MerchantCategory::parse(&category)
                        .ok_or_else(|| corrupt("category", &category))?,
                    place: r.try_get("place").map_err(db_err)?,
                    active: r.try_get("active").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn save_merchant(
        &self,
        id: Option<i64>,
        m: &MerchantInput<'_>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        let saved: Option<i64> = match id {
            None => sqlx::query_scalar(
                "INSERT INTO merchants (code, name_zh, name_en, category, place, active, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING RETURNING id",
            )
            .bind(m.code)
            .bind(m.name_zh)
            .bind(m.name_en)
            .bind(m.category.as_str())
            .bind(m.place)
            .bind(m.active)
            .bind(ts(now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?,
            Some(id) => {
                let clash: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM merchants WHERE code = ? AND id <> ?")
                        .bind(m.code)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_err)?;
                if clash > 0 {
                    None
                } else {
                    sqlx::query_scalar(
                        "UPDATE merchants SET code = ?, name_zh = ?, name_en = ?, category = ?, place = ?, active = ?
                         WHERE id = ? RETURNING id",
                    )
                    .bind(m.code)
                    .bind(m.name_zh)
                    .bind(m.name_en)
                    .bind(m.category.as_str())
                    .bind(m.place)
                    .bind(m.active)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?
                }
            }
        };
        commit_if(tx, saved.is_some(), &audit, now).await?;
        Ok(saved)
    }

    async fn devices(&self) -> Result<Vec<DeviceView>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.code, d.kind, m.name_zh AS merchant, d.place, d.public_key, d.revoked_at, d.key_issued_at
             FROM devices d LEFT JOIN merchants m ON m.id = d.merchant_id ORDER BY d.code",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind").map_err(db_err)?;
                let key: Option<String> = r.try_get("public_key").map_err(db_err)?;
                let revoked: Option<String> = r.try_get("revoked_at").map_err(db_err)?;
                Ok(DeviceView {
                    id: r.try_get("id").map_err(db_err)?,
                    code: r.try_get("code").map_err(db_err)?,
                    kind: DeviceKind::parse(&kind).ok_or_else(|| corrupt("device kind", &kind))?,
                    merchant: r.try_get("merchant").map_err(db_err)?,
                    place: r.try_get("place").map_err(db_err)?,
                    has_credential: key.is_some() && revoked.is_none(),
                    revoked: revoked.is_some(),
                    credential_issued_at: r.try_get("key_issued_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn create_device(
        &self,
        d: &DeviceInput<'_>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO devices (code, kind, merchant_id, place, created_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (code) DO NOTHING RETURNING id",
        )
        .bind(d.code)
        .bind(d.kind.as_str())
        .bind(d.merchant_id)
        .bind(d.place)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        commit_if(tx, id.is_some(), &audit, now).await?;
        Ok(id)
    }

    async fn set_device_credential(
        &self,
        device_id: i64,
        public_key: Option<&str>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        match public_key {
            Some(key) => sqlx::query(
                "UPDATE devices SET public_key = ?, key_issued_at = ?, revoked_at = NULL WHERE id = ?",
            )
            .bind(key)
            .bind(ts(now))
            .bind(device_id),
            None => sqlx::query("UPDATE devices SET revoked_at = ? WHERE id = ?")
                .bind(ts(now))
                .bind(device_id),
        }
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // The browsers set up as this device's terminal stop working at once.
        sqlx::query(
            "UPDATE terminal_sessions SET ended_at = ? WHERE device_id = ? AND ended_at IS NULL",
        )
        .bind(ts(now))
        .bind(device_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn staff_users(&self) -> Result<Vec<StaffUserView>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.username, s.display_name, s.role, m.name_zh AS merchant, s.active,
                    s.locked_until, s.totp_secret IS NOT NULL AS has_totp
             FROM staff_users s LEFT JOIN merchants m ON m.id = s.merchant_id ORDER BY s.username",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let now = self.clock.now();
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role").map_err(db_err)?;
                Ok(StaffUserView {
                    id: r.try_get("id").map_err(db_err)?,
                    username: r.try_get("username").map_err(db_err)?,
                    display_name: r.try_get("display_name").map_err(db_err)?,
                    role: StaffRole::parse(&role).ok_or_else(|| corrupt("role", &role))?,
                    merchant: r.try_get("merchant").map_err(db_err)?,
                    active: r.try_get("active").map_err(db_err)?,
                    locked: opt_ts(r, "locked_until")?.is_some_and(|t| t > now),
                    has_second_factor: r.try_get("has_totp").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn create_staff(
        &self,
        s: &NewStaffUser<'_>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO staff_users (username, display_name, role, merchant_id, password_hash, totp_secret, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(s.username)
        .bind(s.display_name)
        .bind(s.role.as_str())
        .bind(s.merchant_id)
        .bind(s.password_hash)
        .bind(s.totp_secret)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        commit_if(tx, id.is_some(), &audit, now).await?;
        Ok(id)
    }

    async fn update_staff(
        &self,
        id: i64,
        role: StaffRole,
        merchant_id: Option<i64>,
        active: bool,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE staff_users SET role = ?, merchant_id = ?, active = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(merchant_id)
            .bind(active)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        // A changed role or a disabled account takes effect at once: its sessions end.
        end_all_sessions(&mut tx, SubjectKind::Staff, id, now).await?;
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn set_staff_password(
        &self,
        id: i64,
        new_hash: &str,
        keep: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE staff_users SET password_hash = ?, password_changed_at = ?, failed_logins = 0 WHERE id = ?",
        )
        .bind(new_hash)
        .bind(ts(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        end_sessions_tx(&mut tx, SubjectKind::Staff, id, Some(keep), &ts(now)).await?;
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn reset_staff_credentials(
        &self,
        id: i64,
        password_hash: &str,
        totp_secret: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE staff_users SET password_hash = ?, totp_secret = ?, totp_last_step = NULL,
                 password_changed_at = NULL, failed_logins = 0, locked_until = NULL WHERE id = ?",
        )
        .bind(password_hash)
        .bind(totp_secret)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        end_all_sessions(&mut tx, SubjectKind::Staff, id, now).await?;
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn save_profile_audited(
        &self,
        profile: &CampusProfile,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(profile)
            .map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))?;
        let now = self.clock.now();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO campus_profile (id, profile, updated_at) VALUES (1, ?, ?)
             ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
        )
        .bind(text)
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn settlement(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SettlementRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.code, m.name_zh,
                    COALESCE(SUM(CASE WHEN j.kind = 'payment' THEN 1 ELSE 0 END), 0) AS sales,
                    COALESCE(SUM(CASE WHEN j.kind = 'payment' THEN -j.amount ELSE 0 END), 0) AS sales_total,
                    COALESCE(SUM(CASE WHEN j.kind = 'refund' THEN 1 ELSE 0 END), 0) AS refunds,
                    COALESCE(SUM(CASE WHEN j.kind = 'refund' THEN j.amount ELSE 0 END), 0) AS refunds_total,
                    COALESCE(SUM(CASE WHEN j.kind = 'correction' THEN j.amount ELSE 0 END), 0) AS corrections_total
             FROM merchants m JOIN journal_entries j ON j.merchant_id = m.id
             WHERE j.created_at >= ? AND j.created_at < ?
             GROUP BY m.id, m.code, m.name_zh ORDER BY m.code",
        )
        .bind(ts(from))
        .bind(ts(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let money = |c: &str| -> Result<Money, StoreError> {
                    Ok(Money::from_fen(r.try_get(c).map_err(db_err)?))
                };
                let sales_total = money("sales_total")?;
                let refunds_total = money("refunds_total")?;
                let corrections_total = money("corrections_total")?;
                Ok(SettlementRow {
                    merchant_code: r.try_get("code").map_err(db_err)?,
                    merchant: r.try_get("name_zh").map_err(db_err)?,
                    sales: r.try_get("sales").map_err(db_err)?,
                    sales_total,
                    refunds: r.try_get("refunds").map_err(db_err)?,
                    refunds_total,
                    corrections_total,
                    net: Money::from_fen(
                        sales_total.fen() - refunds_total.fen() - corrections_total.fen(),
                    ),
                })
            })
            .collect()
    }

    async fn topups_by_channel(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ChannelRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel, COUNT(*) AS n, SUM(amount) AS total FROM journal_entries
             WHERE kind = 'topup' AND channel IS NOT NULL AND created_at >= ? AND created_at < ?
             GROUP BY channel ORDER BY channel",
        )
        .bind(ts(from))
        .bind(ts(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ChannelRow {
                    channel: channel_of(r.try_get("channel").map_err(db_err)?)?
                        .ok_or_else(|| corrupt("channel", ""))?,
                    count: r.try_get("n").map_err(db_err)?,
                    total: Money::from_fen(r.try_get("total").map_err(db_err)?),
                })
            })
            .collect()
    }

    async fn operator_activity(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ActivityRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.username, s.display_name, l.action, COUNT(*) AS n
             FROM audit_log l JOIN staff_users s ON l.actor_kind = 'staff' AND s.id = l.actor_id
             WHERE l.at >= ? AND l.at < ?
             GROUP BY s.username, s.display_name, l.action ORDER BY s.username, l.action",
        )
        .bind(ts(from))
        .bind(ts(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ActivityRow {
                    staff: format!(
                        "{} ({})",
                        r.try_get::<String, _>("username").map_err(db_err)?,
                        r.try_get::<String, _>("display_name").map_err(db_err)?
                    ),
                    action: r.try_get("action").map_err(db_err)?,
                    count: r.try_get("n").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn payouts(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<PayoutView>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.reference, h.student_no, h.name, p.amount, p.bank_account, p.created_at
             FROM payouts p JOIN cardholders h ON h.id = p.holder_id
             WHERE p.created_at >= ? AND p.created_at < ? ORDER BY p.created_at, p.id",
        )
        .bind(ts(from))
        .bind(ts(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(PayoutView {
                    reference: r.try_get("reference").map_err(db_err)?,
                    student_no: r.try_get("student_no").map_err(db_err)?,
                    name: r.try_get("name").map_err(db_err)?,
                    amount: Money::from_fen(r.try_get("amount").map_err(db_err)?),
                    bank_account: r.try_get("bank_account").map_err(db_err)?,
                    at: r.try_get("created_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn merchant_entries(
        &self,
        merchant_id: i64,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<MerchantSale>, StoreError> {
        let rows = sqlx::query(
            "SELECT j.id, j.created_at, j.kind, j.amount, COALESCE(d.code, '') AS device, h.name
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id
             JOIN cardholders h ON h.id = a.holder_id
             LEFT JOIN devices d ON d.id = j.device_id
             WHERE j.merchant_id = ? AND j.created_at >= ? AND j.created_at < ?
               AND j.kind IN ('payment', 'refund', 'correction')
             ORDER BY j.created_at DESC, j.id DESC LIMIT 500",
        )
        .bind(merchant_id)
        .bind(ts(from))
        .bind(ts(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(MerchantSale {
                    id: r.try_get("id").map_err(db_err)?,
                    at: r.try_get("created_at").map_err(db_err)?,
                    kind: kind_of(&r.try_get::<String, _>("kind").map_err(db_err)?)?,
                    amount: Money::from_fen(r.try_get("amount").map_err(db_err)?),
                    device: r.try_get("device").map_err(db_err)?,
                    payer: crate::server::ledger::masked_name(
                        &r.try_get::<String, _>("name").map_err(db_err)?,
                    ),
                })
            })
            .collect()
    }
}
