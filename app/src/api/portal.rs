//! The cardholder's server functions. Each one finds the holder from the session cookie
//! itself; none takes a holder id from the browser.

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::model::AuditAction;
use crate::portal_model::*;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth, portal};

/// Logs in with a student or card number and the query password. On success the session
/// cookie is set and the browser is sent to the portal (or to the password page first).
/// `remember` ("on", the login form's checkbox): keep this phone for the 深职通码
/// (`server::phone`); not while the initial password must still be changed, since the change
/// would end the binding at once.
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(
    login: String,
    password: String,
    #[server(default)] remember: Option<String>,
) -> Result<(), AppError> {
    crate::api::served(|state, client| async move {
        use crate::server::session_cookie;
        let now = state.now();
        let (token, must_change, holder_id) =
            match auth::login(&state, &login, &password, &client, now).await {
                Ok(done) => done,
                // A browser without the wasm: back to a clean `/login` that keeps the number
                // typed and says what went wrong (a cookie for the next page only).
                Err(AppError::Rejected(problem)) if crate::server::wants_html() => {
                    let flash = RefusedLogin { login, problem };
                    crate::api::set_cookie(&crate::server::login_flash_cookie(Some(&flash)))?;
                    leptos_axum::redirect("/login");
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
        crate::api::set_cookie(&session_cookie(Some(&token), state.secure_cookies))?;
        let browser = auth::note_browser(&state, holder_id, &client, &token, now).await?;
        crate::api::set_cookie(&crate::server::browser_cookie(
            &browser,
            state.secure_cookies,
        ))?;
        if remember.is_some_and(|r| !r.is_empty()) && !must_change {
            let (phone_token, days) =
                crate::server::phone::bind(&state, holder_id, &client, now).await?;
            crate::api::set_cookie(&crate::server::phone::cookie(
                Some(&phone_token),
                state.secure_cookies,
                days,
            ))?;
        }
        leptos_axum::redirect(if must_change {
            "/portal/password"
        } else {
            "/portal"
        });
        Ok(())
    })
    .await
}

/// What a failed plain-form login left for the login page (read once, then cleared).
#[server(prefix = "/api", endpoint = "login_flash")]
pub async fn login_flash() -> Result<Option<RefusedLogin>, AppError> {
    crate::api::served(|_state, _client| async move {
        let flash = crate::server::login_flash();
        if flash.is_some() {
            crate::api::set_cookie(&crate::server::login_flash_cookie(None))?;
        }
        Ok(flash)
    })
    .await
}

/// Ends this session on the server and clears the cookie.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    crate::api::served(|state, client| async move {
        use crate::server::session_cookie;
        if let Some(token) = client.token.as_deref() {
            let hash = auth::token_hash(token);
            // Logged out in this browser: its push subscriptions go too (a shared computer
            // shows the next student nothing of this one's).
            if let (Some(session), Some(browser)) = (
                state.db.session(&hash).await?,
                client.browser_token.as_deref(),
            ) && session.subject == crate::server::store::SubjectKind::Holder
                && !session.ended
            {
                state
                    .db
                    .forget_browser_pushes(session.subject_id, &auth::token_hash(browser))
                    .await?;
            }
            state.db.end_session(&hash, state.now()).await?;
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
        let brief = match session {
            Some(s) => Some(HolderBrief {
                code_name: Default::default(),
                name: s.name,
                student_no: s.student_no,
                must_change_password: s.must_change_password,
                phone_only: false,
                unread: state.db.unread_notices(s.holder_id).await?,
            }),
            // A remembered phone alone: the code page only.
            None => match crate::server::phone::binding(&state, &client, state.now()).await? {
                Some(phone) => state
                    .db
                    .holder_auth(phone.holder_id)
                    .await?
                    .map(|h| HolderBrief {
                        code_name: Default::default(),
                        name: h.name,
                        student_no: h.student_no,
                        must_change_password: false,
                        phone_only: true,
                        unread: 0,
                    }),
                None => None,
            },
        };
        let Some(mut brief) = brief else {
            return Ok(None);
        };
        brief.code_name = state
            .db
            .campus_profile()
            .await?
            .map(|c| c.qr_code_name)
            .unwrap_or_default();
        Ok(Some(brief))
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
    crate::api::as_holder(false, |state, client, s| async move {
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
            phones: crate::server::phone::list(&state, s.holder_id, &client).await?,
        })
    })
    .await
}

/// Logs out every other device of this holder; returns how many sessions ended.
#[server(prefix = "/api", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        use crate::audit_text::{Counted, Fact, Phrase};
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
                action: AuditAction::HolderEndOtherSessions,
                holder_id: Some(s.holder_id),
                target: Fact::Holder(s.student_no.clone()).into(),
                before: Default::default(),
                after: Fact::Count(Counted::SessionsEnded, n as i64).into(),
                reason: Phrase::SelfService.stored(),
                ip: client.ip,
            })
            .await?;
        Ok(n)
    })
    .await
}

/// The 深职通码 to show now (`None` for a second after a use, until the next step). A
/// logged-in session or a remembered phone opens it; a remembered phone's codes come from its
/// own key, the same key it makes codes from without the network.
#[server(prefix = "/api", endpoint = "pay_code")]
pub async fn get_pay_code() -> Result<Option<PayCode>, AppError> {
    crate::api::served(|state, client| async move {
        use crate::server::paycode::{CodeError, KeyOf, current_code};
        use crate::server::phone;
        let viewer = phone::code_viewer(&state, &client, true).await?;
        let now = state.now();
        let key = match (&viewer.phone, &viewer.session) {
            (Some(p), _) => KeyOf::Phone(p.key_id),
            (None, Some(hash)) => KeyOf::Session(hash),
            (None, None) => return Err(AppError::Unauthorized),
        };
        let code = current_code(&state.db, &state.secrets.sealer, viewer.holder_id, key, now)
            .await
            .map_err(|e| match e {
                CodeError::AccountNotActive => AppError::Rejected(Problem::AccountNotActive),
                CodeError::Revoked => AppError::Unauthorized,
                other => crate::server::internal(other),
            })?;
        let Some((digits, expires_in)) = code else {
            return Ok(None);
        };
        let svg = crate::code_format::qr_svg(&digits)
            .ok_or_else(|| crate::server::internal("QR code"))?;
        let day_start = crate::server::domain::calendar::day_start(now);
        let balance = state
            .db
            .payer(viewer.holder_id, day_start)
            .await?
            .map(|p| p.balance);
        Ok(Some(PayCode {
            digits,
            svg,
            expires_in,
            name: viewer.name.clone(),
            student_no_tail: phone::student_no_tail(&viewer.student_no),
            balance,
            server_time_ms: now.timestamp_millis(),
            phone_key_id: viewer.phone.as_ref().map(|p| p.key_id),
            offline: false,
        }))
    })
    .await
}

/// This remembered phone's code secret, for its browser storage (`None` when this browser is
/// not remembered). Needs the logged-in session: the password was typed on this phone.
#[server(prefix = "/api", endpoint = "phone_secret")]
pub async fn phone_secret() -> Result<Option<PhoneCodeKey>, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        crate::server::phone::secret(&state, &s, &client).await
    })
    .await
}

/// Forgets one of the holder's remembered phones: its codes are refused from now on. The
/// browser that removes its own also loses its cookie.
#[server(prefix = "/api", endpoint = "remove_phone")]
pub async fn remove_phone(key_id: i64) -> Result<(), AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        let own = crate::server::phone::remove(&state, &s, key_id, &client).await?;
        if own {
            crate::api::set_cookie(&crate::server::phone::cookie(None, state.secure_cookies, 0))?;
        }
        crate::api::after_plain_form("/portal/profile");
        Ok(())
    })
    .await
}
