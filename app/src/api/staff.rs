//! The card office's server functions. Every one of them starts by checking the caller's staff
//! session and role on the server (`guarded`); the browser never names who it is. The roles
//! per function are listed in `crate::server::staff::roles` and tested, endpoint by endpoint,
//! by the authorization matrix in `server/tests/staff.rs`.
// A form's fields are a server function's arguments; the browser-side function the macro
// generates for the enrolment form cannot carry an attribute of its own.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::staff_model::*;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{
    AppState, admin, counter,
    staff::{self, StaffSession, roles},
};

/// Runs `f` for a staff member whose role is one of `allowed`; anyone else gets 401/403.
#[cfg(feature = "ssr")]
pub(crate) async fn guarded<T, F, Fut>(
    allowed: &'static [crate::model::StaffRole],
    f: F,
) -> Result<T, AppError>
where
    F: FnOnce(AppState, StaffSession) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    crate::api::served(|state, client| async move {
        let who = staff::require(&state, &client, allowed).await?;
        f(state, who).await
    })
    .await
}

#[cfg(feature = "ssr")]
fn set_staff_cookie(state: &AppState, token: Option<&str>) -> Result<(), AppError> {
    crate::api::set_cookie(&staff::cookie(token, state.secure_cookies))
}

#[cfg(feature = "ssr")]
fn id(text: &str) -> Result<i64, AppError> {
    text.trim()
        .parse()
        .map_err(|_| AppError::Invalid("bad id".into()))
}

#[cfg(feature = "ssr")]
fn optional_id(text: &str) -> Result<Option<i64>, AppError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        id(text).map(Some)
    }
}

// ---- Logging in ----

/// Logs a staff member in with username, password and the code from the authenticator app.
#[server(prefix = "/api", endpoint = "staff/login")]
pub async fn staff_login(username: String, password: String, code: String) -> Result<(), AppError> {
    crate::api::served(|state, client| async move {
        let (token, next) =
            staff::login(&state, &username, &password, &code, &client, state.now()).await?;
        set_staff_cookie(&state, Some(&token))?;
        // Straight to the password page when the password must change first (a page behind
        // it would only be refused), otherwise to the role's start page.
        leptos_axum::redirect(next);
        Ok(())
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/logout")]
pub async fn staff_logout() -> Result<(), AppError> {
    crate::api::served(|state, client| async move {
        if let Some(token) = client.staff_token.as_deref() {
            state
                .db
                .end_session(&crate::server::auth::token_hash(token), state.now())
                .await?;
        }
        set_staff_cookie(&state, None)?;
        leptos_axum::redirect("/staff/login");
        Ok(())
    })
    .await
}

/// What an enrolment link's page shows (no session: the link is the credential).
#[server(prefix = "/api", endpoint = "staff/welcome_view")]
pub async fn welcome_view(token: String) -> Result<StaffEnrolment, AppError> {
    crate::api::served(|state, client| async move {
        crate::server::enrolment::view(&state, &token, &client).await
    })
    .await
}

/// Completes an enrolment: the person's own password and a code from their new authenticator.
#[server(prefix = "/api", endpoint = "staff/welcome")]
pub async fn welcome(
    token: String,
    password: String,
    confirm: String,
    code: String,
) -> Result<String, AppError> {
    crate::api::served(|state, client| async move {
        crate::server::enrolment::complete(&state, &token, &password, &confirm, &code, &client)
            .await
    })
    .await
}

/// The logged-in staff member, if any (no role needed: the pages' guard).
#[server(prefix = "/api", endpoint = "staff/me")]
pub async fn staff_me() -> Result<Option<StaffBrief>, AppError> {
    crate::api::served(|state, client| async move {
        Ok(staff::session(&state, &client, state.now())
            .await?
            .map(|s| s.brief()))
    })
    .await
}

/// Changes the logged-in staff member's own password: any role, and the one thing a staff
/// member with a published demo password may do.
#[server(prefix = "/api", endpoint = "staff/change_password")]
pub async fn change_staff_password(
    current: String,
    new_password: String,
    confirm: String,
) -> Result<(), AppError> {
    crate::api::served(|state, client| async move {
        staff::change_password(&state, &client, &current, &new_password, &confirm).await?;
        if crate::server::wants_html() {
            leptos_axum::redirect("/staff");
        }
        Ok(())
    })
    .await
}

// ---- Reading (operators, administrators, auditors) ----

#[server(prefix = "/api", endpoint = "staff/search")]
pub async fn search_holders(q: String) -> Result<Vec<HolderHit>, AppError> {
    guarded(
        roles::READ,
        |s, _| async move { counter::search(&s, &q).await },
    )
    .await
}

#[server(prefix = "/api", endpoint = "staff/holder")]
pub async fn get_holder_file(holder_id: i64) -> Result<HolderFile, AppError> {
    guarded(roles::READ, |s, who| async move {
        let mut file = counter::holder_file(&s, holder_id).await?;
        file.can_change = roles::COUNTER.contains(&who.role);
        if !file.can_change {
            // A chip serial is what a reader accepts as the card: only the counter sees it whole.
            for card in &mut file.cards {
                card.chip_serial = crate::server::portal::mask_card_no(&card.chip_serial);
            }
            file.cash_receipt_no.clear();
        }
        Ok(file)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/found")]
pub async fn found_cards(open_only: bool) -> Result<Vec<FoundCardView>, AppError> {
    guarded(roles::READ, |s, _| async move {
        Ok(s.db.found_cards(open_only).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/failed_topups")]
pub async fn failed_topups() -> Result<Vec<FailedTopupView>, AppError> {
    guarded(roles::READ, |s, _| async move {
        Ok(s.db.failed_topup_views(None).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/reversals")]
pub async fn pending_reversals() -> Result<Vec<ReversalView>, AppError> {
    guarded(roles::READ, |s, _| async move {
        Ok(s.db.pending_reversals(None).await?)
    })
    .await
}

/// Closings with a payout waiting for a second staff member.
#[server(prefix = "/api", endpoint = "staff/closings")]
pub async fn closing_requests() -> Result<Vec<ClosingRequestView>, AppError> {
    guarded(roles::READ, |s, _| async move {
        counter::closing_requests(&s).await
    })
    .await
}

/// Cash top-ups above the threshold waiting for a second staff member.
#[server(prefix = "/api", endpoint = "staff/cash_requests")]
pub async fn cash_requests() -> Result<Vec<CashRequestView>, AppError> {
    guarded(roles::READ, |s, _| async move {
        counter::cash_requests(&s).await
    })
    .await
}

/// The operator's open shift (`None` for roles that take no cash).
#[server(prefix = "/api", endpoint = "staff/my_shift")]
pub async fn my_shift() -> Result<Option<ShiftView>, AppError> {
    guarded(roles::READ, |s, who| async move {
        counter::my_shift(&s, &who).await
    })
    .await
}

// ---- The counter (operators, administrators) ----

#[server(prefix = "/api", endpoint = "staff/enrol")]
pub async fn enrol_holder(
    student_no: String,
    name: String,
    kind: String,
    department: String,
    class_name: String,
    id_doc_kind: String,
    id_number: String,
    phone: String,
    chip_serial: String,
) -> Result<ImportReport, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        let input = counter::EnrolInput {
            student_no,
            name,
            kind,
            department,
            class_name,
            id_doc_kind,
            id_number,
            phone,
            chip_serial,
        };
        counter::enrol_rows(&s, &who, vec![(1, input)], "enrolled at the counter").await
    })
    .await
}

/// Imports enrolment data as CSV text: every row validated, nothing imported while any row
/// has a problem, rows enrolled before with the same data left alone.
#[server(prefix = "/api", endpoint = "staff/import")]
pub async fn import_holders(csv: String, file_name: String) -> Result<ImportReport, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        let rows = match counter::parse_csv(&csv) {
            Ok(rows) => rows,
            Err(problem) => {
                return Ok(ImportReport {
                    rows: 0,
                    created: 0,
                    unchanged: 0,
                    errors: vec![RowError { line: 1, problem }],
                });
            }
        };
        let source = format!(
            "CSV import {}",
            file_name.chars().take(80).collect::<String>()
        );
        counter::enrol_rows(&s, &who, rows, &source).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/issue_card")]
pub async fn issue_card(
    holder_id: i64,
    chip_serial: String,
    reason: String,
) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::issue_card(&s, &who, holder_id, &chip_serial, false, "", &reason)
            .await
            .map(|_| ())
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/replace_card")]
pub async fn replace_card(
    holder_id: i64,
    chip_serial: String,
    fee: String,
    reason: String,
) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::issue_card(&s, &who, holder_id, &chip_serial, true, &fee, &reason)
            .await
            .map(|_| ())
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/cancel_card")]
pub async fn cancel_card(holder_id: i64, reason: String) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::cancel_card(&s, &who, holder_id, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/cash_topup")]
pub async fn cash_topup(
    holder_id: i64,
    amount: String,
    reason: String,
    receipt_no: String,
) -> Result<Receipt, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        let receipt =
            counter::cash_topup(&s, &who, holder_id, &amount, &reason, &receipt_no).await?;
        // Without the page's script the browser gets the receipt's own page (or the holder
        // page saying the top-up waits for a second staff member).
        crate::api::after_plain_form(&if receipt.awaiting_approval {
            format!("/staff/holder/{holder_id}?cash=awaiting")
        } else {
            receipt_href(receipt.entry_id)
        });
        Ok(receipt)
    })
    .await
}

/// The receipt of a cash top-up, a card replacement's fee or a payout, to print again.
#[server(prefix = "/api", endpoint = "staff/receipt")]
pub async fn get_receipt(entry_id: i64) -> Result<Receipt, AppError> {
    guarded(roles::READ, |s, _| async move {
        counter::receipt(&s, entry_id).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/reset_password")]
pub async fn reset_password(
    holder_id: i64,
    which: String,
    id_number: String,
    reason: String,
) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::reset_password(&s, &who, holder_id, &which, &id_number, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/lift_lockout")]
pub async fn lift_lockout(holder_id: i64, which: String, reason: String) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::lift_lockout(&s, &who, holder_id, &which, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/set_lost")]
pub async fn set_card_lost(
    holder_id: i64,
    lost: bool,
    id_number: String,
    reason: String,
) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::set_lost(&s, &who, holder_id, lost, &id_number, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/set_frozen")]
pub async fn set_frozen(holder_id: i64, frozen: bool, reason: String) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::set_frozen(&s, &who, holder_id, frozen, &reason).await
    })
    .await
}

/// Records the holder's payout account after checking their identity document; answers the
/// masked account.
#[server(prefix = "/api", endpoint = "staff/payout_account")]
pub async fn record_payout_account(
    holder_id: i64,
    bank_account: String,
    id_number: String,
    reason: String,
) -> Result<String, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::record_payout_account(&s, &who, holder_id, &bank_account, &id_number, &reason)
            .await
    })
    .await
}

/// Closes an account; with money on it, a request for a second person to approve the payout to
/// the recorded payout account.
#[server(prefix = "/api", endpoint = "staff/close_account")]
pub async fn close_account(holder_id: i64, reason: String) -> Result<ClosedAccount, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::close_account(&s, &who, holder_id, &reason).await
    })
    .await
}

/// Closes a batch of accounts (a graduating class): a student number per line, optionally with
/// the bank account (which must be the recorded payout account).
#[server(prefix = "/api", endpoint = "staff/close_batch")]
pub async fn close_batch(lines: String, reason: String) -> Result<CloseReport, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::close_batch(&s, &who, &lines, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/record_found")]
pub async fn record_found(number: String, place: String) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::record_found(&s, &who, &number, &place).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/found_returned")]
pub async fn found_returned(id: i64, reason: String) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::found_returned(&s, &who, id, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/reverse")]
pub async fn reverse_payment(journal_id: i64, reason: String) -> Result<ReversalOutcome, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::reverse_payment(&s, &who, journal_id, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/approve_reversal")]
pub async fn approve_reversal(request_id: i64) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::approve_reversal(&s, &who, request_id)
            .await
            .map(|_| ())
    })
    .await
}

/// A second staff member approves a closing (the payout goes out) or rejects it (with a
/// reason); not the one who asked.
#[server(prefix = "/api", endpoint = "staff/decide_closing")]
pub async fn decide_closing(
    request_id: i64,
    decision: String,
    #[server(default)] reason: String,
) -> Result<ClosedAccount, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        let approve = counter::approval(&decision)?;
        counter::decide_closing(&s, &who, request_id, approve, &reason).await
    })
    .await
}

/// Ends the operator's shift with the cash they counted.
#[server(prefix = "/api", endpoint = "staff/count_cash")]
pub async fn count_cash(
    counted: String,
    #[server(default)] note: String,
) -> Result<ShiftView, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::count_cash(&s, &who, &counted, &note).await
    })
    .await
}

/// A second staff member approves a cash top-up above the threshold (the account is credited
/// and the receipt comes back to print) or rejects it (with a reason); not the one who asked.
#[server(prefix = "/api", endpoint = "staff/decide_cash")]
pub async fn decide_cash(
    request_id: i64,
    decision: String,
    #[server(default)] reason: String,
) -> Result<Option<Receipt>, AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        let approve = counter::approval(&decision)?;
        let receipt = counter::decide_cash_topup(&s, &who, request_id, approve, &reason).await?;
        if let Some(r) = &receipt {
            crate::api::after_plain_form(&receipt_href(r.entry_id));
        }
        Ok(receipt)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/resolve_topup")]
pub async fn resolve_topup(order_no: String, reason: String) -> Result<(), AppError> {
    guarded(roles::COUNTER, |s, who| async move {
        counter::resolve_failed_topup(&s, &who, &order_no, &reason).await
    })
    .await
}

// ---- Oversight (administrators, auditors) ----

#[server(prefix = "/api", endpoint = "staff/audit")]
pub async fn audit_log(
    person: String,
    holder: String,
    action: String,
    from: String,
    to: String,
) -> Result<Vec<AuditView>, AppError> {
    guarded(roles::OVERSIGHT, |s, _| async move {
        admin::audit_log(&s, &person, &holder, &action, &from, &to).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/reports")]
pub async fn get_reports(from: String, to: String) -> Result<Reports, AppError> {
    guarded(roles::OVERSIGHT, |s, _| async move {
        admin::reports(&s, &from, &to).await
    })
    .await
}

/// The administration page's lists (auditors see them too, without the forms).
#[server(prefix = "/api", endpoint = "admin/overview")]
pub async fn get_admin_overview() -> Result<AdminOverview, AppError> {
    guarded(roles::OVERSIGHT, |s, who| async move {
        Ok(AdminOverview {
            can_change: roles::ADMIN.contains(&who.role),
            merchants: s.db.merchants().await?,
            devices: s.db.devices().await?,
            staff: s.db.staff_users().await?,
            profile: admin::profile_form(&s).await?,
        })
    })
    .await
}

// ---- Administration (administrators) ----

#[server(prefix = "/api", endpoint = "admin/save_merchant")]
pub async fn save_merchant(
    id: String,
    code: String,
    name_zh: String,
    name_en: String,
    category: String,
    place: String,
    active: String,
) -> Result<(), AppError> {
    guarded(roles::ADMIN, |s, who| async move {
        let category = admin::parse_category(&category)?;
        let input = crate::server::store::MerchantInput {
            code: code.trim(),
            name_zh: name_zh.trim(),
            name_en: name_en.trim(),
            category,
            place: place.trim(),
            active: active != "false",
        };
        admin::save_merchant(&s, &who, optional_id(&id)?, &input)
            .await
            .map(|_| ())
    })
    .await
}

#[server(prefix = "/api", endpoint = "admin/create_device")]
pub async fn create_device(
    code: String,
    kind: String,
    merchant_id: String,
    place: String,
) -> Result<(), AppError> {
    guarded(roles::ADMIN, |s, who| async move {
        let kind = admin::parse_device_kind(&kind)?;
        admin::create_device(&s, &who, &code, kind, optional_id(&merchant_id)?, &place)
            .await
            .map(|_| ())
    })
    .await
}

/// Issues or rotates a device credential; the answer is the only time it is shown.
#[server(prefix = "/api", endpoint = "admin/issue_credential")]
pub async fn issue_credential(
    device_id: i64,
    reason: String,
) -> Result<IssuedCredential, AppError> {
    guarded(roles::ADMIN, |s, who| async move {
        admin::issue_credential(&s, &who, device_id, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "admin/revoke_credential")]
pub async fn revoke_credential(device_id: i64, reason: String) -> Result<(), AppError> {
    guarded(roles::ADMIN, |s, who| async move {
        admin::revoke_credential(&s, &who, device_id, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "admin/create_staff")]
pub async fn create_staff(
    username: String,
    display_name: String,
    role: String,
    merchant_id: String,
    reason: String,
) -> Result<ChangeRequested, AppError> {
    guarded(roles::ADMIN, |s, who| async move {
        let role = admin::parse_role(&role)?;
        admin::create_staff(
            &s,
            &who,
            &username,
            &display_name,
            role,
            optional_id(&merchant_id)?,
            &reason,
        )
        .await
    })
    .await
}

#[server(prefix = "/api", endpoint = "admin/update_staff")]
pub async fn update_staff(
    id: i64,
    role: String,
    merchant_id: String,
    active: String,
    reason: String,
) -> Result<ChangeRequested, AppError> {
    guarded(roles::ADMIN, |s, who| async move {
        let role = admin::parse_role(&role)?;
        admin::update_staff(
            &s,
            &who,
            id,
            role,
            optional_id(&merchant_id)?,
            active != "false",
            &reason,
        )
        .await
    })
    .await
}

/// Asks to end a staff member's password and second factor; once a second administrator
/// approves, a one-time link lets them set new ones.
#[server(prefix = "/api", endpoint = "admin/reset_staff")]
pub async fn reset_staff(id: i64, reason: String) -> Result<ChangeRequested, AppError> {
    guarded(roles::ADMIN, |s, who| async move {
        admin::reset_staff(&s, &who, id, &reason).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "admin/save_profile")]
pub async fn save_campus_profile(
    #[server(default)] form: crate::campus_form::ProfileForm,
    reason: String,
) -> Result<ProfileSaved, AppError> {
    guarded(roles::ADMIN, |s, who| async move {
        admin::save_profile(&s, &who, &form, &reason).await
    })
    .await
}

/// Changes to staff accounts and approval thresholds waiting for a second administrator.
#[server(prefix = "/api", endpoint = "admin/change_requests")]
pub async fn change_requests() -> Result<Vec<AdminRequestView>, AppError> {
    guarded(roles::OVERSIGHT, |s, _| async move {
        admin::change_requests(&s).await
    })
    .await
}

/// A second administrator approves a change (it is made now; a new account or a reset answers
/// the enrolment link to hand over) or rejects it with a reason; not the one who asked.
#[server(prefix = "/api", endpoint = "admin/decide_change")]
pub async fn decide_change(
    request_id: i64,
    decision: String,
    #[server(default)] reason: String,
) -> Result<Option<StaffLink>, AppError> {
    guarded(roles::ADMIN, |s, who| async move {
        let approve = counter::approval(&decision)?;
        admin::decide_change(&s, &who, request_id, approve, &reason).await
    })
    .await
}

// ---- A merchant's own view ----

#[server(prefix = "/api", endpoint = "merchant/day")]
pub async fn merchant_day(day: String) -> Result<MerchantDayView, AppError> {
    guarded(roles::MERCHANT, |s, who| async move {
        admin::merchant_day(&s, &who, &day).await
    })
    .await
}

// ---- Public ----

/// Found cards waiting at the service centre, with masked names and numbers (no login).
#[server(prefix = "/api", endpoint = "found_cards")]
pub async fn public_found_cards() -> Result<Vec<PublicFoundCard>, AppError> {
    crate::api::served(|state, _client| async move { counter::public_found(&state).await }).await
}
