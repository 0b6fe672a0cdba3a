//! When the service centre is open on a given day: a holiday entry that covers the day
//! decides it (closed when it has no periods), else the regular hours of that day of the week.
//! One rule, used by the home page's "open today?" and its week ahead; compiled into the
//! server and the browser.

use crate::model::{CampusProfile, Localized};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// One day's opening, as the home page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHours {
    /// The campus date, "YYYY-MM-DD".
    pub date: String,
    /// The day of the week, 1 for Monday to 7 for Sunday.
    pub weekday: u8,
    /// The holiday entry that decides the day, if one does.
    pub holiday: Option<Localized>,
    /// When it is open; none means closed all day.
    pub periods: Vec<String>,
}

impl DayHours {
    pub fn open(&self) -> bool {
        !self.periods.is_empty()
    }
}

/// The opening on `date`. A holiday entry covering it wins over the regular hours: the
/// shortest of them when several do (a day closed inside the winter break), the first listed
/// of equal length. A day of the week that no regular entry names is closed; its periods
/// come in the order of the day, each once. `None` when the regular hours do not
/// say their days of the week (a profile saved before they were asked for): then nobody can
/// tell, and the page says nothing rather than something wrong.
pub fn hours_on(profile: &CampusProfile, date: NaiveDate) -> Option<DayHours> {
    let weekday = date.weekday().number_from_monday() as u8;
    let day = |holiday, periods| DayHours {
        date: date.format("%Y-%m-%d").to_string(),
        weekday,
        holiday,
        periods,
    };
    let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let holiday = profile
        .holidays
        .iter()
        .filter_map(|h| match (parse(&h.from), parse(&h.until)) {
            (Some(a), Some(b)) if a <= date && date <= b => Some((b - a, h)),
            _ => None,
        })
        // `min_by_key` keeps the first of equal keys.
        .min_by_key(|(span, _)| *span);
    if let Some((_, h)) = holiday {
        return Some(day(Some(h.name.clone()), h.periods.clone()));
    }
    if profile.hours.iter().any(|h| h.weekdays.is_empty()) {
        return None;
    }
    let mut periods: Vec<String> = profile
        .hours
        .iter()
        .filter(|h| h.weekdays.contains(&weekday))
        .flat_map(|h| h.periods.iter().cloned())
        .collect();
    // "HH:MM–HH:MM" sorts by its start.
    periods.sort();
    periods.dedup();
    Some(day(None, periods))
}

/// `days` days from `first` on (today and the days after it).
pub fn days_from(profile: &CampusProfile, first: NaiveDate, days: u32) -> Option<Vec<DayHours>> {
    first
        .iter_days()
        .take(days as usize)
        .map(|d| hours_on(profile, d))
        .collect()
}

/// Days of the week as an administrator types them: numbers 1 (Monday) to 7 (Sunday), single
/// or as ranges, separated by commas ("1-5", "6, 7", "1-3,5"). Sorted, each once; `None` when
/// the text says anything else or names no day.
pub fn parse_weekdays(text: &str) -> Option<Vec<u8>> {
    let mut days = Vec::new();
    for part in text.split([',', '，', ';', '；']).map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let day = |s: &str| {
            let s = s.trim();
            (s.len() == 1)
                .then(|| s.parse::<u8>().ok())
                .flatten()
                .filter(|d| (1..=7).contains(d))
        };
        let (a, b) = match part.split_once(['-', '–', '~']) {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(part)?, day(part)?),
        };
        if a > b {
            return None;
        }
        days.extend(a..=b);
    }
    days.sort_unstable();
    days.dedup();
    (!days.is_empty()).then_some(days)
}

/// The days of the week written back the way `parse_weekdays` reads them, runs as ranges
/// ("1-5", "6-7", "1, 3-5").
pub fn weekdays_text(days: &[u8]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j + 1] == days[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            days[i].to_string()
        } else {
            format!("{}-{}", days[i], days[j])
        });
        i = j + 1;
    }
    parts.join(", ")
}

// The demo campus is the server's (`ssr`), where these run.
#[cfg(test)]
#[cfg(feature = "ssr")]
mod tests {
    use super::*;
    use crate::model::{HolidayHours, OpeningHours};

    fn profile(
        hours: &[(&[u8], &[&str])],
        holidays: &[(&str, &str, &str, &[&str])],
    ) -> CampusProfile {
        let mut p = crate::server::campus::demo_profile();
        p.hours = hours
            .iter()
            .map(|(days, periods)| OpeningHours {
                days: Localized::new("日", "days"),
                weekdays: days.to_vec(),
                periods: periods.iter().map(|s| s.to_string()).collect(),
            })
            .collect();
        p.holidays = holidays
            .iter()
            .map(|(name, from, until, periods)| HolidayHours {
                name: Localized::new(*name, *name),
                from: from.to_string(),
                until: until.to_string(),
                periods: periods.iter().map(|s| s.to_string()).collect(),
            })
            .collect();
        p
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_holiday_decides_its_days_and_the_week_decides_the_rest() {
        let week: &[(&[u8], &[&str])] = &[
            (&[1, 2, 3, 4, 5], &["14:00–17:00"]),
            (&[6], &["10:00–12:00"]),
            // A second entry for the working days: its morning comes first, the same
            // afternoon once.
            (&[1, 2, 3, 4, 5], &["09:00–12:00", "14:00–17:00"]),
        ];
        let holidays: &[(&str, &str, &str, &[&str])] = &[
            ("国庆节", "2026-10-01", "2026-10-07", &[]),
            ("调休上班", "2026-10-10", "2026-10-11", &["09:00–12:00"]),
            ("重叠", "2026-10-07", "2026-10-08", &["08:00–09:00"]),
            ("寒假", "2027-01-18", "2027-02-21", &["10:00–12:00"]),
            ("停电", "2027-01-20", "2027-01-20", &[]),
            ("同长甲", "2027-03-01", "2027-03-01", &["09:00–10:00"]),
            ("同长乙", "2027-03-01", "2027-03-01", &[]),
        ];
        let p = profile(week, holidays);
        // (date, weekday, the deciding holiday, the periods)
        let cases: &[(&str, u8, Option<&str>, &[&str])] = &[
            // A regular Wednesday, Saturday and Sunday (no entry names Sunday: closed).
            ("2026-10-14", 3, None, &["09:00–12:00", "14:00–17:00"]),
            ("2026-10-17", 6, None, &["10:00–12:00"]),
            ("2026-10-18", 7, None, &[]),
            // A holiday with no periods closes its first and last day, a working day too.
            ("2026-10-01", 4, Some("国庆节"), &[]),
            ("2026-10-06", 2, Some("国庆节"), &[]),
            // The shortest entry covering a day wins: on 7 October the two-day one over the
            // week-long holiday; a day closed inside the winter break; of two as long, the
            // first listed.
            ("2026-10-07", 3, Some("重叠"), &["08:00–09:00"]),
            ("2026-10-08", 4, Some("重叠"), &["08:00–09:00"]),
            ("2027-01-19", 2, Some("寒假"), &["10:00–12:00"]),
            ("2027-01-20", 3, Some("停电"), &[]),
            ("2027-03-01", 1, Some("同长甲"), &["09:00–10:00"]),
            // A make-up working Sunday opens with its own periods.
            ("2026-10-11", 7, Some("调休上班"), &["09:00–12:00"]),
            ("2026-09-30", 3, None, &["09:00–12:00", "14:00–17:00"]),
        ];
        for (d, weekday, holiday, periods) in cases {
            let got = hours_on(&p, date(d)).unwrap();
            assert_eq!(got.date, *d);
            assert_eq!(got.weekday, *weekday, "{d}");
            assert_eq!(got.holiday.as_ref().map(|h| h.zh.as_str()), *holiday, "{d}");
            assert_eq!(got.periods, *periods, "{d}");
            assert_eq!(got.open(), !periods.is_empty(), "{d}");
        }
    }

    #[test]
    fn hours_without_their_days_of_the_week_answer_nothing_but_a_holiday_still_does() {
        let p = profile(
            &[(&[], &["09:00–12:00"])],
            &[("元旦", "2027-01-01", "2027-01-03", &[])],
        );
        assert_eq!(hours_on(&p, date("2026-12-07")), None);
        assert_eq!(days_from(&p, date("2026-12-07"), 7), None);
        assert_eq!(
            hours_on(&p, date("2027-01-02"))
                .unwrap()
                .holiday
                .unwrap()
                .zh,
            "元旦"
        );
    }

    #[test]
    fn a_week_ahead_runs_over_the_month_and_year_end() {
        let p = profile(&[(&[1, 2, 3, 4, 5], &["09:00–12:00"])], &[]);
        let week = days_from(&p, date("2026-12-28"), 7).unwrap();
        let dates: Vec<_> = week.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(
            dates,
            [
                "2026-12-28",
                "2026-12-29",
                "2026-12-30",
                "2026-12-31",
                "2027-01-01",
                "2027-01-02",
                "2027-01-03"
            ]
        );
        let open: Vec<_> = week.iter().map(DayHours::open).collect();
        assert_eq!(open, [true, true, true, true, true, false, false]);
    }

    #[test]
    fn days_of_the_week_are_read_as_typed_and_written_back_the_same() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("1-5", Some(&[1, 2, 3, 4, 5])),
            ("1–5", Some(&[1, 2, 3, 4, 5])),
            ("6, 7", Some(&[6, 7])),
            ("7,6,6", Some(&[6, 7])),
            ("1-3，5", Some(&[1, 2, 3, 5])),
            (" 3 ", Some(&[3])),
            ("", None),
            (" , ", None),
            ("0", None),
            ("8", None),
            ("5-1", None),
            ("1-", None),
            ("周一", None),
            ("12", None),
            ("1.5", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_weekdays(text).as_deref(), *want, "{text:?}");
        }
        for days in [
            &[1u8, 2, 3, 4, 5][..],
            &[6, 7],
            &[1, 3, 4, 5],
            &[2],
            &[1, 3, 5, 7],
        ] {
            let text = weekdays_text(days);
            assert_eq!(parse_weekdays(&text).as_deref(), Some(days), "{text}");
        }
        assert_eq!(weekdays_text(&[1, 3, 4, 5]), "1, 3-5");
    }
}
