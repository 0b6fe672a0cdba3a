//! The web terminals' server functions. Each finds its device from the terminal cookie
//! itself; none takes a device from the browser.

use crate::error::AppError;
use crate::terminal_model::*;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::terminal;

/// Sets this browser up as a device's terminal with the device code and its credential.
#[server(prefix = "/api", endpoint = "terminal/set_up")]
pub async fn set_up_terminal(device: String, credential: String) -> Result<(), AppError> {
    crate::api::served(|state, client| async move {
        let (token, kind) =
            terminal::set_up(&state, &device, &credential, &client, state.now()).await?;
        crate::api::set_cookie(&terminal::cookie(Some(&token), state.secure_cookies))?;
        leptos_axum::redirect(if kind == crate::model::DeviceKind::Kiosk {
            "/terminal/kiosk"
        } else {
            "/terminal/pos"
        });
        Ok(())
    })
    .await
}

/// Takes this browser out of terminal mode. A passer-by cannot: it needs the login (password and
/// authenticator code) of a staff member who may end this terminal (`domain::terminals`).
#[server(prefix = "/api", endpoint = "terminal/leave")]
pub async fn leave_terminal(
    username: String,
    password: String,
    code: String,
) -> Result<(), AppError> {
    crate::api::served(|state, client| async move {
        let now = state.now();
        // A terminal that is no longer alive has nothing left to protect: its cookie goes.
        if let Some(row) = terminal::terminal(&state, &client, now).await? {
            terminal::leave(&state, &client, &row, &username, &password, &code, now).await?;
        }
        crate::api::set_cookie(&terminal::cookie(None, state.secure_cookies))?;
        leptos_axum::redirect("/terminal");
        Ok(())
    })
    .await
}

/// The till's header: device, today's takings, last sale, the next sale's request id.
#[server(prefix = "/api", endpoint = "terminal/info")]
pub async fn get_terminal_info(kiosk: bool) -> Result<TerminalInfo, AppError> {
    crate::api::as_terminal(kiosk, |state, row| async move {
        terminal::info(&state, &row).await
    })
    .await
}

/// A sale. `password` is sent when the till asked for the consumption password.
#[server(prefix = "/api", endpoint = "terminal/pay")]
pub async fn till_pay(
    request_id: String,
    amount: String,
    scan: String,
    password: Option<String>,
) -> Result<TillResult, AppError> {
    crate::api::as_terminal(false, |state, row| async move {
        terminal::pay(
            &state,
            &row,
            &request_id,
            &amount,
            &scan,
            password.as_deref(),
        )
        .await
    })
    .await
}

/// Refunds a sale of this merchant (the till offers its last one).
#[server(prefix = "/api", endpoint = "terminal/refund")]
pub async fn till_refund(request_id: String, payment_id: i64) -> Result<TillResult, AppError> {
    crate::api::as_terminal(false, |state, row| async move {
        terminal::refund(&state, &row, &request_id, payment_id).await
    })
    .await
}

/// A card or code held to the till with no amount.
#[server(prefix = "/api", endpoint = "terminal/balance")]
pub async fn till_balance(scan: String) -> Result<TillResult, AppError> {
    crate::api::as_terminal(false, |state, _| async move {
        terminal::balance(&state, &scan).await
    })
    .await
}

/// Kiosk: balance with the card and the query password.
#[server(prefix = "/api", endpoint = "kiosk/balance")]
pub async fn kiosk_balance(card: String, password: String) -> Result<TillResult, AppError> {
    crate::api::as_terminal(true, |state, row| async move {
        Ok(
            match crate::server::kiosk::balance(&state, &row.device, &card, &password, state.now())
                .await
                .map_err(crate::server::internal)?
            {
                Ok(payer) => TillResult {
                    approved: true,
                    amount: None,
                    balance: Some(payer.balance),
                    holder: Some(crate::server::ledger::masked_name(&payer.name)),
                    reason: None,
                },
                Err(reason) => TillResult::declined(reason),
            },
        )
    })
    .await
}

/// Kiosk: a new consumption password with the card and the old one.
#[server(prefix = "/api", endpoint = "kiosk/consumption_password")]
pub async fn kiosk_consumption_password(
    card: String,
    old: String,
    new: String,
    repeat: String,
) -> Result<TillResult, AppError> {
    crate::api::as_terminal(true, |state, row| async move {
        if new != repeat {
            return Err(AppError::Rejected(
                crate::portal_model::Problem::PasswordsDiffer,
            ));
        }
        Ok(
            match crate::server::kiosk::change_consumption_password(
                &state,
                &row.device,
                &card,
                &old,
                &new,
                state.now(),
            )
            .await
            .map_err(crate::server::internal)?
            {
                Ok(()) => TillResult {
                    approved: true,
                    amount: None,
                    balance: None,
                    holder: None,
                    reason: None,
                },
                Err(reason) => TillResult::declined(reason),
            },
        )
    })
    .await
}

/// Kiosk: report the card lost with the student or card number and the query password.
#[server(prefix = "/api", endpoint = "kiosk/report_loss")]
pub async fn kiosk_report_loss(login: String, password: String) -> Result<TillResult, AppError> {
    crate::api::as_terminal(true, |state, row| async move {
        Ok(
            match crate::server::kiosk::report_loss(
                &state,
                &row.device,
                &login,
                &password,
                state.now(),
            )
            .await
            .map_err(crate::server::internal)?
            {
                Ok(card) => TillResult {
                    approved: true,
                    amount: None,
                    balance: None,
                    holder: Some(card),
                    reason: None,
                },
                Err(reason) => TillResult::declined(reason),
            },
        )
    })
    .await
}
