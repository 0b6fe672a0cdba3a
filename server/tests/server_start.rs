//! The server starts, serves its pages in both languages, reports its health, and refuses to
//! start with a clear message when it cannot.
#![allow(clippy::unwrap_used)]

mod helpers;

use helpers::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn healthz_reports_the_database() {
    let app = TestApp::spawn(0).await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], helpers::backend_name());
    app.stop().await;
}

#[tokio::test]
async fn public_pages_render_in_chinese_by_default() {
    let app = TestApp::spawn(0).await;
    for (path, needle) in [
        ("/", "深圳职业技术学院"),
        ("/card", "深职通码"),
        ("/faq", "0755-26019355"),
        ("/service", "东校区行政楼负一楼"),
        ("/care", "卡套"),
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let html = res.text().await.unwrap();
        assert!(html.contains(needle), "{path} lacks {needle}");
        assert!(html.contains("lang=\"zh\""), "{path} is not marked Chinese");
        assert!(
            html.contains("/pkg/yikatong.js"),
            "{path} has no hydration script"
        );
        // Hotlines come from the campus profile and appear in the footer of every page.
        assert!(
            html.contains("0755-26731691") && html.contains("0755-26019295"),
            "{path}"
        );
    }
    app.stop().await;
}

/// The `<head>` of a page as the server sends it: a browser without the page's script, a
/// search engine and a link preview see only this.
fn head(html: &str) -> &str {
    &html[..html.find("</head>").expect("a </head>")]
}

#[tokio::test]
async fn every_page_has_a_title_and_a_description_in_its_first_bytes() {
    // The campus name in the home page's title comes from the campus profile: a render that
    // had to wait for the database streamed its <head> without any <title> (about 1 render in
    // 20). Another server of this process starting meanwhile (as in these tests) used to stop
    // the page half way for good (`route_list`).
    let app = TestApp::spawn(0).await;
    for round in 0..8 {
        for (path, title) in [
            ("/", "深圳职业技术学院"),
            ("/service", "校园一卡通服务中心"),
            ("/card", "卡片说明 · Yikatong"),
            ("/login", "登录 · Yikatong"),
            ("/app", "把一卡通放到手机主屏幕 · Yikatong"),
            ("/found", "失卡招领 · Yikatong"),
            ("/staff/login", "工作人员登录 · Yikatong"),
            ("/terminal", "设置终端 · Yikatong"),
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            let html = res.text().await.unwrap();
            let head = head(&html);
            assert_eq!(
                head.matches("<title>").count(),
                1,
                "{path}, round {round}: {head}"
            );
            let text = &head[head.find("<title>").unwrap() + 7..head.find("</title>").unwrap()];
            assert!(
                text.contains(title),
                "{path}, round {round}: title {text:?}"
            );
            assert!(
                head.contains("<meta name=\"description\" content=\"校园一卡通网上服务"),
                "{path}: no description"
            );
        }
    }
    app.stop().await;
}

/// The hashes of a made-up release build, as cargo-leptos writes them to `hash.txt`.
const JS_HASH: &str = "Jjjjjjjjjjjjjjjjjjjjjj";
const WASM_HASH: &str = "Ww-_wwwwwwwwwwwwwwwwww";
const CSS_HASH: &str = "Cccccccccccccccccccccc";

/// A site as `build_release` (scripts/setup.sh) leaves it, with hashed names, in `dir`:
/// `site/pkg/yikatong.<hash>.{js,wasm,css}`, the public files, and `hash.txt` (where the
/// test settings look for it).
fn hashed_site(dir: &std::path::Path) {
    let pkg = dir.join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join(format!("yikatong.{JS_HASH}.js")),
        "export default 1;",
    )
    .unwrap();
    std::fs::write(
        pkg.join(format!("yikatong.{WASM_HASH}.wasm")),
        vec![b'w'; 4096],
    )
    .unwrap();
    std::fs::write(pkg.join(format!("yikatong.{CSS_HASH}.css")), "body{}").unwrap();
    std::fs::write(dir.join("site/sw.js"), include_str!("../../public/sw.js")).unwrap();
    std::fs::write(
        dir.join("site/offline.html"),
        include_str!("../../public/offline.html"),
    )
    .unwrap();
    std::fs::write(
        dir.join("hash.txt"),
        format!("js: {JS_HASH}\nwasm: {WASM_HASH}\ncss: {CSS_HASH}\n"),
    )
    .unwrap();
}

#[tokio::test]
async fn a_release_bundle_is_named_after_its_contents_and_kept_for_good() {
    let dir = helpers::test_dir().await;
    hashed_site(dir.path());
    let settings = helpers::settings(&dir, 0);
    assert!(server::check_site(&settings).unwrap().hashed);
    let app = TestApp::spawn_with(dir, settings).await;
    let (js, wasm, css) = (
        format!("/pkg/yikatong.{JS_HASH}.js"),
        format!("/pkg/yikatong.{WASM_HASH}.wasm"),
        format!("/pkg/yikatong.{CSS_HASH}.css"),
    );

    // Every page names this build's files, and no unhashed one.
    for path in ["/", "/login", "/no-such-page"] {
        let html = app.get(path).await.text().await.unwrap();
        for name in [&js, &wasm, &css] {
            assert!(html.contains(name.as_str()), "{path} does not name {name}");
        }
        for plain in [
            "/pkg/yikatong.js",
            "/pkg/yikatong.wasm",
            "/pkg/yikatong.css",
        ] {
            assert!(!html.contains(plain), "{path} names {plain}");
        }
    }
    // A browser keeps them for a year without asking again: a new release has new names.
    for name in [&js, &wasm, &css] {
        let res = app.get(name).await;
        assert_eq!(res.status(), StatusCode::OK, "{name}");
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{name}"
        );
    }
    // A name this build does not have (an old release's) is not kept.
    let old = app.get("/pkg/yikatong.AAAAAAAAAAAAAAAAAAAAAA.wasm").await;
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
    assert_ne!(
        old.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );

    // The service worker keeps this build's files offline, in a cache named after the build
    // (a new release starts a new one and deletes the old), and is asked for again each time.
    let res = app.get("/sw.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let etag = res.headers()["etag"].clone();
    let sw = res.text().await.unwrap();
    for name in [&js, &wasm, &css] {
        assert!(
            sw.contains(&format!("\"{name}\"")),
            "sw.js does not keep {name}"
        );
    }
    assert!(!sw.contains("\"/pkg/yikatong.wasm\""));
    let build = format!("{}{}{}", &JS_HASH[..6], &WASM_HASH[..6], &CSS_HASH[..6]);
    assert!(sw.contains(&format!("\"ykt-shell-{build}\"")), "{sw}");
    let again = app
        .client
        .get(app.url("/sw.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // The offline page is styled by this build's sheet.
    let offline = app.get("/offline.html").await.text().await.unwrap();
    assert!(offline.contains(&format!("href=\"{css}\"")), "{offline}");
    app.stop().await;
}

#[tokio::test]
async fn a_server_refuses_to_serve_a_site_and_a_hash_file_of_different_builds() {
    // Why a server with a hashed site in a fresh directory, changed by `change`, does not start.
    async fn refusal(change: impl FnOnce(&std::path::Path)) -> String {
        let dir = helpers::test_dir().await;
        hashed_site(dir.path());
        change(dir.path());
        let settings = helpers::settings(&dir, 0);
        server::check_site(&settings)
            .expect_err("refused")
            .to_string()
    }
    // `hash.txt` from another build: the pages would name files the site does not have.
    let err = refusal(|dir| {
        let other = format!("js: {JS_HASH}\nwasm: AAAAAAAAAAAAAAAAAAAAAA\ncss: {CSS_HASH}\n");
        std::fs::write(dir.join("hash.txt"), other).unwrap();
    })
    .await;
    assert!(
        err.contains("yikatong.AAAAAAAAAAAAAAAAAAAAAA.wasm") && err.contains("different builds"),
        "{err}"
    );
    // A hashed site without its `hash.txt`: the pages would name files by their plain names.
    let err = refusal(|dir| std::fs::remove_file(dir.join("hash.txt")).unwrap()).await;
    assert!(
        err.contains("hash.txt") && err.contains("is missing"),
        "{err}"
    );
    // A site built since without hashing, beside the earlier build's `hash.txt`.
    let err = refusal(|dir| {
        std::fs::write(dir.join("site/pkg/yikatong.wasm"), b"unhashed").unwrap();
    })
    .await;
    assert!(err.contains("earlier build"), "{err}");
    // No site at all (a server started before its build, or pointed elsewhere).
    let err = refusal(|dir| std::fs::remove_dir_all(dir.join("site")).unwrap()).await;
    assert!(err.contains("no site at"), "{err}");
    // The command-line tasks (create-admin, issue-device-key) build the state without looking
    // for a site, as every `TestApp` here does: its settings name a site that does not exist.
}

#[tokio::test]
async fn the_bundle_is_sent_as_compressed_at_build_time_and_asked_for_again_each_visit() {
    // `cargo leptos build --release --precompress` leaves `yikatong.wasm.br` (brotli 11) and
    // `.gz` beside each file; the server sends those as they are instead of compressing the
    // file again on the fly at a lower level.
    let app = TestApp::spawn(0).await;
    let pkg = app.dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("yikatong.wasm"), vec![b'w'; 4096]).unwrap();
    std::fs::write(pkg.join("yikatong.wasm.br"), b"brotli made at build time").unwrap();
    let fetch = |encoding: &'static str| {
        app.client
            .get(app.url("/pkg/yikatong.wasm"))
            .header("accept-encoding", encoding)
            .send()
    };

    let res = fetch("gzip, deflate, br").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.headers()["content-type"], "application/wasm");
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert_eq!(res.headers()["vary"], "accept-encoding");
    let modified = res.headers()["last-modified"].clone();
    assert_eq!(
        &res.bytes().await.unwrap()[..],
        b"brotli made at build time"
    );
    // The next visit asks whether it changed, and downloads nothing when it did not.
    let again = app
        .client
        .get(app.url("/pkg/yikatong.wasm"))
        .header("accept-encoding", "br")
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());

    let res = fetch("identity").await.unwrap();
    assert!(!res.headers().contains_key("content-encoding"));
    assert_eq!(res.bytes().await.unwrap().len(), 4096);

    // Pages are never stored: a shared computer's Back button shows no one's balance.
    for path in ["/", "/login", "/portal", "/staff/login", "/no-such-page"] {
        let res = app.get(path).await;
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn english_is_chosen_by_cookie_or_accept_language() {
    let app = TestApp::spawn(0).await;
    let by_cookie = app.page_text("/service", "i18n_pref_locale=en").await;
    assert!(by_cookie.contains("lang=\"en\""));
    assert!(by_cookie.contains("Campus Card Service Centre"));
    assert!(by_cookie.contains("East Campus, Administration Building, level B1"));

    let by_header = app
        .client
        .get(app.url("/"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(by_header.contains("Shenzhen Polytechnic"));
    assert!(!by_header.contains("一张卡走遍校园"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_pages_are_404_with_the_error_page() {
    let app = TestApp::spawn(0).await;
    let res = app.get("/no-such-page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"error-page\""));
    assert!(html.contains("找不到这个页面"));
    app.stop().await;
}

#[tokio::test]
async fn campus_profile_server_function_answers_json() {
    let app = TestApp::spawn(0).await;
    let res = app
        .client
        .post(app.url("/api/campus_profile"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["qr_code_name"]["zh"], "深职通码");
    assert_eq!(body["default_single_limit"], 5000);
    app.stop().await;
}

#[tokio::test]
async fn demo_campus_loads_once_and_the_ledger_agrees() {
    let app = TestApp::spawn(3).await;
    let dir = app.stop().await;
    // Start again on the same database: nothing is loaded twice, nothing is lost.
    let settings = helpers::settings(&dir, 3);
    let state = server::build_state(&settings).await.unwrap();
    assert_eq!(state.db.holder_count().await.unwrap(), 3);
    let check = state.db.ledger_check().await.unwrap();
    assert!(check.is_consistent(), "{check:?}");
    assert_eq!(check.accounts, 3);
    assert!(check.entries > 300, "{check:?}");
    assert!(check.total_balance.fen() > 0);
}

#[tokio::test]
async fn secrets_are_generated_once_and_kept() {
    let dir = helpers::test_dir().await;
    let settings = helpers::settings(&dir, 0);
    server::build_state(&settings).await.unwrap();
    let first = std::fs::read_to_string(dir.path().join("secrets.toml")).unwrap();
    server::build_state(&settings).await.unwrap();
    let second = std::fs::read_to_string(dir.path().join("secrets.toml")).unwrap();
    assert_eq!(first, second);
    assert!(first.contains("pepper"));
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_error() {
    let app = TestApp::spawn(0).await;
    let err = server::bind(app.addr).await.err().unwrap();
    assert!(err.to_string().contains("already in use"), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn an_unwritable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let mut settings = helpers::settings(&dir, 0);
    settings.data_dir = blocker.join("data");
    let err = server::build_state(&settings).await.err().unwrap();
    assert!(err.to_string().contains("data directory"), "{err}");
}

// SQLite only, whatever YIKATONG_TEST_BACKEND says: it writes a broken SQLite file and points
// the server at it.
#[tokio::test]
async fn a_database_that_is_not_sqlite_fails_to_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("broken.db");
    std::fs::write(&db, vec![b'x'; 8192]).unwrap();
    let mut settings = helpers::settings(&dir, 0);
    settings.database_url = format!("sqlite://{}", db.display()).into();
    let err = server::build_state(&settings).await.err().unwrap();
    assert!(err.to_string().starts_with("database:"), "{err}");
}
