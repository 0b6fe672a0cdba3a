//! The portal's inbox over real HTTP: a till payment makes exactly one notice with its amount
//! and place (a retried payment none more), the holder's choices decide what is told, security
//! notices cannot be switched off, and each holder sees and marks only their own.
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::Money;
use helpers::device::{FRESH_QUERY_PASSWORD, device, fresh_holder};
use helpers::{TestApp, call, login, login_from, save_prefs};
use reqwest::StatusCode;
use serde_json::Value;

async fn inbox(app: &TestApp, cookie: &str) -> Value {
    let (status, body, _) = call(app, Some(cookie), "notices", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn kinds(page: &Value) -> Vec<String> {
    page["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_till_payment_makes_one_notice_with_its_amount_and_place() {
    let app = TestApp::spawn(3).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let h = fresh_holder(&app, 1, Money::yuan(100)).await;
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    // The top-up that made the holder's balance is told (the default choices).
    let first = inbox(&app, &cookie).await;
    assert_eq!(kinds(&first), vec!["topup"], "{first}");
    assert_eq!(first["notices"][0]["amount"], 10_000);
    assert_eq!(first["unread"], 1);
    // A sale of ¥18.50, sent three times by the till: one payment, one notice.
    for _ in 0..3 {
        let sale = pos
            .pay(&app, "notice-sale-1", 1850, Some(&h.serial), None, None)
            .await;
        assert_eq!(sale["approved"], true, "{sale}");
    }
    let page = inbox(&app, &cookie).await;
    assert_eq!(kinds(&page), vec!["payment", "topup"], "{page}");
    let paid = &page["notices"][0];
    assert_eq!(paid["amount"], 1850);
    assert_eq!(paid["balance"], 10_000 - 1850);
    assert_eq!(paid["place"]["zh"], "东区第一食堂", "{paid}");
    assert_eq!(paid["read"], false);
    assert_eq!(page["unread"], 2);
    // The bell's count comes with the holder.
    let (_, me, _) = call(&app, Some(&cookie), "me", &[]).await;
    let me: Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["unread"], 2, "{me}");
    // Marking read up to the newest shown; a notice that comes later stays unread.
    let newest = paid["id"].as_i64().unwrap().to_string();
    let (status, marked, _) = call(
        &app,
        Some(&cookie),
        "mark_notices_read",
        &[("up_to", &newest)],
    )
    .await;
    assert_eq!((status, marked.as_str()), (StatusCode::OK, "2"));
    let sale = pos
        .pay(&app, "notice-sale-2", 700, Some(&h.serial), None, None)
        .await;
    assert_eq!(sale["approved"], true, "{sale}");
    let page = inbox(&app, &cookie).await;
    assert_eq!(page["unread"], 1);
    assert_eq!(page["notices"][0]["read"], false);
    assert_eq!(page["notices"][1]["read"], true);
    // A declined sale tells nothing.
    let declined = pos
        .pay(&app, "notice-sale-3", 100_000, Some(&h.serial), None, None)
        .await;
    assert_eq!(declined["approved"], false, "{declined}");
    assert_eq!(
        inbox(&app, &cookie).await["notices"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.stop().await;
}

#[tokio::test]
async fn the_holders_choices_decide_what_is_told_but_not_security() {
    let app = TestApp::spawn(3).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let h = fresh_holder(&app, 2, Money::yuan(100)).await;
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    // Bad thresholds are refused with the reason, and nothing changes.
    for form in [
        &[("payments", "above"), ("payment_above", "0")][..],
        &[("payments", "above"), ("payment_above", "2000.01")][..],
        &[("payments", "above"), ("payment_above", "abc")][..],
        &[
            ("payments", "every"),
            ("low_balance", "on"),
            ("low_balance_below", ""),
        ][..],
        &[("payments", "sometimes")][..],
    ] {
        let (status, body) = save_prefs(&app, &cookie, form).await;
        assert!(status.is_client_error(), "{form:?}: {status} {body}");
        assert!(body.contains("notice_amount"), "{body}");
    }
    assert_eq!(
        inbox(&app, &cookie).await["prefs"]["payment_above"],
        0,
        "the defaults stand"
    );
    // Only payments above ¥30, and a balance below ¥60; top-ups not told.
    let (status, body) = save_prefs(
        &app,
        &cookie,
        &[
            ("payments", "above"),
            ("payment_above", "30"),
            ("low_balance", "on"),
            ("low_balance_below", "60"),
            ("bills", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let saved: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(saved["payment_above"], 3000);
    assert_eq!(saved["low_balance_below"], 6000);
    assert_eq!(saved["topups"], false);
    let before = inbox(&app, &cookie).await["notices"]
        .as_array()
        .unwrap()
        .len();
    let pay = async |id: &str, fen: i64| {
        let sale = pos.pay(&app, id, fen, Some(&h.serial), None, None).await;
        assert_eq!(sale["approved"], true, "{sale}");
    };
    pay("choice-1", 3000).await; // ¥30 is not above ¥30; balance 70
    pay("choice-2", 3001).await; // told; balance 39.99, below 60: told once
    pay("choice-3", 500).await; // below already: nothing
    let page = inbox(&app, &cookie).await;
    let new: Vec<String> =
        kinds(&page)[..page["notices"].as_array().unwrap().len() - before].to_vec();
    assert_eq!(new, vec!["low_balance", "payment"], "{page}");
    assert_eq!(page["notices"][0]["amount"], 6000);
    assert_eq!(page["notices"][0]["balance"], 10_000 - 3000 - 3001);
    // Nothing at all about payments or balances: a lost report is still told.
    let (status, body) = save_prefs(&app, &cookie, &[("payments", "none")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    pay("choice-4", 100).await;
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "card_loss",
        &[("password", FRESH_QUERY_PASSWORD), ("lost", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = inbox(&app, &cookie).await;
    assert_eq!(kinds(&page)[0], "card_lost", "{page}");
    assert_eq!(kinds(&page).len(), 4, "no payment notice: {page}");
    app.stop().await;
}

#[tokio::test]
async fn each_holder_sees_and_marks_only_their_own() {
    let app = TestApp::spawn(3).await;
    let a = fresh_holder(&app, 3, Money::yuan(20)).await;
    let b = fresh_holder(&app, 4, Money::yuan(30)).await;
    let a_cookie = login(&app, &a.login, FRESH_QUERY_PASSWORD).await;
    let b_cookie = login(&app, &b.login, FRESH_QUERY_PASSWORD).await;
    let a_page = inbox(&app, &a_cookie).await;
    let b_page = inbox(&app, &b_cookie).await;
    assert_eq!(a_page["notices"][0]["amount"], 2000);
    assert_eq!(b_page["notices"][0]["amount"], 3000);
    // B marks "everything up to a huge number": only B's own.
    let (status, marked, _) = call(
        &app,
        Some(&b_cookie),
        "mark_notices_read",
        &[("up_to", "999999999")],
    )
    .await;
    assert_eq!((status, marked.as_str()), (StatusCode::OK, "1"));
    assert_eq!(inbox(&app, &a_cookie).await["unread"], 1);
    let (status, _, _) = call(
        &app,
        Some(&b_cookie),
        "mark_notices_read",
        &[("up_to", "x")],
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    // No session: nothing.
    for endpoint in ["notices", "mark_notices_read", "save_notice_prefs"] {
        let (status, body, _) = call(
            &app,
            None,
            endpoint,
            &[("up_to", "1"), ("payments", "none")],
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{endpoint}: {body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bills_tell_each_holder_once_and_paying_one_can_cross_the_threshold() {
    use helpers::staff::{ok, staff_login};
    let app = TestApp::spawn(2).await;
    let op = staff_login(&app, "operator").await;
    let a = fresh_holder(&app, 5, Money::yuan(40)).await;
    let b = fresh_holder(&app, 6, Money::yuan(40)).await;
    let a_cookie = login(&app, &a.login, FRESH_QUERY_PASSWORD).await;
    let b_cookie = login(&app, &b.login, FRESH_QUERY_PASSWORD).await;
    // A list with two bills for A and one for B: each hears of theirs once.
    let due = (app.state.now() + chrono::Duration::days(14) + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let csv = format!(
        "学号,项目,开单部门,金额,截止日期\n{a},补考费,教务处,25,{due}\n{a},图书逾期,图书馆,1,{due}\n{b},补考费,教务处,25,{due}\n",
        a = a.login,
        b = b.login
    );
    let (status, body, _) = call(
        &app,
        Some(&op),
        "staff/issue_bills",
        &[("csv", &csv), ("file_name", "list.csv")],
    )
    .await;
    ok(status, &body, "issue a list");
    assert_eq!(
        kinds(&inbox(&app, &a_cookie).await),
        vec!["bill_issued", "topup"]
    );
    assert_eq!(
        kinds(&inbox(&app, &b_cookie).await),
        vec!["bill_issued", "topup"]
    );
    // A pays its ¥25 bill from ¥40: below the default ¥20, told with the balance.
    let (_, bills, _) = call(&app, Some(&a_cookie), "bills", &[]).await;
    let bills: Value = serde_json::from_str(&bills).unwrap();
    let resit = bills["unpaid"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["amount"] == 2500)
        .unwrap_or_else(|| panic!("{bills}"))["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let (status, body, _) = call(&app, Some(&a_cookie), "pay_bill", &[("bill_id", &resit)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = inbox(&app, &a_cookie).await;
    assert_eq!(kinds(&page)[0], "low_balance", "{page}");
    assert_eq!(page["notices"][0]["balance"], 1500);
    assert_eq!(page["notices"][0]["amount"], 2000);
    app.stop().await;
}

#[tokio::test]
async fn notices_are_kept_a_year_and_a_day_and_one_still_being_emailed_until_it_is_done() {
    use app::server::store::{NewDelivery, Tried};
    use chrono::Duration;
    let app = TestApp::spawn(3).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let h = fresh_holder(&app, 5, Money::yuan(100)).await;
    let sale = pos
        .pay(&app, "kept-1", 1850, Some(&h.serial), None, None)
        .await;
    assert_eq!(sale["approved"], true, "{sale}");
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    let first = inbox(&app, &cookie).await;
    assert_eq!(kinds(&first), vec!["payment", "topup"], "{first}");
    let id = |n: usize| first["notices"][n]["id"].as_i64().unwrap();
    // Each went by e-mail too: the top-up's was sent, the payment's is still being tried.
    for (notice, key) in [(id(1), "kept-topup"), (id(0), "kept-payment")] {
        let delivery = NewDelivery {
            holder_id: h.id,
            notice_id: Some(notice),
            channel: app::server::domain::notices::Channel::Email,
            address: "holder@campus.test".into(),
            subscription_id: None,
            subject: "notice".into(),
            body: "notice".into(),
            key: key.into(),
            next_at: app.state.now(),
        };
        app.state
            .db
            .dispatch_notice(notice, std::slice::from_ref(&delivery))
            .await
            .unwrap();
    }
    let take = || async {
        let now = app.state.now();
        app.state
            .db
            .take_delivery(now, now + Duration::minutes(2))
            .await
            .unwrap()
            .unwrap()
    };
    let sent = take().await;
    assert_eq!(sent.key, "kept-topup");
    let now = app.state.now();
    assert!(
        app.state
            .db
            .finish_delivery(&sent, &Tried::Sent, now)
            .await
            .unwrap()
    );
    let trying = take().await;
    assert_eq!(trying.key, "kept-payment");
    let again = Tried::Again {
        at: now + Duration::days(369),
        error: "mailbox full".into(),
    };
    assert!(
        app.state
            .db
            .finish_delivery(&trying, &again, now)
            .await
            .unwrap()
    );

    // A day short of a year and a day: everything is kept.
    app.state.clock.advance(Duration::days(365));
    assert_eq!(
        app::server::notices::prune(&app.state).await.unwrap(),
        (0, 0)
    );
    // A year and a day on, with a new payment: the top-up's notice and its sent e-mail go; the
    // payment whose e-mail is still being tried stays, and the new one.
    app.state.clock.advance(Duration::days(2));
    let sale = pos
        .pay(&app, "kept-2", 700, Some(&h.serial), None, None)
        .await;
    assert_eq!(sale["approved"], true, "{sale}");
    // (The demo campus's own notices of the first day go too.)
    let (notices, deliveries) = app::server::notices::prune(&app.state).await.unwrap();
    assert!(notices >= 1, "{notices}");
    assert_eq!(deliveries, 1);
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    let kept = inbox(&app, &cookie).await;
    assert_eq!(kinds(&kept), vec!["payment", "payment"], "{kept}");
    assert_eq!(kept["notices"][1]["amount"], 1850);
    // Once its e-mail is sent, the old payment's notice goes too; the new one stays.
    app.state.clock.advance(Duration::days(3));
    let trying = take().await;
    assert_eq!(trying.key, "kept-payment");
    let now = app.state.now();
    assert!(
        app.state
            .db
            .finish_delivery(&trying, &Tried::Sent, now)
            .await
            .unwrap()
    );
    assert_eq!(
        app::server::notices::prune(&app.state).await.unwrap(),
        (1, 1)
    );
    let cookie = login(&app, &h.login, FRESH_QUERY_PASSWORD).await;
    let kept = inbox(&app, &cookie).await;
    assert_eq!(kinds(&kept), vec!["payment"], "{kept}");
    assert_eq!(kept["notices"][0]["amount"], 700);
    app.stop().await;
}

#[tokio::test]
async fn a_login_from_a_browser_new_to_the_holder_is_a_security_notice() {
    let app = TestApp::spawn(3).await;
    let h = fresh_holder(&app, 6, Money::yuan(100)).await;
    let new_browser = |page: &Value| {
        kinds(page)
            .iter()
            .filter(|k| k.as_str() == "new_browser")
            .count()
    };
    // The first login ever, from the phone: no news.
    let (session, phone) = login_from(&app, &h.login, FRESH_QUERY_PASSWORD, None).await;
    assert_eq!(new_browser(&inbox(&app, &session).await), 0);
    // The phone again (its cookie kept): no news either.
    let (session, again) = login_from(&app, &h.login, FRESH_QUERY_PASSWORD, Some(&phone)).await;
    assert_eq!(again, phone, "the browser keeps its value");
    assert_eq!(new_browser(&inbox(&app, &session).await), 0);
    // A library computer, never used by this student: one security notice, which cannot be
    // switched off (every choice off first).
    let (status, body) = save_prefs(&app, &session, &[("payments", "none")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (session, library) = login_from(&app, &h.login, FRESH_QUERY_PASSWORD, None).await;
    assert_ne!(library, phone);
    let page = inbox(&app, &session).await;
    assert_eq!(new_browser(&page), 1, "{page}");
    assert_eq!(page["notices"][0]["kind"], "new_browser", "{page}");
    // A cookie the server did not make is a new browser too, and is replaced.
    let (session, made) = login_from(
        &app,
        &h.login,
        FRESH_QUERY_PASSWORD,
        Some("ykt_browser=chosen-by-hand"),
    )
    .await;
    assert_ne!(made, "ykt_browser=chosen-by-hand");
    assert_eq!(new_browser(&inbox(&app, &session).await), 2);
    // Back on the phone and the library computer: known now.
    for b in [&phone, &library] {
        let (session, _) = login_from(&app, &h.login, FRESH_QUERY_PASSWORD, Some(b)).await;
        assert_eq!(new_browser(&inbox(&app, &session).await), 2);
    }
    // Another student on the library computer: their first login, no news for them, and the
    // computer stays known for the first student.
    let other = fresh_holder(&app, 7, Money::yuan(100)).await;
    let (session, _) = login_from(&app, &other.login, FRESH_QUERY_PASSWORD, Some(&library)).await;
    assert_eq!(new_browser(&inbox(&app, &session).await), 0);
    let (session, _) = login_from(&app, &h.login, FRESH_QUERY_PASSWORD, Some(&library)).await;
    assert_eq!(new_browser(&inbox(&app, &session).await), 2);
    app.stop().await;
}
