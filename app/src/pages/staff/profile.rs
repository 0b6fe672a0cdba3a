//! The campus profile as a form: names, service points, opening and holiday hours, telephone
//! lines, the apps, limits and approval amounts. Each list shows its entries and one empty
//! entry to add; emptying an entry removes it. A refusal names the field and its entry, and the
//! page marks and focuses that input. Auditors see the same form read-only, without a button.

use super::{Done, ReasonField};
use crate::api::staff::SaveCampusProfile;
use crate::campus_form::{ProfileField, ProfileForm, RowForm, TextPair};
use crate::components::labels::profile_field_label;
use crate::i18n::*;
use crate::portal_model::Problem;
use leptos::form::ActionForm;
use leptos::prelude::*;

type Label = fn(leptos_i18n::I18nContext<Locale>) -> String;

/// `name="form[a][b]"` as an element id: "pf-a-b".
fn id_of(name: &str) -> String {
    let mut id = String::from("pf");
    for part in name.trim_start_matches("form").split(['[', ']']) {
        if !part.is_empty() {
            id.push('-');
            id.push_str(part);
        }
    }
    id
}

/// One input with its label above it.
#[component]
fn Field(
    label: String,
    name: String,
    value: String,
    readonly: bool,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: Option<String>,
    #[prop(optional)] decimal: bool,
) -> impl IntoView {
    let id = id_of(&name);
    let hint_id = hint.as_ref().map(|_| format!("{id}-hint"));
    view! {
        <label for=id.clone()>{label}</label>
        {hint.map(|h| view! { <span class="hint" id=hint_id.clone()>{h}</span> })}
        <input id=id name=name type=kind value=value readonly=readonly
            inputmode=decimal.then_some("decimal") aria-describedby=hint_id.clone() />
    }
}

/// A text in both languages: two inputs, Chinese and English, under one legend.
#[component]
fn PairField(legend: String, name: String, value: TextPair, readonly: bool) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <fieldset class="pair">
            <legend>{legend}</legend>
            <Field label=t_string!(i18n, campus_form.zh).to_string() name=format!("{name}[zh]") value=value.zh readonly=readonly />
            <Field label=t_string!(i18n, campus_form.en).to_string() name=format!("{name}[en]") value=value.en readonly=readonly />
        </fieldset>
    }
}

/// What a list's entry shows: its texts, then its plain fields.
#[derive(Clone, Copy)]
struct RowShape {
    list: &'static str,
    name: ProfileField,
    more: Option<ProfileField>,
    value: Option<(ProfileField, Option<Label>)>,
    dates: bool,
    /// The days of the week (opening hours).
    weekdays: bool,
}

/// A list of entries (and one empty one to add), each a fieldset.
#[component]
fn Rows(legend: String, rows: Vec<RowForm>, shape: RowShape, readonly: bool) -> impl IntoView {
    let i18n = use_i18n();
    let mut rows = rows;
    if !readonly {
        rows.push(RowForm::default());
    }
    let count = rows.len();
    view! {
        <fieldset class="profile-group">
            <legend>{legend}</legend>
            {(!readonly).then(|| view! { <p class="hint">{t!(i18n, campus_form.rows_hint)}</p> })}
            {rows.into_iter().enumerate().map(|(i, r)| {
                let base = format!("form[{}][{i}]", shape.list);
                let title = if !readonly && i + 1 == count {
                    t_string!(i18n, campus_form.new_row).to_string()
                } else {
                    t_string!(i18n, campus_form.row, n = i + 1).to_string()
                };
                view! {
                    <fieldset class="profile-row">
                        <legend>{title}</legend>
                        <PairField legend=profile_field_label(i18n, shape.name) name=format!("{base}[name]") value=r.name readonly=readonly />
                        {shape.more.map(|f| view! {
                            <PairField legend=profile_field_label(i18n, f) name=format!("{base}[more]") value=r.more.clone() readonly=readonly />
                        })}
                        {shape.dates.then(|| view! {
                            <Field label=profile_field_label(i18n, ProfileField::HolidayFrom) name=format!("{base}[from]") value=r.from.clone() readonly=readonly kind="date" />
                            <Field label=profile_field_label(i18n, ProfileField::HolidayUntil) name=format!("{base}[until]") value=r.until.clone() readonly=readonly kind="date" />
                        })}
                        {shape.weekdays.then(|| view! {
                            <Field label=profile_field_label(i18n, ProfileField::HoursWeekdays) name=format!("{base}[weekdays]") value=r.weekdays.clone() readonly=readonly
                                hint=t_string!(i18n, campus_form.weekdays_hint).to_string() />
                        })}
                        {shape.value.map(|(f, hint)| view! {
                            <Field label=profile_field_label(i18n, f) name=format!("{base}[value]") value=r.value.clone() readonly=readonly
                                hint=hint.map(|h| h(i18n)).unwrap_or_default() />
                        })}
                    </fieldset>
                }
            }).collect_view()}
        </fieldset>
    }
}

#[component]
pub fn CampusProfileForm(
    admin: bool,
    form: ProfileForm,
    save: ServerAction<SaveCampusProfile>,
) -> impl IntoView {
    let i18n = use_i18n();
    let ro = !admin;
    let f = form;
    let label = move |field| profile_field_label(i18n, field);
    // A refusal names its field: mark that input and take the cursor there.
    Effect::new(move |_| {
        let Some(Err(crate::error::AppError::Rejected(Problem::ProfileInvalid(p)))) =
            save.value().get()
        else {
            return;
        };
        let Some(doc) = document()
            .query_selector(&format!("[name=\"{}\"]", p.input_name()))
            .ok()
            .flatten()
        else {
            return;
        };
        let _ = doc.set_attribute("aria-invalid", "true");
        if let Some(el) =
            leptos::wasm_bindgen::JsCast::dyn_ref::<leptos::web_sys::HtmlElement>(&doc)
        {
            let _ = el.focus();
        }
    });
    let money = move |field: ProfileField, name: &str, value: String| {
        view! { <Field label=label(field) name=format!("form[{name}]") value=value readonly=ro decimal=true /> }
    };
    view! {
        <ActionForm action=save attr:class="form profile-form" attr:data-testid="profile-form">
            <input type="hidden" name="form[version]" value=f.version.clone() />
            <fieldset class="profile-group">
                <legend>{t!(i18n, campus_form.legend_names)}</legend>
                <PairField legend=label(ProfileField::CampusName) name="form[campus_name]".to_string() value=f.campus_name readonly=ro />
                <PairField legend=label(ProfileField::CardName) name="form[card_name]".to_string() value=f.card_name readonly=ro />
                <PairField legend=label(ProfileField::QrCodeName) name="form[qr_code_name]".to_string() value=f.qr_code_name readonly=ro />
                <PairField legend=label(ProfileField::OfficeName) name="form[office_name]".to_string() value=f.office_name readonly=ro />
            </fieldset>
            <Rows legend=t_string!(i18n, campus_form.legend_points).to_string() rows=f.points readonly=ro
                shape=RowShape { list: "points", name: ProfileField::PointName, more: Some(ProfileField::PointLocation), value: None, dates: false, weekdays: false } />
            <Rows legend=t_string!(i18n, campus_form.legend_hours).to_string() rows=f.hours readonly=ro
                shape=RowShape { list: "hours", name: ProfileField::HoursDays, more: None,
                    value: Some((ProfileField::HoursPeriods, Some(|i| t_string!(i, campus_form.periods_hint).to_string()))), dates: false, weekdays: true } />
            <fieldset class="profile-group">
                <PairField legend=label(ProfileField::HoursNote) name="form[hours_note]".to_string() value=f.hours_note readonly=ro />
            </fieldset>
            <Rows legend=t_string!(i18n, campus_form.legend_holidays).to_string() rows=f.holidays readonly=ro
                shape=RowShape { list: "holidays", name: ProfileField::HolidayName, more: None,
                    value: Some((ProfileField::HolidayPeriods, Some(|i| t_string!(i, campus_form.holiday_periods_hint).to_string()))), dates: true, weekdays: false } />
            <fieldset class="profile-group">
                <legend>{t!(i18n, campus_form.legend_phones)}</legend>
                <Field label=label(ProfileField::OfficePhone) name="form[office_phone]".to_string() value=f.office_phone readonly=ro kind="tel" />
            </fieldset>
            <Rows legend=label(ProfileField::Hotlines) rows=f.hotlines readonly=ro
                shape=RowShape { list: "hotlines", name: ProfileField::HotlineLabel, more: None, value: Some((ProfileField::HotlinePhone, None)), dates: false, weekdays: false } />
            <Rows legend=t_string!(i18n, campus_form.legend_apps).to_string() rows=f.apps readonly=ro
                shape=RowShape { list: "apps", name: ProfileField::AppName, more: Some(ProfileField::AppHow), value: None, dates: false, weekdays: false } />
            <fieldset class="profile-group">
                <legend>{t!(i18n, campus_form.legend_limits)}</legend>
                {money(ProfileField::DefaultSingleLimit, "default_single_limit", f.default_single_limit)}
                {money(ProfileField::DefaultDailyLimit, "default_daily_limit", f.default_daily_limit)}
                {money(ProfileField::MaxSingleLimit, "max_single_limit", f.max_single_limit)}
                {money(ProfileField::MaxDailyLimit, "max_daily_limit", f.max_daily_limit)}
                {money(ProfileField::OfflineCodeMax, "offline_code_max", f.offline_code_max)}
                <Field label=label(ProfileField::PhoneBindingDays) name="form[phone_binding_days]".to_string() value=f.phone_binding_days readonly=ro />
                <p class="hint">{t!(i18n, campus_form.thresholds_hint)}</p>
                {money(ProfileField::CorrectionApprovalAbove, "correction_approval_above", f.correction_approval_above)}
                {money(ProfileField::CashApprovalAbove, "cash_approval_above", f.cash_approval_above)}
            </fieldset>
            {admin.then(|| view! {
                <ReasonField id="profile-reason" />
                <Done result=save.value() testid="profile-done" />
                <button type="submit" class="primary">{t!(i18n, staff.save)}</button>
            })}
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_input_name_makes_its_id() {
        assert_eq!(
            super::id_of("form[hotlines][1][value]"),
            "pf-hotlines-1-value"
        );
        assert_eq!(super::id_of("form[campus_name][zh]"), "pf-campus_name-zh");
    }
}
