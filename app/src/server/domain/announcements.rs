//! Announcements (#18): what the card office tells everyone, the students, or one department,
//! in Chinese and English, for a time window.
//!
//! The rules:
//! - both languages have a title (at most `MAX_TITLE` characters) and a text (at most
//!   `MAX_BODY`); the window is given in campus time, ends after it starts and after now, and
//!   lasts at most `MAX_DAYS`; a department audience names the department;
//! - an announcement is shown while now is inside its window and it is not withdrawn: to
//!   everyone (the public home page too), to students only, or to the holders of its department;
//! - withdrawing takes a reason and happens once.

use crate::audit_text::{AuditText, Fact};
use crate::model::{Audience, HolderKind, Localized};
use crate::portal_model::Problem;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};

pub const MAX_TITLE: usize = 60;
pub const MAX_BODY: usize = 1_000;
pub const MAX_DAYS: i64 = 366;
pub const MAX_DEPARTMENT: usize = 40;

/// An announcement as typed, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementDraft {
    pub title: Localized,
    pub body: Localized,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub audience: Audience,
    /// The department, for `Audience::Department`; empty otherwise.
    pub department: String,
}

/// The fields of the form, as typed. Times are campus time, `YYYY-MM-DDTHH:MM` (what a
/// `datetime-local` input sends).
#[derive(Debug, Clone, Default)]
pub struct DraftForm<'a> {
    pub title_zh: &'a str,
    pub title_en: &'a str,
    pub body_zh: &'a str,
    pub body_en: &'a str,
    pub starts_at: &'a str,
    pub ends_at: &'a str,
    pub audience: &'a str,
    pub department: &'a str,
}

fn field(name: &str) -> Problem {
    Problem::EnrolField {
        field: name.to_string(),
    }
}

fn text(value: &str, max: usize, name: &str) -> Result<String, Problem> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(field(name));
    }
    Ok(t.to_string())
}

/// A campus-time `YYYY-MM-DDTHH:MM` as an instant.
fn campus_instant(value: &str, name: &str) -> Result<DateTime<Utc>, Problem> {
    let local =
        NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M").map_err(|_| field(name))?;
    local
        .and_local_timezone(super::calendar::campus_tz())
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| field(name))
}

/// Checks an announcement's form at `now`; a refusal names the field.
pub fn check_draft(form: &DraftForm<'_>, now: DateTime<Utc>) -> Result<AnnouncementDraft, Problem> {
    let title = Localized::new(
        text(form.title_zh, MAX_TITLE, "title_zh")?,
        text(form.title_en, MAX_TITLE, "title_en")?,
    );
    let body = Localized::new(
        text(form.body_zh, MAX_BODY, "body_zh")?,
        text(form.body_en, MAX_BODY, "body_en")?,
    );
    let starts_at = campus_instant(form.starts_at, "starts_at")?;
    let ends_at = campus_instant(form.ends_at, "ends_at")?;
    if ends_at <= starts_at || ends_at <= now || ends_at - starts_at > Duration::days(MAX_DAYS) {
        return Err(field("ends_at"));
    }
    let audience = Audience::parse(form.audience.trim()).ok_or_else(|| field("audience"))?;
    let department = match audience {
        Audience::Department => text(form.department, MAX_DEPARTMENT, "department")?,
        _ => String::new(),
    };
    Ok(AnnouncementDraft {
        title,
        body,
        starts_at,
        ends_at,
        audience,
        department,
    })
}

/// Who is looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer<'a> {
    /// Anyone on the public pages.
    Public,
    /// A logged-in holder, with their kind and department.
    Holder(HolderKind, &'a str),
}

/// An announcement as stored, for deciding who sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown<'a> {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub withdrawn: bool,
    pub audience: Audience,
    pub department: &'a str,
}

/// Whether `viewer` sees the announcement at `now`.
pub fn shown(a: &Shown<'_>, viewer: Viewer<'_>, now: DateTime<Utc>) -> bool {
    if a.withdrawn || now < a.starts_at || now >= a.ends_at {
        return false;
    }
    match (a.audience, viewer) {
        (Audience::Everyone, _) => true,
        (_, Viewer::Public) => false,
        (Audience::Students, Viewer::Holder(kind, _)) => kind == HolderKind::Student,
        (Audience::Department, Viewer::Holder(_, department)) => department == a.department,
    }
}

/// Whether an announcement may be withdrawn (None: there is no such announcement).
pub fn decide_withdraw(withdrawn: Option<bool>) -> Result<(), Problem> {
    match withdrawn {
        None => Err(Problem::NoSuchAnnouncement),
        Some(true) => Err(Problem::AnnouncementWithdrawn),
        Some(false) => Ok(()),
    }
}

/// What a published announcement's audit record says: its number, its Chinese title and its
/// window.
pub fn publish_audit(id: i64, draft: &AnnouncementDraft) -> AuditText {
    AuditText::from(Fact::Announcement(id))
        .and(Fact::Text(draft.title.zh.clone()))
        .and(Fact::Until(draft.ends_at.to_rfc3339()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn form<'a>(
        starts: &'a str,
        ends: &'a str,
        audience: &'a str,
        department: &'a str,
    ) -> DraftForm<'a> {
        DraftForm {
            title_zh: "端午节服务安排",
            title_en: "Dragon Boat Festival hours",
            body_zh: "服务中心端午节闭馆。",
            body_en: "The service centre is closed for the festival.",
            starts_at: starts,
            ends_at: ends,
            audience,
            department,
        }
    }

    #[test]
    fn a_draft_is_checked_field_by_field() {
        let now = utc("2026-12-07T02:00:00Z"); // 10:00 on campus
        let ok = check_draft(
            &form("2026-12-07T09:00", "2026-12-10T18:00", "everyone", "x"),
            now,
        )
        .unwrap();
        assert_eq!(
            ok.starts_at,
            utc("2026-12-07T01:00:00Z"),
            "campus time is UTC+8"
        );
        assert_eq!(ok.ends_at, utc("2026-12-10T10:00:00Z"));
        assert_eq!(
            ok.department, "",
            "a department is kept only for a department audience"
        );
        let dept = check_draft(
            &form(
                "2026-12-08T00:00",
                "2026-12-09T00:00",
                "department",
                " 计算机工程学院 ",
            ),
            now,
        )
        .unwrap();
        assert_eq!(
            (dept.audience, dept.department.as_str()),
            (Audience::Department, "计算机工程学院")
        );
        // A window that started earlier is fine while it has not ended.
        assert!(
            check_draft(
                &form("2026-12-01T00:00", "2026-12-07T10:01", "students", ""),
                now
            )
            .is_ok()
        );

        let long_title = "节".repeat(61);
        // (the form, the field refused)
        let cases = [
            (
                DraftForm {
                    title_zh: " ",
                    ..form("2026-12-07T09:00", "2026-12-10T18:00", "everyone", "")
                },
                "title_zh",
            ),
            (
                DraftForm {
                    title_en: "",
                    ..form("2026-12-07T09:00", "2026-12-10T18:00", "everyone", "")
                },
                "title_en",
            ),
            (
                DraftForm {
                    title_zh: &long_title,
                    ..form("2026-12-07T09:00", "2026-12-10T18:00", "everyone", "")
                },
                "title_zh",
            ),
            (
                DraftForm {
                    body_en: "",
                    ..form("2026-12-07T09:00", "2026-12-10T18:00", "everyone", "")
                },
                "body_en",
            ),
            (
                form("2026-12-07 09:00", "2026-12-10T18:00", "everyone", ""),
                "starts_at",
            ),
            (
                form("2026-12-07T09:00", "tomorrow", "everyone", ""),
                "ends_at",
            ),
            // Ends before it starts, has ended already, or runs longer than a year.
            (
                form("2026-12-10T09:00", "2026-12-09T09:00", "everyone", ""),
                "ends_at",
            ),
            (
                form("2026-12-01T09:00", "2026-12-07T10:00", "everyone", ""),
                "ends_at",
            ),
            (
                form("2026-12-07T09:00", "2027-12-09T09:00", "everyone", ""),
                "ends_at",
            ),
            (
                form("2026-12-07T09:00", "2026-12-10T18:00", "teachers", ""),
                "audience",
            ),
            (
                form("2026-12-07T09:00", "2026-12-10T18:00", "department", " "),
                "department",
            ),
        ];
        for (f, refused) in cases {
            assert_eq!(check_draft(&f, now), Err(field(refused)), "{f:?}");
        }
    }

    #[test]
    fn who_sees_an_announcement_and_when() {
        let a = |audience, withdrawn| Shown {
            starts_at: utc("2026-12-07T00:00:00Z"),
            ends_at: utc("2026-12-08T00:00:00Z"),
            withdrawn,
            audience,
            department: "计算机工程学院",
        };
        let inside = utc("2026-12-07T12:00:00Z");
        let student_cs = Viewer::Holder(HolderKind::Student, "计算机工程学院");
        let faculty_cs = Viewer::Holder(HolderKind::Faculty, "计算机工程学院");
        let student_art = Viewer::Holder(HolderKind::Student, "艺术设计学院");
        use Audience::*;
        // (audience, withdrawn, viewer, now, shown)
        let cases = [
            (Everyone, false, Viewer::Public, inside, true),
            (Everyone, false, faculty_cs, inside, true),
            (Students, false, Viewer::Public, inside, false),
            (Students, false, student_art, inside, true),
            (Students, false, faculty_cs, inside, false),
            (Department, false, Viewer::Public, inside, false),
            (Department, false, faculty_cs, inside, true),
            (Department, false, student_cs, inside, true),
            (Department, false, student_art, inside, false),
            // The window: from its start (inclusive) to its end (exclusive).
            (
                Everyone,
                false,
                Viewer::Public,
                utc("2026-12-07T00:00:00Z"),
                true,
            ),
            (
                Everyone,
                false,
                Viewer::Public,
                utc("2026-12-06T23:59:59Z"),
                false,
            ),
            (
                Everyone,
                false,
                Viewer::Public,
                utc("2026-12-08T00:00:00Z"),
                false,
            ),
            // Withdrawn: nobody.
            (Everyone, true, Viewer::Public, inside, false),
            (Department, true, student_cs, inside, false),
        ];
        for (audience, withdrawn, viewer, now, want) in cases {
            assert_eq!(
                shown(&a(audience, withdrawn), viewer, now),
                want,
                "{audience:?} {withdrawn} {viewer:?} {now}"
            );
        }
    }

    #[test]
    fn an_announcement_is_withdrawn_once() {
        assert_eq!(decide_withdraw(Some(false)), Ok(()));
        assert_eq!(
            decide_withdraw(Some(true)),
            Err(Problem::AnnouncementWithdrawn)
        );
        assert_eq!(decide_withdraw(None), Err(Problem::NoSuchAnnouncement));
    }
}
