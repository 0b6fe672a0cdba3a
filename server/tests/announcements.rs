//! Announcements through the real HTTP endpoints: an administrator publishes one for a time
//! window and an audience, the home page's list and the dashboard show it to whom it is for
//! while the window is open, and withdrawing it takes it down once.
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::Money;
use chrono::Duration;
use helpers::device::{FRESH_QUERY_PASSWORD, fresh_holder};
use helpers::staff::{ok, staff_login};
use helpers::{TestApp, call, login};
use reqwest::StatusCode;
use serde_json::Value;

/// A campus-time `YYYY-MM-DDTHH:MM`, `minutes` from the server's now.
fn campus_at(app: &TestApp, minutes: i64) -> String {
    (app.state.now() + Duration::minutes(minutes) + Duration::hours(8))
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

async fn publish(
    app: &TestApp,
    admin: &str,
    title: &str,
    from: i64,
    until: i64,
    audience: &str,
    department: &str,
) -> i64 {
    let (starts, ends) = (campus_at(app, from), campus_at(app, until));
    let (status, body, _) = call(
        app,
        Some(admin),
        "admin/publish_announcement",
        &[
            ("title_zh", title),
            ("title_en", &format!("{title} (en)")),
            ("body_zh", "服务中心今天下午闭馆。"),
            ("body_en", "The service centre is closed this afternoon."),
            ("starts_at", &starts),
            ("ends_at", &ends),
            ("audience", audience),
            ("department", department),
        ],
    )
    .await;
    ok(status, &body, "publish");
    body.parse().unwrap()
}

/// The titles (Chinese) of the public list.
async fn public_titles(app: &TestApp) -> Vec<String> {
    let (status, body, _) = call(app, None, "announcements", &[]).await;
    ok(status, &body, "public list");
    titles(&serde_json::from_str(&body).unwrap())
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"]["zh"].as_str().unwrap().to_string())
        .collect()
}

async fn dashboard_titles(app: &TestApp, session: &str) -> Vec<String> {
    let (status, body, _) = call(app, Some(session), "dashboard", &[]).await;
    ok(status, &body, "dashboard");
    titles(&serde_json::from_str::<Value>(&body).unwrap()["announcements"])
}

#[tokio::test]
async fn an_announcement_shows_to_its_audience_inside_its_window_until_withdrawn() {
    let app = TestApp::spawn(2).await;
    let admin = staff_login(&app, "admin").await;
    // Fresh holders are students of 计算机工程学院.
    let student = fresh_holder(&app, 11, Money::yuan(10)).await;
    let session = login(&app, &student.login, FRESH_QUERY_PASSWORD).await;

    let everyone = publish(&app, &admin, "端午节闭馆", -60, 24 * 60, "everyone", "").await;
    publish(&app, &admin, "学生须知", -60, 24 * 60, "students", "").await;
    publish(
        &app,
        &admin,
        "计算机学院通知",
        -60,
        24 * 60,
        "department",
        "计算机工程学院",
    )
    .await;
    publish(
        &app,
        &admin,
        "艺术学院通知",
        -60,
        24 * 60,
        "department",
        "艺术设计学院",
    )
    .await;
    // Tomorrow's does not show yet.
    publish(&app, &admin, "明天的通知", 24 * 60, 48 * 60, "everyone", "").await;

    assert_eq!(public_titles(&app).await, vec!["端午节闭馆"]);
    assert_eq!(
        dashboard_titles(&app, &session).await,
        vec!["端午节闭馆", "学生须知", "计算机学院通知"]
    );

    // A day and a bit later: the first window has closed, tomorrow's is open.
    app.state.clock.advance(Duration::hours(25));
    assert_eq!(public_titles(&app).await, vec!["明天的通知"]);
    // The administrator's session ended meanwhile (staff sessions last hours, not days).
    let admin = staff_login(&app, "admin").await;

    // Withdrawn: gone at once, and only once.
    let passing = publish(&app, &admin, "临时通知", -1, 60, "everyone", "").await;
    assert_eq!(public_titles(&app).await, vec!["明天的通知", "临时通知"]);
    let (status, body, _) = call(
        &app,
        Some(&admin),
        "admin/withdraw_announcement",
        &[("id", &passing.to_string()), ("reason", "发错了")],
    )
    .await;
    ok(status, &body, "withdraw");
    assert_eq!(public_titles(&app).await, vec!["明天的通知"]);
    let (status, body, _) = call(
        &app,
        Some(&admin),
        "admin/withdraw_announcement",
        &[("id", &passing.to_string()), ("reason", "再撤一次")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("announcement_withdrawn"), "{body}");

    // The staff list has every one, the withdrawn one with its reason.
    let (status, body, _) = call(&app, Some(&admin), "admin/announcements", &[]).await;
    ok(status, &body, "staff list");
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 6);
    assert_eq!(list[0]["withdraw_reason"], "发错了");
    assert!(list.as_array().unwrap().iter().any(|a| a["id"] == everyone));
}

#[tokio::test]
async fn a_bad_announcement_is_refused_with_the_field_named() {
    let app = TestApp::spawn(2).await;
    let admin = staff_login(&app, "admin").await;
    let (starts, ends) = (campus_at(&app, 0), campus_at(&app, 60));
    // (field, value, the field named)
    let cases = [
        ("title_en", "", "title_en"),
        ("ends_at", starts.as_str(), "ends_at"),
        ("audience", "teachers", "audience"),
        ("audience", "department", "department"),
    ];
    for (name, value, refused) in cases {
        let mut form = vec![
            ("title_zh", "通知"),
            ("title_en", "Notice"),
            ("body_zh", "内容"),
            ("body_en", "Text"),
            ("starts_at", starts.as_str()),
            ("ends_at", ends.as_str()),
            ("audience", "everyone"),
            ("department", ""),
        ];
        for f in &mut form {
            if f.0 == name {
                f.1 = value;
            }
        }
        let (status, body, _) = call(&app, Some(&admin), "admin/publish_announcement", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert!(
            body.contains(&format!("\"field\":\"{refused}\"")),
            "{name}: {body}"
        );
    }
    assert!(public_titles(&app).await.is_empty());
}

/// The opening the home page shows for `date`, from its "open today?" line or its week ahead.
fn opening_on(html: &str, date: &str) -> String {
    let at = html
        .find(&format!("data-date=\"{date}\""))
        .unwrap_or_else(|| panic!("{date} is not on the home page"));
    // From the end of the element's opening tag to the end of the element.
    let rest = &html[at..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let end = rest
        .find("</li>")
        .into_iter()
        .chain(rest.find("</p>"))
        .min()
        .unwrap();
    // The text without its tags.
    let mut text = String::new();
    let mut in_tag = false;
    for c in rest[..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

#[tokio::test]
async fn the_home_page_says_whether_the_service_centre_is_open_today_holidays_first() {
    let app = TestApp::spawn(1).await;
    // A Wednesday, two days before the demo campus's New Year holiday (closed 1–3 January).
    app.state.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-12-30T10:00:00+08:00")
            .unwrap()
            .into(),
    );
    let home = app.get("/").await.text().await.unwrap();
    let today = opening_on(&home, "2026-12-30");
    assert!(
        today.contains("今天（12月30日 周三）开放：09:00–13:00, 14:00–16:30。"),
        "{today}"
    );
    assert!(
        home.contains("data-testid=\"open-today\" data-date=\"2026-12-30\""),
        "{home}"
    );
    let week: Vec<String> = ["2026-12-31", "2027-01-01", "2027-01-03", "2027-01-05"]
        .iter()
        .map(|d| opening_on(&home, d))
        .collect();
    assert!(
        week[0].contains("12月31日 周四 09:00–13:00, 14:00–16:30"),
        "{week:?}"
    );
    assert!(
        week[1].contains("1月1日 周五 不开放") && week[1].contains("元旦"),
        "{week:?}"
    );
    assert!(
        week[2].contains("1月3日 周日 不开放") && week[2].contains("元旦"),
        "{week:?}"
    );
    assert!(week[3].contains("1月5日 周二 09:00–13:00"), "{week:?}");
    assert!(
        !home.contains("data-date=\"2027-01-06\""),
        "seven days only"
    );

    // An administrator closes the centre today for a holiday of their own: the answer follows
    // at once, and a Saturday opened for a make-up working day shows its hours.
    let admin = staff_login(&app, "admin").await;
    let mut form = app::server::admin::profile_form(&app.state).await.unwrap();
    let holiday = |zh: &str, from: &str, until: &str, periods: &str| app::campus_form::RowForm {
        name: app::campus_form::TextPair {
            zh: zh.into(),
            en: format!("{zh} (en)"),
        },
        from: from.into(),
        until: until.into(),
        value: periods.into(),
        ..Default::default()
    };
    form.holidays
        .insert(0, holiday("校庆", "2026-12-30", "2026-12-30", ""));
    form.holidays
        .push(holiday("调休", "2027-01-02", "2027-01-02", "09:00-11:00"));
    let (status, body) = helpers::save_profile_form(&app, &admin, &form, "校庆闭馆").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let home = app.get("/").await.text().await.unwrap();
    let today = opening_on(&home, "2026-12-30");
    assert!(
        today.contains("今天（12月30日 周三）不开放。") && today.contains("校庆"),
        "{today}"
    );
    // The one-day entry decides 2 January inside the three days of 元旦, which still close
    // the 1st; a day no entry covers is as every week.
    let saturday = opening_on(&home, "2027-01-02");
    assert!(
        saturday.contains("1月2日 周六 09:00–11:00") && saturday.contains("调休"),
        "{saturday}"
    );
    assert!(opening_on(&home, "2027-01-01").contains("元旦"));
    assert!(opening_on(&home, "2026-12-31").contains("09:00–13:00"));

    // The same answer in English.
    let en = app.page_text("/", "i18n_pref_locale=en").await;
    let today = opening_on(&en, "2026-12-30");
    assert!(
        today.contains("Today (Wed 30 Dec) it is closed.") && today.contains("校庆 (en)"),
        "{today}"
    );

    // Hours that do not say their days of the week (a profile from before): no answer at all
    // rather than a wrong one; the holiday list is still shown.
    let mut campus = app.state.db.campus_profile().await.unwrap().unwrap();
    campus.hours.iter_mut().for_each(|h| h.weekdays.clear());
    app.state.db.save_campus_profile(&campus).await.unwrap();
    app.state.campus.put(campus);
    let home = app.get("/").await.text().await.unwrap();
    assert!(!home.contains("data-testid=\"open-today\""), "{home}");
    assert!(home.contains("data-testid=\"holiday-hours\""));
    app.stop().await;
}
