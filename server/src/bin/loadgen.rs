//! Payment load generator: pays through the real device API over loopback and reports
//! sustained payments per second, latency percentiles, and whether the journal and the
//! balances still agree afterwards.
//!
//! It prepares the database it is pointed at (the same one the server uses): issues a key for
//! one POS device, tops every account up, and raises limits so that only the balance decides.
//! Run it against a benchmark database, never a real one.
//!
//! ```text
//! loadgen --url http://127.0.0.1:3000 --database-url sqlite://data/bench.db \
//!         --rate 500 --duration 60 --concurrency 64 --hot 0.2
//! ```
//! `--rate 0` means full speed. `--hot F`: that fraction of payments goes to 3 hot accounts.
//! A payment that gets no answer is sent again with the same request id, as a till does, so
//! the run survives a server dying behind a load balancer (`scripts/two-servers.sh`).

use app::model::{EntryKind, Money};
use app::server::store::{self, Actor, Audit, AuditText, Credit};
use chrono::Utc;
use ed25519_dalek::SigningKey;
use server::device_client::DeviceClient;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Args {
    url: String,
    database_url: String,
    device: String,
    rate: u64,
    duration: u64,
    concurrency: usize,
    hot: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: "http://127.0.0.1:3000".into(),
        database_url: "sqlite://data/yikatong.db".into(),
        device: "POS-E-CANTEEN-1".into(),
        rate: 0,
        duration: 60,
        concurrency: 64,
        hot: 0.2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: String| format!("{flag}: {e}");
        match flag.as_str() {
            "--url" => a.url = value,
            "--database-url" => a.database_url = value,
            "--device" => a.device = value,
            "--rate" => {
                a.rate = value
                    .parse()
                    .map_err(|e: std::num::ParseIntError| bad(e.to_string()))?
            }
            "--duration" => {
                a.duration = value
                    .parse()
                    .map_err(|e: std::num::ParseIntError| bad(e.to_string()))?
            }
            "--concurrency" => {
                a.concurrency = value
                    .parse()
                    .map_err(|e: std::num::ParseIntError| bad(e.to_string()))?
            }
            "--hot" => {
                a.hot = value
                    .parse()
                    .map_err(|e: std::num::ParseFloatError| bad(e.to_string()))?
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    // Loopback only: this tool is for the local benchmark.
    if !(a.url.starts_with("http://127.")
        || a.url.starts_with("http://localhost")
        || a.url.starts_with("http://[::1]"))
    {
        return Err("--url must be a loopback address".into());
    }
    Ok(a)
}

struct Shared {
    device: DeviceClient,
    serials: Vec<String>,
    hot: f64,
    run: String,
    counter: AtomicU64,
    approved: AtomicU64,
    approved_fen: AtomicU64,
    declined: AtomicU64,
    errors: AtomicU64,
    /// Requests sent again after no answer.
    retries: AtomicU64,
    latencies: std::sync::Mutex<Vec<u32>>,
}

impl Shared {
    async fn pay_once(&self) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let pick: u64 = rand::random();
        let serial = if (pick % 1000) as f64 / 1000.0 < self.hot {
            &self.serials[(pick as usize / 1000) % 3.min(self.serials.len())]
        } else {
            &self.serials[(pick as usize / 1000) % self.serials.len()]
        };
        let fen = 100 + (pick % 1900) as i64;
        let body = serde_json::to_vec(&serde_json::json!({
            "request_id": format!("{}-{n}", self.run),
            "amount_fen": fen,
            "card_serial": serial,
        }))
        .unwrap_or_default();
        let started = Instant::now();
        // Like a till: a request that got no answer (the connection broke, or a load balancer
        // answered 502/503 for a server that died) is sent again with the same request id, to
        // any server, until one answers. The request id makes the retry safe: a payment the
        // first server made is reported, not made again.
        let mut outcome = None;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                self.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let nonce = format!("{}-{n:012}-{attempt}", self.run);
            let res = self
                .device
                .signed("/api/device/v1/pay", &nonce, body.clone())
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => {
                    outcome = r.json::<serde_json::Value>().await.ok();
                    break;
                }
                Ok(r) if r.status().is_client_error() => break,
                _ => continue,
            }
        }
        let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        match outcome {
            Some(v) if v["approved"] == true => {
                self.approved.fetch_add(1, Ordering::Relaxed);
                self.approved_fen.fetch_add(fen as u64, Ordering::Relaxed);
            }
            Some(_) => {
                self.declined.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Ok(mut l) = self.latencies.lock() {
            l.push(micros);
        }
    }
}

/// How often a payment is sent before it counts as an error.
const MAX_ATTEMPTS: u32 = 20;

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()
        .map_err(|e| format!("{e}\nsee the header of server/src/bin/loadgen.rs for usage"))?;
    let db = store::open(&args.database_url).await?;
    let device = db
        .device_by_code(&args.device)
        .await?
        .ok_or("no such device")?;

    // Prepare: a device key, money and room under the limits on every account.
    let secret: [u8; 32] = rand::random();
    let key = SigningKey::from_bytes(&secret);
    app::server::ledger::install_device_key(
        &db,
        &device,
        &hex::encode(key.verifying_key().to_bytes()),
        Utc::now(),
        "the load generator (server/src/bin/loadgen.rs)",
    )
    .await?;
    let mut profile = db.campus_profile().await?.ok_or("no campus profile")?;
    profile.max_single_limit = Money::yuan(500);
    profile.max_daily_limit = Money::yuan(10_000_000);
    db.save_campus_profile(&profile).await?;
    let holders = db.holder_count().await?;
    let mut serials = Vec::new();
    let run = format!("lg{}", Utc::now().timestamp());
    for holder in 1..=holders {
        let cards = db.cards_of(holder).await?;
        let Some(card) = cards
            .iter()
            .find(|c| c.status == app::model::CardStatus::Active)
        else {
            continue;
        };
        serials.push(card.chip_serial.clone());
        let audit = Audit {
            actor: Actor::System,
            action: app::model::AuditAction::AccountSetLimits,
            holder_id: Some(holder),
            target: AuditText::none(),
            before: AuditText::none(),
            after: AuditText::none(),
            reason: "load generator".into(),
            ip: String::new(),
        };
        db.set_limits(holder, Money::yuan(500), Money::yuan(10_000_000), audit)
            .await?;
        db.credit(&Credit {
            holder_id: holder,
            amount: Money::yuan(100_000),
            kind: EntryKind::Topup,
            channel: Some(app::model::Channel::Cash),
            merchant_id: None,
            staff_id: None,
            reference: &format!("{run}-{holder}"),
            memo: "load generator",
            now: Utc::now(),
        })
        .await?;
    }
    if serials.is_empty() {
        return Err("no active cards to pay with".into());
    }
    let before = db.ledger_check().await?;

    let shared = Arc::new(Shared {
        device: DeviceClient {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(args.concurrency)
                .build()?,
            base_url: args.url.clone(),
            code: args.device.clone(),
            key,
        },
        serials,
        hot: args.hot,
        run,
        counter: AtomicU64::new(0),
        approved: AtomicU64::new(0),
        approved_fen: AtomicU64::new(0),
        declined: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        latencies: std::sync::Mutex::new(Vec::new()),
    });
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let mode = if args.rate == 0 {
        "full speed".to_string()
    } else {
        format!("{} payments/s", args.rate)
    };
    println!(
        "paying for {} s at {mode}, {} accounts ({}% to 3 hot ones), concurrency {}",
        args.duration,
        shared.serials.len(),
        (args.hot * 100.0).round(),
        args.concurrency
    );
    let limit = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    // `--rate 0` (no period) means full speed.
    if let Some(period_ns) = 1_000_000_000u64.checked_div(args.rate) {
        let mut tick = tokio::time::interval(Duration::from_nanos(period_ns));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = tokio::task::JoinSet::new();
        while Instant::now() < deadline {
            tick.tick().await;
            let permit = limit.clone().acquire_owned().await?;
            let s = shared.clone();
            tasks.spawn(async move {
                s.pay_once().await;
                drop(permit);
            });
        }
        while tasks.join_next().await.is_some() {}
    } else {
        let mut workers = Vec::new();
        for _ in 0..args.concurrency {
            let s = shared.clone();
            workers.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    s.pay_once().await;
                }
            }));
        }
        for w in workers {
            w.await?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();

    let mut lat = shared
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    lat.sort_unstable();
    let approved = shared.approved.load(Ordering::Relaxed);
    let approved_fen = shared.approved_fen.load(Ordering::Relaxed) as i64;
    println!(
        "requests {}  approved {}  declined {}  errors {}  sent again {}",
        lat.len(),
        approved,
        shared.declined.load(Ordering::Relaxed),
        shared.errors.load(Ordering::Relaxed),
        shared.retries.load(Ordering::Relaxed)
    );
    println!(
        "sustained {:.0} approved payments/s over {:.1} s",
        approved as f64 / elapsed,
        elapsed
    );
    println!(
        "latency ms: p50 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 0.999),
        percentile(&lat, 1.0)
    );
    let after = db.ledger_check().await?;
    let moved = before.total_balance.fen() - after.total_balance.fen();
    let consistent = after.is_consistent() && moved == approved_fen;
    println!(
        "ledger check: balances and daily totals = journal: {}; money moved {} = approved total {}: {}",
        after.is_consistent(),
        Money::from_fen(moved),
        Money::from_fen(approved_fen),
        if consistent {
            "OK (no lost or double payments)"
        } else {
            "MISMATCH"
        }
    );
    if !consistent {
        return Err("ledger mismatch".into());
    }
    Ok(())
}
