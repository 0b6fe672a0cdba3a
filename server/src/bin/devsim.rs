//! Device simulator: plays a campus's terminals against a running server through the real,
//! signed device API — canteen tills selling meals (now and then a refund), dorm and library
//! gates, an attendance reader, a kiosk balance inquiry — and prints each event as a line.
//! For demos, and to put realistic traffic on a server while someone clicks around.
//!
//! It issues fresh credentials for the devices it plays through the database it is pointed at
//! (the previous credentials of those devices stop working): use it on a demo database.
//!
//! ```text
//! devsim --url http://127.0.0.1:3000 --database-url sqlite://data/yikatong.db --rate 2 --duration 60
//! ```

use app::model::{CardStatus, DeviceKind, Money};
use app::server::store::{self, Db};
use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};
use server::device_client::DeviceClient;
use std::time::{Duration, Instant};

struct Args {
    url: String,
    database_url: String,
    rate: f64,
    duration: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: "http://127.0.0.1:3000".into(),
        database_url: "sqlite://data/yikatong.db".into(),
        rate: 2.0,
        duration: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => a.url = value,
            "--database-url" => a.database_url = value,
            "--rate" => a.rate = value.parse().map_err(|e| format!("--rate: {e}"))?,
            "--duration" => a.duration = value.parse().map_err(|e| format!("--duration: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !(a.rate > 0.0 && a.rate <= 1000.0) {
        return Err("--rate is events per second, above 0 and at most 1000".into());
    }
    Ok(a)
}

/// The devices the simulator plays, by kind.
const POS: &[&str] = &[
    "POS-E-CANTEEN-1",
    "POS-E-CANTEEN-2",
    "POS-W-CANTEEN",
    "POS-E-MARKET",
];
const GATES: &[&str] = &["GATE-E-DORM", "GATE-LIBRARY", "ATT-T2-101"];
const KIOSK: &str = "KIOSK-E-ADMIN";

async fn client(
    db: &Db,
    http: &reqwest::Client,
    url: &str,
    code: &str,
) -> Result<DeviceClient, String> {
    let device = db
        .device_by_code(code)
        .await
        .map_err(|e| e.to_string())?
        .ok_or(format!("no device {code} in this database"))?;
    let secret: [u8; 32] = rand::random();
    let client = DeviceClient::new(http.clone(), url, code, &hex::encode(secret))?;
    app::server::ledger::install_device_key(
        db,
        &device,
        &hex::encode(client.key.verifying_key().to_bytes()),
        Utc::now(),
        "the device simulator (server/src/bin/devsim.rs)",
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(client)
}

fn said(v: &Value) -> String {
    v["message_en"]
        .as_str()
        .or(v["message"].as_str())
        .unwrap_or("")
        .to_string()
}

fn fen(v: &Value, key: &str) -> String {
    v[key]
        .as_i64()
        .map(|f| Money::from_fen(f).to_string())
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()
        .map_err(|e| format!("{e}\nsee the header of server/src/bin/devsim.rs for usage"))?;
    let db = store::open(&args.database_url).await?;
    let http = reqwest::Client::new();
    let mut tills = Vec::new();
    for code in POS {
        tills.push(client(&db, &http, &args.url, code).await?);
    }
    let mut gates = Vec::new();
    for code in GATES {
        gates.push(client(&db, &http, &args.url, code).await?);
    }
    let kiosk = client(&db, &http, &args.url, KIOSK).await?;
    if db
        .device_by_code(KIOSK)
        .await?
        .is_some_and(|d| d.kind != DeviceKind::Kiosk)
    {
        return Err(format!("{KIOSK} is not a kiosk").into());
    }
    // Every active card; some void ones too, to show a refusal now and then.
    let mut cards = Vec::new();
    for holder in 1..=db.holder_count().await? {
        for card in db.cards_of(holder).await? {
            if matches!(
                card.status,
                CardStatus::Active | CardStatus::Void | CardStatus::Lost
            ) {
                cards.push(card.chip_serial);
            }
        }
    }
    if cards.is_empty() {
        return Err("no cards in this database".into());
    }
    println!(
        "simulating {} tills, {} gates and a kiosk at {} events/s for {} s against {}",
        tills.len(),
        gates.len(),
        args.rate,
        args.duration,
        args.url
    );
    let mut last_sale: Vec<Option<i64>> = vec![None; tills.len()];
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    let mut n = 0u64;
    let (mut ok, mut refused, mut errors) = (0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        tick.tick().await;
        n += 1;
        let (roll, card_pick, till_pick, cents) = {
            let mut rng = rand::rng();
            (
                rng.random_range(0..100u32),
                rng.random_range(0..cards.len()),
                rng.random_range(0..tills.len()),
                rng.random_range(300..2500i64),
            )
        };
        let card = &cards[card_pick];
        let now = chrono::Local::now().format("%H:%M:%S");
        let result = if roll < 65 {
            let till = &tills[till_pick];
            let body = json!({"request_id": format!("sim-{}-{n}", Utc::now().timestamp_millis()), "amount_fen": cents, "card_serial": card});
            till.post("/api/device/v1/pay", &body)
                .await
                .map(|(status, v)| {
                    if v["approved"] == true {
                        last_sale[till_pick] = v["journal_id"].as_i64();
                    }
                    let line = if v["approved"] == true {
                        format!(
                            "sale {} approved, balance {}",
                            Money::from_fen(cents),
                            fen(&v, "balance_fen")
                        )
                    } else {
                        format!("sale {} declined: {}", Money::from_fen(cents), said(&v))
                    };
                    (
                        status,
                        v["approved"] == true,
                        format!("{:<16} {card} {line}", till.code),
                    )
                })
        } else if roll < 70 {
            let till = &tills[till_pick];
            let Some(journal) = last_sale[till_pick].take() else {
                continue;
            };
            let body = json!({"request_id": format!("sim-r-{}-{n}", Utc::now().timestamp_millis()), "journal_id": journal});
            till.post("/api/device/v1/refund", &body)
                .await
                .map(|(status, v)| {
                    let line = if v["approved"] == true {
                        format!(
                            "refund of sale #{journal}: {} back, balance {}",
                            fen(&v, "amount_fen"),
                            fen(&v, "balance_fen")
                        )
                    } else {
                        format!("refund of sale #{journal} refused: {}", said(&v))
                    };
                    (
                        status,
                        v["approved"] == true,
                        format!("{:<16} {line}", till.code),
                    )
                })
        } else if roll < 95 {
            let gate = &gates[card_pick % gates.len()];
            gate.post("/api/device/v1/access", &json!({"card_serial": card}))
                .await
                .map(|(status, v)| {
                    let line = if v["allowed"] == true {
                        "allowed".to_string()
                    } else {
                        format!("denied: {}", said(&v))
                    };
                    (
                        status,
                        v["allowed"] == true,
                        format!("{:<16} {card} {line}", gate.code),
                    )
                })
        } else {
            kiosk
                .post("/api/device/v1/balance", &json!({"card_serial": card}))
                .await
                .map(|(status, v)| {
                    let line = if v["ok"] == true {
                        format!(
                            "balance inquiry: {} {}",
                            v["holder"].as_str().unwrap_or(""),
                            fen(&v, "balance_fen")
                        )
                    } else {
                        format!("balance inquiry refused: {}", said(&v))
                    };
                    (
                        status,
                        v["ok"] == true,
                        format!("{:<16} {card} {line}", kiosk.code),
                    )
                })
        };
        match result {
            Ok((status, _, line)) if !status.is_success() => {
                errors += 1;
                println!("{now} {line} (HTTP {status})");
            }
            Ok((_, approved, line)) => {
                if approved {
                    ok += 1;
                } else {
                    refused += 1;
                }
                println!("{now} {line}");
            }
            Err(e) => {
                errors += 1;
                println!("{now} request failed: {e}");
            }
        }
    }
    let check = db.ledger_check().await?;
    println!(
        "done: {ok} approved or allowed, {refused} refused, {errors} errors; ledger {}",
        if check.is_consistent() {
            "consistent"
        } else {
            "MISMATCH"
        }
    );
    if errors > 0 || !check.is_consistent() {
        return Err("errors during the simulation".into());
    }
    Ok(())
}
