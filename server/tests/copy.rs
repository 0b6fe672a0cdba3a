//! `server copy-to-postgres`: a used SQLite campus is copied into an empty PostgreSQL database,
//! checked, and the server then runs on the copy with the same people, money and history.
//! Needs PostgreSQL: it runs in the PostgreSQL pass (`YIKATONG_TEST_BACKEND=postgres`) and
//! says it was skipped otherwise.
#![allow(clippy::unwrap_used)]

mod helpers;

use app::model::{Channel, EntryKind, Money};
use app::server::store::{self, Credit, CreditOutcome, EntryQuery, NewOrder};
use helpers::device::{device, holder, live_serial};
use helpers::{TestApp, TestDir, login};

const B_LOGIN: &str = "2023020215";
const B_PASSWORD: &str = "260817";

fn run_copy(from: &str, to: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["copy-to-postgres", from, to])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_used_sqlite_campus_is_copied_verified_and_served_from_postgres() {
    if helpers::postgres_admin_url().is_none() {
        eprintln!("skipped: needs PostgreSQL (YIKATONG_TEST_BACKEND=postgres)");
        return;
    }
    // The source: a real server on SQLite, with payments, top-ups, an order and sessions.
    let source = TestDir::from(tempfile::tempdir().unwrap());
    let mut settings = helpers::settings(&source, 6);
    let sqlite_url = format!("sqlite://{}/source.db", source.path().display());
    settings.database_url = sqlite_url.clone().into();
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), settings.clone()).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let b = holder(&app, B_LOGIN).await;
    let serial = live_serial(&app, b).await;
    let sale = pos
        .pay(&app, "copy-1", 1_250, Some(&serial), None, None)
        .await;
    assert_eq!(sale["approved"], true, "{sale}");
    login(&app, B_LOGIN, B_PASSWORD).await;
    let credit = app
        .state
        .db
        .credit(&Credit {
            holder_id: b,
            amount: Money::yuan(30),
            kind: EntryKind::Topup,
            channel: Some(Channel::Cash),
            merchant_id: None,
            staff_id: None,
            reference: "counter-receipt-1",
            memo: "cash at the counter",
            now: app.state.now(),
        })
        .await
        .unwrap();
    assert!(matches!(credit, CreditOutcome::Credited { .. }));
    app.state
        .db
        .create_order(&NewOrder {
            order_no: "W-COPY-1",
            holder_id: b,
            channel: Channel::Wechat,
            amount: Money::yuan(20),
            now: app.state.now(),
        })
        .await
        .unwrap();
    // The test's clock goes on after this server stops.
    let clock = app.state.clock.clone();
    app.stop().await;

    // The copy, through the command.
    let target = helpers::test_dir().await;
    let pg_url = helpers::settings(&target, 0).database_url;
    let out = run_copy(&sqlite_url, &pg_url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verified: 6 accounts"), "{stdout}");
    assert!(stdout.contains("journal_entries"), "{stdout}");

    // Same money and the same history, to the character (timestamps included).
    let lite = store::open(&sqlite_url).await.unwrap();
    let pg = store::open(&pg_url).await.unwrap();
    let (lc, pc) = (
        lite.ledger_check().await.unwrap(),
        pg.ledger_check().await.unwrap(),
    );
    assert!(pc.is_consistent(), "{pc:?}");
    assert_eq!(
        (lc.accounts, lc.entries, lc.total_balance),
        (pc.accounts, pc.entries, pc.total_balance)
    );
    let query = EntryQuery {
        limit: 10_000,
        ..EntryQuery::default()
    };
    for id in 1..=6 {
        assert_eq!(
            format!("{:?}", lite.entries(id, &query).await.unwrap()),
            format!("{:?}", pg.entries(id, &query).await.unwrap()),
            "holder {id}"
        );
        assert_eq!(
            format!("{:?}", lite.orders_of(id, 50).await.unwrap()),
            format!("{:?}", pg.orders_of(id, 50).await.unwrap()),
            "holder {id}"
        );
    }
    // Identity sequences moved past the copied ids: new rows get new ids.
    let fresh = pg
        .credit(&Credit {
            holder_id: b,
            amount: Money::yuan(1),
            kind: EntryKind::Topup,
            channel: Some(Channel::Cash),
            merchant_id: None,
            staff_id: None,
            reference: "after-copy",
            memo: "",
            now: clock.now(),
        })
        .await
        .unwrap();
    match fresh {
        CreditOutcome::Credited { journal_id, .. } => assert!(journal_id > lc.entries),
        other => panic!("{other:?}"),
    }
    // The earlier receipt is still known: credited once, on either side of the move.
    let again = pg
        .credit(&Credit {
            holder_id: b,
            amount: Money::yuan(30),
            kind: EntryKind::Topup,
            channel: Some(Channel::Cash),
            merchant_id: None,
            staff_id: None,
            reference: "counter-receipt-1",
            memo: "",
            now: clock.now(),
        })
        .await
        .unwrap();
    assert!(matches!(again, CreditOutcome::AlreadyCredited { .. }));

    // A second copy into the now used database is refused and changes nothing.
    let out = run_copy(&sqlite_url, &pg_url);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // So is a source that does not exist (instead of copying an empty new file).
    let missing = format!("sqlite://{}/missing.db", source.path().display());
    let out = run_copy(&missing, &pg_url);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no SQLite database"));

    // The server runs on the copy (same secrets directory): the holder logs in as before.
    settings.database_url = pg_url;
    let app = TestApp::spawn_with(tempfile::tempdir().unwrap(), settings).await;
    let health: serde_json::Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(health["database"], "postgres");
    login(&app, B_LOGIN, B_PASSWORD).await;
    app.stop().await;
    drop(target);
}
