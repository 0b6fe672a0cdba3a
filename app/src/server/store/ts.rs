//! `Ts`: a timestamp as both backends store it, so that one SQL text binds and reads it on
//! either. Whole milliseconds, UTC. SQLite keeps it as RFC 3339 text with a fixed precision and
//! a `Z` (`2026-10-14T02:30:00.000Z`), so that text order is time order and a `>=` in SQL
//! compares times; PostgreSQL keeps it as `TIMESTAMPTZ`. The same instant reads back the same
//! on both, and `Ts::text` prints it exactly as SQLite stores it (what the views carry).

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub DateTime<Utc>);

impl Ts {
    /// `t` truncated to whole milliseconds, the stored precision.
    pub fn new(t: DateTime<Utc>) -> Ts {
        Ts(t.trunc_subsecs(3))
    }

    /// RFC 3339 UTC text with milliseconds, as SQLite stores it.
    pub fn text(self) -> String {
        text(self.0)
    }

    pub fn parse(text: &str) -> Result<Ts, super::StoreError> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| Ts::new(t.with_timezone(&Utc)))
            .map_err(|e| super::StoreError::Corrupt(format!("timestamp {text}: {e}")))
    }
}

/// RFC 3339 UTC text with fixed millisecond precision: the stored form on SQLite and the form
/// every view and cursor carries.
pub fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl From<DateTime<Utc>> for Ts {
    fn from(t: DateTime<Utc>) -> Ts {
        Ts::new(t)
    }
}

/// The text every view carries (`Ts::text`): lets a view read a timestamp column with
/// `#[sqlx(try_from = "Ts")]`.
impl From<Ts> for String {
    fn from(t: Ts) -> String {
        t.text()
    }
}

impl From<Ts> for DateTime<Utc> {
    fn from(t: Ts) -> DateTime<Utc> {
        t.0
    }
}

impl Type<Sqlite> for Ts {
    fn type_info() -> <Sqlite as sqlx::Database>::TypeInfo {
        <str as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &<Sqlite as sqlx::Database>::TypeInfo) -> bool {
        <str as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(self.text(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: <Sqlite as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Ts::parse(text)?)
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> <Postgres as sqlx::Database>::TypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &<Postgres as sqlx::Database>::TypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as sqlx::Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<Postgres>>::encode(self.0.trunc_subsecs(3), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: <Postgres as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(<DateTime<Utc> as Decode<Postgres>>::decode(value)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_is_fixed_width_so_text_order_is_time_order() {
        let cases = [
            (
                Utc.with_ymd_and_hms(2026, 10, 14, 2, 30, 0).unwrap(),
                "2026-10-14T02:30:00.000Z",
            ),
            (
                Utc.timestamp_millis_opt(1_792_000_000_123).unwrap(),
                "2026-10-14T17:46:40.123Z",
            ),
        ];
        for (t, want) in cases {
            assert_eq!(Ts::new(t).text(), want);
            assert_eq!(Ts::parse(want).unwrap(), Ts::new(t));
        }
        let a = Ts::new(Utc.with_ymd_and_hms(2026, 9, 30, 23, 59, 59).unwrap());
        let b = Ts::new(Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap());
        assert!(a.text() < b.text() && a < b);
    }

    #[test]
    fn sub_millisecond_digits_are_dropped() {
        let t = Utc.timestamp_nanos(1_792_000_000_123_456_789);
        assert_eq!(Ts::new(t).text(), "2026-10-14T17:46:40.123Z");
        assert!(Ts::parse("yesterday").is_err());
    }
}
