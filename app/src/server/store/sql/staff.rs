//! The card office: staff accounts, the counter's changes to holders, cards and money, found
//! cards, corrections, administration and reports. Every change runs in `in_transaction!`; a
//! change of money first locks the account (as the money engine does), and a change of a live
//! card locks the card (as the holder's lost report does). The decisions are
//! `server::domain`'s.

use super::ledger::credit_in_tx;
use super::{
    Conn, ThisStore, apply_card_change, audited_if, end_bindings_tx, end_sessions_tx, insert_audit,
    insert_holder, lock_account, lock_account_of_holder, lock_live_card, opt_ts_of, set_balance,
    set_card_status, ts_of,
};
use crate::audit_text::{Fact, Phrase};
use crate::model::{
    ActorKind, CampusProfile, CardStatus, Channel, DeviceKind, EntryKind, Money, StaffRole,
};
use crate::server::domain::bindings::HolderEvent;
use crate::server::domain::shifts::{CashCount, CashIn};
use crate::server::domain::{accounts, cards, corrections, payments};
use crate::server::store::staff::*;
use crate::server::store::{
    Audit, CardChange, CardIssue, Closing, Correction, Credit, CreditOutcome, Finish, NewCard,
    NewHolder, StoreError, SubjectKind, Ts,
};
use crate::staff_model::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, Row};

type DbRow = super::DbRow;

const STAFF_COLUMNS: &str =
    "s.id, s.username, s.display_name, s.role, s.merchant_id, m.name_zh AS merchant_name,
    s.password_hash, s.totp_secret, s.active, s.locked_until,
    s.password_changed_at IS NULL AS must_change_password";

const HOLDER_COLUMNS: &str = "h.id AS holder_id, a.id AS account_id, h.student_no, h.name, h.kind, h.department,
    h.class_name, h.id_doc_kind, h.id_doc_hash, h.id_doc_masked, h.phone_masked, a.balance, a.status,
    a.status_reason, a.single_limit, a.daily_limit, h.query_pw_is_initial, h.failed_logins,
    h.locked_until, a.consumption_pw_is_initial, a.consumption_pw_failures, a.consumption_pw_locked_until";

const AUDIT_COLUMNS: &str = "l.id, l.at, l.actor_kind, l.actor_id, s.username AS staff_username,
    s.display_name AS staff_name, d.code AS device_code, ah.student_no AS actor_student_no,
    l.action, h.student_no AS holder_no, l.target, l.before_state, l.after_state, l.reason";
const AUDIT_JOINS: &str = "FROM audit_log l
    LEFT JOIN staff_users s ON l.actor_kind = 'staff' AND s.id = l.actor_id
    LEFT JOIN devices d ON l.actor_kind = 'device' AND d.id = l.actor_id
    LEFT JOIN cardholders ah ON l.actor_kind = 'holder' AND ah.id = l.actor_id
    LEFT JOIN cardholders h ON h.id = l.holder_id";

fn audit_row(row: &DbRow) -> Result<AuditView, StoreError> {
    let kind: String = row.try_get("actor_kind")?;
    let get = |c: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(c)?) };
    let (actor_kind, actor_name) = match kind.as_str() {
        "staff" => (
            ActorKind::Staff,
            format!(
                "{} ({})",
                get("staff_username")?.unwrap_or_default(),
                get("staff_name")?.unwrap_or_default()
            ),
        ),
        "device" => (ActorKind::Device, get("device_code")?.unwrap_or_default()),
        "holder" => (
            ActorKind::Holder,
            get("actor_student_no")?.unwrap_or_default(),
        ),
        _ => (ActorKind::System, String::new()),
    };
    let actor = if actor_name.is_empty() {
        actor_kind.as_str().to_string()
    } else {
        format!("{actor_kind} {actor_name}")
    };
    Ok(AuditView {
        id: row.try_get("id")?,
        at: ts_of(row, "at")?,
        actor,
        actor_kind,
        actor_name,
        action: row.try_get("action")?,
        holder: get("holder_no")?,
        target: row.try_get("target")?,
        before: row.try_get("before_state")?,
        after: row.try_get("after_state")?,
        reason: row.try_get("reason")?,
    })
}

fn found_row(row: &DbRow) -> Result<FoundCardView, StoreError> {
    Ok(FoundCardView {
        id: row.try_get("id")?,
        holder_id: row.try_get("holder_id")?,
        card_no: row.try_get("card_no")?,
        name: row.try_get("name")?,
        student_no: row.try_get("student_no")?,
        place: row.try_get("place")?,
        found_at: ts_of(row, "found_at")?,
        returned_at: opt_ts_of(row, "returned_at")?,
    })
}

const FOUND_SELECT: &str =
    "SELECT f.id, f.holder_id, c.card_no, h.name, h.student_no, f.place, f.found_at, f.returned_at
    FROM found_cards f JOIN cards c ON c.id = f.card_id JOIN cardholders h ON h.id = f.holder_id";

impl ThisStore {
    async fn holder_where(
        &self,
        filter: &str,
        bind: Bind<'_>,
    ) -> Result<Option<HolderRecord>, StoreError> {
        let sql = format!(
            "SELECT {HOLDER_COLUMNS} FROM cardholders h JOIN accounts a ON a.holder_id = h.id WHERE {filter}"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql));
        let query = match bind {
            Bind::Id(id) => query.bind(id),
            Bind::Text(text) => query.bind(text),
        };
        let row = query.fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(HolderRecord::from_row).transpose()?)
    }

    async fn staff_where(
        &self,
        filter: &str,
        bind: Bind<'_>,
    ) -> Result<Option<StaffAuth>, StoreError> {
        let sql = format!(
            "SELECT {STAFF_COLUMNS} FROM staff_users s LEFT JOIN merchants m ON m.id = s.merchant_id
             WHERE {filter}"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql));
        let query = match bind {
            Bind::Id(id) => query.bind(id),
            Bind::Text(text) => query.bind(text),
        };
        let row = query.fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(StaffAuth::from_row).transpose()?)
    }
}

/// The one parameter of a lookup by id or by text.
enum Bind<'a> {
    Id(i64),
    Text(&'a str),
}

/// A staff member's new enrolment link.
async fn insert_enrolment(
    tx: &mut Conn,
    staff_id: i64,
    e: &NewEnrolment<'_>,
    now: Ts,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO staff_enrolments (token_hash, staff_id, totp_secret, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(e.token_hash)
    .bind(staff_id)
    .bind(e.totp_secret)
    .bind(now)
    .bind(Ts::new(e.expires_at))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Closes a holder's account in the caller's transaction: under the account lock, the whole
/// balance is paid out (a payout entry and finance's payout row), cards are cancelled,
/// automatic top-up and sessions end, and the audit record is written. `Err` is the refusal
/// (already closed; or money on it without `allow_payout`), with nothing written.
#[allow(clippy::too_many_arguments)]
async fn close_in_tx(
    tx: &mut Conn,
    holder_id: i64,
    reference: &str,
    bank_account: &str,
    staff_id: i64,
    now: Ts,
    audit: &Audit,
    allow_payout: bool,
) -> Result<Result<Closing, Closing>, StoreError> {
    let at = now;
    // Under the account lock: a payment in flight finishes first (and is paid out with
    // the rest), or sees the account closed.
    let account = lock_account_of_holder(&mut *tx, holder_id).await?;
    // Asked under the same lock that every request for money to or from the account takes.
    let in_flight: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM reversal_requests WHERE holder_id = $1 AND status = 'pending')
             OR EXISTS (SELECT 1 FROM cash_requests WHERE holder_id = $1 AND status = 'pending')
             OR EXISTS (SELECT 1 FROM topup_orders WHERE holder_id = $1 AND status = 'pending')
             OR EXISTS (SELECT 1 FROM bills WHERE holder_id = $1 AND status = 'unpaid')
             OR EXISTS (SELECT 1 FROM utility_purchases WHERE holder_id = $1 AND status = 'pending')",
    )
    .bind(holder_id)
    .fetch_one(&mut *tx)
    .await?;
    let plan = match accounts::decide_close(
        account.status,
        account.balance,
        reference,
        allow_payout,
        in_flight,
    ) {
        Ok(plan) => plan,
        Err(refused) => return Ok(Err(refused)),
    };
    let mut journal_id = None;
    if let Some(amount) = plan.payout {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO journal_entries (account_id, kind, amount, balance_after, staff_id, reference, memo, created_at)
             VALUES ($1, 'payout', $2, 0, $3, $4, $5, $6) RETURNING id",
        )
        .bind(account.id)
        .bind(-amount.fen())
        .bind(staff_id)
        .bind(reference)
        .bind(&audit.reason)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        set_balance(&mut *tx, account.id, account.balance, Money::ZERO).await?;
        sqlx::query(
            "INSERT INTO payouts (journal_id, holder_id, amount, bank_account, reference, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(holder_id)
        .bind(amount.fen())
        .bind(bank_account)
        .bind(reference)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        journal_id = Some(id);
    }
    sqlx::query(
        "UPDATE cards SET status = 'cancelled', ended_at = $1
         WHERE holder_id = $2 AND status IN ('active', 'lost')",
    )
    .bind(at)
    .bind(holder_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE accounts SET status = 'closed', status_reason = $1, closed_at = $2 WHERE id = $3",
    )
    .bind(&audit.reason)
    .bind(at)
    .bind(account.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE auto_topup SET enabled = FALSE WHERE holder_id = $1")
        .bind(holder_id)
        .execute(&mut *tx)
        .await?;
    end_sessions_tx(&mut *tx, SubjectKind::Holder, holder_id, None, now).await?;
    end_bindings_tx(&mut *tx, holder_id, HolderEvent::AccountClosed, now).await?;
    let mut audit = audit.clone();
    audit.before.clone_from(&plan.audit_before);
    audit.after.clone_from(&plan.audit_after);
    insert_audit(&mut *tx, &audit, now).await?;
    Ok(Ok(plan.outcome(journal_id)))
}

/// A cash top-up inside the caller's transaction: the operator's row locked (their top-ups
/// one after another, so two at once cannot both fit under the cap), the credit, and the cap
/// checked against what they took since `day_start`. Anything but `Credited` rolls back.
async fn cash_credit_in_tx(
    tx: &mut Conn,
    credit: &Credit<'_>,
    day_start: DateTime<Utc>,
    cap: Money,
    audit: &Audit,
) -> Result<Finish<CreditOutcome>, StoreError> {
    sqlx::query(concat!(
        "SELECT id FROM staff_users WHERE id = $1",
        for_update!()
    ))
    .bind(credit.staff_id)
    .execute(&mut *tx)
    .await?;
    let taken: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM journal_entries
         WHERE staff_id = $1 AND kind = 'topup' AND channel = 'cash' AND created_at >= $2",
    )
    .bind(credit.staff_id)
    .bind(Ts::new(day_start))
    .fetch_one(&mut *tx)
    .await?;
    let outcome = credit_in_tx(&mut *tx, credit).await?;
    let CreditOutcome::Credited { balance, .. } = &outcome else {
        return Ok(Finish::Rollback(outcome));
    };
    let taken = Money::from_fen(taken);
    if !payments::within_cash_cap(taken, credit.amount, cap) {
        return Ok(Finish::Rollback(CreditOutcome::CashCapReached {
            taken,
            cap,
        }));
    }
    let mut audit = audit.clone();
    audit.after = Fact::Balance(*balance).into();
    insert_audit(&mut *tx, &audit, credit.now).await?;
    Ok(Finish::Commit(outcome))
}

impl ThisStore {
    /// (staff id, time, amount) rows of `sql`, which takes the period `[$1, $2)` and an
    /// optional staff id `$3`.
    async fn staff_amounts(
        &self,
        sql: &'static str,
        (from, until, staff_id): (DateTime<Utc>, DateTime<Utc>, Option<i64>),
    ) -> Result<Vec<(i64, DateTime<Utc>, Money)>, StoreError> {
        let rows: Vec<(i64, Ts, i64)> = sqlx::query_as(sql)
            .bind(Ts::new(from))
            .bind(Ts::new(until))
            .bind(staff_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, at, fen)| (id, at.0, Money::from_fen(fen)))
            .collect())
    }

    /// A closing in its own transaction (`close_in_tx`).
    #[allow(clippy::too_many_arguments)]
    async fn close(
        &self,
        holder_id: i64,
        reference: &str,
        bank_account: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
        allow_payout: bool,
    ) -> Result<Closing, StoreError> {
        let audit = &audit;
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            Ok(
                match close_in_tx(
                    &mut tx,
                    holder_id,
                    reference,
                    bank_account,
                    staff_id,
                    now,
                    audit,
                    allow_payout,
                )
                .await?
                {
                    Ok(closed) => Finish::Commit(closed),
                    Err(refused) => Finish::Rollback(refused),
                },
            )
        })
    }
}

#[async_trait]
impl StaffStore for ThisStore {
    async fn staff_auth(&self, username: &str) -> Result<Option<StaffAuth>, StoreError> {
        Ok(self
            .staff_where("s.username = $1", Bind::Text(username))
            .await?)
    }

    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffAuth>, StoreError> {
        Ok(self.staff_where("s.id = $1", Bind::Id(id)).await?)
    }

    async fn staff_login_succeeded(&self, id: i64, step: i64) -> Result<bool, StoreError> {
        // One UPDATE: two logins with one code wait on the row lock, and the second no longer
        // matches once the first has committed its step.
        let updated = sqlx::query(
            "UPDATE staff_users SET failed_logins = 0, locked_until = NULL, totp_last_step = $1
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn search_holders(&self, query: &str, limit: i64) -> Result<Vec<HolderHit>, StoreError> {
        let like = format!("%{}%", query.replace(['%', '_'], ""));
        Ok(sqlx::query_as(concat!(
            "SELECT h.id AS holder_id, h.student_no, h.name, h.class_name, a.status AS account_status,
                    a.balance,
                    (SELECT card_no FROM cards WHERE holder_id = h.id AND status IN ('active', 'lost')) AS card_no
             FROM cardholders h JOIN accounts a ON a.holder_id = h.id
             WHERE h.student_no = $1 OR h.name",
            like!("$2"),
            " OR h.id IN (SELECT holder_id FROM cards WHERE card_no = $1 OR chip_serial = $1)
             ORDER BY h.student_no LIMIT $3"
        ))
        .bind(query)
        .bind(like)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn holder_record(&self, holder_id: i64) -> Result<Option<HolderRecord>, StoreError> {
        Ok(self.holder_where("h.id = $1", Bind::Id(holder_id)).await?)
    }

    async fn holder_by_student_no(
        &self,
        student_no: &str,
    ) -> Result<Option<HolderRecord>, StoreError> {
        Ok(self
            .holder_where("h.student_no = $1", Bind::Text(student_no))
            .await?)
    }

    async fn card_views(&self, holder_id: i64) -> Result<Vec<CardView>, StoreError> {
        let rows = sqlx::query(
            "SELECT card_no, chip_serial, status, issued_at, ended_at FROM cards WHERE holder_id = $1
             ORDER BY issued_at DESC, id DESC",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CardView {
                    card_no: row.try_get("card_no")?,
                    chip_serial: row.try_get("chip_serial")?,
                    status: row.try_get("status")?,
                    issued_at: ts_of(row, "issued_at")?,
                    ended_at: opt_ts_of(row, "ended_at")?,
                })
            })
            .collect()
    }

    async fn staff_entries(
        &self,
        holder_id: i64,
        limit: i64,
    ) -> Result<Vec<StaffEntryView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT j.id, j.created_at AS at, j.kind, j.amount, j.balance_after, j.channel, m.name_zh AS merchant,
                    j.reference, j.memo,
                    EXISTS (SELECT 1 FROM journal_entries r WHERE r.reverses_id = j.id) AS reversed
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id
             LEFT JOIN merchants m ON m.id = j.merchant_id
             WHERE a.holder_id = $1 ORDER BY j.created_at DESC, j.id DESC LIMIT $2",
        )
        .bind(holder_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn audit_records(&self, q: &AuditQuery) -> Result<Vec<AuditView>, StoreError> {
        let (from, until) = super::bounds(q.from.as_deref(), q.until.as_deref())?;
        // The action, or its prefix.
        let prefix = concat!("l.action", like!("($3 || '%')"));
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} {AUDIT_JOINS}
             WHERE ($1 IS NULL OR s.username = $1)
               AND ($2 IS NULL OR h.student_no = $2)
               AND ($3 IS NULL OR l.action = $3 OR {prefix})
               AND ($4 IS NULL OR l.at >= $4)
               AND ($5 IS NULL OR l.at < $5)
             ORDER BY l.at DESC, l.id DESC LIMIT $6"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&q.person)
            .bind(&q.holder)
            .bind(&q.action)
            .bind(from)
            .bind(until)
            .bind(q.limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(audit_row).collect()
    }

    async fn audit_of_holder(
        &self,
        holder_id: i64,
        limit: i64,
    ) -> Result<Vec<AuditView>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} {AUDIT_JOINS} WHERE l.holder_id = $1 ORDER BY l.at DESC, l.id DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(audit_row).collect()
    }

    async fn enrol(&self, holders: &[NewHolder], audit: Audit) -> Result<(), StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            for h in holders {
                insert_holder(&mut tx, h).await?;
            }
            insert_audit(&mut tx, audit, self.clock.now()).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn issue_card(
        &self,
        holder_id: i64,
        card: &NewCard,
        replace: bool,
        fee: Money,
        staff_id: i64,
        audit: Audit,
    ) -> Result<CardIssue, StoreError> {
        let audit = &audit;
        let now = card.issued_at;
        in_transaction!(self, |tx| {
            let account = lock_account_of_holder(&mut tx, holder_id).await?;
            let live = lock_live_card(&mut tx, holder_id).await?;
            // A concurrent issue of the same number or serial: the unique key fails the later
            // insert, and its run again finds the card here.
            let taken: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM cards WHERE card_no = $1 OR chip_serial = $2)",
            )
            .bind(&card.card_no)
            .bind(&card.chip_serial)
            .fetch_one(&mut *tx)
            .await?;
            let ask = cards::IssueAsk {
                card_no: &card.card_no,
                replace,
                fee,
            };
            let plan =
                match cards::decide_issue(&ask, account.status, account.balance, live, taken)? {
                    Ok(plan) => plan,
                    Err(refused) => return Ok(Finish::Rollback(refused)),
                };
            if let Some(old) = &plan.void {
                set_card_status(&mut tx, old.id, CardStatus::Void, now).await?;
            }
            sqlx::query(
                "INSERT INTO cards (holder_id, card_no, chip_serial, status, issued_at)
                 VALUES ($1, $2, $3, 'active', $4)",
            )
            .bind(holder_id)
            .bind(&card.card_no)
            .bind(&card.chip_serial)
            .bind(Ts::new(now))
            .execute(&mut *tx)
            .await?;
            if let Some((amount, balance_after)) = plan.fee_entry {
                sqlx::query(
                    "INSERT INTO journal_entries (account_id, kind, amount, balance_after, staff_id, memo, created_at)
                     VALUES ($1, 'fee', $2, $3, $4, $5, $6)",
                )
                .bind(account.id)
                .bind(amount.fen())
                .bind(balance_after.fen())
                .bind(staff_id)
                .bind(&plan.fee_memo)
                .bind(Ts::new(now))
                .execute(&mut *tx)
                .await?;
                set_balance(&mut tx, account.id, account.balance, balance_after).await?;
            }
            let mut audit = audit.clone();
            if let Some(before) = &plan.audit_before {
                audit.before.clone_from(before);
            }
            audit.after.clone_from(&plan.audit_after);
            insert_audit(&mut tx, &audit, now).await?;
            Ok(Finish::Commit(plan.outcome()))
        })
    }

    async fn cancel_card(
        &self,
        holder_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<CardChange, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            let live = lock_live_card(&mut tx, holder_id).await?;
            apply_card_change(&mut tx, holder_id, cards::decide_cancel(live), audit, now).await
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
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            match which {
                PasswordKind::Query => {
                    sqlx::query(
                        "UPDATE cardholders SET query_pw_hash = $1, query_pw_is_initial = TRUE, failed_logins = 0,
                             locked_until = NULL, query_pw_changed_at = $2 WHERE id = $3",
                    )
                    .bind(new_hash)
                    .bind(now)
                    .bind(holder_id)
                    .execute(&mut *tx)
                    .await?;
                    end_sessions_tx(&mut tx, SubjectKind::Holder, holder_id, None, now).await?;
                    end_bindings_tx(&mut tx, holder_id, HolderEvent::PasswordReset, now).await?;
                }
                PasswordKind::Consumption => {
                    sqlx::query(
                        "UPDATE accounts SET consumption_pw_hash = $1, consumption_pw_is_initial = TRUE,
                             consumption_pw_failures = 0, consumption_pw_locked_until = NULL WHERE holder_id = $2",
                    )
                    .bind(new_hash)
                    .bind(holder_id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn lift_lockout(
        &self,
        holder_id: i64,
        which: PasswordKind,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let sql = match which {
            PasswordKind::Query => {
                "UPDATE cardholders SET failed_logins = 0, locked_until = NULL WHERE id = $1"
            }
            PasswordKind::Consumption => {
                "UPDATE accounts SET consumption_pw_failures = 0, consumption_pw_locked_until = NULL WHERE holder_id = $1"
            }
        };
        let audit = &audit;
        in_transaction!(self, |tx| {
            sqlx::query(sql).bind(holder_id).execute(&mut *tx).await?;
            insert_audit(&mut tx, audit, self.clock.now()).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn set_frozen(
        &self,
        holder_id: i64,
        frozen: bool,
        audit: Audit,
    ) -> Result<bool, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            // Under the account lock, as `set_account_status`: a payment in flight finishes
            // first, or sees the new status.
            let before = lock_account_of_holder(&mut tx, holder_id).await?.status;
            let Some(plan) = accounts::decide_freeze(before, frozen, &audit.reason) else {
                return Ok(Finish::Rollback(false));
            };
            sqlx::query("UPDATE accounts SET status = $1, status_reason = $2 WHERE holder_id = $3")
                .bind(plan.status)
                .bind(&plan.status_reason)
                .bind(holder_id)
                .execute(&mut *tx)
                .await?;
            let event = if frozen {
                HolderEvent::AccountFrozen
            } else {
                HolderEvent::AccountUnfrozen
            };
            end_bindings_tx(&mut tx, holder_id, event, self.clock.now()).await?;
            let mut audit = audit.clone();
            audit.before = plan.audit_before;
            audit.after = plan.audit_after;
            insert_audit(&mut tx, &audit, self.clock.now()).await?;
            Ok(Finish::Commit(true))
        })
    }

    async fn close_account(
        &self,
        holder_id: i64,
        reference: &str,
        bank_account: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Closing, StoreError> {
        self.close(
            holder_id,
            reference,
            bank_account,
            staff_id,
            now,
            audit,
            true,
        )
        .await
    }

    async fn close_empty_account(
        &self,
        holder_id: i64,
        reference: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Closing, StoreError> {
        self.close(holder_id, reference, "", staff_id, now, audit, false)
            .await
    }

    async fn request_admin_change(
        &self,
        request: &NewAdminRequest<'_>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<i64, StoreError> {
        let audit = &audit;
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO admin_requests (kind, target, payload, before_state, after_state, reason, requested_by, requested_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(request.kind)
            .bind(request.target)
            .bind(request.payload)
            .bind(request.before)
            .bind(request.after)
            .bind(request.reason)
            .bind(request.requested_by)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(id))
        })
    }

    async fn admin_requests(&self) -> Result<Vec<AdminRequestView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.kind, r.target, r.before_state, r.after_state, r.reason,
                    s.display_name AS requested_by, r.requested_at
             FROM admin_requests r JOIN staff_users s ON s.id = r.requested_by
             WHERE r.status = 'pending' ORDER BY r.requested_at, r.id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn admin_request(&self, id: i64) -> Result<Option<AdminRequestRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind, target, payload, reason, requested_by, status = 'pending' AS pending
             FROM admin_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn decide_admin_request(
        &self,
        id: i64,
        approve: bool,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Option<Audit>,
    ) -> Result<bool, StoreError> {
        let audit = &audit;
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            let decided = sqlx::query(
                "UPDATE admin_requests SET status = $1, decided_by = $2, decided_at = $3
                 WHERE id = $4 AND status = 'pending'",
            )
            .bind(decided(approve))
            .bind(staff_id)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if decided == 0 {
                return Ok(Finish::Rollback(false));
            }
            if let Some(audit) = audit {
                insert_audit(&mut tx, audit, now).await?;
            }
            Ok(Finish::Commit(true))
        })
    }

    async fn reopen_admin_request(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE admin_requests SET status = 'pending', decided_by = NULL, decided_at = NULL
             WHERE id = $1 AND status = 'approved'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cash_ins(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        staff_id: Option<i64>,
    ) -> Result<Vec<CashIn>, StoreError> {
        let rows = self
            .staff_amounts(
                "SELECT staff_id, created_at, amount FROM journal_entries
                 WHERE kind = 'topup' AND channel = 'cash' AND staff_id IS NOT NULL
                   AND created_at >= $1 AND created_at < $2 AND ($3 IS NULL OR staff_id = $3)
                 ORDER BY created_at, id",
                (from, until, staff_id),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(staff_id, at, amount)| CashIn {
                staff_id,
                at,
                amount,
            })
            .collect())
    }

    async fn cash_counts(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        staff_id: Option<i64>,
    ) -> Result<Vec<CashCount>, StoreError> {
        let rows = self
            .staff_amounts(
                "SELECT staff_id, counted_at, counted FROM cash_counts
                 WHERE counted_at >= $1 AND counted_at < $2 AND ($3 IS NULL OR staff_id = $3)
                 ORDER BY counted_at, id",
                (from, until, staff_id),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(staff_id, at, counted)| CashCount {
                staff_id,
                at,
                counted,
            })
            .collect())
    }

    async fn record_cash_count(
        &self,
        staff_id: i64,
        counted: Money,
        note: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let audit = &audit;
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            sqlx::query(
                "INSERT INTO cash_counts (staff_id, counted, note, counted_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(staff_id)
            .bind(counted.fen())
            .bind(note)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn payout_account(&self, holder_id: i64) -> Result<Option<PayoutAccountRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT p.bank_account, p.account_masked, s.display_name AS recorded_by, p.recorded_at
             FROM payout_accounts p JOIN staff_users s ON s.id = p.recorded_by
             WHERE p.holder_id = $1",
        )
        .bind(holder_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn record_payout_account(
        &self,
        holder_id: i64,
        bank_account: &str,
        account_masked: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<crate::portal_model::Problem>, StoreError> {
        let audit = &audit;
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            // Under the account lock: a closing that starts now sees the old account or the new.
            let account = lock_account_of_holder(&mut tx, holder_id).await?;
            let closing_pending: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM closing_requests WHERE holder_id = $1 AND status = 'pending')",
            )
            .bind(holder_id)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(refused) = accounts::payout_account_refusal(account.status, closing_pending)
            {
                return Ok(Finish::Rollback(Some(refused)));
            }
            sqlx::query(
                "INSERT INTO payout_accounts (holder_id, bank_account, account_masked, recorded_by, recorded_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (holder_id) DO UPDATE SET bank_account = excluded.bank_account,
                     account_masked = excluded.account_masked, recorded_by = excluded.recorded_by,
                     recorded_at = excluded.recorded_at",
            )
            .bind(holder_id)
            .bind(bank_account)
            .bind(account_masked)
            .bind(staff_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(None))
        })
    }

    async fn request_closing(
        &self,
        holder_id: i64,
        bank_account: &str,
        reason: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError> {
        let audit = &audit;
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            // One pending request per holder (the partial unique index `closing_one_pending`).
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO closing_requests (holder_id, bank_account, reason, requested_by, requested_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(holder_id)
            .bind(bank_account)
            .bind(reason)
            .bind(staff_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if id.is_none() {
                return Ok(Finish::Rollback(None));
            }
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(id))
        })
    }

    async fn closing_requests(&self) -> Result<Vec<ClosingRequestView>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.holder_id, h.student_no, h.name, a.balance, r.bank_account, r.reason,
                    s.display_name AS requested_by, r.requested_at,
                    COALESCE(rs.display_name, '') AS account_recorded_by
             FROM closing_requests r
             JOIN cardholders h ON h.id = r.holder_id
             JOIN accounts a ON a.holder_id = r.holder_id
             JOIN staff_users s ON s.id = r.requested_by
             LEFT JOIN payout_accounts p ON p.holder_id = r.holder_id
             LEFT JOIN staff_users rs ON rs.id = p.recorded_by
             WHERE r.status = 'pending' ORDER BY r.requested_at, r.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ClosingRequestView {
                    id: r.try_get("id")?,
                    holder_id: r.try_get("holder_id")?,
                    student_no: r.try_get("student_no")?,
                    name: r.try_get("name")?,
                    balance: Money::from_fen(r.try_get("balance")?),
                    // As stored (sealed): the service opens and masks it.
                    bank_account: r.try_get("bank_account")?,
                    reason: r.try_get("reason")?,
                    requested_by: r.try_get("requested_by")?,
                    requested_at: ts_of(r, "requested_at")?,
                    account_recorded_by: r.try_get("account_recorded_by")?,
                })
            })
            .collect()
    }

    async fn closing_request(&self, id: i64) -> Result<Option<ClosingRequestRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.holder_id, r.bank_account, r.reason, r.requested_by,
                    p.recorded_by AS account_recorded_by, r.status = 'pending' AS pending
             FROM closing_requests r LEFT JOIN payout_accounts p ON p.holder_id = r.holder_id
             WHERE r.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn decide_closing(
        &self,
        id: i64,
        approve: bool,
        reference: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<Closing>, StoreError> {
        let audit = &audit;
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            // Decided once: of two decisions at once, one finds it pending.
            let request: Option<(i64, String)> = sqlx::query_as(
                "UPDATE closing_requests SET status = $1, decided_by = $2, decided_at = $3
                 WHERE id = $4 AND status = 'pending' RETURNING holder_id, bank_account",
            )
            .bind(decided(approve))
            .bind(staff_id)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((holder_id, bank_account)) = request else {
                return Ok(Finish::Rollback(None));
            };
            if !approve {
                insert_audit(&mut tx, audit, now).await?;
                return Ok(Finish::Commit(Some(Closing::AlreadyClosed)));
            }
            let closed = match close_in_tx(
                &mut tx,
                holder_id,
                reference,
                &bank_account,
                staff_id,
                now,
                audit,
                true,
            )
            .await?
            {
                Ok(closed) => closed,
                // Money on its way: nothing decided, the request waits until it is settled.
                Err(Closing::MoneyInFlight) => {
                    return Ok(Finish::Rollback(Some(Closing::MoneyInFlight)));
                }
                // Closed meanwhile: the request is decided, nothing paid, and the record says so.
                Err(refused) => {
                    let mut audit = audit.clone();
                    audit.after = Fact::Said(Phrase::AlreadyClosed).into();
                    insert_audit(&mut tx, &audit, now).await?;
                    refused
                }
            };
            Ok(Finish::Commit(Some(closed)))
        })
    }

    async fn card_by_number(&self, number: &str) -> Result<Option<(i64, i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, holder_id, card_no FROM cards WHERE card_no = $1 OR chip_serial = $1",
        )
        .bind(number)
        .fetch_optional(&self.pool)
        .await?)
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
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            // No conflict target: the one that can clash is the partial unique index
            // `found_cards_one_open` (one open record per card). A concurrent second record
            // waits for the first and then inserts nothing.
            let inserted = sqlx::query(
                "INSERT INTO found_cards (card_id, holder_id, place, found_at, recorded_by)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(card_id)
            .bind(holder_id)
            .bind(place)
            .bind(now)
            .bind(staff_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            audited_if(&mut tx, inserted > 0, audit, now).await
        })
    }

    async fn cash_topup(
        &self,
        credit: &Credit<'_>,
        day_start: DateTime<Utc>,
        cap: Money,
        audit: Audit,
    ) -> Result<CreditOutcome, StoreError> {
        let audit = &audit;
        in_transaction!(self, |tx| {
            cash_credit_in_tx(&mut tx, credit, day_start, cap, audit).await
        })
    }

    async fn request_cash_topup(
        &self,
        holder_id: i64,
        amount: Money,
        receipt_no: &str,
        reason: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<(i64, bool)>, StoreError> {
        let audit = &audit;
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            // The account's lock, which a closing takes too: it sees this request or runs first.
            lock_account_of_holder(&mut tx, holder_id).await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO cash_requests (holder_id, amount, receipt_no, reason, requested_by, requested_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (receipt_no) DO NOTHING RETURNING id",
            )
            .bind(holder_id)
            .bind(amount.fen())
            .bind(receipt_no)
            .bind(reason)
            .bind(staff_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                insert_audit(&mut tx, audit, now).await?;
                return Ok(Finish::Commit(Some((id, true))));
            }
            // The same form again: the first request, nothing new written.
            let earlier: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM cash_requests WHERE receipt_no = $1 AND holder_id = $2 AND amount = $3",
            )
            .bind(receipt_no)
            .bind(holder_id)
            .bind(amount.fen())
            .fetch_optional(&mut *tx)
            .await?;
            Ok(Finish::Rollback(earlier.map(|id| (id, false))))
        })
    }

    async fn holder_cash_since(
        &self,
        holder_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Money, StoreError> {
        let fen: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(j.amount), 0) AS BIGINT)
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id
             WHERE a.holder_id = $1 AND j.kind = 'topup' AND j.channel = 'cash' AND j.created_at >= $2",
        )
        .bind(holder_id)
        .bind(Ts::new(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(Money::from_fen(fen))
    }

    async fn cash_requests(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<CashRequestView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.holder_id, h.student_no, h.name, r.amount, r.receipt_no, r.reason,
                    s.display_name AS requested_by, r.requested_by AS requested_by_id, r.requested_at
             FROM cash_requests r JOIN cardholders h ON h.id = r.holder_id
             JOIN staff_users s ON s.id = r.requested_by
             WHERE r.status = 'pending' AND ($1 IS NULL OR r.holder_id = $1)
             ORDER BY r.requested_at, r.id",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn cash_request(&self, id: i64) -> Result<Option<CashRequestRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.holder_id, r.amount, r.receipt_no, r.reason, r.requested_by,
                    s.display_name AS requester, r.status = 'pending' AS pending
             FROM cash_requests r JOIN staff_users s ON s.id = r.requested_by WHERE r.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn decide_cash_request(
        &self,
        id: i64,
        approve: bool,
        staff_id: i64,
        day_start: DateTime<Utc>,
        cap: Money,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<CashDecision>, StoreError> {
        let audit = &audit;
        let at = Ts::new(now);
        in_transaction!(self, |tx| {
            // Decided once: of two decisions at once, one finds it pending.
            let request: Option<(i64, i64, String, i64)> = sqlx::query_as(
                "UPDATE cash_requests SET status = $1, decided_by = $2, decided_at = $3
                 WHERE id = $4 AND status = 'pending'
                 RETURNING holder_id, amount, receipt_no, requested_by",
            )
            .bind(decided(approve))
            .bind(staff_id)
            .bind(at)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((holder_id, amount, receipt_no, requested_by)) = request else {
                return Ok(Finish::Rollback(None));
            };
            if !approve {
                insert_audit(&mut tx, audit, at).await?;
                return Ok(Finish::Commit(Some(CashDecision::Rejected)));
            }
            let memo = payments::cash_memo(&receipt_no);
            // The cash is the requester's: it counts against their cap, as if they credited it.
            let credit = Credit {
                holder_id,
                amount: Money::from_fen(amount),
                kind: EntryKind::Topup,
                channel: Some(Channel::Cash),
                merchant_id: None,
                staff_id: Some(requested_by),
                reference: &receipt_no,
                memo: &memo,
                now,
            };
            Ok(
                match cash_credit_in_tx(&mut tx, &credit, day_start, cap, audit).await? {
                    Finish::Commit(outcome) => {
                        Finish::Commit(Some(CashDecision::Approved(outcome)))
                    }
                    Finish::Rollback(outcome) => {
                        Finish::Rollback(Some(CashDecision::Approved(outcome)))
                    }
                },
            )
        })
    }

    async fn found_cards(&self, open_only: bool) -> Result<Vec<FoundCardView>, StoreError> {
        let sql = format!(
            "{FOUND_SELECT} WHERE (NOT $1 OR f.returned_at IS NULL) ORDER BY f.found_at DESC LIMIT 200"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(open_only)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(found_row)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn found_card(&self, id: i64) -> Result<Option<FoundCardView>, StoreError> {
        let sql = format!("{FOUND_SELECT} WHERE f.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(found_row).transpose()?)
    }

    async fn found_cards_of(&self, holder_id: i64) -> Result<Vec<FoundCardView>, StoreError> {
        let sql = format!("{FOUND_SELECT} WHERE f.holder_id = $1 ORDER BY f.found_at DESC");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(holder_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(found_row)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn found_card_returned(
        &self,
        id: i64,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError> {
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            let updated = sqlx::query(
                "UPDATE found_cards SET returned_at = $1, returned_by = $2
                 WHERE id = $3 AND returned_at IS NULL",
            )
            .bind(now)
            .bind(staff_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            audited_if(&mut tx, updated > 0, audit, now).await
        })
    }

    async fn receipt_entry(&self, id: i64) -> Result<Option<ReceiptRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT j.id, j.kind, j.channel, j.amount, j.balance_after, j.created_at, j.reference, j.memo,
                    h.id AS holder_id, h.name AS holder_name, h.student_no,
                    COALESCE(s.display_name, '') AS operator,
                    COALESCE((SELECT d.display_name FROM cash_requests r
                              JOIN staff_users d ON d.id = r.decided_by
                              WHERE r.receipt_no = j.reference AND r.status = 'approved'), '') AS approved_by
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id
             JOIN cardholders h ON h.id = a.holder_id
             LEFT JOIN staff_users s ON s.id = j.staff_id
             WHERE j.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn journal_entry(&self, id: i64) -> Result<Option<EntryRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT j.id, a.holder_id, j.kind, j.amount, j.balance_after, j.merchant_id, j.created_at,
                    EXISTS (SELECT 1 FROM journal_entries r WHERE r.reverses_id = j.id) AS reversed
             FROM journal_entries j JOIN accounts a ON a.id = j.account_id WHERE j.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let decode = |r: &DbRow| -> Result<EntryRecord, StoreError> {
            Ok(EntryRecord {
                id: r.try_get("id")?,
                holder_id: r.try_get("holder_id")?,
                kind: r.try_get("kind")?,
                amount: Money::from_fen(r.try_get("amount")?),
                balance_after: Money::from_fen(r.try_get("balance_after")?),
                merchant_id: r.try_get("merchant_id")?,
                created_at: r.try_get("created_at")?,
                reversed: r.try_get("reversed")?,
            })
        };
        Ok(row.as_ref().map(decode).transpose()?)
    }

    async fn correct_payment(
        &self,
        payment_id: i64,
        reason: &str,
        staff_id: i64,
        request: Option<i64>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Correction, StoreError> {
        let audit = &audit;
        let at = Ts::new(now);
        in_transaction!(self, |tx| {
            if let Some(request_id) = request {
                // The request's row lock puts two approvers in order: the second finds it decided.
                let decided = sqlx::query(
                    "UPDATE reversal_requests SET status = 'approved', decided_by = $1, decided_at = $2
                     WHERE id = $3 AND journal_id = $4 AND status = 'pending'",
                )
                .bind(staff_id)
                .bind(at)
                .bind(request_id)
                .bind(payment_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if decided == 0 {
                    return Ok(Finish::Rollback(Correction::RequestDecided));
                }
            }
            let (account_id, amount, merchant_id): (i64, i64, Option<i64>) = sqlx::query_as(
                "SELECT account_id, amount, merchant_id FROM journal_entries WHERE id = $1 AND kind IN ('payment', 'fee')",
            )
            .bind(payment_id)
            .fetch_one(&mut *tx)
            .await?;
            let account = lock_account(&mut tx, account_id).await?;
            // Read under the lock: a refund or correction of this payment has committed by now.
            let reversed: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM journal_entries WHERE reverses_id = $1)",
            )
            .bind(payment_id)
            .fetch_one(&mut *tx)
            .await?;
            let verdict = corrections::decide_correction(
                Money::from_fen(amount),
                reversed,
                request.is_some(),
                account.status,
                account.balance,
            )?;
            let plan = match verdict {
                corrections::CorrectionVerdict::Correct(plan) => plan,
                corrections::CorrectionVerdict::Refuse(refused) => {
                    return Ok(Finish::Rollback(refused));
                }
                corrections::CorrectionVerdict::RejectRequest { audit_after } => {
                    // Refunded at the till meanwhile: the request is closed, not left pending.
                    sqlx::query("UPDATE reversal_requests SET status = 'rejected' WHERE id = $1")
                        .bind(request)
                        .execute(&mut *tx)
                        .await?;
                    let mut audit = audit.clone();
                    audit.after = audit_after;
                    insert_audit(&mut tx, &audit, now).await?;
                    return Ok(Finish::Commit(Correction::AlreadyReversed));
                }
            };
            let journal_id: i64 = sqlx::query_scalar(
                "INSERT INTO journal_entries (account_id, kind, amount, balance_after, merchant_id, staff_id, reverses_id, memo, created_at)
                 VALUES ($1, 'correction', $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(account.id)
            .bind(plan.entry.fen())
            .bind(plan.balance_after.fen())
            .bind(merchant_id)
            .bind(staff_id)
            .bind(payment_id)
            .bind(reason)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            set_balance(&mut tx, account.id, account.balance, plan.balance_after).await?;
            if let Some(request_id) = request {
                sqlx::query("UPDATE reversal_requests SET correction_id = $1 WHERE id = $2")
                    .bind(journal_id)
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut audit = audit.clone();
            audit.after = plan.audit_after(journal_id);
            insert_audit(&mut tx, &audit, now).await?;
            Ok(Finish::Commit(plan.outcome(journal_id)))
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
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            // The account's lock, which a closing takes too: it sees this request or runs first.
            lock_account_of_holder(&mut tx, entry.holder_id).await?;
            // No conflict target: the one that can clash is the partial unique index
            // `reversal_one_pending` (one pending request per payment).
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO reversal_requests (journal_id, holder_id, amount, reason, requested_by, requested_at, status)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending') ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(entry.id)
            .bind(entry.holder_id)
            .bind(-entry.amount.fen())
            .bind(reason)
            .bind(staff_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if id.is_none() {
                return Ok(Finish::Rollback(None));
            }
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(id))
        })
    }

    async fn reversal_request(&self, id: i64) -> Result<Option<ReversalRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, journal_id, holder_id, amount, reason, requested_by, status
             FROM reversal_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let decode = |r: &DbRow| -> Result<ReversalRow, StoreError> {
            Ok(ReversalRow {
                id: r.try_get("id")?,
                journal_id: r.try_get("journal_id")?,
                holder_id: r.try_get("holder_id")?,
                amount: Money::from_fen(r.try_get("amount")?),
                reason: r.try_get("reason")?,
                requested_by: r.try_get("requested_by")?,
                pending: r.try_get::<String, _>("status")? == "pending",
            })
        };
        Ok(row.as_ref().map(decode).transpose()?)
    }

    async fn pending_reversals(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<ReversalView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.journal_id, r.holder_id, h.student_no, h.name, r.amount, r.reason,
                    s.display_name AS requested_by, r.requested_at
             FROM reversal_requests r JOIN cardholders h ON h.id = r.holder_id
             JOIN staff_users s ON s.id = r.requested_by
             WHERE r.status = 'pending' AND ($1 IS NULL OR r.holder_id = $1)
             ORDER BY r.requested_at",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn resolve_failed_topup(
        &self,
        order_no: &str,
        resolution: &str,
        staff_id: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError> {
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            let updated = sqlx::query(
                "UPDATE topup_orders SET resolved_at = $1, resolved_by = $2, resolution = $3
                 WHERE order_no = $4 AND status = 'failed' AND channel = 'auto' AND resolved_at IS NULL",
            )
            .bind(now)
            .bind(staff_id)
            .bind(resolution)
            .bind(order_no)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            audited_if(&mut tx, updated > 0, audit, now).await
        })
    }

    async fn failed_topup_views(
        &self,
        holder_id: Option<i64>,
    ) -> Result<Vec<FailedTopupView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT o.order_no, o.holder_id, h.student_no, h.name, o.amount, o.failure, o.updated_at AS at
             FROM topup_orders o JOIN cardholders h ON h.id = o.holder_id
             WHERE o.status = 'failed' AND o.channel = 'auto' AND o.resolved_at IS NULL
               AND ($1 IS NULL OR o.holder_id = $1)
             ORDER BY o.updated_at DESC LIMIT 200",
        )
        .bind(holder_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn merchants(&self) -> Result<Vec<MerchantView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, code, name_zh, name_en, category, place, active FROM merchants ORDER BY code",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn save_merchant(
        &self,
        id: Option<i64>,
        m: &MerchantInput<'_>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<Option<i64>, StoreError> {
        let audit = &audit;
        let now = Ts::new(now);
        in_transaction!(self, |tx| {
            let saved: Option<i64> = match id {
                None => {
                    sqlx::query_scalar(
                        "INSERT INTO merchants (code, name_zh, name_en, category, place, active, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO NOTHING RETURNING id",
                    )
                    .bind(m.code)
                    .bind(m.name_zh)
                    .bind(m.name_en)
                    .bind(m.category.as_str())
                    .bind(m.place)
                    .bind(m.active)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
                }
                Some(id) => {
                    // A concurrent save taking the code fails this UPDATE on the unique key;
                    // run again, the clash is seen here.
                    let clash: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM merchants WHERE code = $1 AND id <> $2",
                    )
                    .bind(m.code)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                    if clash > 0 {
                        None
                    } else {
                        sqlx::query_scalar(
                            "UPDATE merchants SET code = $1, name_zh = $2, name_en = $3, category = $4, place = $5, active = $6
                             WHERE id = $7 RETURNING id",
                        )
                        .bind(m.code)
                        .bind(m.name_zh)
                        .bind(m.name_en)
                        .bind(m.category.as_str())
                        .bind(m.place)
                        .bind(m.active)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                    }
                }
            };
            if saved.is_none() {
                return Ok(Finish::Rollback(None));
            }
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(saved))
        })
    }

    async fn devices(&self) -> Result<Vec<DeviceView>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.code, d.kind, m.name_zh AS merchant, d.place, d.public_key, d.revoked_at, d.key_issued_at
             FROM devices d LEFT JOIN merchants m ON m.id = d.merchant_id ORDER BY d.code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: DeviceKind = r.try_get("kind")?;
                let key: Option<String> = r.try_get("public_key")?;
                let revoked: Option<DateTime<Utc>> = r.try_get("revoked_at")?;
                Ok(DeviceView {
                    id: r.try_get("id")?,
                    code: r.try_get("code")?,
                    kind,
                    merchant: r.try_get("merchant")?,
                    place: r.try_get("place")?,
                    has_credential: key.is_some() && revoked.is_none(),
                    revoked: revoked.is_some(),
                    credential_issued_at: opt_ts_of(r, "key_issued_at")?,
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
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO devices (code, kind, merchant_id, place, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (code) DO NOTHING RETURNING id",
            )
            .bind(d.code)
            .bind(d.kind.as_str())
            .bind(d.merchant_id)
            .bind(d.place)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if id.is_none() {
                return Ok(Finish::Rollback(None));
            }
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(id))
        })
    }

    async fn set_device_credential(
        &self,
        device_id: i64,
        public_key: Option<&str>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            match public_key {
                Some(key) => sqlx::query(
                    "UPDATE devices SET public_key = $1, key_issued_at = $2, revoked_at = NULL WHERE id = $3",
                )
                .bind(key)
                .bind(now)
                .bind(device_id),
                None => sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(device_id),
            }
            .execute(&mut *tx)
            .await?;
            // The browsers set up as this device's terminal stop working at once.
            sqlx::query(
                "UPDATE terminal_sessions SET ended_at = $1 WHERE device_id = $2 AND ended_at IS NULL",
            )
            .bind(now)
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn staff_users(&self) -> Result<Vec<StaffUserView>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.username, s.display_name, s.role, m.name_zh AS merchant, s.active,
                    s.locked_until, s.totp_secret IS NOT NULL AS has_totp
             FROM staff_users s LEFT JOIN merchants m ON m.id = s.merchant_id ORDER BY s.username",
        )
        .fetch_all(&self.pool)
        .await?;
        let now = self.clock.now();
        rows.iter()
            .map(|r| {
                let role: StaffRole = r.try_get("role")?;
                let locked: Option<DateTime<Utc>> = r.try_get("locked_until")?;
                Ok(StaffUserView {
                    id: r.try_get("id")?,
                    username: r.try_get("username")?,
                    display_name: r.try_get("display_name")?,
                    role,
                    merchant: r.try_get("merchant")?,
                    active: r.try_get("active")?,
                    locked: locked.is_some_and(|t| t > now),
                    has_second_factor: r.try_get("has_totp")?,
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
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO staff_users (username, display_name, role, merchant_id, password_hash, totp_secret, created_at)
                 VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7) ON CONFLICT (username) DO NOTHING RETURNING id",
            )
            .bind(s.username)
            .bind(s.display_name)
            .bind(s.role.as_str())
            .bind(s.merchant_id)
            .bind(s.password_hash)
            .bind(s.totp_secret)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = id else {
                return Ok(Finish::Rollback(None));
            };
            if let Some(e) = &s.enrolment {
                insert_enrolment(&mut tx, id, e, now).await?;
            }
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(Some(id)))
        })
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
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            sqlx::query(
                "UPDATE staff_users SET role = $1, merchant_id = $2, active = $3 WHERE id = $4",
            )
            .bind(role.as_str())
            .bind(merchant_id)
            .bind(active)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            // A changed role or a disabled account takes effect at once: its sessions end.
            end_sessions_tx(&mut tx, SubjectKind::Staff, id, None, now).await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn set_staff_password(
        &self,
        id: i64,
        new_hash: &str,
        keep: &str,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            sqlx::query(
                "UPDATE staff_users SET password_hash = $1, password_changed_at = $2, failed_logins = 0 WHERE id = $3",
            )
            .bind(new_hash)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            end_sessions_tx(&mut tx, SubjectKind::Staff, id, Some(keep), now).await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn open_enrolment(
        &self,
        staff_id: i64,
        token_hash: &str,
        totp_secret: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            // No password works until the link is used ('!' is no argon2 hash).
            sqlx::query(
                "UPDATE staff_users SET password_hash = '!', totp_secret = NULL, totp_last_step = NULL,
                     password_changed_at = NULL, failed_logins = 0, locked_until = NULL WHERE id = $1",
            )
            .bind(staff_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE staff_enrolments SET used_at = $1 WHERE staff_id = $2 AND used_at IS NULL",
            )
            .bind(now)
            .bind(staff_id)
            .execute(&mut *tx)
            .await?;
            let link = NewEnrolment {
                token_hash,
                totp_secret,
                expires_at,
            };
            insert_enrolment(&mut tx, staff_id, &link, now).await?;
            end_sessions_tx(&mut tx, SubjectKind::Staff, staff_id, None, now).await?;
            // The username's back-off at every address ends too.
            let username: String =
                sqlx::query_scalar("SELECT username FROM staff_users WHERE id = $1")
                    .bind(staff_id)
                    .fetch_one(&mut *tx)
                    .await?;
            sqlx::query(
                "DELETE FROM login_throttle WHERE substr(key, 1, length(CAST($1 AS TEXT))) = $1",
            )
            .bind(crate::server::domain::attempts::staff_key(&username, ""))
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn enrolment(&self, token_hash: &str) -> Result<Option<EnrolmentRow>, StoreError> {
        let row = sqlx::query(
            "SELECT e.staff_id, s.username, s.display_name, e.totp_secret, e.expires_at, e.used_at
             FROM staff_enrolments e JOIN staff_users s ON s.id = e.staff_id
             WHERE e.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(EnrolmentRow {
            staff_id: row.try_get("staff_id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            totp_secret: row.try_get("totp_secret")?,
            expires_at: row.try_get::<Ts, _>("expires_at")?.0,
            used_at: row.try_get::<Option<Ts>, _>("used_at")?.map(|t| t.0),
        }))
    }

    async fn complete_enrolment(
        &self,
        token_hash: &str,
        password_hash: &str,
        totp_step: i64,
        now: DateTime<Utc>,
        audit: Audit,
    ) -> Result<bool, StoreError> {
        let now = Ts::new(now);
        let audit = &audit;
        in_transaction!(self, |tx| {
            // The link is used here, once: of two submissions only one finds it open.
            let staff_id: Option<i64> = sqlx::query_scalar(
                "UPDATE staff_enrolments SET used_at = $1
                 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
                 RETURNING staff_id",
            )
            .bind(now)
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(staff_id) = staff_id else {
                return Ok(Finish::Rollback(false));
            };
            sqlx::query(
                "UPDATE staff_users SET password_hash = $1,
                     totp_secret = (SELECT totp_secret FROM staff_enrolments WHERE token_hash = $2),
                     totp_last_step = $3, password_changed_at = $4, failed_logins = 0, locked_until = NULL
                 WHERE id = $5",
            )
            .bind(password_hash)
            .bind(token_hash)
            .bind(totp_step)
            .bind(now)
            .bind(staff_id)
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(true))
        })
    }

    async fn save_profile_audited(
        &self,
        profile: &CampusProfile,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let audit = &audit;
        in_transaction!(self, |tx| {
            super::campus::upsert_profile(&mut tx, profile, now).await?;
            insert_audit(&mut tx, audit, now).await?;
            Ok(Finish::Commit(()))
        })
    }

    async fn settlement(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SettlementRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.code, m.name_zh,
                    CAST(COALESCE(SUM(CASE WHEN j.kind = 'payment' THEN 1 ELSE 0 END), 0) AS BIGINT) AS sales,
                    CAST(COALESCE(SUM(CASE WHEN j.kind = 'payment' THEN -j.amount ELSE 0 END), 0) AS BIGINT) AS sales_total,
                    CAST(COALESCE(SUM(CASE WHEN j.kind = 'refund' THEN 1 ELSE 0 END), 0) AS BIGINT) AS refunds,
                    CAST(COALESCE(SUM(CASE WHEN j.kind = 'refund' THEN j.amount ELSE 0 END), 0) AS BIGINT) AS refunds_total,
                    CAST(COALESCE(SUM(CASE WHEN j.kind = 'correction' THEN j.amount ELSE 0 END), 0) AS BIGINT) AS corrections_total
             FROM merchants m JOIN journal_entries j ON j.merchant_id = m.id
             WHERE j.created_at >= $1 AND j.created_at < $2
             GROUP BY m.id, m.code, m.name_zh ORDER BY m.code",
        )
        .bind(Ts::new(from))
        .bind(Ts::new(until))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let money =
                    |c: &str| -> Result<Money, StoreError> { Ok(Money::from_fen(r.try_get(c)?)) };
                let sales_total = money("sales_total")?;
                let refunds_total = money("refunds_total")?;
                let corrections_total = money("corrections_total")?;
                Ok(SettlementRow {
                    merchant_code: r.try_get("code")?,
                    merchant: r.try_get("name_zh")?,
                    sales: r.try_get("sales")?,
                    sales_total,
                    refunds: r.try_get("refunds")?,
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
        Ok(sqlx::query_as(
            "SELECT channel, COUNT(*) AS count, CAST(SUM(amount) AS BIGINT) AS total FROM journal_entries
             WHERE kind = 'topup' AND channel IS NOT NULL AND created_at >= $1 AND created_at < $2
             GROUP BY channel ORDER BY channel",
        )
        .bind(Ts::new(from))
        .bind(Ts::new(until))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn operator_activity(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ActivityRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.username, s.display_name, l.action, COUNT(*) AS n
             FROM audit_log l JOIN staff_users s ON l.actor_kind = 'staff' AND s.id = l.actor_id
             WHERE l.at >= $1 AND l.at < $2
             GROUP BY s.username, s.display_name, l.action ORDER BY s.username, l.action",
        )
        .bind(Ts::new(from))
        .bind(Ts::new(until))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ActivityRow {
                    staff: format!(
                        "{} ({})",
                        r.try_get::<String, _>("username")?,
                        r.try_get::<String, _>("display_name")?
                    ),
                    action: r.try_get("action")?,
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }

    async fn payouts(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<PayoutView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT p.reference, h.student_no, h.name, p.amount, p.bank_account, p.created_at AS at
             FROM payouts p JOIN cardholders h ON h.id = p.holder_id
             WHERE p.created_at >= $1 AND p.created_at < $2 ORDER BY p.created_at, p.id",
        )
        .bind(Ts::new(from))
        .bind(Ts::new(until))
        .fetch_all(&self.pool)
        .await?)
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
             WHERE j.merchant_id = $1 AND j.created_at >= $2 AND j.created_at < $3
               AND j.kind IN ('payment', 'refund', 'correction')
             ORDER BY j.created_at DESC, j.id DESC LIMIT 500",
        )
        .bind(merchant_id)
        .bind(Ts::new(from))
        .bind(Ts::new(until))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MerchantSale {
                    id: r.try_get("id")?,
                    at: ts_of(r, "created_at")?,
                    kind: r.try_get("kind")?,
                    amount: Money::from_fen(r.try_get("amount")?),
                    device: r.try_get("device")?,
                    payer: crate::server::ledger::masked_name(&r.try_get::<String, _>("name")?),
                })
            })
            .collect()
    }
}

/// The status a second person's decision leaves a pending request in (closings, large cash
/// top-ups, administrator changes).
fn decided(approve: bool) -> &'static str {
    if approve { "approved" } else { "rejected" }
}
