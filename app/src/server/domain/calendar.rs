//! Time on campus: China Standard Time all year (no daylight saving). The campus day runs from
//! local midnight to local midnight; daily limits, a till's takings and the day's reports all
//! count from its start.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

/// The campus clock's offset: UTC+8.
pub fn campus_tz() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("8 hours is a valid offset"))
}

/// Local midnight at the start of `date`, as a UTC instant.
pub fn local_midnight(date: NaiveDate) -> DateTime<Utc> {
    match campus_tz()
        .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .single()
    {
        Some(t) => t.with_timezone(&Utc),
        None => unreachable!("a fixed offset has one midnight"),
    }
}

/// The campus date at `now`.
pub fn campus_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&campus_tz()).date_naive()
}

/// The start of the campus day that `now` falls in.
pub fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    local_midnight(campus_date(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_campus_day_starts_at_local_midnight() {
        // (now, the campus date, the day's start in UTC)
        let cases = [
            ("2026-10-14T02:30:00Z", "2026-10-14", "2026-10-13T16:00:00Z"),
            // 23:59:59 campus time is still the same day; one second later is the next.
            ("2026-10-14T15:59:59Z", "2026-10-14", "2026-10-13T16:00:00Z"),
            ("2026-10-14T16:00:00Z", "2026-10-15", "2026-10-14T16:00:00Z"),
            // New Year on campus is 16:00 UTC on 31 December.
            ("2026-12-31T16:00:00Z", "2027-01-01", "2026-12-31T16:00:00Z"),
            ("2028-02-28T17:00:00Z", "2028-02-29", "2028-02-28T16:00:00Z"),
        ];
        for (now, date, start) in cases {
            let now = utc(now);
            assert_eq!(campus_date(now).to_string(), date, "{now}");
            assert_eq!(day_start(now), utc(start), "{now}");
            assert!(day_start(now) <= now && now - day_start(now) < chrono::Duration::days(1));
        }
    }
}
