//! The campus profile as administrators edit it: a form of plain fields (`ProfileForm`), its
//! conversion to and from `CampusProfile`, and the profile's rules (`CampusProfile::validate`),
//! each refusal naming the field and the row (`FieldProblem`). Compiled into the server and the
//! browser, so the form and the check are one definition.

use crate::model::{
    CampusProfile, CardApp, HolidayHours, Hotline, Localized, Money, OpeningHours,
    PHONE_BINDING_DAYS, ServicePoint,
};
use serde::{Deserialize, Serialize};

/// A field of the campus profile's form. Row fields (`Point*`, `Hours*`, …) are named with
/// their row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileField {
    CampusName,
    CardName,
    QrCodeName,
    OfficeName,
    OfficePhone,
    HoursNote,
    PointName,
    PointLocation,
    HoursDays,
    HoursWeekdays,
    HoursPeriods,
    HolidayName,
    HolidayFrom,
    HolidayUntil,
    HolidayPeriods,
    Hotlines,
    HotlineLabel,
    HotlinePhone,
    AppName,
    AppHow,
    DefaultSingleLimit,
    DefaultDailyLimit,
    MaxSingleLimit,
    MaxDailyLimit,
    CorrectionApprovalAbove,
    CashApprovalAbove,
    OfflineCodeMax,
    PhoneBindingDays,
}

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldIssue {
    /// Both languages are needed.
    BothLanguages,
    TooLong,
    /// Not an amount in yuan with at most two decimals, or below zero.
    NotAmount,
    NotPositive,
    /// A default limit above its maximum.
    AboveMaximum,
    /// A single-payment limit above the daily limit.
    AboveDaily,
    /// The offline code's amount above the single-payment maximum.
    AboveSingleMaximum,
    /// Not periods like "09:00–12:00, 14:00–17:30", each ending after it starts.
    Periods,
    /// Not days of the week as 1 (Monday) to 7 (Sunday): "1-5", "6, 7".
    Weekdays,
    /// Not a date (YYYY-MM-DD).
    Date,
    /// The last day before the first.
    DateOrder,
    /// Not a telephone number (digits, spaces, +, - and brackets).
    Phone,
    /// Not a whole number of days from 1 to 180.
    Days,
    /// At least one is needed.
    AtLeastOne,
}

/// A refused profile: which field, which row of a list (from 1), and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: ProfileField,
    pub row: Option<u32>,
    pub issue: FieldIssue,
}

impl FieldProblem {
    /// The `name` of the form input the problem is about (its Chinese one for a text in both
    /// languages), for the page to mark and focus.
    pub fn input_name(&self) -> String {
        use ProfileField::*;
        let row = self.row.map_or(0, |r| r.saturating_sub(1));
        let in_row = |list: &str, part: &str| format!("form[{list}][{row}]{part}");
        match self.field {
            CampusName => "form[campus_name][zh]".into(),
            CardName => "form[card_name][zh]".into(),
            QrCodeName => "form[qr_code_name][zh]".into(),
            OfficeName => "form[office_name][zh]".into(),
            OfficePhone => "form[office_phone]".into(),
            HoursNote => "form[hours_note][zh]".into(),
            PointName => in_row("points", "[name][zh]"),
            PointLocation => in_row("points", "[more][zh]"),
            HoursDays => in_row("hours", "[name][zh]"),
            HoursWeekdays => in_row("hours", "[weekdays]"),
            HoursPeriods => in_row("hours", "[value]"),
            HolidayName => in_row("holidays", "[name][zh]"),
            HolidayFrom => in_row("holidays", "[from]"),
            HolidayUntil => in_row("holidays", "[until]"),
            HolidayPeriods => in_row("holidays", "[value]"),
            Hotlines | HotlineLabel => in_row("hotlines", "[name][zh]"),
            HotlinePhone => in_row("hotlines", "[value]"),
            AppName => in_row("apps", "[name][zh]"),
            AppHow => in_row("apps", "[more][zh]"),
            DefaultSingleLimit => "form[default_single_limit]".into(),
            DefaultDailyLimit => "form[default_daily_limit]".into(),
            MaxSingleLimit => "form[max_single_limit]".into(),
            MaxDailyLimit => "form[max_daily_limit]".into(),
            CorrectionApprovalAbove => "form[correction_approval_above]".into(),
            CashApprovalAbove => "form[cash_approval_above]".into(),
            OfflineCodeMax => "form[offline_code_max]".into(),
            PhoneBindingDays => "form[phone_binding_days]".into(),
        }
    }
}

fn problem(field: ProfileField, row: Option<usize>, issue: FieldIssue) -> FieldProblem {
    FieldProblem {
        field,
        row: row.map(|r| (r + 1) as u32),
        issue,
    }
}

/// The longest text a field takes.
pub const MAX_TEXT: usize = 300;

fn text_ok(text: &Localized, field: ProfileField, row: Option<usize>) -> Result<(), FieldProblem> {
    if text.zh.trim().is_empty() || text.en.trim().is_empty() {
        return Err(problem(field, row, FieldIssue::BothLanguages));
    }
    optional_text_ok(text, field, row)
}

fn optional_text_ok(
    text: &Localized,
    field: ProfileField,
    row: Option<usize>,
) -> Result<(), FieldProblem> {
    if text.zh.chars().count() > MAX_TEXT || text.en.chars().count() > MAX_TEXT {
        return Err(problem(field, row, FieldIssue::TooLong));
    }
    Ok(())
}

fn phone_ok(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (3..=20).contains(&digits)
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c))
}

/// Minutes since midnight of "HH:MM".
fn clock(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// One period, "09:00–12:00" (or with "-"), written back with the en dash; `None` when it is
/// not a period or ends before it starts.
pub fn period(text: &str) -> Option<String> {
    let (from, until) = text.split_once(['–', '-'])?;
    let (a, b) = (clock(from)?, clock(until)?);
    (a < b).then(|| format!("{}–{}", from.trim(), until.trim()))
}

/// Periods as typed in one field: separated by commas (either width) or semicolons.
pub fn periods(text: &str) -> Option<Vec<String>> {
    text.split([',', '，', ';', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(period)
        .collect()
}

fn date_ok(text: &str) -> bool {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() && text.len() == 10
}

impl CampusProfile {
    /// Checks what an administrator could get wrong, naming the field.
    pub fn validate(&self) -> Result<(), FieldProblem> {
        use FieldIssue::*;
        use ProfileField::*;
        text_ok(&self.campus_name, CampusName, None)?;
        text_ok(&self.card_name, CardName, None)?;
        text_ok(&self.qr_code_name, QrCodeName, None)?;
        text_ok(&self.office_name, OfficeName, None)?;
        if !phone_ok(&self.office_phone) {
            return Err(problem(OfficePhone, None, Phone));
        }
        optional_text_ok(&self.hours_note, HoursNote, None)?;
        for (i, p) in self.service_points.iter().enumerate() {
            text_ok(&p.name, PointName, Some(i))?;
            text_ok(&p.location, PointLocation, Some(i))?;
        }
        for (i, h) in self.hours.iter().enumerate() {
            text_ok(&h.days, HoursDays, Some(i))?;
            // Empty: a profile saved before they were asked for (no "open today?" answer);
            // the form asks for them (`ProfileForm::profile`).
            if h.weekdays.iter().any(|d| !(1..=7).contains(d)) {
                return Err(problem(HoursWeekdays, Some(i), Weekdays));
            }
            if h.periods.is_empty() || h.periods.iter().any(|p| period(p).is_none()) {
                return Err(problem(HoursPeriods, Some(i), Periods));
            }
        }
        for (i, h) in self.holidays.iter().enumerate() {
            text_ok(&h.name, HolidayName, Some(i))?;
            if !date_ok(&h.from) {
                return Err(problem(HolidayFrom, Some(i), Date));
            }
            if !date_ok(&h.until) {
                return Err(problem(HolidayUntil, Some(i), Date));
            }
            if h.until < h.from {
                return Err(problem(HolidayUntil, Some(i), DateOrder));
            }
            // No periods: closed those days.
            if h.periods.iter().any(|p| period(p).is_none()) {
                return Err(problem(HolidayPeriods, Some(i), Periods));
            }
        }
        if self.hotlines.is_empty() {
            return Err(problem(Hotlines, None, AtLeastOne));
        }
        for (i, h) in self.hotlines.iter().enumerate() {
            text_ok(&h.label, HotlineLabel, Some(i))?;
            if !phone_ok(&h.phone) {
                return Err(problem(HotlinePhone, Some(i), Phone));
            }
        }
        for (i, a) in self.apps.iter().enumerate() {
            text_ok(&a.name, AppName, Some(i))?;
            text_ok(&a.how, AppHow, Some(i))?;
        }
        for (field, amount) in [
            (DefaultSingleLimit, self.default_single_limit),
            (DefaultDailyLimit, self.default_daily_limit),
            (MaxSingleLimit, self.max_single_limit),
            (MaxDailyLimit, self.max_daily_limit),
        ] {
            if amount.fen() <= 0 {
                return Err(problem(field, None, NotPositive));
            }
        }
        for (field, amount) in [
            (CorrectionApprovalAbove, self.correction_approval_above),
            (CashApprovalAbove, self.cash_approval_above),
            (OfflineCodeMax, self.offline_code_max),
        ] {
            if amount.fen() < 0 {
                return Err(problem(field, None, NotAmount));
            }
        }
        if self.default_single_limit > self.max_single_limit {
            return Err(problem(DefaultSingleLimit, None, AboveMaximum));
        }
        if self.default_daily_limit > self.max_daily_limit {
            return Err(problem(DefaultDailyLimit, None, AboveMaximum));
        }
        if self.default_single_limit > self.default_daily_limit {
            return Err(problem(DefaultSingleLimit, None, AboveDaily));
        }
        if !PHONE_BINDING_DAYS.contains(&self.phone_binding_days) {
            return Err(problem(PhoneBindingDays, None, Days));
        }
        if self.offline_code_max > self.max_single_limit {
            return Err(problem(OfflineCodeMax, None, AboveSingleMaximum));
        }
        Ok(())
    }
}

/// A text in both languages, as two inputs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TextPair {
    pub zh: String,
    pub en: String,
}

impl TextPair {
    fn of(text: &Localized) -> TextPair {
        TextPair {
            zh: text.zh.clone(),
            en: text.en.clone(),
        }
    }

    fn localized(&self) -> Localized {
        Localized::new(self.zh.trim(), self.en.trim())
    }

    fn is_empty(&self) -> bool {
        self.zh.trim().is_empty() && self.en.trim().is_empty()
    }
}

/// A row of a list with two texts in both languages (service points, apps), or one text and
/// a plain value (hours, hotlines, holidays use `value`, `from`, `until` as they need).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RowForm {
    pub name: TextPair,
    pub more: TextPair,
    /// Periods ("09:00–12:00, 14:00–17:00") or a telephone number.
    pub value: String,
    pub from: String,
    pub until: String,
    /// The days of the week of a row of opening hours ("1-5").
    pub weekdays: String,
}

impl RowForm {
    fn is_empty(&self) -> bool {
        self.name.is_empty()
            && self.more.is_empty()
            && self.value.trim().is_empty()
            && self.weekdays.trim().is_empty()
            && self.from.trim().is_empty()
            && self.until.trim().is_empty()
    }
}

/// The campus profile's form: every field a text as typed, amounts in yuan. A list's rows
/// left empty are dropped, so the form offers an empty row to add one, and a row is removed by
/// emptying it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    pub campus_name: TextPair,
    pub card_name: TextPair,
    pub qr_code_name: TextPair,
    pub office_name: TextPair,
    pub office_phone: String,
    pub hours_note: TextPair,
    pub points: Vec<RowForm>,
    pub hours: Vec<RowForm>,
    pub holidays: Vec<RowForm>,
    pub hotlines: Vec<RowForm>,
    pub apps: Vec<RowForm>,
    pub default_single_limit: String,
    pub default_daily_limit: String,
    pub max_single_limit: String,
    pub max_daily_limit: String,
    pub correction_approval_above: String,
    pub cash_approval_above: String,
    pub offline_code_max: String,
    pub phone_binding_days: String,
    /// The profile the form was filled with (`version_of`): a save over a profile someone
    /// else changed since is refused rather than undoing their change.
    pub version: String,
}

/// A short fingerprint of a profile: two forms filled from the same profile carry the same.
pub fn version_of(p: &CampusProfile) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_string(p).unwrap_or_default();
    Sha256::digest(json.as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn rows(list: &[RowForm]) -> impl Iterator<Item = (usize, &RowForm)> {
    list.iter().enumerate().filter(|(_, r)| !r.is_empty())
}

fn yuan(text: &str, field: ProfileField) -> Result<Money, FieldProblem> {
    Money::parse_yuan(text).map_err(|_| problem(field, None, FieldIssue::NotAmount))
}

impl ProfileForm {
    /// The form filled in with the profile as it is.
    pub fn of(p: &CampusProfile) -> ProfileForm {
        let row = |name: &Localized, more: Option<&Localized>, value: String| RowForm {
            name: TextPair::of(name),
            more: more.map(TextPair::of).unwrap_or_default(),
            value,
            ..RowForm::default()
        };
        ProfileForm {
            campus_name: TextPair::of(&p.campus_name),
            card_name: TextPair::of(&p.card_name),
            qr_code_name: TextPair::of(&p.qr_code_name),
            office_name: TextPair::of(&p.office_name),
            office_phone: p.office_phone.clone(),
            hours_note: TextPair::of(&p.hours_note),
            points: p
                .service_points
                .iter()
                .map(|s| row(&s.name, Some(&s.location), String::new()))
                .collect(),
            hours: p
                .hours
                .iter()
                .map(|h| RowForm {
                    weekdays: crate::opening::weekdays_text(&h.weekdays),
                    ..row(&h.days, None, h.periods.join(", "))
                })
                .collect(),
            holidays: p
                .holidays
                .iter()
                .map(|h| RowForm {
                    from: h.from.clone(),
                    until: h.until.clone(),
                    ..row(&h.name, None, h.periods.join(", "))
                })
                .collect(),
            hotlines: p
                .hotlines
                .iter()
                .map(|h| row(&h.label, None, h.phone.clone()))
                .collect(),
            apps: p
                .apps
                .iter()
                .map(|a| row(&a.name, Some(&a.how), String::new()))
                .collect(),
            default_single_limit: p.default_single_limit.yuan_string(),
            default_daily_limit: p.default_daily_limit.yuan_string(),
            max_single_limit: p.max_single_limit.yuan_string(),
            max_daily_limit: p.max_daily_limit.yuan_string(),
            correction_approval_above: p.correction_approval_above.yuan_string(),
            cash_approval_above: p.cash_approval_above.yuan_string(),
            offline_code_max: p.offline_code_max.yuan_string(),
            phone_binding_days: p.phone_binding_days.to_string(),
            version: version_of(p),
        }
    }

    /// The profile the form says, checked (`CampusProfile::validate`); the first problem
    /// names its field and row (counted as the form shows them, empty rows included).
    pub fn profile(&self) -> Result<CampusProfile, FieldProblem> {
        use ProfileField::*;
        let periods_of = |text: &str, field, i| {
            periods(text).ok_or(problem(field, Some(i), FieldIssue::Periods))
        };
        let mut hours = Vec::new();
        for (i, r) in rows(&self.hours) {
            hours.push(OpeningHours {
                days: r.name.localized(),
                weekdays: crate::opening::parse_weekdays(&r.weekdays).ok_or(problem(
                    HoursWeekdays,
                    Some(i),
                    FieldIssue::Weekdays,
                ))?,
                periods: periods_of(&r.value, HoursPeriods, i)?,
            });
        }
        let mut holidays = Vec::new();
        for (i, r) in rows(&self.holidays) {
            holidays.push(HolidayHours {
                name: r.name.localized(),
                from: r.from.trim().to_string(),
                until: r.until.trim().to_string(),
                periods: periods_of(&r.value, HolidayPeriods, i)?,
            });
        }
        let days = self.phone_binding_days.trim();
        let profile = CampusProfile {
            campus_name: self.campus_name.localized(),
            card_name: self.card_name.localized(),
            qr_code_name: self.qr_code_name.localized(),
            office_name: self.office_name.localized(),
            service_points: rows(&self.points)
                .map(|(_, r)| ServicePoint {
                    name: r.name.localized(),
                    location: r.more.localized(),
                })
                .collect(),
            hours,
            hours_note: self.hours_note.localized(),
            holidays,
            hotlines: rows(&self.hotlines)
                .map(|(_, r)| Hotline {
                    label: r.name.localized(),
                    phone: r.value.trim().to_string(),
                })
                .collect(),
            office_phone: self.office_phone.trim().to_string(),
            apps: rows(&self.apps)
                .map(|(_, r)| CardApp {
                    name: r.name.localized(),
                    how: r.more.localized(),
                })
                .collect(),
            default_single_limit: yuan(&self.default_single_limit, DefaultSingleLimit)?,
            default_daily_limit: yuan(&self.default_daily_limit, DefaultDailyLimit)?,
            max_single_limit: yuan(&self.max_single_limit, MaxSingleLimit)?,
            max_daily_limit: yuan(&self.max_daily_limit, MaxDailyLimit)?,
            correction_approval_above: yuan(
                &self.correction_approval_above,
                CorrectionApprovalAbove,
            )?,
            cash_approval_above: yuan(&self.cash_approval_above, CashApprovalAbove)?,
            offline_code_max: yuan(&self.offline_code_max, OfflineCodeMax)?,
            phone_binding_days: days
                .parse()
                .ok()
                .filter(|_| days.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(problem(PhoneBindingDays, None, FieldIssue::Days))?,
        };
        // Rows are numbered as the form shows them: map the kept rows' index back.
        profile.validate().map_err(|p| match (p.field, p.row) {
            (field, Some(kept)) => {
                let list = match field {
                    PointName | PointLocation => &self.points,
                    HoursDays | HoursWeekdays | HoursPeriods => &self.hours,
                    HolidayName | HolidayFrom | HolidayUntil | HolidayPeriods => &self.holidays,
                    HotlineLabel | HotlinePhone => &self.hotlines,
                    _ => &self.apps,
                };
                let shown = rows(list)
                    .nth(kept as usize - 1)
                    .map_or(kept as usize - 1, |(i, _)| i);
                problem(field, Some(shown), p.issue)
            }
            _ => p,
        })?;
        Ok(profile)
    }
}

// The demo campus is the server's (`ssr`), where these run.
#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use FieldIssue::*;
    use ProfileField::*;

    /// The demo campus: two service points, two hotlines, two holidays.
    fn demo() -> CampusProfile {
        crate::server::campus::demo_profile()
    }

    #[test]
    fn the_form_gives_back_the_profile_it_was_filled_with() {
        let p = demo();
        assert_eq!(ProfileForm::of(&p).profile(), Ok(p));
    }

    #[test]
    fn periods_are_clock_ranges_that_end_after_they_start() {
        let table = [
            ("09:00–13:00", Some("09:00–13:00")),
            ("09:00-13:00", Some("09:00–13:00")),
            (" 09:00 - 13:00 ", Some("09:00–13:00")),
            ("13:00–09:00", None),
            ("09:00–09:00", None),
            ("9:00–13:00", None),
            ("24:00–25:00", None),
            ("morning", None),
            ("", None),
        ];
        for (text, want) in table {
            assert_eq!(period(text).as_deref(), want, "{text}");
        }
        assert_eq!(
            periods("09:00-12:00，14:00-17:30; "),
            Some(vec!["09:00–12:00".into(), "14:00–17:30".into()])
        );
        assert_eq!(periods("09:00-12:00, later"), None);
    }

    /// Each wrong value, and the field and row the refusal names.
    #[test]
    fn a_wrong_value_is_refused_with_its_field_and_row() {
        type Edit = fn(&mut ProfileForm);
        let table: [(Edit, ProfileField, Option<u32>, FieldIssue); 21] = [
            (
                |f| f.campus_name.en.clear(),
                CampusName,
                None,
                BothLanguages,
            ),
            (
                |f| f.office_name.zh = "长".repeat(301),
                OfficeName,
                None,
                TooLong,
            ),
            (
                |f| f.office_phone = "call us".into(),
                OfficePhone,
                None,
                Phone,
            ),
            (
                |f| f.points[0].more.zh.clear(),
                PointLocation,
                Some(1),
                BothLanguages,
            ),
            (
                |f| f.hours[0].weekdays = "周一至周五".into(),
                HoursWeekdays,
                Some(1),
                Weekdays,
            ),
            (
                |f| f.hours[0].weekdays.clear(),
                HoursWeekdays,
                Some(1),
                Weekdays,
            ),
            (
                |f| f.hours[0].value = "9-5".into(),
                HoursPeriods,
                Some(1),
                Periods,
            ),
            (|f| f.hours[0].value.clear(), HoursPeriods, Some(1), Periods),
            (
                |f| f.holidays[0].from = "2027-13-01".into(),
                HolidayFrom,
                Some(1),
                Date,
            ),
            (
                |f| f.holidays[0].until = "2026-12-31".into(),
                HolidayUntil,
                Some(1),
                DateOrder,
            ),
            (
                |f| f.holidays[0].value = "all day".into(),
                HolidayPeriods,
                Some(1),
                Periods,
            ),
            (|f| f.hotlines.clear(), Hotlines, None, AtLeastOne),
            (
                |f| f.hotlines[0].value = "12".into(),
                HotlinePhone,
                Some(1),
                Phone,
            ),
            (
                |f| f.default_single_limit = "5.005".into(),
                DefaultSingleLimit,
                None,
                NotAmount,
            ),
            (
                |f| f.max_daily_limit = "0".into(),
                MaxDailyLimit,
                None,
                NotPositive,
            ),
            (
                |f| f.default_daily_limit = "2000".into(),
                DefaultDailyLimit,
                None,
                AboveMaximum,
            ),
            (
                |f| f.default_single_limit = "300".into(),
                DefaultSingleLimit,
                None,
                AboveDaily,
            ),
            (
                |f| f.cash_approval_above = "-1".into(),
                CashApprovalAbove,
                None,
                NotAmount,
            ),
            (
                |f| f.phone_binding_days = "181".into(),
                PhoneBindingDays,
                None,
                Days,
            ),
            (
                |f| f.phone_binding_days = "3.5".into(),
                PhoneBindingDays,
                None,
                Days,
            ),
            (
                |f| f.offline_code_max = "600".into(),
                OfflineCodeMax,
                None,
                AboveSingleMaximum,
            ),
        ];
        for (i, (edit, field, row, issue)) in table.into_iter().enumerate() {
            let mut form = ProfileForm::of(&demo());
            edit(&mut form);
            assert_eq!(
                form.profile(),
                Err(FieldProblem { field, row, issue }),
                "case {i}"
            );
        }
    }

    #[test]
    fn empty_rows_are_dropped_and_rows_are_counted_as_shown() {
        let mut form = ProfileForm::of(&demo());
        // An empty row before a wrong one: the wrong one is the form's second row.
        form.hotlines.insert(0, RowForm::default());
        form.hotlines.push(RowForm::default());
        assert_eq!(form.profile().map(|p| p.hotlines.len()), Ok(2));
        form.hotlines[1].value = "x".into();
        assert_eq!(
            form.profile(),
            Err(FieldProblem {
                field: HotlinePhone,
                row: Some(2),
                issue: Phone
            })
        );
    }

    #[test]
    fn a_form_knows_the_profile_it_was_filled_with() {
        let p = demo();
        let mut q = demo();
        q.office_phone = "0755-1".into();
        assert_eq!(ProfileForm::of(&p).version, version_of(&p));
        assert_eq!(version_of(&p).len(), 24);
        assert_ne!(version_of(&p), version_of(&q));
    }

    #[test]
    fn a_problem_points_at_its_input() {
        let at = |field, row| {
            FieldProblem {
                field,
                row,
                issue: Phone,
            }
            .input_name()
        };
        assert_eq!(at(HotlinePhone, Some(2)), "form[hotlines][1][value]");
        assert_eq!(at(Hotlines, None), "form[hotlines][0][name][zh]");
        assert_eq!(at(HolidayUntil, Some(1)), "form[holidays][0][until]");
        assert_eq!(at(OfficePhone, None), "form[office_phone]");
        assert_eq!(at(HoursWeekdays, Some(1)), "form[hours][0][weekdays]");
    }

    #[test]
    fn a_holiday_without_periods_is_closed() {
        let p = ProfileForm::of(&demo()).profile().unwrap();
        assert!(p.holidays[0].periods.is_empty());
        assert_eq!(p.holidays[0].from, "2027-01-01");
    }
}
