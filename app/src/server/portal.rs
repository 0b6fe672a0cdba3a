//! The cardholder's own data: dashboard, history, card loss, password, limits, profile.
//! Every function takes the logged-in `HolderSession`, so a holder can only ever reach their
//! own rows.

use super::auth::{Client, HolderSession};
use super::domain::calendar::{campus_date, local_midnight};
use super::store::{Actor, Audit, CardChange, EntryQuery};
use super::{AppState, internal, pin};
use crate::audit_text::{AuditText, Fact, Phrase};
use crate::error::AppError;
use crate::model::{AuditAction, CardStatus, Money};
use crate::portal_model::*;
use chrono::{DateTime, Duration, NaiveDate, Utc};

pub fn mask_card_no(card_no: &str) -> String {
    let n = card_no.chars().count();
    if n <= 4 {
        return card_no.to_string();
    }
    format!(
        "{}{}",
        "*".repeat(n - 4),
        card_no.chars().skip(n - 4).collect::<String>()
    )
}

/// Checks the query password again before a sensitive change. A wrong one counts towards the
/// lockout exactly like a wrong login.
pub async fn confirm_password(
    state: &AppState,
    s: &HolderSession,
    password: &str,
) -> Result<(), AppError> {
    let auth = state
        .db
        .holder_auth(s.holder_id)
        .await?
        .ok_or(AppError::NotFound)?;
    super::auth::check_query_password(state, &auth, password, state.now())
        .await?
        .map_err(AppError::Rejected)
}

pub async fn dashboard(state: &AppState, s: &HolderSession) -> Result<Dashboard, AppError> {
    let today = campus_date(state.now());
    let row = state
        .db
        .dashboard(s.holder_id, local_midnight(today))
        .await?
        .ok_or(AppError::NotFound)?;
    let recent = state
        .db
        .entries(
            s.holder_id,
            &EntryQuery {
                limit: 5,
                ..Default::default()
            },
        )
        .await?;
    let campus = state
        .campus
        .get(&state.db)
        .await?
        .ok_or_else(|| internal("no campus profile"))?;
    let found_card_at = state
        .db
        .found_cards_of(s.holder_id)
        .await?
        .into_iter()
        .find(|f| f.returned_at.is_none())
        .map(|f| f.place);
    Ok(Dashboard {
        announcements: super::announcements::for_holder(state, row.kind, &row.department).await?,
        bills_due: row.bills_due,
        bills_due_amount: row.bills_due_amount,
        found_card_at,
        office_phone: campus.office_phone,
        code_name: campus.qr_code_name,
        name: row.name,
        student_no: row.student_no,
        balance: row.balance,
        account_status: row.account_status,
        card_no_masked: row.card.as_ref().map(|(no, _)| mask_card_no(no)),
        card_status: row.card.map(|(_, st)| st),
        single_limit: row.single_limit,
        daily_limit: row.daily_limit,
        spent_today: super::store::spent_for_limits(row.spent_since),
        recent,
        consumption_pw_is_initial: row.consumption_pw_is_initial,
        auto_topup_failures: state
            .db
            .failed_auto_topups(Some(s.holder_id))
            .await?
            .iter()
            .map(super::topup::order_view)
            .collect(),
    })
}

fn parse_date(text: &Option<String>) -> Result<Option<NaiveDate>, AppError> {
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::Invalid(format!("not a date: {t}"))),
    }
}

/// Turns the page's filter into a store query (dates are campus-local and inclusive).
pub fn entry_query(
    filter: &HistoryFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<EntryQuery, AppError> {
    let from = parse_date(&filter.from)?.map(local_midnight);
    let until = parse_date(&filter.to)?
        .and_then(|d| d.succ_opt())
        .map(local_midnight);
    let before = match before.filter(|b| !b.is_empty()) {
        None => None,
        Some(cursor) => {
            // The time must be a real timestamp: the store compares it as one.
            let (at, id) = cursor
                .rsplit_once('_')
                .filter(|(at, _)| DateTime::parse_from_rfc3339(at).is_ok())
                .and_then(|(at, id)| id.parse::<i64>().ok().map(|id| (at.to_string(), id)))
                .ok_or_else(|| AppError::Invalid("bad page cursor".into()))?;
            Some((at, id))
        }
    };
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Ok(EntryQuery {
        from: from.map(ts),
        until: until.map(ts),
        kind: filter.kind,
        category: filter.category,
        before,
        limit,
    })
}

pub const PAGE_SIZE: i64 = 20;

pub async fn history(
    state: &AppState,
    s: &HolderSession,
    filter: &HistoryFilter,
    before: Option<&str>,
) -> Result<HistoryPage, AppError> {
    let mut query = entry_query(filter, before, PAGE_SIZE + 1)?;
    let mut entries = state.db.entries(s.holder_id, &query).await?;
    let next_cursor = if entries.len() as i64 > PAGE_SIZE {
        entries.truncate(PAGE_SIZE as usize);
        entries.last().map(|e| format!("{}_{}", e.at, e.id))
    } else {
        None
    };
    query.before = None;
    let (count, spent, received) = state.db.entries_total(s.holder_id, &query).await?;
    Ok(HistoryPage {
        entries,
        next_cursor,
        spent,
        received,
        count,
    })
}

/// Every filtered row, oldest last, for the CSV download (bounded to keep it one response).
pub async fn history_rows(
    state: &AppState,
    s: &HolderSession,
    filter: &HistoryFilter,
) -> Result<Vec<EntryView>, AppError> {
    let query = entry_query(filter, None, 50_000)?;
    Ok(state.db.entries(s.holder_id, &query).await?)
}

pub async fn monthly(state: &AppState, s: &HolderSession) -> Result<Vec<MonthSpend>, AppError> {
    Ok(state
        .db
        .monthly_spend(s.holder_id, state.now() - Duration::days(183))
        .await?)
}

/// Reports the card lost or lifts the report, after the query password.
pub async fn set_lost(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    password: &str,
    lost: bool,
) -> Result<CardState, AppError> {
    confirm_password(state, s, password).await?;
    let audit = Audit {
        actor: Actor::Holder(s.holder_id),
        action: if lost {
            AuditAction::CardReportLost
        } else {
            AuditAction::CardLiftLost
        },
        holder_id: Some(s.holder_id),
        target: AuditText::none(),
        before: AuditText::none(),
        after: AuditText::none(),
        reason: Phrase::SelfService.stored(),
        ip: client.ip.clone(),
    };
    match state
        .db
        .set_card_lost(s.holder_id, lost, state.now(), audit)
        .await?
    {
        CardChange::Changed { card_no, to, .. } => Ok(CardState {
            card_no_masked: mask_card_no(&card_no),
            status: to,
        }),
        CardChange::NoCard => Err(AppError::Rejected(Problem::NoCard)),
        CardChange::WrongState(CardStatus::Lost) => Err(AppError::Rejected(Problem::CardNotActive)),
        CardChange::WrongState(_) => Err(AppError::Rejected(Problem::CardNotLost)),
    }
}

/// Changes the query password: old one checked, new one by the PIN rules, other sessions and
/// every code key ended.
pub async fn change_password(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    old: &str,
    new: &str,
    repeat: &str,
) -> Result<(), AppError> {
    if new != repeat {
        return Err(AppError::Rejected(Problem::PasswordsDiffer));
    }
    pin::check_new_pin(new).map_err(AppError::Rejected)?;
    let key = {
        use secrecy::ExposeSecret;
        state
            .secrets
            .id_hash_key
            .expose_secret()
            .as_bytes()
            .to_vec()
    };
    if s.personal_pins.contains(&super::ids::pin_hash(&key, new)) {
        // The initial password is one of the personal PINs; say which rule it broke.
        return Err(AppError::Rejected(if old == new {
            Problem::PasswordIsInitial
        } else {
            Problem::PasswordIsPersonal
        }));
    }
    confirm_password(state, s, old).await?;
    if old == new {
        return Err(AppError::Rejected(Problem::PasswordIsInitial));
    }
    let hash = state.hasher.hash(new.to_string()).await.map_err(internal)?;
    let audit = Audit {
        actor: Actor::Holder(s.holder_id),
        action: AuditAction::HolderChangeQueryPassword,
        holder_id: Some(s.holder_id),
        target: Fact::Holder(s.student_no.clone()).into(),
        before: AuditText::none(),
        after: AuditText::none(),
        reason: Phrase::SelfService.stored(),
        ip: client.ip.clone(),
    };
    state
        .db
        .change_query_password(s.holder_id, &hash, &s.token_hash, state.now(), audit)
        .await?;
    Ok(())
}

/// Lowers (or raises up to the campus maxima) the holder's own limits.
pub async fn set_limits(
    state: &AppState,
    s: &HolderSession,
    client: &Client,
    single: &str,
    daily: &str,
    password: &str,
) -> Result<Limits, AppError> {
    let profile = state.db.campus_profile().await?.ok_or(AppError::NotFound)?;
    let single = Money::parse_yuan(single).map_err(|_| AppError::Rejected(Problem::LimitFormat))?;
    let daily = Money::parse_yuan(daily).map_err(|_| AppError::Rejected(Problem::LimitFormat))?;
    if single > profile.max_single_limit {
        return Err(AppError::Rejected(Problem::LimitAboveMaximum {
            max: profile.max_single_limit,
        }));
    }
    if daily > profile.max_daily_limit {
        return Err(AppError::Rejected(Problem::LimitAboveMaximum {
            max: profile.max_daily_limit,
        }));
    }
    if single > daily {
        return Err(AppError::Rejected(Problem::SingleAboveDaily));
    }
    let (old_single, old_daily) = state
        .db
        .limits(s.holder_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Raising a limit is confirmed with the query password (a borrowed, unlocked phone must
    // not lift what the owner lowered).
    let raising = super::domain::payments::raises_limits(old_single, old_daily, single, daily);
    if raising {
        if password.is_empty() {
            return Err(AppError::Rejected(Problem::LimitRaisePassword));
        }
        let auth = state
            .db
            .holder_auth(s.holder_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        super::auth::check_query_password(state, &auth, password, state.now())
            .await?
            .map_err(AppError::Rejected)?;
    }
    let audit = Audit {
        actor: Actor::Holder(s.holder_id),
        action: AuditAction::AccountSetLimits,
        holder_id: Some(s.holder_id),
        target: Fact::Holder(s.student_no.clone()).into(),
        before: Fact::Limits {
            single: old_single,
            daily: old_daily,
        }
        .into(),
        after: Fact::Limits { single, daily }.into(),
        reason: if raising {
            Phrase::SelfServiceRaised.stored()
        } else {
            Phrase::SelfService.stored()
        },
        ip: client.ip.clone(),
    };
    state
        .db
        .set_limits(s.holder_id, single, daily, audit)
        .await?;
    Ok(Limits {
        single_limit: single,
        daily_limit: daily,
        max_single_limit: profile.max_single_limit,
        max_daily_limit: profile.max_daily_limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_campus_local_and_inclusive() {
        let q = entry_query(
            &HistoryFilter {
                from: Some("2026-09-01".into()),
                to: Some("2026-09-30".into()),
                ..Default::default()
            },
            Some("2026-09-10T04:00:00.000Z_42"),
            21,
        )
        .unwrap();
        assert_eq!(q.from.as_deref(), Some("2026-08-31T16:00:00.000Z"));
        assert_eq!(q.until.as_deref(), Some("2026-09-30T16:00:00.000Z"));
        assert_eq!(q.before, Some(("2026-09-10T04:00:00.000Z".into(), 42)));
        assert!(
            entry_query(
                &HistoryFilter {
                    from: Some("09/01".into()),
                    ..Default::default()
                },
                None,
                1
            )
            .is_err()
        );
        assert!(entry_query(&HistoryFilter::default(), Some("garbage"), 1).is_err());
        assert!(entry_query(&HistoryFilter::default(), Some("yesterday_42"), 1).is_err());
    }
}
