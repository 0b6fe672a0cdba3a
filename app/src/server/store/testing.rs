//! Test support: a fresh database for a test on the backend under test. SQLite in a temporary
//! directory by default; with `YIKATONG_TEST_BACKEND=postgres` a throw-away PostgreSQL
//! database created through `YIKATONG_TEST_PG_ADMIN_URL` (default: the role that
//! `scripts/postgres.sh` sets up) and dropped when the test is done with it.

use super::StoreError;
use super::postgres::admin;

/// The admin URL when the tests run against PostgreSQL, else `None`.
pub(crate) fn admin_url() -> Option<String> {
    match std::env::var("YIKATONG_TEST_BACKEND").as_deref() {
        Ok("postgres") => Some(
            std::env::var("YIKATONG_TEST_PG_ADMIN_URL").unwrap_or_else(|_| {
                "postgres://ykt_test:ykt_test@127.0.0.1:5432/postgres".to_string()
            }),
        ),
        Ok("sqlite") | Ok("") | Err(_) => None,
        Ok(other) => panic!("YIKATONG_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// A throw-away PostgreSQL database, dropped (its connections ended) when this guard drops,
/// also when a test fails half way.
pub(crate) struct ScratchDb {
    pub admin: String,
    pub name: String,
    pub url: String,
}

impl ScratchDb {
    pub(crate) async fn create(admin: &str) -> ScratchDb {
        let name = format!("ykt_test_{}", uuid::Uuid::new_v4().simple());
        admin::create_database(admin, &name)
            .await
            .unwrap_or_else(|e| {
                panic!("cannot create {name} (is PostgreSQL running? scripts/postgres.sh): {e}")
            });
        let url = admin::database_url(admin, &name).expect("database url");
        ScratchDb {
            admin: admin.to_string(),
            name,
            url,
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        // Drop may run inside a runtime, which cannot block on itself: a thread of its own
        // with a small runtime does the work.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            rt.block_on(admin::drop_database(&admin, &name))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// Where a test's database lives; removed when this drops.
pub(crate) enum Scratch {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] ScratchDb),
}

impl Scratch {
    /// A fresh empty database on the backend under test, and its URL.
    pub(crate) async fn new() -> (Scratch, String) {
        match admin_url() {
            Some(admin) => {
                let db = ScratchDb::create(&admin).await;
                let url = db.url.clone();
                (Scratch::Postgres(db), url)
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/t.db", dir.path().display());
                (Scratch::Sqlite(dir), url)
            }
        }
    }
}
