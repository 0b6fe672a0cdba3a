//! Administration (merchants, devices and their credentials, staff users, the campus profile),
//! the audit viewer, reports, and a merchant's own view.

use super::enrolment::NewAccount;
use super::staff::{StaffSession, code_ok};
use super::store::{AuditQuery, DeviceInput, MerchantInput, NewAdminRequest};
use super::{AppState, internal};
use crate::audit_text::{AuditText, Counted, Fact, Phrase};
use crate::campus_form::ProfileForm;
use crate::error::AppError;
use crate::model::{AuditAction, CampusProfile, DeviceKind, MerchantCategory, Money, StaffRole};
use crate::portal_model::Problem;
use crate::staff_model::*;
use chrono::{DateTime, Duration, NaiveDate, Utc};

fn rejected(problem: Problem) -> AppError {
    AppError::Rejected(problem)
}

fn text_ok(text: &str, max: usize) -> bool {
    let n = text.trim().chars().count();
    n > 0 && n <= max
}

pub async fn save_merchant(
    state: &AppState,
    staff: &StaffSession,
    id: Option<i64>,
    input: &MerchantInput<'_>,
) -> Result<i64, AppError> {
    if !code_ok(input.code) {
        return Err(rejected(Problem::CodeFormat));
    }
    if !text_ok(input.name_zh, 60) || !text_ok(input.name_en, 80) || !text_ok(input.place, 80) {
        return Err(rejected(Problem::EnrolField {
            field: "name".into(),
        }));
    }
    if let Some(id) = id
        && !merchant_exists(state, id).await?
    {
        return Err(AppError::NotFound);
    }
    let action = if id.is_some() {
        AuditAction::MerchantUpdate
    } else {
        AuditAction::MerchantCreate
    };
    let mut audit = staff.audit(action, None, Fact::Merchant(input.code.to_string()), "");
    audit.after = AuditText::from(Fact::MerchantDetails {
        name_zh: input.name_zh.to_string(),
        name_en: input.name_en.to_string(),
        category: input.category,
        place: input.place.to_string(),
    })
    .and(Fact::InUse(input.active));
    state
        .db
        .save_merchant(id, input, state.now(), audit)
        .await?
        .ok_or(rejected(Problem::CodeTaken))
}

pub async fn create_device(
    state: &AppState,
    staff: &StaffSession,
    code: &str,
    kind: DeviceKind,
    merchant_id: Option<i64>,
    place: &str,
) -> Result<i64, AppError> {
    let code = code.trim().to_ascii_uppercase();
    if !code_ok(&code) {
        return Err(rejected(Problem::CodeFormat));
    }
    if !text_ok(place, 80) {
        return Err(rejected(Problem::EnrolField {
            field: "place".into(),
        }));
    }
    let sells = matches!(kind, DeviceKind::Pos | DeviceKind::MealTable);
    if sells != merchant_id.is_some() {
        return Err(rejected(Problem::DeviceMerchant));
    }
    if let Some(m) = merchant_id
        && !merchant_exists(state, m).await?
    {
        return Err(rejected(Problem::DeviceMerchant));
    }
    let mut audit = staff.audit(
        AuditAction::DeviceCreate,
        None,
        Fact::Device(code.clone()),
        "",
    );
    audit.after = Fact::DeviceAt(kind, place.trim().to_string()).into();
    state
        .db
        .create_device(
            &DeviceInput {
                code: &code,
                kind,
                merchant_id,
                place: place.trim(),
            },
            state.now(),
            audit,
        )
        .await?
        .ok_or(rejected(Problem::CodeTaken))
}

/// Issues (or rotates) a device's credential: the private key is returned once and never
/// stored; the old key stops working at once.
pub async fn issue_credential(
    state: &AppState,
    staff: &StaffSession,
    device_id: i64,
    why: &str,
) -> Result<IssuedCredential, AppError> {
    let why = super::domain::audit::reason(why)?;
    let device = state
        .db
        .devices()
        .await?
        .into_iter()
        .find(|d| d.id == device_id)
        .ok_or(AppError::NotFound)?;
    let (secret, public) = super::ledger::new_device_key();
    let action = if device.has_credential {
        AuditAction::DeviceRotateCredential
    } else {
        AuditAction::DeviceIssueCredential
    };
    let mut audit = staff.audit(action, None, Fact::Device(device.code.clone()), why);
    audit.before = Fact::Said(if device.has_credential {
        Phrase::CredentialLive
    } else {
        Phrase::NoCredential
    })
    .into();
    audit.after = Fact::PublicKey(public.get(..16).unwrap_or(&public).into()).into();
    state
        .db
        .set_device_credential(device_id, Some(&public), state.now(), audit)
        .await?;
    Ok(IssuedCredential {
        device_code: device.code,
        credential: secret,
    })
}

pub async fn revoke_credential(
    state: &AppState,
    staff: &StaffSession,
    device_id: i64,
    why: &str,
) -> Result<(), AppError> {
    let why = super::domain::audit::reason(why)?;
    let device = state
        .db
        .devices()
        .await?
        .into_iter()
        .find(|d| d.id == device_id)
        .ok_or(AppError::NotFound)?;
    let mut audit = staff.audit(
        AuditAction::DeviceRevokeCredential,
        None,
        Fact::Device(device.code.clone()),
        why,
    );
    audit.after = Fact::Said(Phrase::CredentialRevoked).into();
    state
        .db
        .set_device_credential(device_id, None, state.now(), audit)
        .await?;
    Ok(())
}

/// The merchant a staff member of this role belongs to: a merchant account needs an existing
/// merchant, other roles have none.
async fn merchant_for(
    state: &AppState,
    role: StaffRole,
    merchant_id: Option<i64>,
) -> Result<Option<i64>, AppError> {
    match (role, merchant_id) {
        (StaffRole::Merchant, Some(m)) if merchant_exists(state, m).await? => Ok(Some(m)),
        (StaffRole::Merchant, _) => Err(rejected(Problem::DeviceMerchant)),
        (_, _) => Ok(None),
    }
}

async fn merchant_exists(state: &AppState, id: i64) -> Result<bool, AppError> {
    Ok(state.db.merchants().await?.iter().any(|m| m.id == id))
}

// ---- Changes that take two administrators ----

/// A change to staff accounts or to the approval thresholds: one administrator asks (with the
/// full before and after), a second approves it, and only then is it made (`decide_change`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind")]
enum AdminChange {
    #[serde(rename = "staff.create")]
    CreateStaff {
        username: String,
        display_name: String,
        role: StaffRole,
        merchant_id: Option<i64>,
    },
    #[serde(rename = "staff.update")]
    UpdateStaff {
        id: i64,
        role: StaffRole,
        merchant_id: Option<i64>,
        active: bool,
    },
    #[serde(rename = "staff.reset")]
    ResetStaff { id: i64 },
    #[serde(rename = "campus.thresholds")]
    Thresholds {
        correction_approval_above: Money,
        cash_approval_above: Money,
    },
}

impl AdminChange {
    /// Each kind as stored with its request (the serde tag above), and the audit action the
    /// change is. A reset was stored as `staff.reset` before the actions had these names.
    const KINDS: [(&'static str, AuditAction); 4] = [
        ("staff.create", AuditAction::StaffCreate),
        ("staff.update", AuditAction::StaffUpdate),
        ("staff.reset", AuditAction::StaffResetCredentials),
        ("campus.thresholds", AuditAction::CampusThresholds),
    ];

    fn action(&self) -> AuditAction {
        match self {
            AdminChange::CreateStaff { .. } => AuditAction::StaffCreate,
            AdminChange::UpdateStaff { .. } => AuditAction::StaffUpdate,
            AdminChange::ResetStaff { .. } => AuditAction::StaffResetCredentials,
            AdminChange::Thresholds { .. } => AuditAction::CampusThresholds,
        }
    }

    fn kind(&self) -> &'static str {
        let action = self.action();
        Self::KINDS
            .iter()
            .find(|(_, a)| *a == action)
            .map_or("", |(kind, _)| kind)
    }

    /// The audit action a stored kind asks for.
    fn action_of(kind: &str) -> Option<AuditAction> {
        Self::KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, a)| *a)
    }

    /// The staff account it changes, if one that exists.
    fn staff_id(&self) -> Option<i64> {
        match self {
            AdminChange::UpdateStaff { id, .. } | AdminChange::ResetStaff { id } => Some(*id),
            _ => None,
        }
    }
}

/// Files a change for a second administrator; audited (`admin.change_requested`) with the
/// full before and after.
async fn request_change(
    state: &AppState,
    staff: &StaffSession,
    change: &AdminChange,
    target: AuditText,
    (before, after): (AuditText, AuditText),
    why: &str,
) -> Result<ChangeRequested, AppError> {
    let payload = serde_json::to_string(change).map_err(internal)?;
    let mut audit = staff.audit(AuditAction::AdminChangeRequested, None, target.clone(), why);
    audit.before = before.clone();
    audit.after = after.clone().and(Fact::Said(Phrase::AwaitingSecondAdmin));
    let request_id = state
        .db
        .request_admin_change(
            &NewAdminRequest {
                kind: change.kind(),
                target: &target.stored(),
                payload: &payload,
                before: &before.stored(),
                after: &after.stored(),
                reason: why,
                requested_by: staff.id,
            },
            state.now(),
            audit,
        )
        .await?;
    Ok(ChangeRequested { request_id })
}

/// The changes waiting for a second administrator.
/// Each one's kind is the code of the audit action it asks for, so the page can name it.
pub async fn change_requests(state: &AppState) -> Result<Vec<AdminRequestView>, AppError> {
    let mut rows = state.db.admin_requests().await?;
    for row in &mut rows {
        if let Some(action) = AdminChange::action_of(&row.kind) {
            row.kind = action.as_str().into();
        }
    }
    Ok(rows)
}

/// A second administrator's decision on a change: approved, it is made now (with its own audit
/// record, by the approver); rejected (with a reason), nothing changes. Not the one who asked,
/// decided once, and nobody approves a change to their own account. A new account or a reset
/// answers the one-time enrolment link, for the approver to hand over.
pub async fn decide_change(
    state: &AppState,
    staff: &StaffSession,
    request_id: i64,
    approve: bool,
    why: &str,
) -> Result<Option<StaffLink>, AppError> {
    let request = state
        .db
        .admin_request(request_id)
        .await?
        .ok_or(rejected(Problem::ApprovalDecided))?;
    let change: AdminChange = serde_json::from_str(&request.payload).map_err(internal)?;
    // A change to one's own account is for the other administrators to decide, either way.
    if change.staff_id() == Some(staff.id) {
        return Err(rejected(Problem::OwnAccount));
    }
    let why = super::domain::audit::second_person(
        request.pending,
        request.requested_by,
        &request.reason,
        staff.id,
        approve,
        why,
    )?;
    let now = state.now();
    if !approve {
        let mut audit = staff.audit(
            AuditAction::AdminChangeRejected,
            None,
            AuditText::read(&request.target),
            why,
        );
        audit.after = Fact::Rejected(request_id).into();
        return if state
            .db
            .decide_admin_request(request_id, false, staff.id, now, Some(audit))
            .await?
        {
            Ok(None)
        } else {
            Err(rejected(Problem::ApprovalDecided))
        };
    }
    if !state
        .db
        .decide_admin_request(request_id, true, staff.id, now, None)
        .await?
    {
        return Err(rejected(Problem::ApprovalDecided));
    }
    let applied = apply_change(state, staff, &change, request_id, why).await;
    if applied.is_err() {
        // Not made (say, the username was taken meanwhile): the request waits again.
        state.db.reopen_admin_request(request_id).await?;
    }
    applied
}

/// Makes an approved change, audited as the approver's, naming the request.
async fn apply_change(
    state: &AppState,
    staff: &StaffSession,
    change: &AdminChange,
    request_id: i64,
    why: &str,
) -> Result<Option<StaffLink>, AppError> {
    let now = state.now();
    let approved = Fact::Approved(request_id);
    match change {
        AdminChange::CreateStaff {
            username,
            display_name,
            role,
            merchant_id,
        } => {
            let mut audit = staff.audit(
                AuditAction::StaffCreate,
                None,
                Fact::Staff(username.clone()),
                why,
            );
            audit.after = AuditText::from(Fact::Role(*role))
                .and(Fact::Said(Phrase::EnrolmentLinkIssued))
                .and(approved);
            let token = super::enrolment::new_account(
                state,
                &NewAccount {
                    username,
                    display_name,
                    role: *role,
                    merchant_id: *merchant_id,
                },
                now,
                audit,
            )
            .await?
            .ok_or(rejected(Problem::CodeTaken))?;
            Ok(Some(link(username, &token, now)))
        }
        AdminChange::UpdateStaff {
            id,
            role,
            merchant_id,
            active,
        } => {
            let before = state.db.staff_by_id(*id).await?.ok_or(AppError::NotFound)?;
            let mut audit = staff.audit(
                AuditAction::StaffUpdate,
                None,
                Fact::Staff(before.username.clone()),
                why,
            );
            audit.before = staff_state(before.role, before.active);
            audit.after = staff_state(*role, *active).and(approved);
            state
                .db
                .update_staff(*id, *role, *merchant_id, *active, now, audit)
                .await?;
            Ok(None)
        }
        AdminChange::ResetStaff { id } => {
            let target = state.db.staff_by_id(*id).await?.ok_or(AppError::NotFound)?;
            let mut audit = staff.audit(
                AuditAction::StaffResetCredentials,
                None,
                Fact::Staff(target.username.clone()),
                why,
            );
            audit.after = AuditText::from(Fact::Said(Phrase::CredentialsEnded))
                .and(Fact::Said(Phrase::EnrolmentLinkIssued))
                .and(approved);
            let token = super::enrolment::open_link(state, *id, now, audit).await?;
            Ok(Some(link(&target.username, &token, now)))
        }
        AdminChange::Thresholds {
            correction_approval_above,
            cash_approval_above,
        } => {
            // Onto the profile as it is now: edits saved since the request stay.
            let before = state
                .db
                .campus_profile()
                .await?
                .ok_or_else(|| internal("campus profile missing"))?;
            let after = CampusProfile {
                correction_approval_above: *correction_approval_above,
                cash_approval_above: *cash_approval_above,
                ..before.clone()
            };
            after
                .validate()
                .map_err(|p| rejected(Problem::ProfileInvalid(p)))?;
            let mut audit = staff.audit(
                AuditAction::CampusThresholds,
                None,
                Fact::CampusProfile,
                why,
            );
            audit.before = thresholds(&before).into();
            audit.after = AuditText::from(thresholds(&after)).and(approved);
            state.db.save_profile_audited(&after, audit).await?;
            state.campus.put(after);
            Ok(None)
        }
    }
}

/// The approval thresholds, for an audit record.
fn thresholds(p: &CampusProfile) -> Fact {
    Fact::Thresholds {
        correction: p.correction_approval_above,
        cash: p.cash_approval_above,
    }
}

/// A staff account's role and whether it is in use, for an audit record.
fn staff_state(role: StaffRole, active: bool) -> AuditText {
    AuditText::from(Fact::Role(role)).and(Fact::InUse(active))
}

/// Asks to reset a staff member's credentials (a forgotten password, a lost phone): once a
/// second administrator approves, the account's password and second factor stop working, its
/// sessions and locks end, and a one-time enrolment link lets the person set new ones. Nobody
/// sees them. Not one's own account.
pub async fn reset_staff(
    state: &AppState,
    staff: &StaffSession,
    id: i64,
    why: &str,
) -> Result<ChangeRequested, AppError> {
    let why = super::domain::audit::reason(why)?;
    if id == staff.id {
        return Err(rejected(Problem::OwnAccount));
    }
    let target = state.db.staff_by_id(id).await?.ok_or(AppError::NotFound)?;
    request_change(
        state,
        staff,
        &AdminChange::ResetStaff { id },
        Fact::Staff(target.username.clone()).into(),
        (
            staff_state(target.role, target.active),
            Fact::Said(Phrase::CredentialsToEnd).into(),
        ),
        why,
    )
    .await
}

/// The link an administrator hands over.
fn link(username: &str, token: &str, now: DateTime<Utc>) -> StaffLink {
    StaffLink {
        username: username.to_string(),
        path: super::enrolment::link_path(token),
        expires_at: (now + super::enrolment::LINK_VALID).to_rfc3339(),
    }
}

/// Asks to create a staff member. Once a second administrator approves, the account exists
/// with a one-time enrolment link (no password anyone knows): the person opens it to set their
/// own password and second factor.
pub async fn create_staff(
    state: &AppState,
    staff: &StaffSession,
    username: &str,
    display_name: &str,
    role: StaffRole,
    merchant_id: Option<i64>,
    why: &str,
) -> Result<ChangeRequested, AppError> {
    let why = super::domain::audit::reason(why)?;
    let username = username.trim().to_ascii_lowercase();
    if !code_ok(&username) {
        return Err(rejected(Problem::CodeFormat));
    }
    if !text_ok(display_name, 40) {
        return Err(rejected(Problem::EnrolField {
            field: "name".into(),
        }));
    }
    if state.db.staff_auth(&username).await?.is_some() {
        return Err(rejected(Problem::CodeTaken));
    }
    let merchant_id = merchant_for(state, role, merchant_id).await?;
    let display_name = display_name.trim().to_string();
    let after = AuditText::from(Fact::NewAccount(display_name.clone())).and(Fact::Role(role));
    request_change(
        state,
        staff,
        &AdminChange::CreateStaff {
            username: username.clone(),
            display_name,
            role,
            merchant_id,
        },
        Fact::Staff(username.clone()).into(),
        (Fact::Said(Phrase::NoAccount).into(), after),
        why,
    )
    .await
}

/// Asks to change a staff member's role or to disable the account; a second administrator
/// approves it. Nobody changes their own.
pub async fn update_staff(
    state: &AppState,
    staff: &StaffSession,
    id: i64,
    role: StaffRole,
    merchant_id: Option<i64>,
    active: bool,
    why: &str,
) -> Result<ChangeRequested, AppError> {
    let why = super::domain::audit::reason(why)?;
    if id == staff.id {
        return Err(rejected(Problem::OwnAccount));
    }
    let before = state.db.staff_by_id(id).await?.ok_or(AppError::NotFound)?;
    let merchant_id = merchant_for(state, role, merchant_id).await?;
    request_change(
        state,
        staff,
        &AdminChange::UpdateStaff {
            id,
            role,
            merchant_id,
            active,
        },
        Fact::Staff(before.username.clone()).into(),
        (
            staff_state(before.role, before.active),
            staff_state(role, active),
        ),
        why,
    )
    .await
}

/// Saves the campus profile (as its JSON document) after checking it; public pages show the
/// new one within a second. The audit record has every field that changed, before and after.
/// A change to the approval thresholds is not saved with the rest: it waits for a second
/// administrator.
pub async fn save_profile(
    state: &AppState,
    staff: &StaffSession,
    form: &ProfileForm,
    why: &str,
) -> Result<ProfileSaved, AppError> {
    let why = super::domain::audit::reason(why)?;
    let wanted = form
        .profile()
        .map_err(|p| rejected(Problem::ProfileInvalid(p)))?;
    let before = state
        .db
        .campus_profile()
        .await?
        .ok_or_else(|| internal("campus profile missing"))?;
    // Filled in before someone else's save: saving it would undo theirs.
    if form.version != crate::campus_form::version_of(&before) {
        return Err(rejected(Problem::ProfileChanged));
    }
    // Everything but the thresholds, at once.
    let now_saved = CampusProfile {
        correction_approval_above: before.correction_approval_above,
        cash_approval_above: before.cash_approval_above,
        ..wanted.clone()
    };
    let (b, a) = super::domain::audit::changed_fields(&before, &now_saved);
    if b != a {
        let mut audit = staff.audit(AuditAction::CampusProfile, None, Fact::CampusProfile, why);
        audit.before = b;
        audit.after = a;
        state.db.save_profile_audited(&now_saved, audit).await?;
        state.campus.put(now_saved.clone());
    }
    let thresholds_request = if now_saved == wanted {
        None
    } else {
        let (b, a) = (thresholds(&now_saved).into(), thresholds(&wanted).into());
        Some(
            request_change(
                state,
                staff,
                &AdminChange::Thresholds {
                    correction_approval_above: wanted.correction_approval_above,
                    cash_approval_above: wanted.cash_approval_above,
                },
                Fact::CampusProfile.into(),
                (b, a),
                why,
            )
            .await?
            .request_id,
        )
    };
    Ok(ProfileSaved { thresholds_request })
}

/// The campus profile's form, filled in with the profile as it is.
pub async fn profile_form(state: &AppState) -> Result<ProfileForm, AppError> {
    let profile = state
        .db
        .campus_profile()
        .await?
        .ok_or_else(|| internal("campus profile missing"))?;
    Ok(ProfileForm::of(&profile))
}

/// A campus-time date ("2026-11-25") as the UTC instant its day starts.
fn day_start(text: &str) -> Result<DateTime<Utc>, AppError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(super::domain::calendar::local_midnight)
        .map_err(|_| rejected(Problem::DateFormat))
}

/// The period [from, to] in campus days; empty means today (the campus day of `now`). At
/// most a year.
pub fn period(
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>, String, String), AppError> {
    let today = now
        .with_timezone(&super::domain::calendar::campus_tz())
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let from = if from.trim().is_empty() {
        today.clone()
    } else {
        from.trim().to_string()
    };
    let to = if to.trim().is_empty() {
        from.clone()
    } else {
        to.trim().to_string()
    };
    let start = day_start(&from)?;
    let end = day_start(&to)? + Duration::days(1);
    if end <= start || end - start > Duration::days(366) {
        return Err(rejected(Problem::DateFormat));
    }
    Ok((start, end, from, to))
}

pub async fn reports(state: &AppState, from: &str, to: &str) -> Result<Reports, AppError> {
    let (start, end, from, to) = period(from, to, state.now())?;
    let db = &state.db;
    let check = db.ledger_check().await?;
    Ok(Reports {
        from,
        to,
        settlement: db.settlement(start, end).await?,
        topups: db.topups_by_channel(start, end).await?,
        liability: Liability {
            accounts: check.accounts,
            entries: check.entries,
            total_balance: check.total_balance,
            journal_total: check.journal_total,
            difference: Money::from_fen(check.total_balance.fen() - check.journal_total.fen()),
            mismatches: check.mismatches,
        },
        activity: db.operator_activity(start, end).await?,
        shifts: super::counter::shift_views(state, start, end).await?,
        payouts: payouts(state, start, end, false).await?,
    })
}

/// The payouts of a period, their bank accounts opened: whole for finance's CSV (`whole`),
/// masked for a page.
pub async fn payouts(
    state: &AppState,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    whole: bool,
) -> Result<Vec<PayoutView>, AppError> {
    state
        .db
        .payouts(start, end)
        .await?
        .into_iter()
        .map(|p| {
            let account = state
                .secrets
                .sealer
                .open(super::sealing::Sealed::BankAccount, &p.bank_account)
                .map_err(internal)?;
            let bank_account = if whole {
                account
            } else {
                crate::staff_model::masked_account(&account)
            };
            Ok(PayoutView { bank_account, ..p })
        })
        .collect()
}

/// A report downloaded as CSV: (file name, body). The payouts report is the one place whole
/// bank account numbers leave the server (for the finance office's transfers), and each such
/// download is audited.
pub async fn report_download(
    state: &AppState,
    staff: &StaffSession,
    from: &str,
    to: &str,
    which: &str,
) -> Result<Option<(String, String)>, AppError> {
    let mut r = reports(state, from, to).await?;
    if which == "payouts" {
        let (start, end, _, _) = period(from, to, state.now())?;
        r.payouts = payouts(state, start, end, true).await?;
        let mut audit = staff.audit(
            AuditAction::ReportPayoutsDownload,
            None,
            Fact::Period(r.from.clone(), r.to.clone()),
            &Phrase::FinanceDownload.stored(),
        );
        audit.after = Fact::Count(Counted::PayoutsWithAccounts, r.payouts.len() as i64).into();
        state.db.audit(audit).await?;
    }
    Ok(report_csv(&r, which))
}

/// One report as CSV (UTF-8 with BOM for spreadsheet programs).
pub fn report_csv(r: &Reports, which: &str) -> Option<(String, String)> {
    use super::csv::field as f;
    let mut out = String::from("\u{feff}");
    match which {
        "settlement" => {
            out.push_str("merchant_code,merchant,sales,sales_total,refunds,refunds_total,corrections_total,net\n");
            for s in &r.settlement {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    f(&s.merchant_code),
                    f(&s.merchant),
                    s.sales,
                    s.sales_total.yuan_string(),
                    s.refunds,
                    s.refunds_total.yuan_string(),
                    s.corrections_total.yuan_string(),
                    s.net.yuan_string()
                ));
            }
        }
        "topups" => {
            out.push_str("channel,count,total\n");
            for c in &r.topups {
                out.push_str(&format!(
                    "{},{},{}\n",
                    c.channel.as_str(),
                    c.count,
                    c.total.yuan_string()
                ));
            }
        }
        "liability" => {
            let l = &r.liability;
            out.push_str("accounts,entries,total_balance,journal_total,difference\n");
            out.push_str(&format!(
                "{},{},{},{},{}\n",
                l.accounts,
                l.entries,
                l.total_balance.yuan_string(),
                l.journal_total.yuan_string(),
                l.difference.yuan_string()
            ));
            if !l.mismatches.is_empty() {
                out.push_str("account_id,balance,journal_sum\n");
                for (id, balance, sum) in &l.mismatches {
                    out.push_str(&format!(
                        "{id},{},{}\n",
                        balance.yuan_string(),
                        sum.yuan_string()
                    ));
                }
            }
        }
        "payouts" => {
            out.push_str("reference,student_no,name,amount,bank_account,time\n");
            for p in &r.payouts {
                out.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    f(&p.reference),
                    f(&p.student_no),
                    f(&p.name),
                    p.amount.yuan_string(),
                    f(&p.bank_account),
                    f(&p.at)
                ));
            }
        }
        "activity" => {
            out.push_str("staff,action,count\n");
            for a in &r.activity {
                out.push_str(&format!("{},{},{}\n", f(&a.staff), f(&a.action), a.count));
            }
        }
        "shifts" => {
            out.push_str("operator,from,until,topups,cash_in,counted,difference\n");
            let amount = |m: Option<Money>| m.map(|m| m.yuan_string()).unwrap_or_default();
            for s in &r.shifts {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{}\n",
                    f(&s.operator),
                    f(s.from.as_deref().unwrap_or("")),
                    f(s.until.as_deref().unwrap_or("")),
                    s.topups,
                    s.cash_in.yuan_string(),
                    amount(s.counted),
                    amount(s.difference)
                ));
            }
        }
        _ => return None,
    }
    Some((format!("yikatong-{which}-{}-{}.csv", r.from, r.to), out))
}

pub async fn audit_log(
    state: &AppState,
    person: &str,
    holder: &str,
    action: &str,
    from: &str,
    to: &str,
) -> Result<Vec<AuditView>, AppError> {
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let (start, end) = if from.trim().is_empty() && to.trim().is_empty() {
        (None, None)
    } else {
        let (s, e, _, _) = period(from, to, state.now())?;
        (Some(s), Some(e))
    };
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Ok(state
        .db
        .audit_records(&AuditQuery {
            person: some(person),
            holder: some(holder),
            action: some(action),
            from: start.map(ts),
            until: end.map(ts),
            limit: 500,
        })
        .await?)
}

/// A merchant's own day: sales, refunds and corrections at its devices, with the totals.
pub async fn merchant_day(
    state: &AppState,
    staff: &StaffSession,
    day: &str,
) -> Result<MerchantDayView, AppError> {
    let merchant_id = staff.merchant_id.ok_or(AppError::Forbidden)?;
    let (start, end, from, _) = period(day, day, state.now())?;
    let entries = state.db.merchant_entries(merchant_id, start, end).await?;
    let mut view = MerchantDayView {
        merchant: staff.merchant_name.clone().unwrap_or_default(),
        day: from,
        sales: 0,
        sales_total: Money::ZERO,
        refunds: 0,
        refunds_total: Money::ZERO,
        net: Money::ZERO,
        entries: Vec::new(),
    };
    let mut net = 0i64;
    for e in &entries {
        match e.kind {
            crate::model::EntryKind::Payment => {
                view.sales += 1;
                view.sales_total = Money::from_fen(view.sales_total.fen() - e.amount.fen());
            }
            _ => {
                view.refunds += 1;
                view.refunds_total = Money::from_fen(view.refunds_total.fen() + e.amount.fen());
            }
        }
        net -= e.amount.fen();
    }
    view.net = Money::from_fen(net);
    view.entries = entries;
    Ok(view)
}

pub fn parse_category(text: &str) -> Result<MerchantCategory, AppError> {
    MerchantCategory::parse(text).ok_or(rejected(Problem::EnrolField {
        field: "category".into(),
    }))
}

pub fn parse_device_kind(text: &str) -> Result<DeviceKind, AppError> {
    DeviceKind::parse(text).ok_or(rejected(Problem::EnrolField {
        field: "kind".into(),
    }))
}

pub fn parse_role(text: &str) -> Result<StaffRole, AppError> {
    StaffRole::parse(text).ok_or(rejected(Problem::EnrolField {
        field: "role".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request is stored under its serde tag and listed under the audit action it asks for.
    #[test]
    fn each_change_is_stored_by_its_kind_and_named_by_its_action() {
        for change in [
            AdminChange::CreateStaff {
                username: "u".into(),
                display_name: "U".into(),
                role: StaffRole::Operator,
                merchant_id: None,
            },
            AdminChange::UpdateStaff {
                id: 1,
                role: StaffRole::Auditor,
                merchant_id: None,
                active: true,
            },
            AdminChange::ResetStaff { id: 1 },
            AdminChange::Thresholds {
                correction_approval_above: Money::yuan(1),
                cash_approval_above: Money::yuan(2),
            },
        ] {
            let stored: serde_json::Value = serde_json::to_value(&change).expect("json");
            assert_eq!(stored["kind"], change.kind(), "{change:?}");
            assert_eq!(AdminChange::action_of(change.kind()), Some(change.action()));
        }
        assert_eq!(AdminChange::action_of("staff.unknown"), None);
    }

    #[test]
    fn staff_passwords_and_codes() {
        assert!(super::super::password::staff_password_ok(
            "Counter-2026-abc"
        ));
        assert!(!super::super::password::staff_password_ok("short1"));
        assert!(!super::super::password::staff_password_ok(
            "onlyletterslong"
        ));
        assert!(code_ok("POS-E-CANTEEN-9"));
        assert!(!code_ok("bad code"));
    }

    #[test]
    fn periods_are_campus_days() {
        let (s, e, from, to) =
            period("2026-11-01", "2026-11-02", crate::server::clock::test_now()).expect("ok");
        assert_eq!((from.as_str(), to.as_str()), ("2026-11-01", "2026-11-02"));
        assert_eq!(e - s, Duration::days(2));
        assert_eq!(s.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert!(period("2026-11-02", "2026-11-01", crate::server::clock::test_now()).is_err());
        assert!(period("yesterday", "", crate::server::clock::test_now()).is_err());
    }
}
