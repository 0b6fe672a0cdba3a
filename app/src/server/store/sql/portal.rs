//! The student portal: logins, sessions, the holder's own data, the lost report and the
//! 深职通码 keys.

use super::{
    ThisStore, apply_card_change, audited_if, bounds, clear_attempts, end_bindings_tx,
    end_sessions_tx, insert_audit, lock_live_card, reserve_attempt,
};
use crate::code_format::is_phone_key;
use crate::model::{CardStatus, EntryKind, Money, SpendCategory};
use crate::portal_model::{EntryView, MonthSpend};
use crate::server::domain::bindings::HolderEvent;
use crate::server::domain::cards;
use crate::server::store::{
    Attempt, Attempts, Audit, CardChange, DashboardRow, EntryQuery, Finish, HolderAuth, NewBinding,
    NewSession, PayKey, PhoneBinding, PortalStore, ProfileRow, SessionRow, StoreError, SubjectKind,
    Ts, corrupt,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

type DbRow = super::DbRow;

fn holder_auth_row(row: &DbRow) -> Result<HolderAuth, StoreError> {
    let pins: String = row.try_get("personal_pins")?;
    Ok(HolderAuth {
        holder_id: row.try_get("id")?,
        query_pw_hash: row.try_get("query_pw_hash")?,
        must_change_password: row.try_get("query_pw_is_initial")?,
        locked_until: row.try_get("locked_until")?,
        personal_pins: pins
            .split(',')
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect(),
        name: row.try_get("name")?,
        student_no: row.try_get("student_no")?,
    })
}

fn session_row(row: &DbRow) -> Result<SessionRow, StoreError> {
    let kind: String = row.try_get("subject_kind")?;
    let ended: Option<DateTime<Utc>> = row.try_get("ended_at")?;
    Ok(SessionRow {
        token_hash: row.try_get("token_hash")?,
        subject: match kind.as_str() {
            "holder" => SubjectKind::Holder,
            "staff" => SubjectKind::Staff,
            other => return Err(corrupt("session kind", other)),
        },
        subject_id: row.try_get("subject_id")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        ended: ended.is_some(),
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
    })
}

fn entry_view(row: &DbRow) -> Result<EntryView, StoreError> {
    let kind: EntryKind = row.try_get("kind")?;
    Ok(EntryView {
        id: row.try_get("id")?,
        at: row.try_get::<Ts, _>("created_at")?.text(),
        kind,
        amount: Money::from_fen(row.try_get("amount")?),
        balance_after: Money::from_fen(row.try_get("balance_after")?),
        merchant_zh: row.try_get("name_zh")?,
        merchant_en: row.try_get("name_en")?,
        category: row.try_get("category")?,
        memo: row.try_get("memo")?,
    })
}

const HOLDER_AUTH_COLUMNS: &str = "h.id, h.query_pw_hash, h.query_pw_is_initial, h.locked_until, h.personal_pins, h.name, h.student_no";

const ENTRY_FILTER: &str = "
    WHERE j.account_id = (SELECT id FROM accounts WHERE holder_id = $1)
      AND ($2 IS NULL OR j.created_at >= $2)
      AND ($3 IS NULL OR j.created_at < $3)
      AND ($4 IS NULL OR j.kind = $4)
      AND ($5 IS NULL OR m.category = $5)";

#[async_trait]
impl PortalStore for ThisStore {
    async fn holder_auth_by_login(&self, login: &str) -> Result<Option<HolderAuth>, StoreError> {
        // A student number, or the printed number of the holder's live (active or lost) card.
        let sql = format!(
            "SELECT {HOLDER_AUTH_COLUMNS} FROM cardholders h WHERE h.student_no = $1
             UNION
             SELECT {HOLDER_AUTH_COLUMNS} FROM cardholders h JOIN cards c ON c.holder_id = h.id
             WHERE c.card_no = $1 AND c.status IN ('active', 'lost')
             LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(login)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(holder_auth_row).transpose()?)
    }

    async fn holder_auth(&self, holder_id: i64) -> Result<Option<HolderAuth>, StoreError> {
        let sql = format!("SELECT {HOLDER_AUTH_COLUMNS} FROM cardholders h WHERE h.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(holder_auth_row).transpose()?)
    }

    async fn reserve_attempt(
        &self,
        who: Attempts,
        max: i64,
        lock_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Attempt, StoreError> {
        reserve_attempt(&self.pool, who, max, lock_until, now).await
    }

    async fn attempt_succeeded(&self, who: Attempts) -> Result<(), StoreError> {
        clear_attempts(&self.pool, who).await
    }

    async fn throttle_reserve(
        &self,
        key: &str,
        max: i64,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // One atomic upsert that counts this attempt and answers the count with it: of
        // concurrent attempts, only the first `max` see a count within the limit.
        let reserved: i64 = sqlx::query_scalar(
            "INSERT INTO login_throttle (key, window_start, failures) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN login_throttle.window_start >= $3 THEN login_throttle.failures + 1 ELSE 1 END,
                 window_start = CASE WHEN login_throttle.window_start >= $3 THEN login_throttle.window_start ELSE $2 END
             RETURNING CAST(failures AS BIGINT)",
        )
        .bind(key)
        .bind(Ts::new(now))
        .bind(Ts::new(window_start))
        .fetch_one(&self.pool)
        .await?;
        Ok(reserved <= max)
    }

    async fn throttle_release(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE login_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0",
        )
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_session(&self, s: &NewSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, subject_kind, subject_id, created_at, last_seen_at, expires_at, ip, user_agent)
             VALUES ($1, $2, $3, $4, $4, $4, $5, $6)",
        )
        .bind(&s.token_hash)
        .bind(s.subject.as_str())
        .bind(s.subject_id)
        .bind(Ts::new(s.now))
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn note_login_browser(
        &self,
        holder_id: i64,
        browser_hash: &str,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use crate::server::domain::sessions;
        let at = Ts::new(now);
        in_transaction!(self, |tx| {
            // (browsers known, this one among them).
            let (known_any, known_here): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COUNT(CASE WHEN browser_hash = $2 THEN 1 END)
                 FROM known_browsers WHERE holder_id = $1",
            )
            .bind(holder_id)
            .bind(browser_hash)
            .fetch_one(&mut *tx)
            .await?;
            let new = sessions::new_browser(known_here > 0, known_any > 0);
            sqlx::query(
                "INSERT INTO known_browsers (holder_id, browser_hash, first_seen_at, last_seen_at)
                 VALUES ($1, $2, $3, $3)
                 ON CONFLICT (holder_id, browser_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            )
            .bind(holder_id)
            .bind(browser_hash)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM known_browsers WHERE holder_id = $1 AND browser_hash NOT IN (
                     SELECT browser_hash FROM known_browsers WHERE holder_id = $1
                     ORDER BY last_seen_at DESC, browser_hash LIMIT $2)",
            )
            .bind(holder_id)
            .bind(sessions::KNOWN_BROWSERS)
            .execute(&mut *tx)
            .await?;
            super::notices::login_pushes_tx(&mut tx, holder_id, browser_hash, session_hash).await?;
            if new {
                super::notices::notify_kind(
                    &mut tx,
                    holder_id,
                    crate::model::NoticeKind::NewBrowser,
                    at,
                )
                .await?;
            }
            Ok(Finish::Commit(new))
        })
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(session_row).transpose()?)
    }

    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
        )
        .bind(Ts::new(now))
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            sqlx::query(
                "UPDATE sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
            )
            .bind(now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE pay_code_keys SET revoked_at = $1 WHERE session_hash = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn end_sessions_of(
        &self,
        subject: SubjectKind,
        subject_id: i64,
        keep: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            let n = end_sessions_tx(&mut tx, subject, subject_id, keep, now).await?;
            Ok(Finish::Commit(n))
        })
    }

    async fn live_sessions_of(
        &self,
        subject: SubjectKind,
        subject_id: i64,
    ) -> Result<Vec<SessionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE subject_kind = $1 AND subject_id = $2 AND ended_at IS NULL
             ORDER BY last_seen_at DESC",
        )
        .bind(subject.as_str())
        .bind(subject_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(session_row)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn dashboard(
        &self,
        holder_id: i64,
        day_start: DateTime<Utc>,
    ) -> Result<Option<DashboardRow>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT h.name, h.student_no, h.kind, h.department, a.balance, a.status, a.single_limit,
                    a.daily_limit, a.consumption_pw_is_initial, c.card_no, c.status AS card_status,
                    (SELECT CAST(COUNT(*) AS BIGINT) FROM bills b
                      WHERE b.holder_id = h.id AND b.status = 'unpaid') AS bills_due,
                    (SELECT CAST(COALESCE(SUM(b.amount), 0) AS BIGINT) FROM bills b
                      WHERE b.holder_id = h.id AND b.status = 'unpaid') AS bills_due_amount, ",
            spent_today!(),
            " AS spent
             FROM cardholders h JOIN accounts a ON a.holder_id = h.id
             LEFT JOIN cards c ON c.holder_id = h.id AND c.status IN ('active', 'lost')
             WHERE h.id = $1"
        ))
        .bind(holder_id)
        .bind(Ts::new(day_start))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let decode = || -> Result<DashboardRow, StoreError> {
            let card_no: Option<String> = row.try_get("card_no")?;
            let status: Option<CardStatus> = row.try_get("card_status")?;
            let card = match (card_no, status) {
                (Some(no), Some(st)) => Some((no, st)),
                _ => None,
            };
            Ok(DashboardRow {
                name: row.try_get("name")?,
                student_no: row.try_get("student_no")?,
                kind: row.try_get("kind")?,
                department: row.try_get("department")?,
                bills_due: row.try_get("bills_due")?,
                bills_due_amount: Money::from_fen(row.try_get("bills_due_amount")?),
                balance: Money::from_fen(row.try_get("balance")?),
                account_status: row.try_get("status")?,
                card,
                single_limit: Money::from_fen(row.try_get("single_limit")?),
                daily_limit: Money::from_fen(row.try_get("daily_limit")?),
                spent_since: Money::from_fen(row.try_get("spent")?),
                consumption_pw_is_initial: row.try_get("consumption_pw_is_initial")?,
            })
        };
        Ok(Some(decode()?))
    }

    async fn entries(&self, holder_id: i64, q: &EntryQuery) -> Result<Vec<EntryView>, StoreError> {
        let sql = format!(
            "SELECT j.id, j.created_at, j.kind, j.amount, j.balance_after, j.memo, m.name_zh, m.name_en, m.category
             FROM journal_entries j LEFT JOIN merchants m ON m.id = j.merchant_id
             {ENTRY_FILTER}
               AND ($6 IS NULL OR j.created_at < $6 OR (j.created_at = $6 AND j.id < $7))
             ORDER BY j.created_at DESC, j.id DESC LIMIT $8"
        );
        let (from, until) = bounds(q.from.as_deref(), q.until.as_deref())?;
        let (before_at, before_id) = match &q.before {
            Some((at, id)) => (Some(Ts::parse(at)?), Some(*id)),
            None => (None, None),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(from)
            .bind(until)
            .bind(q.kind.map(|k| k.as_str()))
            .bind(q.category.map(|c| c.as_str()))
            .bind(before_at)
            .bind(before_id)
            .bind(q.limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(entry_view)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn entries_total(
        &self,
        holder_id: i64,
        q: &EntryQuery,
    ) -> Result<(i64, Money, Money), StoreError> {
        let sql = format!(
            "SELECT COUNT(*) AS n,
                    CAST(COALESCE(SUM(CASE WHEN j.amount < 0 THEN -j.amount ELSE 0 END), 0) AS BIGINT) AS out_fen,
                    CAST(COALESCE(SUM(CASE WHEN j.amount > 0 THEN j.amount ELSE 0 END), 0) AS BIGINT) AS in_fen
             FROM journal_entries j LEFT JOIN merchants m ON m.id = j.merchant_id {ENTRY_FILTER}"
        );
        let (from, until) = bounds(q.from.as_deref(), q.until.as_deref())?;
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(from)
            .bind(until)
            .bind(q.kind.map(|k| k.as_str()))
            .bind(q.category.map(|c| c.as_str()))
            .fetch_one(&self.pool)
            .await?;
        let n: i64 = row.try_get("n")?;
        let out_fen: i64 = row.try_get("out_fen")?;
        let in_fen: i64 = row.try_get("in_fen")?;
        Ok((n, Money::from_fen(out_fen), Money::from_fen(in_fen)))
    }

    async fn monthly_spend(
        &self,
        holder_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<MonthSpend>, StoreError> {
        // Months in campus time (`campus_month!`: UTC+8 all year). A merchant's payments and
        // their refunds count under its category; a purchase from a biller and its refund
        // under 缴费 ('utilities'), the refund in the purchase's month: a delivery that failed
        // is no spending in either month, even when its outcome came after midnight.
        let rows = sqlx::query(concat!(
            "SELECT month, category, CAST(-SUM(amount) AS BIGINT) AS spent FROM (
                SELECT ",
            campus_month!("spent_at"),
            " AS month, category, amount FROM (
                    SELECT CASE WHEN r.kind = 'purchase' THEN r.created_at ELSE j.created_at END
                               AS spent_at,
                           COALESCE(m.category, 'utilities') AS category, j.amount
                    FROM journal_entries j
                    LEFT JOIN merchants m ON m.id = j.merchant_id
                    LEFT JOIN journal_entries r ON r.id = j.reverses_id
                    WHERE j.account_id = (SELECT id FROM accounts WHERE holder_id = $1)
                      AND j.created_at >= $2
                      AND ((j.kind IN ('payment', 'refund') AND j.merchant_id IS NOT NULL)
                           OR j.kind = 'purchase'
                           OR (j.kind = 'refund' AND j.merchant_id IS NULL
                               AND r.kind = 'purchase'))
                ) entries
                WHERE spent_at >= $2
             ) spending
             GROUP BY month, category ORDER BY month, category"
        ))
        .bind(holder_id)
        .bind(Ts::new(since))
        .fetch_all(&self.pool)
        .await?;
        let decode = |row: &DbRow| -> Result<MonthSpend, StoreError> {
            let category: SpendCategory = row.try_get("category")?;
            Ok(MonthSpend {
                month: row.try_get("month")?,
                category,
                amount: Money::from_fen(row.try_get("spent")?),
            })
        };
        Ok(rows.iter().map(decode).collect::<Result<_, StoreError>>()?)
    }

    async fn profile(&self, holder_id: i64) -> Result<Option<ProfileRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, student_no, kind, department, class_name, id_doc_masked, phone_masked
             FROM cardholders WHERE id = $1",
        )
        .bind(holder_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn set_card_lost(
        &self,
        holder_id: i64,
        lost: bool,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<CardChange, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            // The live card, locked: a concurrent report and lift resolve one after the other.
            let live = lock_live_card(&mut tx, holder_id).await?;
            apply_card_change(
                &mut tx,
                holder_id,
                cards::decide_lost(live, lost),
                audit,
                now,
            )
            .await
        })
    }

    async fn change_query_password(
        &self,
        holder_id: i64,
        new_hash: &str,
        keep_session: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            sqlx::query(
                "UPDATE cardholders SET query_pw_hash = $1, query_pw_is_initial = FALSE, query_pw_changed_at = $2,
                     failed_logins = 0, locked_until = NULL WHERE id = $3",
            )
            .bind(new_hash)
            .bind(now)
            .bind(holder_id)
            .execute(&mut *tx)
            .await?;
            end_sessions_tx(
                &mut tx,
                SubjectKind::Holder,
                holder_id,
                Some(keep_session),
                now,
            )
            .await?;
            // Every code key goes, the current device's too: it gets a fresh key on next display.
            sqlx::query(
                "UPDATE pay_code_keys SET revoked_at = $1 WHERE holder_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(holder_id)
            .execute(&mut *tx)
            .await?;
            end_bindings_tx(&mut tx, holder_id, HolderEvent::PasswordChanged, now).await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn set_limits(
        &self,
        holder_id: i64,
        single: Money,
        daily: Money,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            sqlx::query(
                "UPDATE accounts SET single_limit = $1, daily_limit = $2 WHERE holder_id = $3",
            )
            .bind(single.fen())
            .bind(daily.fen())
            .bind(holder_id)
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit, self.clock.now()).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn limits(&self, holder_id: i64) -> Result<Option<(Money, Money)>, StoreError> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT single_limit, daily_limit FROM accounts WHERE holder_id = $1")
                .bind(holder_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(s, d)| (Money::from_fen(s), Money::from_fen(d))))
    }

    async fn pay_key_for_session(&self, token_hash: &str) -> Result<Option<PayKey>, StoreError> {
        let row = sqlx::query(
            "SELECT k.key_id, k.holder_id, k.secret, k.revoked_at, a.status
             FROM pay_code_keys k JOIN accounts a ON a.holder_id = k.holder_id
             WHERE k.session_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(pay_key_row).transpose()?)
    }

    async fn create_pay_key(
        &self,
        key_id: i64,
        holder_id: i64,
        token_hash: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // ON CONFLICT DO NOTHING covers a taken key id and a live key already made for this
        // session by a concurrent request; either way the caller looks again.
        let done = sqlx::query(
            "INSERT INTO pay_code_keys (key_id, holder_id, session_hash, secret, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(key_id)
        .bind(holder_id)
        .bind(token_hash)
        .bind(secret)
        .bind(Ts::new(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn pay_key(&self, key_id: i64) -> Result<Option<PayKey>, StoreError> {
        let row = sqlx::query(
            "SELECT k.key_id, k.holder_id, k.secret, k.revoked_at, a.status
             FROM pay_code_keys k JOIN accounts a ON a.holder_id = k.holder_id WHERE k.key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(pay_key_row).transpose()?)
    }

    async fn use_pay_code(
        &self,
        key_id: i64,
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // The primary key decides between two concurrent uses of one code: one row, one winner.
        let done = sqlx::query(if is_phone_key(key_id) {
            "INSERT INTO phone_code_uses (key_id, step, used_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        } else {
            "INSERT INTO pay_code_uses (key_id, step, used_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        })
        .bind(key_id)
        .bind(step)
        .bind(Ts::new(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn pay_code_used(&self, key_id: i64, step: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(if is_phone_key(key_id) {
            "SELECT EXISTS (SELECT 1 FROM phone_code_uses WHERE key_id = $1 AND step = $2)"
        } else {
            "SELECT EXISTS (SELECT 1 FROM pay_code_uses WHERE key_id = $1 AND step = $2)"
        })
        .bind(key_id)
        .bind(step)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn create_binding(&self, b: &NewBinding<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO phone_bindings (key_id, holder_id, token_hash, secret, device_name, created_at, expires_at, last_used_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $6) ON CONFLICT DO NOTHING",
        )
        .bind(b.key_id)
        .bind(b.holder_id)
        .bind(b.token_hash)
        .bind(b.secret)
        .bind(b.device_name)
        .bind(Ts::new(b.now))
        .bind(Ts::new(b.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn binding_by_token(&self, token_hash: &str) -> Result<Option<PhoneBinding>, StoreError> {
        let row = sqlx::query("SELECT * FROM phone_bindings WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(binding_row).transpose()
    }

    async fn bindings_of(&self, holder_id: i64) -> Result<Vec<PhoneBinding>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM phone_bindings WHERE holder_id = $1 AND ended_at IS NULL
             ORDER BY created_at DESC, key_id",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(binding_row).collect()
    }

    async fn touch_binding(&self, key_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE phone_bindings SET last_used_at = $1 WHERE key_id = $2")
            .bind(Ts::new(now))
            .bind(key_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn end_binding(
        &self,
        holder_id: i64,
        key_id: i64,
        reason: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError> {
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            let changed = sqlx::query(
                "UPDATE phone_bindings SET ended_at = $1, end_reason = $2
                 WHERE key_id = $3 AND holder_id = $4 AND ended_at IS NULL",
            )
            .bind(now)
            .bind(reason)
            .bind(key_id)
            .bind(holder_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            audited_if(&mut tx, changed, audit, now).await
        })
    }

    async fn phone_key(&self, key_id: i64) -> Result<Option<PayKey>, StoreError> {
        let row = sqlx::query(
            "SELECT b.key_id, b.holder_id, b.secret, b.ended_at AS revoked_at, b.expires_at, a.status
             FROM phone_bindings b JOIN accounts a ON a.holder_id = b.holder_id WHERE b.key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(pay_key_row).transpose()?)
    }

    async fn audit(&self, audit: Audit) -> Result<(), StoreError> {
        // The record and the notice it makes, together.
        let (audit, now) = (&audit, self.clock.now());
        in_transaction!(self, |tx| {
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }
}

fn pay_key_row(row: &DbRow) -> Result<PayKey, StoreError> {
    let revoked: Option<Ts> = row.try_get("revoked_at")?;
    // Only a phone's key has an expiry column.
    let expires_at: Option<Ts> = row.try_get("expires_at").ok();
    Ok(PayKey {
        key_id: row.try_get("key_id")?,
        holder_id: row.try_get("holder_id")?,
        secret: row.try_get("secret")?,
        revoked: revoked.is_some(),
        account_status: row.try_get("status")?,
        expires_at: expires_at.map(Into::into),
    })
}

fn binding_row(row: &DbRow) -> Result<PhoneBinding, StoreError> {
    let ended: Option<Ts> = row.try_get("ended_at")?;
    Ok(PhoneBinding {
        key_id: row.try_get("key_id")?,
        holder_id: row.try_get("holder_id")?,
        secret: row.try_get("secret")?,
        device_name: row.try_get("device_name")?,
        created_at: row.try_get::<Ts, _>("created_at")?.into(),
        expires_at: row.try_get::<Ts, _>("expires_at")?.into(),
        last_used_at: row.try_get::<Ts, _>("last_used_at")?.into(),
        ended: ended.is_some(),
    })
}
