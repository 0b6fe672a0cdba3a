//! The cardholder's server functions. Each one finds the holder from the session cookie
//! itself; none takes a holder id from the browser.

use crate::error::AppError;
use crate::portal_model::*;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth, portal};

/// Logs in with a student or card number and the query password. On success the session
/// cookie is set and the browser is sent to the portal (or to the password page first).
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(login: String, password: String) -> Result<(), AppError> {
    crate::api::served(|state, client| async move {
        use crate::server::session_cookie;
        let (token, must_change) =
            auth::login(&state, &login, &password, &client, state.now()).await?;
        crate::api::set_cookie(&session_cookie(Some(&token), state.secure_cookies))?;
        leptos_axum::redirect(if must_change {
            "/portal/password"
        } else {
            "/portal"
        });
        Ok(())
    })
    .await
}

/// Ends this session on the server and clears the cookie.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    crate::api::served(|state, client| async move {
        use crate::server::session_cookie;
        if let Some(token) = client.token.as_deref() {
            state
                .db
                .end_session(&auth::token_hash(token), state.now())
                .await?;
        }
        crate::api::set_cookie(&session_cookie(None, state.secure_cookies))?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Who is logged in, if anyone.
#[server(prefix = "/api", endpoint = "me")]
pub async fn me() -> Result<Option<HolderBrief>, AppError> {
    crate::api::served(|state, client| async move {
        let session = auth::holder_session(&state, &client, state.now()).await?;
        let code_name = match &session {
            Some(_) => state
                .db
                .campus_profile()
                .await?
                .map(|c| c.qr_code_name)
                .unwrap_or_default(),
            None => Default::default(),
        };
        Ok(session.map(|s| HolderBrief {
            code_name,
            name: s.name,
            student_no: s.student_no,
            must_change_password: s.must_change_password,
        }))
    })
    .await
}

#[server(prefix = "/api", endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        portal::dashboard(&state, &s).await
    })
    .await
}

/// One page of history. The filter travels as plain fields (`from`, `to`, `kind`,
/// `category`, empty for "any"), the same names the page's GET form and the CSV link use.
#[server(prefix = "/api", endpoint = "history")]
pub async fn get_history(
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    category: Option<String>,
    before: Option<String>,
) -> Result<HistoryPage, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        let filter = HistoryFilter::from_pairs(|k| match k {
            "from" => from.as_deref(),
            "to" => to.as_deref(),
            "kind" => kind.as_deref(),
            "category" => category.as_deref(),
            _ => None,
        });
        portal::history(&state, &s, &filter, before.as_deref()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "monthly_spend")]
pub async fn get_monthly_spend() -> Result<Vec<MonthSpend>, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        portal::monthly(&state, &s).await
    })
    .await
}

/// Reports the card lost (`lost = true`) or lifts the report, confirmed by the query password.
#[server(prefix = "/api", endpoint = "card_loss")]
pub async fn set_card_loss(password: String, lost: bool) -> Result<CardState, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        let card = portal::set_lost(&state, &s, &client, &password, lost).await?;
        crate::api::after_plain_form("/portal/lost?done=1");
        Ok(card)
    })
    .await
}

#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(old: String, new: String, repeat: String) -> Result<(), AppError> {
    crate::api::as_holder(true, |state, client, s| async move {
        portal::change_password(&state, &s, &client, &old, &new, &repeat).await?;
        leptos_axum::redirect("/portal?changed=1");
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "limits")]
pub async fn get_limits() -> Result<Limits, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        let profile = state.db.campus_profile().await?.ok_or(AppError::NotFound)?;
        let (single, daily) = state
            .db
            .limits(s.holder_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(Limits {
            single_limit: single,
            daily_limit: daily,
            max_single_limit: profile.max_single_limit,
            max_daily_limit: profile.max_daily_limit,
        })
    })
    .await
}

/// Amounts in yuan as typed ("30", "30.5").
#[server(prefix = "/api", endpoint = "set_limits")]
pub async fn set_limits(
    single: String,
    daily: String,
    /// The query password: needed only to raise a limit.
    #[server(default)]
    password: String,
) -> Result<Limits, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        portal::set_limits(&state, &s, &client, &single, &daily, &password).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "profile")]
pub async fn get_profile() -> Result<Profile, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        let p = state
            .db
            .profile(s.holder_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let sessions = state
            .db
            .live_sessions_of(crate::server::store::SubjectKind::Holder, s.holder_id)
            .await?
            .into_iter()
            .map(|row| SessionInfo {
                id: row.token_hash[..8].to_string(),
                created_at: row.created_at.to_rfc3339(),
                last_seen_at: row.last_seen_at.to_rfc3339(),
                user_agent: row.user_agent,
                ip: row.ip,
                current: row.token_hash == s.token_hash,
            })
            .collect();
        Ok(Profile {
            name: p.name,
            student_no: p.student_no,
            kind: p.kind,
            department: p.department,
            class_name: p.class_name,
            id_doc_masked: p.id_doc_masked,
            phone_masked: p.phone_masked,
            sessions,
        })
    })
    .await
}

/// Logs out every other device of this holder; returns how many sessions ended.
#[server(prefix = "/api", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        let n = state
            .db
            .end_sessions_of(
                crate::server::store::SubjectKind::Holder,
                s.holder_id,
                Some(&s.token_hash),
                state.now(),
            )
            .await?;
        state
            .db
            .audit(crate::server::store::Audit {
                actor: crate::server::store::Actor::Holder(s.holder_id),
                action: "holder.end_other_sessions",
                holder_id: Some(s.holder_id),
                target: format!("holder {}", s.student_no),
                before: String::new(),
                after: format!("{n} sessions ended"),
                reason: "self-service in the portal".into(),
                ip: client.ip,
            })
            .await?;
        Ok(n)
    })
    .await
}

/// The 深职通码 to show now (`None` for a second after a use, until the next step).
#[server(prefix = "/api", endpoint = "pay_code")]
pub async fn get_pay_code() -> Result<Option<PayCode>, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        use crate::server::paycode::{CodeError, current_code};
        let code = current_code(
            &state.db,
            &state.secrets.sealer,
            s.holder_id,
            &s.token_hash,
            state.now(),
        )
        .await
        .map_err(|e| match e {
            CodeError::AccountNotActive => AppError::Rejected(Problem::AccountNotActive),
            other => crate::server::internal(other),
        })?;
        let Some((digits, expires_in)) = code else {
            return Ok(None);
        };
        let svg = qrcode::QrCode::new(digits.as_bytes())
            .map_err(crate::server::internal)?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build();
        let tail_from = s.student_no.chars().count().saturating_sub(4);
        Ok(Some(PayCode {
            digits,
            svg,
            expires_in,
            name: s.name.clone(),
            student_no_tail: s.student_no.chars().skip(tail_from).collect(),
        }))
    })
    .await
}
