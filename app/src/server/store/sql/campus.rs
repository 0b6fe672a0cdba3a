//! The campus itself: its profile (stored as JSON; the upsert is per backend, JSONB on
//! PostgreSQL), loading the demo campus's merchants, devices and staff, and the ledger check.

use super::Conn;
use crate::model::{CampusProfile, Money};
use crate::server::store::{DemoCampus, LedgerCheck, NewEntry, NewHolder, StoreError, Ts};
use chrono::{DateTime, Utc};
use sqlx::Row;

type Pool = sqlx::Pool<<Conn as sqlx::Connection>::Database>;

pub(in super::super) fn profile_text(profile: &CampusProfile) -> Result<String, StoreError> {
    serde_json::to_string(profile).map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))
}

pub(in super::super) fn profile_of(text: &str) -> Result<CampusProfile, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))
}

pub(in super::super) async fn holder_count(pool: &Pool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cardholders")
        .fetch_one(pool)
        .await?)
}

/// The demo campus's merchants, devices and staff; returns the merchants' and devices' ids
/// in the order given.
pub(in super::super) async fn insert_directory(
    conn: &mut Conn,
    demo: &DemoCampus,
    now: DateTime<Utc>,
) -> Result<(Vec<i64>, Vec<i64>), StoreError> {
    let now = Ts::new(now);
    let mut merchant_ids = Vec::with_capacity(demo.merchants.len());
    for m in &demo.merchants {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO merchants (code, name_zh, name_en, category, place, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&m.code)
        .bind(&m.name_zh)
        .bind(&m.name_en)
        .bind(m.category)
        .bind(&m.place)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        merchant_ids.push(id);
    }
    let mut device_ids = Vec::with_capacity(demo.devices.len());
    for d in &demo.devices {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO devices (code, kind, merchant_id, place, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&d.code)
        .bind(d.kind)
        .bind(index(&merchant_ids, "merchant", d.merchant)?)
        .bind(&d.place)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        device_ids.push(id);
    }
    for s in &demo.staff {
        sqlx::query(
            "INSERT INTO staff_users (username, display_name, role, merchant_id, password_hash, created_at, totp_secret, password_changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
        )
        .bind(&s.username)
        .bind(&s.display_name)
        .bind(s.role)
        .bind(index(&merchant_ids, "merchant", s.merchant)?)
        .bind(&s.password_hash)
        .bind(now)
        .bind(&s.totp_secret)
        .execute(&mut *conn)
        .await?;
    }
    Ok((merchant_ids, device_ids))
}

fn index(ids: &[i64], what: &str, i: Option<usize>) -> Result<Option<i64>, StoreError> {
    i.map(|i| {
        ids.get(i)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("no {what} #{i}")))
    })
    .transpose()
}

/// The ids one demo journal entry refers to.
pub(in super::super) struct DemoEntryIds {
    pub merchant_id: Option<i64>,
    pub device_id: Option<i64>,
}

/// One entry of a demo holder's history: its merchant and device ids, and the balance after
/// it (which must never go below zero).
pub(in super::super) fn demo_entry(
    merchant_ids: &[i64],
    device_ids: &[i64],
    h: &NewHolder,
    e: &NewEntry,
    balance: &mut Money,
) -> Result<DemoEntryIds, StoreError> {
    *balance = balance
        .checked_add(e.amount)
        .filter(|b| !b.is_negative())
        .ok_or_else(|| StoreError::Corrupt(format!("demo history overdraws {}", h.student_no)))?;
    Ok(DemoEntryIds {
        merchant_id: index(merchant_ids, "merchant", e.merchant)?,
        device_id: index(device_ids, "device", e.device)?,
    })
}

pub(in super::super) async fn set_demo_balance(
    conn: &mut Conn,
    account_id: i64,
    balance: Money,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE accounts SET balance = $1 WHERE id = $2")
        .bind(balance.fen())
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Compares every cached balance, and every running total of the day, with the journal.
pub(in super::super) async fn ledger_check(pool: &Pool) -> Result<LedgerCheck, StoreError> {
    let rows = sqlx::query(
        "SELECT a.id, a.balance, CAST(COALESCE(SUM(j.amount), 0) AS BIGINT) AS journal_sum, COUNT(j.id) AS entries
         FROM accounts a LEFT JOIN journal_entries j ON j.account_id = a.id
         GROUP BY a.id, a.balance ORDER BY a.id",
    )
    .fetch_all(pool)
    .await?;
    let mut check = LedgerCheck {
        accounts: 0,
        entries: 0,
        total_balance: Money::ZERO,
        journal_total: Money::ZERO,
        mismatches: Vec::new(),
        spent_mismatches: Vec::new(),
        malformed_timestamps: Vec::new(),
    };
    let overflow = || StoreError::Corrupt("ledger totals overflow".into());
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let balance = Money::from_fen(row.try_get("balance")?);
        let sum = Money::from_fen(row.try_get("journal_sum")?);
        let entries: i64 = row.try_get("entries")?;
        check.accounts += 1;
        check.entries += entries;
        check.total_balance = check
            .total_balance
            .checked_add(balance)
            .ok_or_else(overflow)?;
        check.journal_total = check.journal_total.checked_add(sum).ok_or_else(overflow)?;
        if balance != sum {
            check.mismatches.push((id, balance, sum));
        }
    }
    let spent = sqlx::query_as::<_, (i64, i64, i64)>(
        "SELECT a.id, a.spent_fen, (SELECT CAST(COALESCE(-SUM(amount), 0) AS BIGINT) FROM journal_entries
             WHERE account_id = a.id AND kind IN ('payment', 'refund') AND created_at >= a.spent_since)
         FROM accounts a WHERE a.spent_since IS NOT NULL ORDER BY a.id",
    )
    .fetch_all(pool)
    .await?;
    check.spent_mismatches = spent
        .into_iter()
        .filter(|(_, running, sum)| running != sum)
        .map(|(id, running, sum)| (id, Money::from_fen(running), Money::from_fen(sum)))
        .collect();
    Ok(check)
}
