//! SQLite: the student portal's queries (authentication, sessions, the holder's own data).

use super::sqlite::{SqliteStore, db_err, parse_ts, ts};
use super::{
    Actor, Audit, CardChange, DashboardRow, EntryQuery, HolderAuth, NewSession, PayKey,
    PortalStore, ProfileRow, SessionRow, StoreError, SubjectKind,
};
use crate::model::{AccountStatus, CardStatus, EntryKind, HolderKind, MerchantCategory, Money};
use crate::portal_model::{EntryView, MonthSpend};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected {what}: {value}"))
}

fn holder_auth_row(row: &SqliteRow) -> Result<HolderAuth, StoreError> {
    let locked: Option<String> = row.try_get("locked_until").map_err(db_err)?;
    let pins: String = row.try_get("personal_pins").map_err(db_err)?;
    Ok(HolderAuth {
        holder_id: row.try_get("id").map_err(db_err)?,
        query_pw_hash: row.try_get("query_pw_hash").map_err(db_err)?,
        must_change_password: row.try_get("query_pw_is_initial").map_err(db_err)?,
        locked_until: locked.as_deref().map(parse_ts).transpose()?,
        personal_pins: pins
            .split(',')
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect(),
        name: row.try_get("name").map_err(db_err)?,
        student_no: row.try_get("student_no").map_err(db_err)?,
    })
}

fn session_row(row: &SqliteRow) -> Result<SessionRow, StoreError> {
    let kind: String = row.try_get("subject_kind").map_err(db_err)?;
    let ended: Option<String> = row.try_get("ended_at").map_err(db_err)?;
    Ok(SessionRow {
        token_hash: row.try_get("token_hash").map_err(db_err)?,
        subject: match kind.as_str() {
            "holder" => SubjectKind::Holder,
            "staff" => SubjectKind::Staff,
            other => return Err(corrupt("session kind", other)),
        },
        subject_id: row.try_get("subject_id").map_err(db_err)?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at").map_err(db_err)?)?,
        last_seen_at: parse_ts(&row.try_get::<String, _>("last_seen_at").map_err(db_err)?)?,
        ended: ended.is_some(),
        ip: row.try_get("ip").map_err(db_err)?,
        user_agent: row.try_get("user_agent").map_err(db_err)?,
    })
}

fn entry_view(row: &SqliteRow) -> Result<EntryView, StoreError> {
    let kind: String = row.try_get("kind").map_err(db_err)?;
    let category: Option<String> = row.try_get("category").map_err(db_err)?;
    Ok(EntryView {
        id: row.try_get("id").map_err(db_err)?,
        at: row.try_get("created_at").map_err(db_err)?,
        kind: EntryKind::parse(&kind).ok_or_else(|| corrupt("entry kind", &kind))?,
        amount: Money::from_fen(row.try_get("amount").map_err(db_err)?),
        balance_after: Money::from_fen(row.try_get("balance_after").map_err(db_err)?),
        merchant_zh: row.try_get("name_zh").map_err(db_err)?,
        merchant_en: row.try_get("name_en").map_err(db_err)?,
        category: match category {
            None => None,
            Some(c) => Some(MerchantCategory::parse(&c).ok_or_else(|| corrupt("category", &c))?),
        },
        memo: row.try_get("memo").map_err(db_err)?,
    })
}

pub(super) fn account_status(text: &str) -> Result<AccountStatus, StoreError> {
    AccountStatus::parse(text).ok_or_else(|| corrupt("account status", text))
}

pub(super) fn card_status(text: &str) -> Result<CardStatus, StoreError> {
    CardStatus::parse(text).ok_or_else(|| corrupt("card status", text))
}

/// Writes an audit record inside the caller's transaction.
pub(super) async fn insert_audit(
    tx: &mut Transaction<'_, Sqlite>,
    audit: &Audit,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (kind, id) = match audit.actor {
        Actor::Holder(id) => ("holder", Some(id)),
        Actor::Staff(id) => ("staff", Some(id)),
        Actor::Device(id) => ("device", Some(id)),
        Actor::System => ("system", None),
    };
    sqlx::query(
        "INSERT INTO audit_log (at, actor_kind, actor_id, action, holder_id, target, before_state, after_state, reason, ip)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(ts(now))
    .bind(kind)
    .bind(id)
    .bind(audit.action)
    .bind(audit.holder_id)
    .bind(&audit.target)
    .bind(&audit.before)
    .bind(&audit.after)
    .bind(&audit.reason)
    .bind(&audit.ip)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Ends sessions and revokes their code keys; `only` limits it to one session.
pub(super) async fn end_sessions_tx(
    tx: &mut Transaction<'_, Sqlite>,
    subject: SubjectKind,
    subject_id: i64,
    keep: Option<&str>,
    now: &str,
) -> Result<u64, StoreError> {
    let ended = sqlx::query(
        "UPDATE sessions SET ended_at = ?1
         WHERE subject_kind = ?2 AND subject_id = ?3 AND ended_at IS NULL AND (?4 IS NULL OR token_hash <> ?4)",
    )
    .bind(now)
    .bind(subject.as_str())
    .bind(subject_id)
    .bind(keep)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    if subject == SubjectKind::Holder {
        sqlx::query(
            "UPDATE pay_code_keys SET revoked_at = ?1
             WHERE holder_id = ?2 AND revoked_at IS NULL AND (?3 IS NULL OR session_hash <> ?3)",
        )
        .bind(now)
        .bind(subject_id)
        .bind(keep)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(ended)
}

const HOLDER_AUTH_COLUMNS: &str = "h.id, h.query_pw_hash, h.query_pw_is_initial, h.locked_until, h.personal_pins, h.name, h.student_no";

const ENTRY_FILTER: &str = "
    WHERE j.account_id = (SELECT id FROM accounts WHERE holder_id = ?1)
      AND (?2 IS NULL OR j.created_at >= ?2)
      AND (?3 IS NULL OR j.created_at < ?3)
      AND (?4 IS NULL OR j.kind = ?4)
      AND (?5 IS NULL OR m.category = ?5)";

#[async_trait]
impl PortalStore for SqliteStore {
    async fn holder_auth_by_login(&self, login: &str) -> Result<Option<HolderAuth>, StoreError> {
        // A student number, or the printed number of the holder's live (active or lost) card.
        let sql = format!(
            "SELECT {HOLDER_AUTH_COLUMNS} FROM cardholders h WHERE h.student_no = ?1
             UNION
             SELECT {HOLDER_AUTH_COLUMNS} FROM cardholders h JOIN cards c ON c.holder_id = h.id
             WHERE c.card_no = ?1 AND c.status IN ('active', 'lost')
             LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(login)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(holder_auth_row).transpose()
    }

    async fn holder_auth(&self, holder_id: i64) -> Result<Option<HolderAuth>, StoreError> {
        let sql = format!("SELECT {HOLDER_AUTH_COLUMNS} FROM cardholders h WHERE h.id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(holder_auth_row).transpose()
    }

    async fn login_failed(
        &self,
        holder_id: i64,
        max: i64,
        lock_until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        super::sqlite::count_failure(
            &self.pool,
            "cardholders",
            "failed_logins",
            "locked_until",
            holder_id,
            max,
            lock_until,
        )
        .await
    }

    async fn login_succeeded(&self, holder_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE cardholders SET failed_logins = 0, locked_until = NULL WHERE id = ?")
            .bind(holder_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn throttle_failures(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT failures FROM login_throttle WHERE key = ? AND window_start >= ?",
        )
        .bind(key)
        .bind(ts(window_start))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(n.unwrap_or(0))
    }

    async fn throttle_record(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO login_throttle (key, window_start, failures) VALUES (?1, ?2, 1)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN login_throttle.window_start >= ?3 THEN login_throttle.failures + 1 ELSE 1 END,
                 window_start = CASE WHEN login_throttle.window_start >= ?3 THEN login_throttle.window_start ELSE ?2 END",
        )
        .bind(key)
        .bind(ts(now))
        .bind(ts(window_start))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn create_session(&self, s: &NewSession) -> Result<(), StoreError> {
        let now = ts(s.now);
        sqlx::query(
            "INSERT INTO sessions (token_hash, subject_kind, subject_id, created_at, last_seen_at, expires_at, ip, user_agent)
             VALUES (?1, ?2, ?3, ?4, ?4, ?4, ?5, ?6)",
        )
        .bind(&s.token_hash)
        .bind(s.subject.as_str())
        .bind(s.subject_id)
        .bind(&now)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(session_row).transpose()
    }

    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND ended_at IS NULL",
        )
        .bind(ts(now))
        .bind(token_hash)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn end_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let now = ts(now);
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE sessions SET ended_at = ?1 WHERE token_hash = ?2 AND ended_at IS NULL")
            .bind(&now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("UPDATE pay_code_keys SET revoked_at = ?1 WHERE session_hash = ?2 AND revoked_at IS NULL")
            .bind(&now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn end_sessions_of(
        &self,
        subject: SubjectKind,
        subject_id: i64,
        keep: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let n = end_sessions_tx(&mut tx, subject, subject_id, keep, &ts(now)).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn live_sessions_of(
        &self,
        subject: SubjectKind,
        subject_id: i64,
    ) -> Result<Vec<SessionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE subject_kind = ? AND subject_id = ? AND ended_at IS NULL
             ORDER BY last_seen_at DESC",
        )
        .bind(subject.as_str())
        .bind(subject_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(session_row).collect()
    }

    async fn dashboard(
        &self,
        holder_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<Option<DashboardRow>, StoreError> {
        let row = sqlx::query(
            concat!(
                "SELECT h.name, h.student_no, a.balance, a.status, a.single_limit, a.daily_limit,
                    a.consumption_pw_is_initial,
                    (SELECT card_no FROM cards WHERE holder_id = h.id AND status IN ('active', 'lost')) AS card_no,
                    (SELECT status FROM cards WHERE holder_id = h.id AND status IN ('active', 'lost')) AS card_status, ",
                sqlite_spent_today!(),
                " AS spent FROM cardholders h JOIN accounts a ON a.holder_id = h.id WHERE h.id = ?1"
            ),
        )
        .bind(holder_id)
        .bind(ts(day_start))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let card_no: Option<String> = row.try_get("card_no").map_err(db_err)?;
        let status: Option<String> = row.try_get("card_status").map_err(db_err)?;
        let card = match (card_no, status) {
            (Some(no), Some(st)) => Some((no, card_status(&st)?)),
            _ => None,
        };
        Ok(Some(DashboardRow {
            name: row.try_get("name").map_err(db_err)?,
            student_no: row.try_get("student_no").map_err(db_err)?,
            balance: Money::from_fen(row.try_get("balance").map_err(db_err)?),
            account_status: account_status(&row.try_get::<String, _>("status").map_err(db_err)?)?,
            card,
            single_limit: Money::from_fen(row.try_get("single_limit").map_err(db_err)?),
            daily_limit: Money::from_fen(row.try_get("daily_limit").map_err(db_err)?),
            spent_since: Money::from_fen(row.try_get("spent").map_err(db_err)?),
            consumption_pw_is_initial: row.try_get("consumption_pw_is_initial").map_err(db_err)?,
        }))
    }

    async fn entries(&self, holder_id: i64, q: &EntryQuery) -> Result<Vec<EntryView>, StoreError> {
        let sql = format!(
            "SELECT j.id, j.created_at, j.kind, j.amount, j.balance_after, j.memo, m.name_zh, m.name_en, m.category
             FROM journal_entries j LEFT JOIN merchants m ON m.id = j.merchant_id
             {ENTRY_FILTER}
               AND (?6 IS NULL OR j.created_at < ?6 OR (j.created_at = ?6 AND j.id < ?7))
             ORDER BY j.created_at DESC, j.id DESC LIMIT ?8"
        );
        let (before_at, before_id) = match &q.before {
            Some((at, id)) => (Some(at.as_str()), Some(*id)),
            None => (None, None),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(q.from.as_deref())
            .bind(q.until.as_deref())
            .bind(q.kind.map(|k| k.as_str()))
            .bind(q.category.map(|c| c.as_str()))
            .bind(before_at)
            .bind(before_id)
            .bind(q.limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(entry_view).collect()
    }

    async fn entries_total(
        &self,
        holder_id: i64,
        q: &EntryQuery,
    ) -> Result<(i64, Money), StoreError> {
        let sql = format!(
            "SELECT COUNT(*) AS n, COALESCE(SUM(j.amount), 0) AS total
             FROM journal_entries j LEFT JOIN merchants m ON m.id = j.merchant_id {ENTRY_FILTER}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(q.from.as_deref())
            .bind(q.until.as_deref())
            .bind(q.kind.map(|k| k.as_str()))
            .bind(q.category.map(|c| c.as_str()))
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok((
            row.try_get("n").map_err(db_err)?,
            Money::from_fen(row.try_get("total").map_err(db_err)?),
        ))
    }

    async fn monthly_spend(
        &self,
        holder_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<MonthSpend>, StoreError> {
        // Months in campus time (UTC+8).
        let rows = sqlx::query(
            "SELECT strftime('%Y-%m', j.created_at, '+8 hours') AS month, m.category, -SUM(j.amount) AS spent
             FROM journal_entries j JOIN merchants m ON m.id = j.merchant_id
             WHERE j.account_id = (SELECT id FROM accounts WHERE holder_id = ?1)
               AND j.kind IN ('payment', 'refund') AND j.created_at >= ?2
             GROUP BY month, m.category ORDER BY month, m.category",
        )
        .bind(holder_id)
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let category: String = row.try_get("category").map_err(db_err)?;
                Ok(MonthSpend {
                    month: row.try_get("month").map_err(db_err)?,
                    category: MerchantCategory::parse(&category)
                        .ok_or_else(|| corrupt("category", &category))?,
                    amount: Money::from_fen(row.try_get("spent").map_err(db_err)?),
                })
            })
            .collect()
    }

    async fn profile(&self, holder_id: i64) -> Result<Option<ProfileRow>, StoreError> {
        let row = sqlx::query(
            "SELECT name, student_no, kind, department, class_name, id_doc_masked, phone_masked FROM cardholders WHERE id = ?",
        )
        .bind(holder_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind").map_err(db_err)?;
        Ok(Some(ProfileRow {
            name: row.try_get("name").map_err(db_err)?,
            student_no: row.try_get("student_no").map_err(db_err)?,
            kind: HolderKind::parse(&kind).ok_or_else(|| corrupt("holder kind", &kind))?,
            department: row.try_get("department").map_err(db_err)?,
            class_name: row.try_get("class_name").map_err(db_err)?,
            id_doc_masked: row.try_get("id_doc_masked").map_err(db_err)?,
            phone_masked: row.try_get("phone_masked").map_err(db_err)?,
        }))
    }

    async fn set_card_lost(
        &self,
        holder_id: i64,
        lost: bool,
        now: DateTime<Utc>,
        mut audit: Audit,
    ) -> Result<CardChange, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT id, card_no, status FROM cards WHERE holder_id = ? AND status IN ('active', 'lost')")
            .bind(holder_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(CardChange::NoCard);
        };
        let card_id: i64 = row.try_get("id").map_err(db_err)?;
        let card_no: String = row.try_get("card_no").map_err(db_err)?;
        let from = card_status(&row.try_get::<String, _>("status").map_err(db_err)?)?;
        let (expected, to) = if lost {
            (CardStatus::Active, CardStatus::Lost)
        } else {
            (CardStatus::Lost, CardStatus::Active)
        };
        if from != expected {
            return Ok(CardChange::WrongState(from));
        }
        sqlx::query("UPDATE cards SET status = ?, lost_at = ? WHERE id = ?")
            .bind(to.as_str())
            .bind(lost.then(|| ts(now)))
            .bind(card_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        audit.target = format!("card {card_no}");
        audit.before = from.as_str().into();
        audit.after = to.as_str().into();
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(CardChange::Changed { card_no, from, to })
    }

    async fn change_query_password(
        &self,
        holder_id: i64,
        new_hash: &str,
        keep_session: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now_text = ts(now);
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE cardholders SET query_pw_hash = ?, query_pw_is_initial = 0, query_pw_changed_at = ?,
                 failed_logins = 0, locked_until = NULL WHERE id = ?",
        )
        .bind(new_hash)
        .bind(&now_text)
        .bind(holder_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        end_sessions_tx(
            &mut tx,
            SubjectKind::Holder,
            holder_id,
            Some(keep_session),
            &now_text,
        )
        .await?;
        // Every code key goes, the current device's too: it gets a fresh key on next display.
        sqlx::query(
            "UPDATE pay_code_keys SET revoked_at = ? WHERE holder_id = ? AND revoked_at IS NULL",
        )
        .bind(&now_text)
        .bind(holder_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        insert_audit(&mut tx, &audit, now).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn set_limits(
        &self,
        holder_id: i64,
        single: Money,
        daily: Money,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE accounts SET single_limit = ?, daily_limit = ? WHERE holder_id = ?")
            .bind(single.fen())
            .bind(daily.fen())
            .bind(holder_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        insert_audit(&mut tx, &audit, self.clock.now()).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn limits(&self, holder_id: i64) -> Result<Option<(Money, Money)>, StoreError> {
        let row = sqlx::query("SELECT single_limit, daily_limit FROM accounts WHERE holder_id = ?")
            .bind(holder_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| {
            Ok((
                Money::from_fen(r.try_get("single_limit").map_err(db_err)?),
                Money::from_fen(r.try_get("daily_limit").map_err(db_err)?),
            ))
        })
        .transpose()
    }

    async fn pay_key_for_session(&self, token_hash: &str) -> Result<Option<PayKey>, StoreError> {
        let row = sqlx::query(
            "SELECT k.key_id, k.holder_id, k.secret, k.revoked_at, a.status
             FROM pay_code_keys k JOIN accounts a ON a.holder_id = k.holder_id
             WHERE k.session_hash = ? AND k.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(pay_key_row).transpose()
    }

    async fn create_pay_key(
        &self,
        key_id: i64,
        holder_id: i64,
        token_hash: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO pay_code_keys (key_id, holder_id, session_hash, secret, created_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(key_id)
        .bind(holder_id)
        .bind(token_hash)
        .bind(secret)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn pay_key(&self, key_id: i64) -> Result<Option<PayKey>, StoreError> {
        let row = sqlx::query(
            "SELECT k.key_id, k.holder_id, k.secret, k.revoked_at, a.status
             FROM pay_code_keys k JOIN accounts a ON a.holder_id = k.holder_id WHERE k.key_id = ?",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(pay_key_row).transpose()
    }

    async fn use_pay_code(
        &self,
        key_id: i64,
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("INSERT INTO pay_code_uses (key_id, step, used_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            .bind(key_id)
            .bind(step)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn pay_code_used(&self, key_id: i64, step: i64) -> Result<bool, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pay_code_uses WHERE key_id = ? AND step = ?")
                .bind(key_id)
                .bind(step)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(n > 0)
    }

    async fn audit(&self, audit: Audit) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        insert_audit(&mut tx, &audit, self.clock.now()).await?;
        tx.commit().await.map_err(db_err)
    }
}

fn pay_key_row(row: &SqliteRow) -> Result<PayKey, StoreError> {
    let revoked: Option<String> = row.try_get("revoked_at").map_err(db_err)?;
    Ok(PayKey {
        key_id: row.try_get("key_id").map_err(db_err)?,
        holder_id: row.try_get("holder_id").map_err(db_err)?,
        secret: row.try_get("secret").map_err(db_err)?,
        revoked: revoked.is_some(),
        account_status: account_status(&row.try_get::<String, _>("status").map_err(db_err)?)?,
    })
}
