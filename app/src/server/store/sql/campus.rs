//! The campus itself (`Store`): migrations, its profile (JSON; JSONB on PostgreSQL, see
//! `profile_column!`), loading the demo campus, and the ledger check. Each backend adds what is
//! its own: its migrations (`MIGRATOR`), how a demo history goes in (`insert_history`), and
//! what else its ledger check looks at (`malformed_timestamps`).

use super::{Conn, ThisStore, insert_holder};
use crate::model::{CampusProfile, Money};
use crate::server::sealing::Sealed;
use crate::server::store::{
    Backend, DemoCampus, Finish, LedgerCheck, NewEntry, NewHolder, Store, StoreError, Ts,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

type Pool = sqlx::Pool<<Conn as sqlx::Connection>::Database>;

fn profile_text(profile: &CampusProfile) -> Result<String, StoreError> {
    serde_json::to_string(profile).map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))
}

#[async_trait]
impl Store for ThisStore {
    fn backend(&self) -> Backend {
        super::super::BACKEND
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(super::super::MIGRATOR.run(&self.pool).await?)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    async fn announce_code_result(&self, text: &str) -> Result<(), StoreError> {
        super::super::announce(self, text).await
    }

    async fn code_result_announcements(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
        super::super::announcements(self).await
    }

    async fn campus_profile(&self) -> Result<Option<CampusProfile>, StoreError> {
        let text: Option<String> = sqlx::query_scalar(concat!(
            "SELECT ",
            profile_column!(),
            " FROM campus_profile WHERE id = 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        text.map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("campus profile: {e}")))
        })
        .transpose()
    }

    async fn save_campus_profile(&self, profile: &CampusProfile) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        upsert_profile(&mut conn, profile, self.clock.now()).await
    }

    async fn holder_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cardholders")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn sealed_samples(&self) -> Result<Vec<(Sealed, String)>, StoreError> {
        let mut samples = Vec::new();
        for (table, _, column, kind) in Sealed::COLUMNS {
            let sample: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT {column} FROM {table} WHERE {column} LIKE 'v1:%' LIMIT 1"
            )))
            .fetch_optional(&self.pool)
            .await?;
            samples.extend(sample.map(|s| (kind, s)));
        }
        Ok(samples)
    }

    async fn seal_plain_values(
        &self,
        seal: &(dyn for<'v> Fn(Sealed, &'v str) -> String + Send + Sync),
    ) -> Result<u64, StoreError> {
        let mut sealed = 0;
        // The names come from the fixed list `Sealed::COLUMNS`, never from input.
        for (table, key, column, kind) in Sealed::COLUMNS {
            let plain: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT CAST({key} AS TEXT), {column} FROM {table}
                 WHERE {column} IS NOT NULL AND {column} <> '' AND {column} NOT LIKE 'v1:%'"
            )))
            .fetch_all(&self.pool)
            .await?;
            for (id, value) in plain {
                // Only if unchanged meanwhile: a value written since is sealed already.
                sealed += sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET {column} = $1 WHERE CAST({key} AS TEXT) = $2 AND {column} = $3"
                )))
                .bind(seal(kind, &value))
                .bind(&id)
                .bind(&value)
                .execute(&self.pool)
                .await?
                .rows_affected();
            }
        }
        Ok(sealed)
    }

    async fn load_demo(&self, demo: &DemoCampus) -> Result<(), StoreError> {
        let now = self.clock.now();
        in_transaction!(self, |tx| {
            upsert_profile(&mut tx, &demo.profile, now).await?;
            let (merchant_ids, device_ids) = insert_directory(&mut tx, demo, now).await?;
            for h in &demo.holders {
                let (_, account_id, live_card) = insert_holder(&mut tx, h).await?;
                let history = History {
                    account_id,
                    live_card,
                    merchant_ids: &merchant_ids,
                    device_ids: &device_ids,
                };
                let balance = super::super::insert_history(&mut tx, &history, h).await?;
                sqlx::query("UPDATE accounts SET balance = $1 WHERE id = $2")
                    .bind(balance.fen())
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(Finish::Commit(()))
        })
    }

    async fn ledger_check(&self) -> Result<LedgerCheck, StoreError> {
        let mut check = ledger_check(&self.pool).await?;
        check.malformed_timestamps = super::super::malformed_timestamps(&self.pool).await?;
        Ok(check)
    }
}

/// The campus profile, inserted or replaced (`profile_param!`: the JSON text parameter).
pub(super) async fn upsert_profile(
    conn: &mut Conn,
    profile: &CampusProfile,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(concat!(
        "INSERT INTO campus_profile (id, profile, updated_at) VALUES (1, ",
        profile_param!(),
        ", $2) ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at"
    ))
    .bind(profile_text(profile)?)
    .bind(Ts::new(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Where a demo holder's history goes: the account, the card it was paid with, and the ids
/// of the merchants and devices the entries name by index.
pub(in super::super) struct History<'a> {
    pub account_id: i64,
    pub live_card: Option<i64>,
    pub merchant_ids: &'a [i64],
    pub device_ids: &'a [i64],
}

/// The demo campus's merchants, devices and staff; returns the merchants' and devices' ids
/// in the order given.
async fn insert_directory(
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
    // No `password_changed_at`: the demo staff's passwords are published, so each is changed
    // at its first login before anything else can be done with it.
    for s in &demo.staff {
        sqlx::query(
            "INSERT INTO staff_users (username, display_name, role, merchant_id, password_hash, created_at, totp_secret)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
    history: &History<'_>,
    h: &NewHolder,
    e: &NewEntry,
    balance: &mut Money,
) -> Result<DemoEntryIds, StoreError> {
    *balance = balance
        .checked_add(e.amount)
        .filter(|b| !b.is_negative())
        .ok_or_else(|| StoreError::Corrupt(format!("demo history overdraws {}", h.student_no)))?;
    Ok(DemoEntryIds {
        merchant_id: index(history.merchant_ids, "merchant", e.merchant)?,
        device_id: index(history.device_ids, "device", e.device)?,
    })
}

/// Compares every cached balance, and every running total of the day, with the journal.
async fn ledger_check(pool: &Pool) -> Result<LedgerCheck, StoreError> {
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
        bill_mismatches: Vec::new(),
        purchase_mismatches: Vec::new(),
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
    let spent = sqlx::query_as::<_, (i64, i64, i64)>(concat!(
        "SELECT a.id, a.spent_fen, ",
        spent_sum!("a.spent_since"),
        " FROM accounts a WHERE a.spent_since IS NOT NULL ORDER BY a.id"
    ))
    .fetch_all(pool)
    .await?;
    check.spent_mismatches = spent
        .into_iter()
        .filter(|(_, running, sum)| running != sum)
        .map(|(id, running, sum)| (id, Money::from_fen(running), Money::from_fen(sum)))
        .collect();
    let bills = sqlx::query_as::<_, (String, i64)>(
        "SELECT 'bill', b.id FROM bills b
           LEFT JOIN journal_entries j ON j.id = b.entry_id LEFT JOIN accounts a ON a.id = j.account_id
          WHERE b.status = 'paid' AND (j.id IS NULL OR j.kind <> 'fee' OR j.amount <> -b.amount
                OR a.holder_id <> b.holder_id OR j.reference <> 'bill:' || CAST(b.id AS TEXT))
         UNION ALL
         SELECT 'entry', j.id FROM journal_entries j
          WHERE j.kind = 'fee' AND j.reference LIKE 'bill:%'
            AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.entry_id = j.id AND b.status = 'paid')",
    )
    .fetch_all(pool)
    .await?;
    check.bill_mismatches = bills
        .into_iter()
        .map(|(what, id)| format!("{what} #{id}"))
        .collect();
    let purchases = sqlx::query_as::<_, (String, String)>(
        "SELECT 'purchase', p.reference FROM utility_purchases p
           LEFT JOIN journal_entries j ON j.id = p.entry_id LEFT JOIN accounts a ON a.id = j.account_id
          WHERE j.id IS NULL OR j.kind <> 'purchase' OR j.amount <> -p.amount
                OR a.holder_id <> p.holder_id OR j.reference <> 'purchase:' || p.reference
         UNION ALL
         SELECT 'purchase', p.reference FROM utility_purchases p
           LEFT JOIN journal_entries r ON r.id = p.refund_id
          WHERE p.status = 'refunded' AND (r.id IS NULL OR r.kind <> 'refund'
                OR r.amount <> p.amount OR r.reverses_id <> p.entry_id)
         UNION ALL
         SELECT 'entry', CAST(j.id AS TEXT) FROM journal_entries j
          WHERE j.kind = 'purchase'
            AND NOT EXISTS (SELECT 1 FROM utility_purchases p WHERE p.entry_id = j.id)
         UNION ALL
         SELECT 'entry', CAST(r.id AS TEXT) FROM journal_entries r
           JOIN utility_purchases p ON p.entry_id = r.reverses_id
          WHERE p.status <> 'refunded' OR p.refund_id <> r.id",
    )
    .fetch_all(pool)
    .await?;
    check.purchase_mismatches = purchases
        .into_iter()
        .map(|(what, id)| format!("{what} {id}"))
        .collect();
    Ok(check)
}
