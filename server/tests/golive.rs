//! Going live with real money (#14): what a production server refuses to run with, and what an
//! attacker who knows the code tries first.
#![allow(clippy::unwrap_used)]

mod helpers;

use helpers::{TestApp, call, login};
use reqwest::StatusCode;
use server::config::PaymentProvider;

const B_LOGIN: &str = "2023020215";
const B_PASSWORD: &str = "260817";

#[tokio::test]
async fn a_production_start_with_the_sandbox_or_demo_data_is_refused() {
    let dir = helpers::test_dir().await;
    let mut settings = helpers::settings(&dir, 3);
    settings.production = true;
    // The defaults: the sandbox provider and the demo campus. Both are named, with the fix.
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("YIKATONG_PAYMENT_PROVIDER=none"), "{err}");
    assert!(err.contains("YIKATONG_DEMO_DATA=false"), "{err}");
    assert!(err.contains("create-admin"), "{err}");
    assert!(err.contains("YIKATONG_BILLERS=none"), "{err}");

    settings.payment_provider = PaymentProvider::None;
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("YIKATONG_DEMO_DATA=false"), "{err}");
    assert!(!err.contains("PAYMENT_PROVIDER"), "{err}");

    settings.payment_provider = PaymentProvider::Sandbox;
    settings.demo_data = false;
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("YIKATONG_PAYMENT_PROVIDER=none"), "{err}");
    assert!(!err.contains("DEMO_DATA"), "{err}");

    // Nothing was written before the refusal: not even the secrets file.
    assert!(!dir.path().join("secrets.toml").exists());

    settings.payment_provider = PaymentProvider::None;
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("YIKATONG_BILLERS=none"), "{err}");
    assert!(!err.contains("PAYMENT_PROVIDER"), "{err}");

    settings.billers = server::config::Billers::None;
    let state = server::build_state(&settings).await.unwrap();
    assert!(state.provider.is_none() && state.sandbox.is_none());
    assert!(state.billers.0.is_empty(), "no sandbox biller");
    assert_eq!(state.db.holder_count().await.unwrap(), 0, "no demo people");
}

#[tokio::test]
async fn without_a_provider_there_is_no_sandbox_to_pay_with() {
    let dir = helpers::test_dir().await;
    let mut settings = helpers::settings(&dir, 3);
    settings.payment_provider = PaymentProvider::None;
    let app = TestApp::spawn_with(dir, settings).await;
    let cookie = login(&app, B_LOGIN, B_PASSWORD).await;
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "start_topup",
        &[("amount", "1000"), ("channel", "wechat")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("topup_unavailable"), "{body}");
    let (status, body, _) = call(
        &app,
        Some(&cookie),
        "save_auto_topup",
        &[
            ("threshold", "20"),
            ("amount", "100"),
            ("card", "6222021234567894"),
            ("password", B_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("topup_unavailable"), "{body}");

    // The sandbox's pay page and its notification endpoint do not exist.
    let res = app
        .get_with("/sandbox/pay/W20261014000000AAAA", &cookie)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .post(app.url("/api/topup/notify/sandbox"))
        .header("x-sandbox-signature", "00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The top-up page says where to top up instead of offering a form.
    let res = app.get_with("/portal/topup", &cookie).await;
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"topup-offline\""), "{html}");
    assert!(!html.contains("data-testid=\"topup-form\""));
    app.stop().await;
}

/// A client that connects from its own loopback address (127.0.0.`from`): the server sees a
/// different machine for each.
fn client_from(from: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, from]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A student login from `client`: whether it opened a session, and the answer.
async fn student_login(app: &TestApp, client: &reqwest::Client, password: &str) -> (bool, String) {
    let res = client
        .post(app.url("/api/login"))
        .header("accept", "application/json")
        .form(&[("login", B_LOGIN), ("password", password)])
        .send()
        .await
        .unwrap();
    let session = res.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap().starts_with("ykt_session=")
            && !c.to_str().unwrap().starts_with("ykt_session=;")
    });
    (session, res.text().await.unwrap())
}

#[tokio::test]
async fn a_burst_of_300_guesses_gets_five_checks_and_the_right_password_inside_it_is_refused() {
    let app = std::sync::Arc::new(TestApp::spawn(3).await);
    let checks_before = app.state.hasher.checks();
    // 300 wrong guesses at once, from 60 addresses (5 each: below every address throttle, so
    // only the account's own lockout stands in the way).
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..300u16 {
        let app = app.clone();
        burst.spawn(async move {
            let client = client_from(10 + (i % 60) as u8);
            student_login(&app, &client, &format!("{:06}", 100_000 + u32::from(i))).await
        });
    }
    // As soon as the fifth failure has been counted, while the burst is still running, the
    // right password is sent: it must be refused.
    loop {
        let holder = app
            .state
            .db
            .holder_auth_by_login(B_LOGIN)
            .await
            .unwrap()
            .unwrap();
        if holder.locked_until.is_some() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let (session, right_in_burst) = student_login(&app, &client_from(200), B_PASSWORD).await;
    assert!(!session, "{right_in_burst}");
    let mut answers = Vec::new();
    while let Some(answer) = burst.join_next().await {
        answers.push(answer.unwrap());
    }
    assert!(answers.iter().all(|(session, _)| !session));
    assert!(
        answers
            .iter()
            .all(|(_, body)| body.contains("bad_credentials")),
        "one answer for all"
    );
    assert_eq!(answers.len(), 300);
    // Five stored-hash checks, not one per guess: the rest were refused before hashing.
    assert_eq!(app.state.hasher.checks() - checks_before, 5);
    // After the burst, the right password is still refused; the answer is a wrong one's.
    let (session, after) = student_login(&app, &client_from(201), B_PASSWORD).await;
    assert!(!session && after == right_in_burst, "{after}");
    // One lock, audited once.
    let locks = app
        .state
        .db
        .audit_records(&app::server::store::AuditQuery {
            action: Some("holder.locked".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(locks.len(), 1, "{locks:?}");
}

#[tokio::test]
async fn a_burst_of_wrong_consumption_passwords_at_a_till_gets_three_checks() {
    use helpers::device::{device, holder, live_serial};
    let app = std::sync::Arc::new(TestApp::spawn(6).await);
    let pos = std::sync::Arc::new(device(&app, "POS-E-CANTEEN-1").await);
    let b = holder(&app, B_LOGIN).await;
    let serial = std::sync::Arc::new(live_serial(&app, b).await);
    let checks_before = app.state.hasher.checks();
    // Above the holder's single limit without a password: each sale asks for it.
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..40u16 {
        let (app, pos, serial) = (app.clone(), pos.clone(), serial.clone());
        burst.spawn(async move {
            pos.pay(
                &app,
                &format!("burst-{i}"),
                9000,
                Some(&serial),
                None,
                Some(&format!("{:06}", 300_000 + u32::from(i))),
            )
            .await
        });
    }
    let mut reasons = Vec::new();
    while let Some(answer) = burst.join_next().await {
        let answer = answer.unwrap();
        assert_eq!(answer["approved"], false, "{answer}");
        reasons.push(answer["reason"].as_str().unwrap_or("").to_string());
    }
    assert_eq!(app.state.hasher.checks() - checks_before, 3);
    assert_eq!(
        reasons.iter().filter(|r| *r == "wrong_password").count(),
        2,
        "{reasons:?}"
    );
    assert_eq!(
        reasons.iter().filter(|r| *r == "password_locked").count(),
        38,
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_session_cookie_without_fetch_metadata_needs_a_same_origin_origin_or_referer() {
    let app = TestApp::spawn(3).await;
    let cookie = login(&app, B_LOGIN, B_PASSWORD).await;
    let host = app.addr.to_string();
    let post = async |headers: &[(&str, String)]| {
        let mut req = app
            .client
            .post(app.url("/api/logout"))
            .header("accept", "application/json")
            .header("cookie", &cookie);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        req.send().await.unwrap().status()
    };
    // An old WebView: a cookie and nothing that says where the request came from.
    assert_eq!(post(&[]).await, StatusCode::FORBIDDEN);
    assert_eq!(
        post(&[("referer", "http://evil.example/page".into())]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&[("referer", format!("http://{host}.evil.example/"))]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&[("origin", "http://evil.example".into())]).await,
        StatusCode::FORBIDDEN
    );
    // Its own page as the Referer (or Origin) is enough.
    assert!(
        post(&[("referer", format!("http://{host}/portal"))])
            .await
            .is_success()
    );
    app.stop().await;
}

/// The resident memory of this process (the test and the server in it), in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Sends `path` a chunked body of up to `total` bytes over a raw connection while reading the
/// answer; returns the status line and the body of the answer, and how much was sent by then.
async fn post_chunked(app: &TestApp, path: &str, total: u64) -> (String, String, u64) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.addr
    );
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await.unwrap();
        let chunk = [b'a'; 64 * 1024];
        let mut sent = 0u64;
        while sent < total {
            let framed = [
                format!("{:x}\r\n", chunk.len()).as_bytes(),
                &chunk[..],
                b"\r\n",
            ]
            .concat();
            if write.write_all(&framed).await.is_err() {
                break;
            }
            sent += chunk.len() as u64;
        }
        let _ = write.write_all(b"0\r\n\r\n").await;
        sent
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the whole (small) answer is in: headers and a JSON body.
    while let Ok(n) = read.read(&mut buf).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if text.contains("\r\n\r\n") && text.trim_end().ends_with('}') {
            break;
        }
    }
    writer.abort();
    let sent = writer.await.unwrap_or(total);
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
        sent,
    )
}

#[tokio::test]
async fn a_one_gigabyte_chunked_body_gets_413_with_json_while_memory_stays_flat() {
    let app = TestApp::spawn(0).await;
    let before = resident_bytes();
    for path in ["/api/login", "/api/device/v1/pay", "/api/staff/import"] {
        let (status, body, _) = post_chunked(&app, path, 1 << 30).await;
        assert!(status.contains(" 413 "), "{path}: {status}");
        // Chunked framing of the small JSON answer may wrap it; the error code is in it.
        assert!(body.contains("\"payload_too_large\""), "{path}: {body}");
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 64 << 20, "memory grew by {grown} bytes");
    // Announced as too large: refused before a byte of the body is read.
    let res = app
        .client
        .post(app.url("/api/login"))
        .header("content-length", "2000000")
        .body(vec![b'a'; 2_000_000])
        .send()
        .await;
    if let Ok(res) = res {
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    app.stop().await;
}

#[test]
fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
    let headers = |xff: &str| {
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    };
    let peer = |ip: &str| std::net::SocketAddr::new(ip.parse().unwrap(), 443);
    let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
    for (peer_ip, xff, client) in [
        // Not from the proxy: the header is the client's own claim and ignored.
        ("203.0.113.9", "198.51.100.1", None),
        // From the proxy: the rightmost address the proxy did not add itself.
        ("10.0.0.2", "198.51.100.1", ip("198.51.100.1")),
        ("10.0.0.2", "1.2.3.4, 198.51.100.1", ip("198.51.100.1")),
        (
            "10.0.0.2",
            "1.2.3.4, 198.51.100.1, 10.0.0.7",
            ip("198.51.100.1"),
        ),
        // Garbage the client put on the left is never read; garbage where the client should
        // be makes nothing believed.
        ("10.0.0.2", "x, 198.51.100.1", ip("198.51.100.1")),
        ("10.0.0.2", "198.51.100.1, not-an-ip", None),
    ] {
        assert_eq!(
            server::forwarded_client(&trusted, peer(peer_ip), &headers(xff)),
            client,
            "{peer_ip} {xff}"
        );
    }
}

#[tokio::test]
async fn the_device_api_refuses_hostile_fields_cleanly() {
    use helpers::device::{device, holder, live_serial, nonce};
    use serde_json::json;
    let app = TestApp::spawn(6).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let gate = device(&app, "GATE-E-DORM").await;
    let b = holder(&app, B_LOGIN).await;
    let serial = live_serial(&app, b).await;
    let pay = "/api/device/v1/pay";

    // Request ids: printable ASCII only, stored as sent otherwise.
    for bad in ["a\u{0}b", "line\nbreak", "rtl\u{202e}id", "with space", ""] {
        let (status, body) = pos
            .post(
                &app,
                pay,
                json!({"request_id": bad, "amount_fen": 100, "card_serial": serial}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?} {body}");
        assert_eq!(body["error"], "bad_request");
    }
    // Exactly one of card and code.
    let (status, _) = pos
        .post(
            &app,
            pay,
            json!({"request_id": "both", "amount_fen": 100, "card_serial": serial, "code": "123"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = pos
        .post(
            &app,
            pay,
            json!({"request_id": "neither", "amount_fen": 100}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A field counts when it is a non-empty string, as the document's `oneOf` says: `null` and
    // `""` are no field at all.
    for (id, card, code, counts) in [
        ("empty-code", json!(serial), json!(""), true),
        ("null-code", json!(serial), json!(null), true),
        ("empty-card", json!(""), json!(null), false),
        ("both-empty", json!(""), json!(""), false),
    ] {
        let (status, body) = pos
            .post(
                &app,
                pay,
                json!({"request_id": id, "amount_fen": 1, "card_serial": card, "code": code}),
            )
            .await;
        let expected = if counts {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{id}: {body}");
    }

    // The largest amount the document allows, on a card that has paid today: a decline, not
    // an overflow (the sums are checked; `domain::payments` tests them up to i64::MAX). Past
    // it, as the document says: 400.
    let first = pos.pay(&app, "small", 100, Some(&serial), None, None).await;
    assert_eq!(first["approved"], true, "{first}");
    let huge = pos
        .pay(&app, "huge", (1 << 53) - 1, Some(&serial), None, None)
        .await;
    assert_eq!(huge["approved"], false, "{huge}");
    assert_eq!(huge["reason"], "limit_exceeded", "{huge}");
    for amount in [1 << 53, i64::MAX, -(1 << 53), i64::MIN] {
        let (status, body) = pos
            .post(
                &app,
                pay,
                json!({"request_id": format!("past-{amount}"), "amount_fen": amount, "card_serial": serial}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{amount}: {body}");
    }
    let (status, body) = pos
        .post(
            &app,
            "/api/device/v1/refund",
            json!({"request_id": "refund-past", "journal_id": 1_i64 << 53}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let amount = &doc_schema(&app, "PayBody").await["properties"]["amount_fen"];
    assert_eq!(amount["maximum"], (1_i64 << 53) - 1, "{amount}");
    assert_eq!(amount["minimum"], 1 - (1_i64 << 53), "{amount}");
    let journal = &doc_schema(&app, "RefundBody").await["properties"]["journal_id"];
    assert_eq!(journal["maximum"], (1_i64 << 53) - 1, "{journal}");

    // A hostile timestamp cannot overflow the window check.
    for ts in [i64::MIN, i64::MAX] {
        let (status, body) = pos
            .post_raw(
                &app,
                pay,
                &json!({"request_id": "ts", "amount_fen": 1, "card_serial": serial}),
                &nonce(),
                ts,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }

    // A gate may not read balances; a till may.
    let (status, body) = gate
        .post(
            &app,
            "/api/device/v1/balance",
            json!({"card_serial": serial}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["reason"], "not_allowed_here");
    assert!(body["balance_fen"].is_null() && body["holder"].is_null());
    let (_, body) = pos
        .post(
            &app,
            "/api/device/v1/balance",
            json!({"card_serial": serial}),
        )
        .await;
    assert_eq!(body["ok"], true, "{body}");

    // The OpenAPI document states the answers and the constraints the server enforces.
    let (_, doc) = pos
        .post(&app, "/api/device/v1/openapi.json", json!({}))
        .await;
    let doc = if doc.is_null() {
        app.get("/api/device/v1/openapi.json")
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap()
    } else {
        doc
    };
    for (path, item) in doc["paths"].as_object().unwrap() {
        let responses = &item["post"]["responses"];
        for status in ["200", "400", "401", "413"] {
            assert!(responses.get(status).is_some(), "{path} lacks {status}");
        }
    }
    let id = &doc["components"]["schemas"]["PayBody"]["properties"]["request_id"];
    assert_eq!(id["maxLength"], 64, "{id}");
    assert_eq!(id["pattern"], "^[!-~]{1,64}$", "{id}");
    // Exactly one of card and code, each a non-empty string, for every body that presents one.
    for body in ["PayBody", "PresentBody"] {
        let one_of = &doc["components"]["schemas"][body]["oneOf"];
        assert_eq!(
            one_of,
            &json!([
                {"required": ["card_serial"], "properties": {"card_serial": {"type": "string", "minLength": 1}}},
                {"required": ["code"], "properties": {"code": {"type": "string", "minLength": 1}}}
            ]),
            "{body}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_code_payment_over_the_limit_keeps_its_code_for_the_retry_with_the_password() {
    use helpers::device::{code_for, device, holder, make_room};
    let app = TestApp::spawn(6).await;
    let pos = device(&app, "POS-E-CANTEEN-1").await;
    let b = holder(&app, B_LOGIN).await;
    make_room(&app, b, app::model::Money::yuan(200)).await;
    let code = code_for(&app, b, "phone-session").await;
    // Over the single limit: the till asks for the password, and the code is not used yet.
    let first = pos.pay(&app, "over", 9000, None, Some(&code), None).await;
    assert_eq!(first["reason"], "password_required", "{first}");
    let retry = pos
        .pay(&app, "over", 9000, None, Some(&code), Some("257419"))
        .await;
    assert_eq!(retry["approved"], true, "{retry}");
    // Now it is used: another sale with it is refused.
    let again = pos.pay(&app, "again", 100, None, Some(&code), None).await;
    assert_eq!(again["reason"], "code_used", "{again}");
    app.stop().await;
}

#[tokio::test]
async fn production_reads_only_host_prefixed_cookies_and_sends_hsts() {
    let dir = helpers::test_dir().await;
    let mut settings = helpers::settings(&dir, 0);
    settings.production = true;
    settings.demo_data = false;
    settings.payment_provider = PaymentProvider::None;
    settings.billers = server::config::Billers::None;
    let app = TestApp::spawn_with(dir, settings).await;
    let res = app.get("/").await;
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    // A session cookie planted under the plain name is not read; the `__Host-` one is.
    let token = app::server::auth::new_token();
    let headers = |cookie: String| {
        let mut h = axum::http::HeaderMap::new();
        h.insert("cookie", cookie.parse().unwrap());
        h
    };
    let plain =
        app::server::client_from_parts(&headers(format!("ykt_session={token}")), None, true);
    assert_eq!(plain.token, None);
    let prefixed =
        app::server::client_from_parts(&headers(format!("__Host-ykt_session={token}")), None, true);
    assert_eq!(prefixed.token.as_deref(), Some(token.as_str()));
    // A development server (plain HTTP) reads the plain name and sends no HSTS.
    let dev = app::server::client_from_parts(&headers(format!("ykt_session={token}")), None, false);
    assert_eq!(dev.token.as_deref(), Some(token.as_str()));
    app.stop().await;
    let app = TestApp::spawn(0).await;
    assert!(
        app.get("/")
            .await
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    app.stop().await;
}

#[tokio::test]
async fn every_page_script_carries_the_nonce_of_its_content_security_policy() {
    let app = TestApp::spawn(3).await;
    let cookie = login(&app, B_LOGIN, B_PASSWORD).await;
    let mut nonces = Vec::new();
    for path in ["/", "/login", "/portal", "/portal/history", "/no-such-page"] {
        let res = app.get_with(path, &cookie).await;
        let policy = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(policy.contains("object-src 'none'") && policy.contains("base-uri 'none'"));
        let scripts_policy = policy
            .split(';')
            .find(|d| d.trim().starts_with("script-src "))
            .unwrap();
        assert!(
            !scripts_policy.contains("unsafe-inline") && !scripts_policy.contains("'unsafe-eval'"),
            "{scripts_policy}"
        );
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap()
            .to_string();
        let html = res.text().await.unwrap();
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{path} has no script");
        for script in scripts {
            let (tag, rest) = script.split_once('>').unwrap();
            // leptos_i18n writes one empty `<script></script>`: nothing to run, so nothing a
            // policy needs to allow.
            if rest.starts_with("</script>") && !tag.contains("src=") {
                continue;
            }
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: <script{tag}> lacks the nonce {nonce}"
            );
        }
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 5, "a fresh nonce per response");
    app.stop().await;
}

#[tokio::test]
async fn a_restart_does_not_reopen_a_replay_window_and_key_rotation_is_audited() {
    use helpers::device::{device, nonce};
    use serde_json::json;
    let app = TestApp::spawn(3).await;
    let gate = device(&app, "GATE-E-DORM").await;
    let path = "/api/device/v1/access";
    let body = json!({"card_serial": "NO-SUCH-CARD"});
    let (n, ts) = (nonce(), app.state.now().timestamp_millis());
    let (status, _) = gate.post_raw(&app, path, &body, &n, ts).await;
    assert_eq!(status, StatusCode::OK);
    let (status, replay) = gate.post_raw(&app, path, &body, &n, ts).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{replay}");
    // The key was issued outside the staff pages, and the audit log says so.
    let rotations = app
        .state
        .db
        .audit_records(&app::server::store::AuditQuery {
            action: Some("device.".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        rotations
            .iter()
            .any(|r| r.target.contains("GATE-E-DORM") && r.reason.contains("integration tests")),
        "{rotations:?}"
    );
    // A new process on the same database: its memory is empty, the database remembers.
    let dir = app.stop().await;
    let settings = helpers::settings(&dir, 3);
    let app = TestApp::spawn_with(dir, settings).await;
    let (status, replay) = gate.post_raw(&app, path, &body, &n, ts).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{replay}");
    assert!(replay.to_string().contains("replayed"), "{replay}");
    app.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_database_files_are_the_servers_alone() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn(0).await;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = app.dir.path().to_path_buf();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("secrets.toml")), 0o600);
    if helpers::backend_name() == "sqlite" {
        assert_eq!(mode(&dir.join("test.db")), 0o600);
        let wal = dir.join("test.db-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn the_first_administrator_enrols_by_a_one_time_link_that_nobody_else_can_use() {
    let dir = helpers::test_dir().await;
    let mut settings = helpers::settings(&dir, 0);
    settings.demo_data = false;
    let app = TestApp::spawn_with(dir, settings).await;
    let first = app::server::enrolment::create_admin(&app.state, "Chief", "the integration tests")
        .await
        .unwrap();
    // Run again (the link was lost): a new link, and the first one ends.
    let token = app::server::enrolment::create_admin(&app.state, "chief", "the integration tests")
        .await
        .unwrap();
    let (_, body, _) = call(&app, None, "staff/welcome_view", &[("token", &first)]).await;
    assert!(body.contains("enrolment_link"), "{body}");
    assert_eq!(
        app::server::enrolment::link_path(&token),
        format!("/staff/welcome?token={token}")
    );
    // Until the link is used, the account has no password that works.
    let chief = app.state.db.staff_auth("chief").await.unwrap().unwrap();
    assert!(chief.totp_secret.is_none());
    // The page opens without a session and shows the second factor to scan.
    let page = app.get(&format!("/staff/welcome?token={token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-testid=\"welcome-form\""), "{html}");
    let (status, view, _) = call(&app, None, "staff/welcome_view", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let view: serde_json::Value = serde_json::from_str(&view).unwrap();
    let secret = view["totp_secret"].as_str().unwrap().to_string();
    let code = |at: i64| {
        let bytes = totp_rs::Secret::Encoded(secret.clone()).to_bytes().unwrap();
        totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
            .unwrap()
            .generate(at as u64)
    };
    let now = app.state.now().timestamp();
    let finish = async |password: &str, confirm: &str, code: &str| {
        call(
            &app,
            None,
            "staff/welcome",
            &[
                ("token", &token),
                ("password", password),
                ("confirm", confirm),
                ("code", code),
            ],
        )
        .await
    };
    // Bad inputs get clear refusals and leave the link open.
    let (_, body, _) = finish("Chief-password-2026", "Chief-password-2027", &code(now)).await;
    assert!(body.contains("passwords_differ"), "{body}");
    let (_, body, _) = finish("short1", "short1", &code(now)).await;
    assert!(body.contains("staff_password_weak"), "{body}");
    let (_, body, _) = finish("Chief-password-2026", "Chief-password-2026", "000000").await;
    assert!(body.contains("staff_bad_credentials"), "{body}");
    let (status, body, _) = finish("Chief-password-2026", "Chief-password-2026", &code(now)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Used: the link works no more, for anyone.
    let (_, body, _) = finish("Other-password-2026", "Other-password-2026", &code(now)).await;
    assert!(body.contains("enrolment_link"), "{body}");
    let (_, body, _) = call(&app, None, "staff/welcome_view", &[("token", &token)]).await;
    assert!(body.contains("enrolment_link"), "{body}");
    // The new administrator logs in with what only they know, and is not asked to change it.
    app.state.clock.advance(chrono::Duration::seconds(30));
    let (status, body, cookie) = call(
        &app,
        None,
        "staff/login",
        &[
            ("username", "chief"),
            ("password", "Chief-password-2026"),
            ("code", &code(app.state.now().timestamp())),
        ],
    )
    .await;
    assert!(
        (status.is_success() || status.is_redirection()) && cookie.is_some(),
        "{body}"
    );
    let chief = app.state.db.staff_auth("chief").await.unwrap().unwrap();
    assert!(!chief.must_change_password);
    let audits = app
        .state
        .db
        .audit_records(&app::server::store::AuditQuery {
            action: Some("staff.".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    for action in ["staff.create", "staff.enrolment_link", "staff.enrolled"] {
        assert!(
            audits.iter().any(|a| a.action == action),
            "{action}: {audits:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn an_enrolment_link_expires_after_a_day() {
    let dir = helpers::test_dir().await;
    let mut settings = helpers::settings(&dir, 0);
    settings.demo_data = false;
    let app = TestApp::spawn_with(dir, settings).await;
    let token = app::server::enrolment::create_admin(&app.state, "late", "the integration tests")
        .await
        .unwrap();
    app.state
        .clock
        .advance(app::server::enrolment::LINK_VALID + chrono::Duration::seconds(1));
    let (status, body, _) = call(&app, None, "staff/welcome_view", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("enrolment_link"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn one_request_id_with_two_payloads_at_once_is_a_conflict_never_the_other_answer() {
    use helpers::device::{device, holder, live_serial};
    let app = std::sync::Arc::new(TestApp::spawn(6).await);
    let pos = std::sync::Arc::new(device(&app, "POS-E-CANTEEN-1").await);
    let b = holder(&app, B_LOGIN).await;
    let serial = std::sync::Arc::new(live_serial(&app, b).await);
    for round in 0..10 {
        let id = format!("race-{round}");
        let mut both = tokio::task::JoinSet::new();
        for fen in [100, 200] {
            let (app, pos, serial, id) = (app.clone(), pos.clone(), serial.clone(), id.clone());
            both.spawn(async move {
                let body = serde_json::json!({"request_id": id, "amount_fen": fen, "card_serial": *serial});
                let (status, answer) = pos.post(&app, "/api/device/v1/pay", body).await;
                (fen, status, answer)
            });
        }
        let mut approved = 0;
        while let Some(result) = both.join_next().await {
            let (fen, status, answer) = result.unwrap();
            if status == StatusCode::OK {
                // An answer is always about the amount asked.
                assert_eq!(answer["amount_fen"], fen, "{answer}");
                approved += 1;
            } else {
                assert_eq!(status, StatusCode::CONFLICT, "{answer}");
            }
        }
        assert_eq!(approved, 1, "round {round}");
    }
}

#[tokio::test]
async fn declines_that_check_no_password_do_not_lock_a_kiosk() {
    use helpers::device::{device, holder, live_serial};
    use serde_json::json;
    let app = TestApp::spawn(6).await;
    let kiosk = device(&app, "KIOSK-E-ADMIN").await;
    let b = holder(&app, B_LOGIN).await;
    let serial = live_serial(&app, b).await;
    // More foreign cards than the kiosk's whole budget of wrong passwords.
    for i in 0..40 {
        let (_, answer) = kiosk
            .post(
                &app,
                "/api/device/v1/kiosk/balance",
                json!({"card_serial": format!("FOREIGN{i:04}"), "password": "000000"}),
            )
            .await;
        assert_eq!(answer["reason"], "unknown_card", "{answer}");
    }
    let (_, answer) = kiosk
        .post(
            &app,
            "/api/device/v1/kiosk/balance",
            json!({"card_serial": serial, "password": B_PASSWORD}),
        )
        .await;
    assert_eq!(answer["ok"], true, "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn secrets_and_bank_accounts_are_sealed_at_rest_and_plain_ones_are_sealed_at_start() {
    use app::server::sealing::{Sealed, Sealer};
    use app::server::store::{Actor, Audit, NewSession, SubjectKind};
    let app = TestApp::spawn(3).await;
    let db = app.state.db.clone();
    let now = app.state.now();
    // The demo administrator's TOTP secret is stored sealed, and opens to the published one.
    let admin = db.staff_auth("admin").await.unwrap().unwrap();
    let stored = admin.totp_secret.clone().unwrap();
    let (_, published) = app::server::demo::DEMO_TOTP
        .iter()
        .find(|(u, _)| *u == "admin")
        .unwrap();
    assert!(Sealer::is_sealed(&stored), "{stored}");
    assert!(!stored.contains(published));
    let sealer = app.state.secrets.sealer.clone();
    assert_eq!(
        sealer.open(Sealed::TotpSecret, &stored).as_deref(),
        Ok(*published)
    );
    // So is a pay-code key: the database alone cannot make a student's code.
    let b = db
        .holder_by_student_no(B_LOGIN)
        .await
        .unwrap()
        .unwrap()
        .holder_id;
    helpers::device::code_for(&app, b, "sess-sealed").await;
    let key = db
        .pay_key_for_session("sess-sealed")
        .await
        .unwrap()
        .unwrap();
    assert!(Sealer::is_sealed(&key.secret), "{}", key.secret);
    if helpers::backend_name() == "sqlite" {
        // Not in the database file either, nor in its write-ahead log.
        for file in ["test.db", "test.db-wal"] {
            let path = app.dir.path().join(file);
            if let Ok(bytes) = std::fs::read(&path) {
                let text = String::from_utf8_lossy(&bytes);
                assert!(!text.contains(published), "{file}");
            }
        }
    }

    // Values written in plain text, as a server from before sealing wrote them ...
    db.create_session(&NewSession {
        token_hash: "sess-old".into(),
        subject: SubjectKind::Holder,
        subject_id: b,
        now,
        ip: String::new(),
        user_agent: String::new(),
    })
    .await
    .unwrap();
    assert!(
        db.create_pay_key(99_000_001, b, "sess-old", "an-old-plain-key", now)
            .await
            .unwrap()
    );
    let audit = Audit {
        actor: Actor::System,
        action: app::model::AuditAction::AccountPayoutAccount,
        holder_id: Some(b),
        target: Default::default(),
        before: Default::default(),
        after: Default::default(),
        reason: "written by an older server".into(),
        ip: String::new(),
    };
    assert_eq!(
        db.record_payout_account(b, "6222021234567890", "****7890", admin.id, now, audit)
            .await
            .unwrap(),
        None
    );
    // ... are sealed by the next start, and open to what they were.
    let dir = app.stop().await;
    let settings = helpers::settings(&dir, 3);
    let app = TestApp::spawn_with(dir, settings).await;
    let db = &app.state.db;
    let key = db.pay_key(99_000_001).await.unwrap().unwrap();
    assert!(Sealer::is_sealed(&key.secret), "{}", key.secret);
    assert_eq!(
        sealer.open(Sealed::PayCodeKey, &key.secret).as_deref(),
        Ok("an-old-plain-key")
    );
    let payout = db.payout_account(b).await.unwrap().unwrap();
    assert!(Sealer::is_sealed(&payout.bank_account));
    assert_eq!(
        sealer
            .open(Sealed::BankAccount, &payout.bank_account)
            .as_deref(),
        Ok("6222021234567890")
    );
    assert_eq!(payout.account_masked, "****7890");
    // A sealed value does not open as another kind, nor with another data key.
    assert!(
        sealer
            .open(Sealed::TotpSecret, &payout.bank_account)
            .is_err()
    );
    let other = Sealer::from_hex(&"00".repeat(32)).unwrap();
    assert!(
        other
            .open(Sealed::BankAccount, &payout.bank_account)
            .is_err()
    );

    // Another data key does not start on this database, and seals nothing with itself.
    let dir = app.stop().await;
    let mut settings = helpers::settings(&dir, 3);
    settings.data_key = Some("ab".repeat(32).into());
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("does not open"), "{err}");
    // Secrets from the environment come with the data key too, or the server says so.
    settings.pepper = Some("a-pepper".to_string().into());
    settings.id_hash_key = Some("an-id-key".to_string().into());
    settings.data_key = None;
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("YIKATONG_DATA_KEY"), "{err}");
    drop(dir);
}

/// One request body's schema from the served OpenAPI document.
async fn doc_schema(app: &TestApp, name: &str) -> serde_json::Value {
    let doc: serde_json::Value = app
        .get("/api/device/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    doc["components"]["schemas"][name].clone()
}

#[tokio::test]
async fn the_clock_control_needs_a_chosen_clock_and_is_absent_on_the_system_clock() {
    let dir = helpers::test_dir().await;
    let mut settings = helpers::settings(&dir, 1);
    settings.clock_control = true;
    let err = server::build_state(&settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("YIKATONG_CLOCK_START"), "{err}");
    // Only a chosen clock, and only when asked for: never the system clock.
    use app::server::clock::Clock;
    let chosen = Clock::frozen(app::server::clock::test_now());
    for (case, clock, asked, route) in [
        ("system clock, asked", Clock::system(), true, false),
        ("system clock", Clock::system(), false, false),
        ("chosen clock, asked", chosen.clone(), true, true),
        ("chosen clock, not asked", chosen, false, false),
    ] {
        assert_eq!(server::clock_route(&clock, asked), route, "{case}");
    }
}
