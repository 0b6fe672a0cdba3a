//! The campus profile's cache (`server::campus::CampusCache`) over a real store.

use super::testing::Scratch;
use crate::model::Localized;
use crate::server::campus::{CampusCache, demo_profile};
use std::sync::Arc;

#[tokio::test]
async fn a_page_never_waits_for_the_profile_once_it_is_kept() {
    let (_scratch, url) = Scratch::new().await;
    let db = super::open_with_clock(&url, crate::server::clock::test_clock())
        .await
        .expect("open");
    let cache = Arc::new(CampusCache::default());
    assert_eq!(
        cache.get(&db).await.expect("read"),
        None,
        "nothing saved yet"
    );

    let first = demo_profile();
    db.save_campus_profile(&first).await.expect("save");
    assert_eq!(cache.get(&db).await.expect("read"), Some(first.clone()));

    // Another server saves a new name: the kept copy is served until it is old, then once
    // more while the database is read in the background, then the new one.
    let renamed = crate::model::CampusProfile {
        campus_name: Localized::new("新校名", "New name"),
        ..first.clone()
    };
    db.save_campus_profile(&renamed).await.expect("save");
    assert_eq!(cache.get(&db).await.expect("read"), Some(first.clone()));
    cache.age();
    assert_eq!(cache.get(&db).await.expect("read"), Some(first.clone()));
    for _ in 0..200 {
        if cache.get(&db).await.expect("read") == Some(renamed.clone()) {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(cache.get(&db).await.expect("read"), Some(renamed.clone()));

    // A save on this server is kept at once.
    cache.put(first.clone());
    assert_eq!(cache.get(&db).await.expect("read"), Some(first));
}
