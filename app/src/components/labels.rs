//! Translated labels for enumerations, refusal reasons and times.

use crate::campus_form::{FieldIssue, ProfileField};
use crate::error::AppError;
use crate::i18n::*;
use crate::model::{
    ActorKind, AuditAction, CardStatus, Channel, Decline, DeviceKind, EntryKind, MerchantCategory,
    Money, SpendCategory, TopupStatus,
};
use crate::portal_model::Problem;
use leptos::prelude::*;

pub fn kind_label(i18n: leptos_i18n::I18nContext<Locale>, kind: EntryKind) -> String {
    match kind {
        EntryKind::Payment => t_string!(i18n, kind.payment),
        EntryKind::Topup => t_string!(i18n, kind.topup),
        EntryKind::Refund => t_string!(i18n, kind.refund),
        EntryKind::Correction => t_string!(i18n, kind.correction),
        EntryKind::Payout => t_string!(i18n, kind.payout),
        EntryKind::Fee => t_string!(i18n, kind.fee),
        EntryKind::Purchase => t_string!(i18n, kind.purchase),
    }
    .to_string()
}

pub fn category_label(i18n: leptos_i18n::I18nContext<Locale>, c: MerchantCategory) -> String {
    match c {
        MerchantCategory::Canteen => t_string!(i18n, cat.canteen),
        MerchantCategory::Shop => t_string!(i18n, cat.shop),
        MerchantCategory::WaterBar => t_string!(i18n, cat.water_bar),
        MerchantCategory::Sports => t_string!(i18n, cat.sports),
        MerchantCategory::Library => t_string!(i18n, cat.library),
        MerchantCategory::Clinic => t_string!(i18n, cat.clinic),
        MerchantCategory::Print => t_string!(i18n, cat.print),
        MerchantCategory::Other => t_string!(i18n, cat.other),
    }
    .to_string()
}

/// What money went on, in the monthly chart: a merchant's category, or 缴费.
pub fn spend_label(i18n: leptos_i18n::I18nContext<Locale>, c: SpendCategory) -> String {
    match c.merchant() {
        Some(m) => category_label(i18n, m),
        None => t_string!(i18n, cat.utilities).to_string(),
    }
}

pub fn card_status_label(i18n: leptos_i18n::I18nContext<Locale>, s: CardStatus) -> String {
    match s {
        CardStatus::Active => t_string!(i18n, portal.status_active),
        CardStatus::Lost => t_string!(i18n, portal.status_lost),
        CardStatus::Void => t_string!(i18n, portal.status_void),
        CardStatus::Cancelled => t_string!(i18n, portal.status_cancelled),
    }
    .to_string()
}

pub use crate::model::campus_time;

/// A refusal or failure as a sentence in the reader's language.
pub fn error_text(i18n: leptos_i18n::I18nContext<Locale>, error: &AppError) -> String {
    let AppError::Rejected(problem) = error else {
        return t_string!(i18n, problem.other, message = error.to_string()).to_string();
    };
    match problem {
        Problem::BadCredentials => t_string!(i18n, problem.bad_credentials).to_string(),
        Problem::Locked { until } => {
            t_string!(i18n, problem.locked, until = campus_time(until)).to_string()
        }
        Problem::Throttled { retry_after_secs } => {
            t_string!(i18n, problem.throttled, mins = (retry_after_secs + 59) / 60).to_string()
        }
        Problem::WrongPassword => t_string!(i18n, problem.wrong_password).to_string(),
        Problem::PasswordFormat => t_string!(i18n, problem.password_format).to_string(),
        Problem::PasswordIsInitial => t_string!(i18n, problem.password_is_initial).to_string(),
        Problem::PasswordIsPersonal => t_string!(i18n, problem.password_is_personal).to_string(),
        Problem::PasswordTooSimple => t_string!(i18n, problem.password_too_simple).to_string(),
        Problem::PasswordCommon => t_string!(i18n, problem.password_common).to_string(),
        Problem::PasswordsDiffer => t_string!(i18n, problem.passwords_differ).to_string(),
        Problem::PasswordChangeRequired => {
            t_string!(i18n, problem.password_change_required).to_string()
        }
        Problem::CardNotActive => t_string!(i18n, problem.card_not_active).to_string(),
        Problem::CardNotLost => t_string!(i18n, problem.card_not_lost).to_string(),
        Problem::NoCard => t_string!(i18n, problem.no_card).to_string(),
        Problem::AccountNotActive => t_string!(i18n, problem.account_not_active).to_string(),
        Problem::LimitFormat => t_string!(i18n, problem.limit_format).to_string(),
        Problem::LimitAboveMaximum { max } => {
            t_string!(i18n, problem.limit_above_maximum, max = *max).to_string()
        }
        Problem::LimitRaisePassword => t_string!(i18n, problem.limit_raise_password).to_string(),
        Problem::SingleAboveDaily => t_string!(i18n, problem.single_above_daily).to_string(),
        Problem::Forbidden => t_string!(i18n, problem.forbidden).to_string(),
        Problem::BankCardInvalid => t_string!(i18n, problem.bank_card_invalid).to_string(),
        Problem::TopupChannel => t_string!(i18n, problem.topup_channel).to_string(),
        Problem::TopupUnavailable => t_string!(i18n, problem.topup_unavailable).to_string(),
        Problem::TopupAmount { min, max } => t_string!(
            i18n,
            problem.topup_amount,
            min = min.to_string(),
            max = max.to_string()
        )
        .to_string(),
        Problem::AutoThreshold => t_string!(i18n, problem.auto_threshold).to_string(),
        Problem::TerminalCredential => t_string!(i18n, problem.terminal_credential).to_string(),
        Problem::TerminalRequired => t_string!(i18n, problem.terminal_required).to_string(),
        Problem::TerminalKind => t_string!(i18n, problem.terminal_kind).to_string(),
        Problem::TerminalLeaveRole => t_string!(i18n, problem.terminal_leave_role).to_string(),
        Problem::ScanEmpty => t_string!(i18n, problem.scan_empty).to_string(),
        Problem::StaffBadCredentials => t_string!(i18n, problem.staff_bad_credentials).to_string(),
        Problem::TotpReused => t_string!(i18n, problem.totp_reused).to_string(),
        Problem::ReasonRequired => t_string!(i18n, problem.reason_required).to_string(),
        Problem::IdMismatch => t_string!(i18n, problem.id_mismatch).to_string(),
        Problem::IdDocDigits => t_string!(i18n, problem.id_doc_digits).to_string(),
        Problem::ChipSerialFormat => t_string!(i18n, problem.chip_serial_format).to_string(),
        Problem::CardTaken => t_string!(i18n, problem.card_taken).to_string(),
        Problem::HasLiveCard => t_string!(i18n, problem.has_live_card).to_string(),
        Problem::FeeAboveBalance => t_string!(i18n, problem.fee_above_balance).to_string(),
        Problem::NotAPayment => t_string!(i18n, problem.not_a_payment).to_string(),
        Problem::AlreadyReversed => t_string!(i18n, problem.already_reversed).to_string(),
        Problem::ApprovalPending => t_string!(i18n, problem.approval_pending).to_string(),
        Problem::ApprovalDecided => t_string!(i18n, problem.approval_decided).to_string(),
        Problem::SameApprover => t_string!(i18n, problem.same_approver).to_string(),
        Problem::NothingToResolve => t_string!(i18n, problem.nothing_to_resolve).to_string(),
        Problem::AlreadyRecorded => t_string!(i18n, problem.already_recorded).to_string(),
        Problem::UnknownCard => t_string!(i18n, problem.unknown_card).to_string(),
        Problem::BillIssuedAlready => t_string!(i18n, problem.bill_issued_already).to_string(),
        Problem::NoSuchBill => t_string!(i18n, problem.no_such_bill).to_string(),
        Problem::BillPaid => t_string!(i18n, problem.bill_paid).to_string(),
        Problem::BillCancelled => t_string!(i18n, problem.bill_cancelled).to_string(),
        Problem::BillAboveBalance => t_string!(i18n, problem.bill_above_balance).to_string(),
        Problem::PurchaseQuantity { min, max } => t_string!(
            i18n,
            problem.purchase_quantity,
            min = min.to_string(),
            max = max.to_string()
        )
        .to_string(),
        Problem::PurchaseOverDailyLimit { left } => t_string!(
            i18n,
            problem.purchase_over_daily_limit,
            left = left.to_string()
        )
        .to_string(),
        Problem::PurchaseAboveBalance => {
            t_string!(i18n, problem.purchase_above_balance).to_string()
        }
        Problem::NoUtilityAccount => t_string!(i18n, problem.no_utility_account).to_string(),
        Problem::UnknownUtilityAccount => {
            t_string!(i18n, problem.unknown_utility_account).to_string()
        }
        Problem::BillerUnavailable => t_string!(i18n, problem.biller_unavailable).to_string(),
        Problem::PurchaseFormUsed => t_string!(i18n, problem.purchase_form_used).to_string(),
        Problem::RoomListEmpty => t_string!(i18n, problem.room_list_empty).to_string(),
        Problem::RoomListTooLong { max } => {
            t_string!(i18n, problem.room_list_too_long, max = max.to_string()).to_string()
        }
        Problem::RoomListLine { line } => {
            t_string!(i18n, problem.room_list_line, line = line.to_string()).to_string()
        }
        Problem::RoomBound { holders } => {
            t_string!(i18n, problem.room_bound, holders = holders.to_string()).to_string()
        }
        Problem::AutoBuyThreshold { min, max } => t_string!(
            i18n,
            problem.auto_buy_threshold,
            min = min.to_string(),
            max = max.to_string()
        )
        .to_string(),
        Problem::EmailAddress => t_string!(i18n, problem.email_address).to_string(),
        Problem::EmailUnavailable => t_string!(i18n, problem.email_unavailable).to_string(),
        Problem::PushUnavailable => t_string!(i18n, problem.push_unavailable).to_string(),
        Problem::PushSubscription => t_string!(i18n, problem.push_subscription).to_string(),
        Problem::EmailTooSoon { retry_after_secs } => t_string!(
            i18n,
            problem.email_too_soon,
            seconds = retry_after_secs.to_string()
        )
        .to_string(),
        Problem::NoticeAmount { max } => {
            t_string!(i18n, problem.notice_amount, max = max.to_string()).to_string()
        }
        Problem::NoSuchAnnouncement => t_string!(i18n, problem.no_such_announcement).to_string(),
        Problem::AnnouncementWithdrawn => {
            t_string!(i18n, problem.announcement_withdrawn).to_string()
        }
        Problem::UnknownHolder => t_string!(i18n, problem.unknown_holder).to_string(),
        Problem::EnrolField { field } => {
            t_string!(i18n, problem.enrol_field, field = field.clone()).to_string()
        }
        Problem::DuplicateInFile => t_string!(i18n, problem.duplicate_in_file).to_string(),
        Problem::EnrolConflict => t_string!(i18n, problem.enrol_conflict).to_string(),
        Problem::CsvHeader { column } => {
            t_string!(i18n, problem.csv_header, column = column.clone()).to_string()
        }
        Problem::CsvLine { line } => t_string!(i18n, problem.csv_line, line = *line).to_string(),
        Problem::ImportEmpty => t_string!(i18n, problem.import_empty).to_string(),
        Problem::ImportTooLarge { max } => {
            t_string!(i18n, problem.import_too_large, max = *max).to_string()
        }
        Problem::CodeFormat => t_string!(i18n, problem.code_format).to_string(),
        Problem::CodeTaken => t_string!(i18n, problem.code_taken).to_string(),
        Problem::DeviceMerchant => t_string!(i18n, problem.device_merchant).to_string(),
        Problem::StaffPasswordWeak => t_string!(i18n, problem.staff_password_weak).to_string(),
        Problem::OwnAccount => t_string!(i18n, problem.own_account).to_string(),
        Problem::ProfileInvalid(p) => {
            let row = p
                .row
                .map(|n| t_string!(i18n, problem.profile_row, n = n).to_string())
                .unwrap_or_default();
            t_string!(
                i18n,
                problem.profile_invalid,
                field = profile_field_label(i18n, p.field),
                row = row,
                issue = field_issue_text(i18n, p.issue)
            )
            .to_string()
        }
        Problem::ProfileChanged => t_string!(i18n, problem.profile_changed).to_string(),
        Problem::DateFormat => t_string!(i18n, problem.date_format).to_string(),
        Problem::PendingMoney => t_string!(i18n, problem.pending_money).to_string(),
        Problem::StaffPasswordChange => t_string!(i18n, problem.staff_password_change).to_string(),
        Problem::EnrolmentLink => t_string!(i18n, problem.enrolment_link).to_string(),
        Problem::NoPayoutAccount => t_string!(i18n, problem.no_payout_account).to_string(),
        Problem::ClosingPending => t_string!(i18n, problem.closing_pending).to_string(),
        Problem::CashPending => t_string!(i18n, problem.cash_pending).to_string(),
        Problem::CashCountInvalid => t_string!(i18n, problem.cash_count_invalid).to_string(),
        Problem::PayoutAccountDiffers => {
            t_string!(i18n, problem.payout_account_differs).to_string()
        }
        Problem::CashCapReached { taken, cap } => t_string!(
            i18n,
            problem.cash_cap_reached,
            taken = taken.to_string(),
            cap = cap.to_string()
        )
        .to_string(),
    }
}

/// Shows the error of the last submission of an action, if it failed.
#[component]
pub fn ActionError<T: Clone + Send + Sync + 'static>(
    #[prop(into)] result: Signal<Option<Result<T, AppError>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        result.get().and_then(|r| r.err()).map(|e| {
            view! { <p class="form-error" role="alert" data-testid="form-error">{error_text(i18n, &e)}</p> }
        })
    }
}

pub fn money(m: Money) -> String {
    m.to_string()
}

/// A terminal's refusal in the reader's language (the same sentences the device API sends).
pub fn decline_text(i18n: leptos_i18n::I18nContext<Locale>, reason: Decline) -> String {
    let (zh, en) = reason.text();
    match i18n.get_locale() {
        Locale::zh => zh,
        Locale::en => en,
    }
    .to_string()
}

pub fn channel_label(i18n: leptos_i18n::I18nContext<Locale>, c: Channel) -> String {
    match c {
        Channel::Bank => t_string!(i18n, topup.bank),
        Channel::Wechat => t_string!(i18n, topup.wechat),
        Channel::Cash => t_string!(i18n, topup.cash),
        Channel::Auto => t_string!(i18n, topup.auto),
    }
    .to_string()
}

pub fn topup_status_label(i18n: leptos_i18n::I18nContext<Locale>, s: TopupStatus) -> String {
    match s {
        TopupStatus::Pending => t_string!(i18n, topup.pending),
        TopupStatus::Paid => t_string!(i18n, topup.paid),
        TopupStatus::Failed => t_string!(i18n, topup.failed),
    }
    .to_string()
}

pub fn device_kind_label(i18n: leptos_i18n::I18nContext<Locale>, k: DeviceKind) -> String {
    match k {
        DeviceKind::Pos => t_string!(i18n, access.pos),
        DeviceKind::MealTable => t_string!(i18n, access.meal_table),
        DeviceKind::Gate => t_string!(i18n, access.gate),
        DeviceKind::Attendance => t_string!(i18n, access.attendance),
        DeviceKind::Kiosk => t_string!(i18n, access.kiosk),
    }
    .to_string()
}

/// A campus profile field's label, in the form and in a refusal that names it.
pub fn profile_field_label(i18n: leptos_i18n::I18nContext<Locale>, f: ProfileField) -> String {
    use ProfileField::*;
    match f {
        CampusName => t_string!(i18n, campus_form.field_campus_name),
        CardName => t_string!(i18n, campus_form.field_card_name),
        QrCodeName => t_string!(i18n, campus_form.field_qr_code_name),
        OfficeName => t_string!(i18n, campus_form.field_office_name),
        OfficePhone => t_string!(i18n, campus_form.field_office_phone),
        HoursNote => t_string!(i18n, campus_form.field_hours_note),
        PointName => t_string!(i18n, campus_form.field_point_name),
        PointLocation => t_string!(i18n, campus_form.field_point_location),
        HoursDays => t_string!(i18n, campus_form.field_hours_days),
        HoursWeekdays => t_string!(i18n, campus_form.field_hours_weekdays),
        HoursPeriods => t_string!(i18n, campus_form.field_hours_periods),
        HolidayName => t_string!(i18n, campus_form.field_holiday_name),
        HolidayFrom => t_string!(i18n, campus_form.field_holiday_from),
        HolidayUntil => t_string!(i18n, campus_form.field_holiday_until),
        HolidayPeriods => t_string!(i18n, campus_form.field_holiday_periods),
        Hotlines => t_string!(i18n, campus_form.field_hotlines),
        HotlineLabel => t_string!(i18n, campus_form.field_hotline_label),
        HotlinePhone => t_string!(i18n, campus_form.field_hotline_phone),
        AppName => t_string!(i18n, campus_form.field_app_name),
        AppHow => t_string!(i18n, campus_form.field_app_how),
        DefaultSingleLimit => t_string!(i18n, campus_form.field_default_single_limit),
        DefaultDailyLimit => t_string!(i18n, campus_form.field_default_daily_limit),
        MaxSingleLimit => t_string!(i18n, campus_form.field_max_single_limit),
        MaxDailyLimit => t_string!(i18n, campus_form.field_max_daily_limit),
        CorrectionApprovalAbove => t_string!(i18n, campus_form.field_correction_approval_above),
        CashApprovalAbove => t_string!(i18n, campus_form.field_cash_approval_above),
        OfflineCodeMax => t_string!(i18n, campus_form.field_offline_code_max),
        PhoneBindingDays => t_string!(i18n, campus_form.field_phone_binding_days),
    }
    .to_string()
}

pub fn field_issue_text(i18n: leptos_i18n::I18nContext<Locale>, issue: FieldIssue) -> String {
    use FieldIssue::*;
    match issue {
        BothLanguages => t_string!(i18n, campus_form.issue_both_languages),
        TooLong => t_string!(i18n, campus_form.issue_too_long),
        NotAmount => t_string!(i18n, campus_form.issue_not_amount),
        NotPositive => t_string!(i18n, campus_form.issue_not_positive),
        AboveMaximum => t_string!(i18n, campus_form.issue_above_maximum),
        AboveDaily => t_string!(i18n, campus_form.issue_above_daily),
        AboveSingleMaximum => t_string!(i18n, campus_form.issue_above_single_maximum),
        Periods => t_string!(i18n, campus_form.issue_periods),
        Weekdays => t_string!(i18n, campus_form.issue_weekdays),
        Date => t_string!(i18n, campus_form.issue_date),
        DateOrder => t_string!(i18n, campus_form.issue_date_order),
        Phone => t_string!(i18n, campus_form.issue_phone),
        Days => t_string!(i18n, campus_form.issue_days),
        AtLeastOne => t_string!(i18n, campus_form.issue_at_least_one),
    }
    .to_string()
}

/// An audit record's target, before, after or reason in the reader's language (the facts
/// it was stored as; an older sentence or a typed reason as it is).
pub fn audit_text(i18n: leptos_i18n::I18nContext<Locale>, stored: &str) -> String {
    crate::audit_text::AuditText::show(stored, i18n.get_locale() == Locale::en)
}

/// An audit record's action in the reader's language.
pub fn audit_action_label(i18n: leptos_i18n::I18nContext<Locale>, a: AuditAction) -> String {
    use AuditAction::*;
    match a {
        AccountClose => t_string!(i18n, audit_action.account_close),
        AccountCloseRejected => t_string!(i18n, audit_action.account_close_rejected),
        AccountCloseRequested => t_string!(i18n, audit_action.account_close_requested),
        AccountFreeze => t_string!(i18n, audit_action.account_freeze),
        AccountPayoutAccount => t_string!(i18n, audit_action.account_payout_account),
        AccountSetLimits => t_string!(i18n, audit_action.account_set_limits),
        AccountUnfreeze => t_string!(i18n, audit_action.account_unfreeze),
        AdminChangeRejected => t_string!(i18n, audit_action.admin_change_rejected),
        AdminChangeRequested => t_string!(i18n, audit_action.admin_change_requested),
        AnnouncementPublish => t_string!(i18n, audit_action.announcement_publish),
        AnnouncementWithdraw => t_string!(i18n, audit_action.announcement_withdraw),
        BillCancel => t_string!(i18n, audit_action.bill_cancel),
        BillIssue => t_string!(i18n, audit_action.bill_issue),
        BillPay => t_string!(i18n, audit_action.bill_pay),
        UtilityAutoBuy => t_string!(i18n, audit_action.utility_auto_buy),
        UtilityBind => t_string!(i18n, audit_action.utility_bind),
        UtilityPurchase => t_string!(i18n, audit_action.utility_purchase),
        UtilityRefund => t_string!(i18n, audit_action.utility_refund),
        UtilityConflict => t_string!(i18n, audit_action.utility_conflict),
        UtilityOverdue => t_string!(i18n, audit_action.utility_overdue),
        RoomsAdd => t_string!(i18n, audit_action.rooms_add),
        RoomsRemove => t_string!(i18n, audit_action.rooms_remove),
        CampusProfile => t_string!(i18n, audit_action.campus_profile),
        CampusThresholds => t_string!(i18n, audit_action.campus_thresholds),
        CardCancel => t_string!(i18n, audit_action.card_cancel),
        CardFound => t_string!(i18n, audit_action.card_found),
        CardFoundReturned => t_string!(i18n, audit_action.card_found_returned),
        CardIssue => t_string!(i18n, audit_action.card_issue),
        CardLiftLost => t_string!(i18n, audit_action.card_lift_lost),
        CardReplace => t_string!(i18n, audit_action.card_replace),
        CardReportLost => t_string!(i18n, audit_action.card_report_lost),
        CashCount => t_string!(i18n, audit_action.cash_count),
        DeviceCreate => t_string!(i18n, audit_action.device_create),
        DeviceIssueCredential => t_string!(i18n, audit_action.device_issue_credential),
        DeviceRevokeCredential => t_string!(i18n, audit_action.device_revoke_credential),
        DeviceRotateCredential => t_string!(i18n, audit_action.device_rotate_credential),
        HolderChangeConsumptionPassword => {
            t_string!(i18n, audit_action.holder_change_consumption_password)
        }
        HolderChangeQueryPassword => t_string!(i18n, audit_action.holder_change_query_password),
        HolderEndOtherSessions => t_string!(i18n, audit_action.holder_end_other_sessions),
        HolderEnrol => t_string!(i18n, audit_action.holder_enrol),
        HolderIdMismatch => t_string!(i18n, audit_action.holder_id_mismatch),
        HolderLocked => t_string!(i18n, audit_action.holder_locked),
        HolderPhoneBound => t_string!(i18n, audit_action.holder_phone_bound),
        HolderPhoneRemoved => t_string!(i18n, audit_action.holder_phone_removed),
        LockoutLiftConsumption => t_string!(i18n, audit_action.lockout_lift_consumption),
        LockoutLiftQuery => t_string!(i18n, audit_action.lockout_lift_query),
        MerchantCreate => t_string!(i18n, audit_action.merchant_create),
        MerchantUpdate => t_string!(i18n, audit_action.merchant_update),
        MoneyCashRejected => t_string!(i18n, audit_action.money_cash_rejected),
        MoneyCashRequested => t_string!(i18n, audit_action.money_cash_requested),
        MoneyCashTopup => t_string!(i18n, audit_action.money_cash_topup),
        MoneyCorrection => t_string!(i18n, audit_action.money_correction),
        MoneyCorrectionApproved => t_string!(i18n, audit_action.money_correction_approved),
        MoneyCorrectionRequested => t_string!(i18n, audit_action.money_correction_requested),
        PasswordResetConsumption => t_string!(i18n, audit_action.password_reset_consumption),
        PasswordResetQuery => t_string!(i18n, audit_action.password_reset_query),
        StaffCreate => t_string!(i18n, audit_action.staff_create),
        StaffEnrolled => t_string!(i18n, audit_action.staff_enrolled),
        StaffEnrolmentLink => t_string!(i18n, audit_action.staff_enrolment_link),
        StaffLocked => t_string!(i18n, audit_action.staff_locked),
        StaffPassword => t_string!(i18n, audit_action.staff_password),
        StaffResetCredentials => t_string!(i18n, audit_action.staff_reset_credentials),
        StaffUpdate => t_string!(i18n, audit_action.staff_update),
        TerminalLeft => t_string!(i18n, audit_action.terminal_left),
        TerminalSetUp => t_string!(i18n, audit_action.terminal_set_up),
        TopupAutoFailed => t_string!(i18n, audit_action.topup_auto_failed),
        TopupAutoRemoved => t_string!(i18n, audit_action.topup_auto_removed),
        TopupAutoSettings => t_string!(i18n, audit_action.topup_auto_settings),
        TopupResolveFailed => t_string!(i18n, audit_action.topup_resolve_failed),
        ReportPayoutsDownload => t_string!(i18n, audit_action.report_payouts_download),
    }
    .to_string()
}

/// Who acted in an audit record, in the reader's language.
pub fn actor_kind_label(i18n: leptos_i18n::I18nContext<Locale>, k: ActorKind) -> String {
    match k {
        ActorKind::Staff => t_string!(i18n, staff.actor_staff),
        ActorKind::Device => t_string!(i18n, staff.actor_device),
        ActorKind::Holder => t_string!(i18n, staff.actor_holder),
        ActorKind::System => t_string!(i18n, staff.actor_system),
    }
    .to_string()
}

/// A notice in a language: the inbox's line, and the e-mail's text (in both).
pub fn notice_text_in(locale: Locale, n: &crate::notice_model::NoticeView) -> String {
    use crate::model::NoticeKind;
    let amount = money(n.amount.unwrap_or(Money::ZERO));
    let balance = money(n.balance.unwrap_or(Money::ZERO));
    match n.kind {
        NoticeKind::Payment => match &n.place {
            Some(place) => {
                let place = place.get(match locale {
                    Locale::zh => "zh",
                    Locale::en => "en",
                });
                td_string!(locale, notices.payment, amount, place, balance).to_string()
            }
            None => td_string!(locale, notices.payment_no_place, amount, balance).to_string(),
        },
        NoticeKind::LowBalance => {
            td_string!(locale, notices.low_balance, amount, balance).to_string()
        }
        NoticeKind::Topup => td_string!(locale, notices.topup, amount, balance).to_string(),
        NoticeKind::AutoTopupFailed => td_string!(locale, notices.auto_topup_failed).to_string(),
        NoticeKind::CardLost => td_string!(locale, notices.card_lost).to_string(),
        NoticeKind::CardLifted => td_string!(locale, notices.card_lifted).to_string(),
        NoticeKind::CardFound => td_string!(locale, notices.card_found).to_string(),
        NoticeKind::CardReplaced => td_string!(locale, notices.card_replaced).to_string(),
        NoticeKind::PasswordChanged => td_string!(locale, notices.password_changed).to_string(),
        NoticeKind::PhoneBound => td_string!(locale, notices.phone_bound).to_string(),
        NoticeKind::NewBrowser => td_string!(locale, notices.new_browser).to_string(),
        NoticeKind::AccountFrozen => td_string!(locale, notices.account_frozen).to_string(),
        NoticeKind::AccountUnfrozen => td_string!(locale, notices.account_unfrozen).to_string(),
        NoticeKind::BillIssued => td_string!(locale, notices.bill_issued).to_string(),
        NoticeKind::PurchaseRefunded => td_string!(locale, notices.purchase_refunded).to_string(),
    }
}

/// A day of the week ahead as the home page names it: "12月7日 周一", "Mon 7 Dec".
pub fn day_label(i18n: leptos_i18n::I18nContext<Locale>, day: &crate::opening::DayHours) -> String {
    const ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = day
        .date
        .split('-')
        .skip(1)
        .map(|p| p.parse::<usize>().unwrap_or(0));
    let (month, date) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let weekday = usize::from(day.weekday.clamp(1, 7)) - 1;
    if i18n.get_locale() == Locale::en {
        let month = MONTHS.get(month.wrapping_sub(1)).copied().unwrap_or("");
        format!("{} {date} {month}", EN[weekday])
    } else {
        format!("{month}月{date}日 {}", ZH[weekday])
    }
}
