//! The demo campus: merchants, devices, staff, and students with three months of believable
//! history, generated from a fixed seed so every fresh install shows the same campus. Loaded
//! into an empty database only.

use super::campus::demo_profile;
use super::ids;
use super::password::{HashError, PasswordHasher};
use super::store::{
    DemoCampus, NewCard, NewDevice, NewEntry, NewHolder, NewMerchant, NewStaff, Store, StoreError,
};
use crate::model::{
    CardStatus, Channel, DeviceKind, EntryKind, HolderKind, IdDocKind, MerchantCategory, Money,
    StaffRole,
};
use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// A login shown at start-up and in the README.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub who: &'static str,
    pub login: &'static str,
    pub password: &'static str,
    pub note: &'static str,
}

/// Student A logs in with the initial password from the ID rule and is made to change it;
/// student B already changed it. Staff passwords are for the demo only.
pub const DEMO_LOGINS: &[DemoLogin] = &[
    DemoLogin {
        who: "student 陈嘉怡",
        login: "2024010101",
        password: "918273",
        note: "initial password (ID ends in X); must be changed at first login",
    },
    DemoLogin {
        who: "student 李浩然",
        login: "2023020215",
        password: "260817",
        note: "password already changed",
    },
    DemoLogin {
        who: "student 王子涵",
        login: "2022030307",
        password: "150426",
        note: "initial password; must be changed at first login",
    },
    DemoLogin {
        who: "student 林雨桐",
        login: "2025040422",
        password: "531976",
        note: "password already changed",
    },
    DemoLogin {
        who: "student 张思远",
        login: "2024050530",
        password: "602718",
        note: "password already changed; consumption password 236027 (card DEC00004)",
    },
    DemoLogin {
        who: "student 刘欣妍",
        login: "2023060611",
        password: "739264",
        note: "password already changed; consumption password 118845 (card DEC00005)",
    },
    DemoLogin {
        who: "administrator",
        login: "admin",
        password: "Yikatong-Admin-2026",
        note: "staff",
    },
    DemoLogin {
        who: "second administrator",
        login: "admin2",
        password: "Yikatong-Admin2-2026",
        note: "staff (approves staff and threshold changes)",
    },
    DemoLogin {
        who: "counter operator",
        login: "operator",
        password: "Yikatong-Counter-2026",
        note: "staff",
    },
    DemoLogin {
        who: "second counter operator (approves corrections)",
        login: "operator2",
        password: "Yikatong-Counter2-2026",
        note: "staff",
    },
    DemoLogin {
        who: "auditor",
        login: "auditor",
        password: "Yikatong-Audit-2026",
        note: "staff, read only",
    },
    DemoLogin {
        who: "merchant (East canteen 1)",
        login: "canteen1",
        password: "Yikatong-Canteen-2026",
        note: "staff, own sales",
    },
];

/// The demo staff's second factor: base32 TOTP secrets to type into an authenticator app
/// (demo only: a real campus enrols each staff member with a fresh secret shown once).
pub const DEMO_TOTP: &[(&str, &str)] = &[
    ("admin", "YKTDEMOADMINSECRETKEYFORTOTPAAAA"),
    ("admin2", "YKTDEMOADMINTWOSECRETKEYFORTOTPA"),
    ("operator", "YKTDEMOOPERATORSECRETKEYTOTPAAAA"),
    ("operator2", "YKTDEMOOPERATORTWOSECRETKEYTOTPA"),
    ("auditor", "YKTDEMOAUDITORSECRETKEYFORTOTPAA"),
    ("canteen1", "YKTDEMOCANTEENSECRETKEYFORTOTPAA"),
];

fn demo_totp(login: &str) -> Option<String> {
    DEMO_TOTP
        .iter()
        .find(|(l, _)| *l == login)
        .map(|(_, secret)| secret.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("demo data: {0}")]
    Data(String),
}

/// Loads the demo campus, its history ending at `now`, when the database has no cardholders.
/// Returns whether it loaded.
pub async fn seed_if_empty(
    store: &dyn Store,
    hasher: &PasswordHasher,
    id_hash_key: &[u8],
    sealer: &super::sealing::Sealer,
    holders: usize,
    now: DateTime<Utc>,
) -> Result<bool, DemoError> {
    if store.holder_count().await? > 0 {
        return Ok(false);
    }
    let hasher = hasher.clone();
    let key = id_hash_key.to_vec();
    let demo = tokio::task::spawn_blocking(move || build(&hasher, &key, holders, now))
        .await
        .map_err(|e| DemoError::Data(e.to_string()))??;
    let mut demo = demo;
    for s in &mut demo.staff {
        s.totp_secret = s
            .totp_secret
            .as_deref()
            .map(|plain| sealer.seal(super::sealing::Sealed::TotpSecret, plain));
    }
    store.load_demo(&demo).await?;
    let numbers: Vec<&str> = demo.holders.iter().map(|h| h.student_no.as_str()).collect();
    seed_bills(store, &numbers, now).await?;
    seed_utilities(store, &numbers, now).await?;
    Ok(true)
}

/// The demo campus's dorms for 缴费: eight buildings of six floors of twenty rooms on the room
/// list (the sandbox biller gives each its meters, running down, when first asked); four
/// students a room (the README's two students share one), and every student's network account
/// (their student number) with some days left. Building 8's sixth floor has its meters offline
/// (`billers::demo_offline`): buying for one of its rooms shows a failed delivery refunded.
async fn seed_utilities(
    store: &dyn Store,
    numbers: &[&str],
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    use super::billers::{demo_meter, demo_offline};
    use super::domain::utilities::Meter;
    use super::store::{Actor, Audit, BoundKind};
    use crate::audit_text::{AuditText, Fact, Phrase};
    use crate::model::{AuditAction, Utility};
    let room_of = |k: usize| {
        (
            (k % 8 + 1).to_string(),
            format!("{}{:02}", (k / 8) % 6 + 1, (k / 48) % 20 + 1),
        )
    };
    let rooms: Vec<(String, String)> = (0..8 * 6 * 20).map(room_of).collect();
    store.add_rooms(&rooms, None, now).await?;
    for (building, room) in rooms.iter().filter(|(b, r)| demo_offline(b, r)) {
        for utility in [Utility::Electricity, Utility::Water] {
            let meter = Meter {
                offline: true,
                ..demo_meter(utility, 3, now)
            };
            store
                .sandbox_set_meter(utility, &format!("{building}-{room}"), &meter)
                .await?;
        }
    }
    for (i, no) in numbers.iter().enumerate() {
        let Some(holder) = store.holder_auth_by_login(no).await? else {
            continue;
        };
        let (building, room) = room_of(i / 4);
        let room = format!("{building}-{room}");
        store
            .sandbox_set_meter(
                Utility::Network,
                no,
                &demo_meter(Utility::Network, i as u64, now),
            )
            .await?;
        for (kind, account) in [(BoundKind::Room, room.as_str()), (BoundKind::Network, *no)] {
            let audit = Audit {
                actor: Actor::System,
                action: AuditAction::UtilityBind,
                holder_id: Some(holder.holder_id),
                target: AuditText::none(),
                before: AuditText::none(),
                after: Fact::Text(format!("{}: {account}", kind.as_str())).into(),
                reason: Phrase::DemoData.stored(),
                ip: String::new(),
            };
            store
                .bind_utility_account(holder.holder_id, kind, Some(account), None, now, audit)
                .await?;
        }
    }
    Ok(())
}

/// A few bills waiting for the demo's students (the README's student logins among them), so
/// the bills pages have something true to show on the first run: issued by the demo operator.
async fn seed_bills(
    store: &dyn Store,
    numbers: &[&str],
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    use super::domain::bills::BillDraft;
    use super::store::{Actor, Audit, NewBill};
    use crate::audit_text::{AuditText, Fact, Phrase};
    let Some(operator) = store.staff_auth("operator").await? else {
        return Ok(());
    };
    let today = super::domain::calendar::campus_date(now);
    // (holder's place in the list, what for, issued by, fen, due in days)
    let mut wanted: Vec<(usize, &str, &str, i64, i64)> = vec![
        (1, "补考费（高等数学）", "教务处", 6_000, 10),
        (1, "图书逾期罚款", "图书馆", 350, 3),
        (0, "学生证补办", "学生处", 2_000, 14),
    ];
    wanted.extend(
        (2..numbers.len())
            .step_by(7)
            .take(20)
            .map(|n| (n, "新生体检费", "校医院", 4_500, 20)),
    );
    let bills: Vec<NewBill> = wanted
        .into_iter()
        .filter_map(|(n, title, department, fen, days)| {
            numbers.get(n).map(|no| NewBill {
                line: 0,
                student_no: (*no).to_string(),
                draft: BillDraft {
                    title: title.into(),
                    department: department.into(),
                    amount: Money::from_fen(fen),
                    due_on: today + Duration::days(days),
                },
            })
        })
        .collect();
    if bills.is_empty() {
        return Ok(());
    }
    let audit = Audit {
        actor: Actor::System,
        action: crate::model::AuditAction::BillIssue,
        holder_id: None,
        target: Fact::Holders(bills.iter().map(|b| b.student_no.clone()).collect()).into(),
        before: AuditText::none(),
        after: AuditText::none(),
        reason: Phrase::DemoData.stored(),
        ip: String::new(),
    };
    if let Err(refused) = store.issue_bills(&bills, operator.id, now, audit).await? {
        return Err(DemoError::Data(format!("demo bills refused: {refused:?}")));
    }
    Ok(())
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "邓", "冯", "韩", "曹", "曾", "彭",
    "蔡", "潘", "田", "董", "袁", "叶", "蒋", "杜", "苏", "魏", "程", "吕", "丁", "沈", "钟", "卢",
    "姚", "谭", "廖", "方", "邱", "欧阳", "温", "黎", "莫", "柯", "江", "钱",
];
const GIVEN: &[&str] = &[
    "子涵", "浩然", "欣怡", "梓轩", "思远", "雨桐", "嘉怡", "俊杰", "晓彤", "宇航", "诗琪", "家豪",
    "佳琪", "志强", "明轩", "婉婷", "文博", "静怡", "晨曦", "一鸣", "心怡", "泽宇", "梦瑶", "天佑",
    "紫萱", "皓轩", "雅琪", "伟", "芳", "磊", "敏", "杰", "婷", "鹏", "颖", "博文", "嘉欣", "振宇",
    "晓东", "丽娟", "国栋", "海燕", "晓敏", "建华", "慧琳", "锦程", "若曦", "逸飞", "靖雯", "子墨",
];
const DEPARTMENTS: &[(&str, &str)] = &[
    ("电子与通信工程学院", "电子"),
    ("计算机工程学院", "计算机"),
    ("人工智能学院", "人工智能"),
    ("管理学院", "管理"),
    ("汽车与交通学院", "汽车"),
    ("建筑工程学院", "建筑"),
    ("外国语学院", "外语"),
    ("艺术设计学院", "艺术"),
];

struct Shop {
    merchant: usize,
    device: usize,
}

/// Builds the whole demo campus. Pure apart from the password hashing.
pub fn build(
    hasher: &PasswordHasher,
    id_hash_key: &[u8],
    holder_count: usize,
    now: DateTime<Utc>,
) -> Result<DemoCampus, DemoError> {
    let mut rng = StdRng::seed_from_u64(20_240_901);
    let profile = demo_profile();
    let beijing =
        FixedOffset::east_opt(8 * 3600).ok_or_else(|| DemoError::Data("offset".into()))?;

    use MerchantCategory as C;
    let merchant_specs: &[(&str, &str, &str, C, &str)] = &[
        (
            "E-CANTEEN-1",
            "东区第一食堂",
            "East Canteen 1",
            C::Canteen,
            "东校区第一食堂一楼",
        ),
        (
            "E-CANTEEN-2",
            "东区第二食堂",
            "East Canteen 2",
            C::Canteen,
            "东校区第二食堂",
        ),
        (
            "W-CANTEEN",
            "西区食堂",
            "West Canteen",
            C::Canteen,
            "西校区食堂",
        ),
        (
            "E-MARKET",
            "教育超市",
            "Campus Supermarket",
            C::Shop,
            "东校区学生生活区",
        ),
        (
            "E-WATERBAR",
            "水吧",
            "Water Bar",
            C::WaterBar,
            "东校区图书馆旁",
        ),
        ("GYM", "体育馆", "Sports Centre", C::Sports, "东校区体育馆"),
        ("LIBRARY", "图书馆", "Library", C::Library, "东校区图书馆"),
        (
            "CLINIC",
            "校医院",
            "Campus Clinic",
            C::Clinic,
            "东校区校医院",
        ),
        (
            "PRINT",
            "自助打印复印",
            "Self-service Printing",
            C::Print,
            "第二教学楼一楼",
        ),
    ];
    let merchants: Vec<NewMerchant> = merchant_specs
        .iter()
        .map(|(code, zh, en, category, place)| NewMerchant {
            code: (*code).into(),
            name_zh: (*zh).into(),
            name_en: (*en).into(),
            category: *category,
            place: (*place).into(),
        })
        .collect();

    let mut devices = Vec::new();
    let mut pos_of = Vec::new();
    for (i, m) in merchants.iter().enumerate() {
        pos_of.push(devices.len());
        devices.push(NewDevice {
            code: format!("POS-{}", m.code),
            kind: DeviceKind::Pos,
            merchant: Some(i),
            place: m.place.clone(),
        });
    }
    devices.push(NewDevice {
        code: "MEAL-E-CANTEEN-1".into(),
        kind: DeviceKind::MealTable,
        merchant: Some(0),
        place: "东校区第一食堂自助餐台".into(),
    });
    devices.push(NewDevice {
        code: "GATE-E-DORM".into(),
        kind: DeviceKind::Gate,
        merchant: None,
        place: "东校区学生宿舍通道".into(),
    });
    devices.push(NewDevice {
        code: "GATE-LIBRARY".into(),
        kind: DeviceKind::Gate,
        merchant: None,
        place: "图书馆通道".into(),
    });
    devices.push(NewDevice {
        code: "ATT-T2-101".into(),
        kind: DeviceKind::Attendance,
        merchant: None,
        place: "第二教学楼101课室".into(),
    });
    devices.push(NewDevice {
        code: "KIOSK-E-ADMIN".into(),
        kind: DeviceKind::Kiosk,
        merchant: None,
        place: "东校区行政楼负一楼".into(),
    });
    devices.push(NewDevice {
        code: "KIOSK-W-T2".into(),
        kind: DeviceKind::Kiosk,
        merchant: None,
        place: "西校区第二教学楼一楼".into(),
    });

    let shop = |code: &str| -> Result<Shop, DemoError> {
        let merchant = merchants
            .iter()
            .position(|m| m.code == code)
            .ok_or_else(|| DemoError::Data(format!("merchant {code}")))?;
        Ok(Shop {
            merchant,
            device: pos_of[merchant],
        })
    };
    let canteens = [
        shop("E-CANTEEN-1")?,
        shop("E-CANTEEN-2")?,
        shop("W-CANTEEN")?,
    ];
    let market = shop("E-MARKET")?;
    let water = shop("E-WATERBAR")?;
    let gym = shop("GYM")?;
    let library = shop("LIBRARY")?;
    let clinic = shop("CLINIC")?;
    let print = shop("PRINT")?;

    let staff_password = |login: &str| -> Result<String, DemoError> {
        let pw = DEMO_LOGINS
            .iter()
            .find(|l| l.login == login)
            .map(|l| l.password)
            .ok_or_else(|| DemoError::Data(format!("login {login}")))?;
        Ok(hasher.hash_blocking(pw)?)
    };
    let staff = vec![
        NewStaff {
            username: "admin".into(),
            display_name: "系统管理员".into(),
            role: StaffRole::Admin,
            merchant: None,
            password_hash: staff_password("admin")?,
            totp_secret: demo_totp("admin"),
        },
        NewStaff {
            username: "admin2".into(),
            display_name: "系统管理员 二".into(),
            role: StaffRole::Admin,
            merchant: None,
            password_hash: staff_password("admin2")?,
            totp_secret: demo_totp("admin2"),
        },
        NewStaff {
            username: "operator".into(),
            display_name: "柜台 周敏".into(),
            role: StaffRole::Operator,
            merchant: None,
            password_hash: staff_password("operator")?,
            totp_secret: demo_totp("operator"),
        },
        NewStaff {
            username: "operator2".into(),
            display_name: "柜台 陈芳".into(),
            role: StaffRole::Operator,
            merchant: None,
            password_hash: staff_password("operator2")?,
            totp_secret: demo_totp("operator2"),
        },
        NewStaff {
            username: "auditor".into(),
            display_name: "财务 黄建华".into(),
            role: StaffRole::Auditor,
            merchant: None,
            password_hash: staff_password("auditor")?,
            totp_secret: demo_totp("auditor"),
        },
        NewStaff {
            username: "canteen1".into(),
            display_name: "东区第一食堂收银".into(),
            role: StaffRole::Merchant,
            merchant: Some(canteens[0].merchant),
            password_hash: staff_password("canteen1")?,
            totp_secret: demo_totp("canteen1"),
        },
    ];

    let start = now - Duration::days(92);
    let mut holders = Vec::with_capacity(holder_count);
    for n in 0..holder_count {
        let (name, student_no, id_number, password, changed) = match n {
            0 => (
                "陈嘉怡".to_string(),
                "2024010101".to_string(),
                "44030520030918273X".to_string(),
                "918273".to_string(),
                false,
            ),
            1 => (
                "李浩然".to_string(),
                "2023020215".to_string(),
                "440106200211257419".to_string(),
                "260817".to_string(),
                true,
            ),
            2 => (
                "王子涵".to_string(),
                "2022030307".to_string(),
                "440304200201150426".to_string(),
                "150426".to_string(),
                false,
            ),
            3 => (
                "林雨桐".to_string(),
                "2025040422".to_string(),
                "440307200605093318".to_string(),
                "531976".to_string(),
                true,
            ),
            4 => (
                "张思远".to_string(),
                "2024050530".to_string(),
                "440303200410236027".to_string(),
                "602718".to_string(),
                true,
            ),
            5 => (
                "刘欣妍".to_string(),
                "2023060611".to_string(),
                "440304200305118845".to_string(),
                "739264".to_string(),
                true,
            ),
            _ => {
                let surname = *SURNAMES
                    .choose(&mut rng)
                    .ok_or_else(|| DemoError::Data("names".into()))?;
                let given = *GIVEN
                    .choose(&mut rng)
                    .ok_or_else(|| DemoError::Data("names".into()))?;
                let year = rng.random_range(2022..=2025);
                let student_no = format!("{year}{:02}{:04}", rng.random_range(1..=8), 100 + n);
                let birth_year = year - 19 + rng.random_range(-1..=1);
                let mut id = format!(
                    "4403{:02}{birth_year}{:02}{:02}{:03}",
                    rng.random_range(1..=9),
                    rng.random_range(1..=12),
                    rng.random_range(1..=28),
                    rng.random_range(0..1000)
                );
                // About one in eleven resident ID numbers ends in X.
                if rng.random_range(0..11) == 0 {
                    id.push('X');
                } else {
                    id.push(char::from(b'0' + rng.random_range(0..10u8)));
                }
                let initial =
                    ids::initial_password(&id).map_err(|e| DemoError::Data(e.to_string()))?;
                (format!("{surname}{given}"), student_no, id, initial, false)
            }
        };
        let initial =
            ids::initial_password(&id_number).map_err(|e| DemoError::Data(e.to_string()))?;
        let (department, short) = *DEPARTMENTS
            .choose(&mut rng)
            .ok_or_else(|| DemoError::Data("departments".into()))?;
        let year = student_no[..4].to_string();
        let created_at = start - Duration::days(rng.random_range(0..400));
        let card_no = format!("{}", 31_000_000 + n * 7 + 3);
        let random_serial = format!("{:08X}", rng.random::<u32>());
        // The named demo students' cards have serials a tester can type at a till.
        let chip_serial = if n < 6 {
            format!("DEC{n:05}")
        } else {
            random_serial
        };
        let mut cards = Vec::new();
        // A few students replaced a card once: the old one stays void forever.
        if n % 13 == 5 {
            cards.push(NewCard {
                card_no: format!("{}", 39_000_000 + n),
                chip_serial: format!("{:08X}", rng.random::<u32>()),
                status: CardStatus::Void,
                issued_at: created_at,
            });
        }
        cards.push(NewCard {
            card_no,
            chip_serial,
            status: CardStatus::Active,
            issued_at: created_at,
        });

        let mut entries = history(
            &mut rng, &beijing, start, now, &canteens, &market, &water, &gym, &library, &clinic,
            &print, n,
        )?;
        if n < NAMED_STUDENTS {
            keep_for_walkthrough(&mut entries, now);
        }
        holders.push(NewHolder {
            student_no,
            name,
            kind: if n % 17 == 16 {
                HolderKind::Faculty
            } else {
                HolderKind::Student
            },
            department: department.into(),
            class_name: format!("{short}{}级{}班", &year[2..], 1 + n % 4),
            id_doc_kind: IdDocKind::ResidentId,
            id_doc_hash: ids::keyed_hash(id_hash_key, &id_number),
            id_doc_masked: ids::mask(&id_number),
            phone_masked: format!(
                "1{}******{:02}",
                rng.random_range(30..=99),
                rng.random_range(0..100)
            ),
            query_pw_hash: hasher.hash_blocking(&password)?,
            query_pw_is_initial: !changed,
            consumption_pw_hash: hasher.hash_blocking(&initial)?,
            personal_pins: ids::personal_pin_hashes(id_hash_key, &id_number),
            single_limit: profile.default_single_limit,
            daily_limit: profile.default_daily_limit,
            created_at,
            cards,
            entries,
        });
    }

    Ok(DemoCampus {
        profile,
        merchants,
        devices,
        staff,
        holders,
    })
}

/// The students with published logins (`DEMO_LOGINS`): the first six holders.
pub const NAMED_STUDENTS: usize = 6;

/// What a named student has at least when the demo is generated, whatever the date: enough
/// for the README's walk-through (a ¥60 sale with the consumption password, refunds, top-ups).
pub const NAMED_FLOOR: Money = Money::yuan(300);

/// Tops a named student up, shortly before `now`, to at least `NAMED_FLOOR` in whole ¥100s.
/// Credits only raise the balances after them, so the history still never overdraws.
fn keep_for_walkthrough(entries: &mut Vec<NewEntry>, now: DateTime<Utc>) {
    let balance: i64 = entries.iter().map(|e| e.amount.fen()).sum();
    let short = NAMED_FLOOR.fen() - balance;
    if short <= 0 {
        return;
    }
    let hundred = Money::yuan(100).fen();
    entries.push(NewEntry {
        kind: EntryKind::Topup,
        amount: Money::from_fen((short + hundred - 1) / hundred * hundred),
        channel: Some(Channel::Cash),
        merchant: None,
        device: None,
        memo: String::new(),
        created_at: now - Duration::minutes(5),
    });
    entries.sort_by_key(|e| e.created_at);
}

/// Roughly three months of one student's days: meals in term time, the shop, the water bar,
/// printing, the odd clinic or gym visit, and top-ups when the balance runs low.
#[allow(clippy::too_many_arguments)]
fn history(
    rng: &mut StdRng,
    tz: &FixedOffset,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    canteens: &[Shop; 3],
    market: &Shop,
    water: &Shop,
    gym: &Shop,
    library: &Shop,
    clinic: &Shop,
    print: &Shop,
    n: usize,
) -> Result<Vec<NewEntry>, DemoError> {
    let mut entries = Vec::new();
    let mut balance: i64 = 0;
    let at = |day: chrono::NaiveDate, h: u32, m: u32| -> Option<DateTime<Utc>> {
        let time = NaiveTime::from_hms_opt(h, m, 0)?;
        tz.from_local_datetime(&day.and_time(time))
            .single()
            .map(|t| t.with_timezone(&Utc))
    };
    let first_day = start.with_timezone(tz).date_naive();
    let today = now.with_timezone(tz).date_naive();
    let mut day = first_day;
    let topup =
        |entries: &mut Vec<NewEntry>, balance: &mut i64, when: DateTime<Utc>, rng: &mut StdRng| {
            let amount = *[10_000, 20_000, 30_000, 50_000]
                .choose(rng)
                .unwrap_or(&20_000);
            let channel = *[
                Channel::Wechat,
                Channel::Wechat,
                Channel::Bank,
                Channel::Auto,
                Channel::Cash,
            ]
            .choose(rng)
            .unwrap_or(&Channel::Wechat);
            *balance += amount;
            entries.push(NewEntry {
                kind: EntryKind::Topup,
                amount: Money::from_fen(amount),
                channel: Some(channel),
                merchant: None,
                device: None,
                memo: String::new(),
                created_at: when,
            });
        };
    if let Some(when) = at(first_day, 6, 30) {
        topup(&mut entries, &mut balance, when, rng);
    }
    while day <= today {
        let weekend = matches!(
            chrono::Datelike::weekday(&day),
            chrono::Weekday::Sat | chrono::Weekday::Sun
        );
        let mut spends: Vec<(u32, u32, &Shop, i64, &str)> = Vec::new();
        let canteen = &canteens[(n + rng.random_range(0..3)) % 3];
        if rng.random_bool(if weekend { 0.3 } else { 0.65 }) {
            spends.push((
                7,
                rng.random_range(10..55),
                canteen,
                rng.random_range(350..900),
                "早餐",
            ));
        }
        if rng.random_bool(if weekend { 0.6 } else { 0.92 }) {
            spends.push((
                11,
                rng.random_range(40..59),
                canteen,
                rng.random_range(1000..1900),
                "午餐",
            ));
        }
        if rng.random_bool(if weekend { 0.55 } else { 0.8 }) {
            spends.push((
                17,
                rng.random_range(20..59),
                canteen,
                rng.random_range(900..1700),
                "晚餐",
            ));
        }
        if rng.random_bool(0.22) {
            spends.push((
                15,
                rng.random_range(0..59),
                water,
                rng.random_range(600..1600),
                "",
            ));
        }
        if rng.random_bool(0.3) {
            spends.push((
                20,
                rng.random_range(0..59),
                market,
                rng.random_range(250..4500),
                "",
            ));
        }
        if !weekend && rng.random_bool(0.06) {
            spends.push((
                10,
                rng.random_range(0..59),
                print,
                rng.random_range(50..600),
                "",
            ));
        }
        if rng.random_bool(0.03) {
            spends.push((
                19,
                rng.random_range(0..59),
                gym,
                rng.random_range(1000..3000),
                "",
            ));
        }
        if rng.random_bool(0.01) {
            spends.push((
                14,
                rng.random_range(0..59),
                library,
                rng.random_range(50..500),
                "逾期费",
            ));
        }
        if rng.random_bool(0.015) {
            spends.push((
                9,
                rng.random_range(0..59),
                clinic,
                rng.random_range(500..3500),
                "",
            ));
        }
        // Spend in time order, so the running balance is the balance at that moment.
        spends.sort_by_key(|(h, m, ..)| (*h, *m));
        for (h, m, shop, fen, memo) in spends {
            let Some(when) = at(day, h, m) else { continue };
            if when > now {
                continue;
            }
            if balance < fen {
                // Most students top up when they run low; the rest simply do not buy.
                if rng.random_bool(0.85) {
                    topup(&mut entries, &mut balance, when - Duration::minutes(3), rng);
                } else {
                    continue;
                }
            }
            balance -= fen;
            entries.push(NewEntry {
                kind: EntryKind::Payment,
                amount: Money::from_fen(-fen),
                channel: None,
                merchant: Some(shop.merchant),
                device: Some(shop.device),
                memo: memo.into(),
                created_at: when,
            });
            // Now and then a cashier refunds a sale a few minutes later.
            if rng.random_bool(0.004) {
                balance += fen;
                entries.push(NewEntry {
                    kind: EntryKind::Refund,
                    amount: Money::from_fen(fen),
                    channel: None,
                    merchant: Some(shop.merchant),
                    device: Some(shop.device),
                    memo: "退款".into(),
                    created_at: when + Duration::minutes(2),
                });
            }
        }
        day = day
            .succ_opt()
            .ok_or_else(|| DemoError::Data("calendar overflow".into()))?;
    }
    entries.sort_by_key(|e| e.created_at);
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    /// Awkward moments: month ends, both sides of campus midnight, 29 February, the Spring
    /// Festival, and one and two years on.
    const MOMENTS: &[&str] = &[
        "2026-10-14T02:30:00Z",
        "2026-11-30T15:59:00Z",
        "2026-11-30T16:01:00Z",
        "2027-01-31T15:59:59Z",
        "2028-02-29T04:00:00Z",
        "2027-02-06T16:30:00Z",
        "2027-12-01T01:00:00Z",
        "2028-12-01T13:00:00Z",
    ];

    fn shops() -> ([Shop; 3], [Shop; 7]) {
        let shop = |merchant, device| Shop { merchant, device };
        (
            [shop(0, 0), shop(1, 1), shop(2, 2)],
            [
                shop(3, 3),
                shop(4, 4),
                shop(5, 5),
                shop(6, 6),
                shop(7, 7),
                shop(8, 8),
                shop(9, 9),
            ],
        )
    }

    fn history_at(now: DateTime<Utc>, n: usize) -> Vec<NewEntry> {
        let tz = FixedOffset::east_opt(8 * 3600).expect("offset");
        let (canteens, [market, water, gym, library, clinic, print, _]) = shops();
        let mut rng = StdRng::seed_from_u64(7 + n as u64);
        let mut entries = history(
            &mut rng,
            &tz,
            now - Duration::days(92),
            now,
            &canteens,
            &market,
            &water,
            &gym,
            &library,
            &clinic,
            &print,
            n,
        )
        .expect("history");
        if n < NAMED_STUDENTS {
            keep_for_walkthrough(&mut entries, now);
        }
        entries
    }

    #[test]
    fn named_students_can_do_the_walkthrough_on_any_day_and_nothing_is_overdrawn() {
        for moment in MOMENTS {
            let now: DateTime<Utc> = moment.parse().expect("moment");
            for n in 0..NAMED_STUDENTS + 2 {
                let entries = history_at(now, n);
                let mut balance = 0i64;
                for e in &entries {
                    balance += e.amount.fen();
                    assert!(balance >= 0, "{moment} #{n} overdrawn");
                    assert!(e.created_at <= now, "{moment} #{n}: an entry after now");
                }
                if n < NAMED_STUDENTS {
                    assert!(
                        balance >= NAMED_FLOOR.fen(),
                        "{moment} #{n}: ¥{} left",
                        balance / 100
                    );
                }
            }
        }
    }

    #[test]
    fn the_same_moment_gives_the_same_history() {
        for moment in MOMENTS {
            let now: DateTime<Utc> = moment.parse().expect("moment");
            let summary = |entries: Vec<NewEntry>| -> Vec<(i64, DateTime<Utc>)> {
                entries
                    .iter()
                    .map(|e| (e.amount.fen(), e.created_at))
                    .collect()
            };
            assert_eq!(summary(history_at(now, 3)), summary(history_at(now, 3)));
        }
    }

    #[test]
    fn demo_history_never_overdraws_and_logins_match_their_ids() {
        let hasher = PasswordHasher::new(SecretString::from("test"), 1);
        // Hashing dominates; the four students with published logins are enough.
        let demo = build(&hasher, b"key", 4, crate::server::clock::test_now()).unwrap();
        assert_eq!(demo.holders.len(), 4);
        for (holder, login) in demo.holders.iter().zip(DEMO_LOGINS) {
            assert_eq!(holder.student_no, login.login);
            assert!(
                hasher.verify_blocking(login.password, &holder.query_pw_hash),
                "{}",
                login.login
            );
            assert_eq!(
                holder.query_pw_is_initial,
                login.note.contains("initial"),
                "{}",
                login.login
            );
        }
        for h in &demo.holders {
            let mut balance = 0i64;
            assert!(h.entries.len() > 100, "{} has a thin history", h.student_no);
            for e in &h.entries {
                balance += e.amount.fen();
                assert!(balance >= 0, "{} overdrawn", h.student_no);
            }
            assert!(
                h.entries
                    .windows(2)
                    .all(|w| w[0].created_at <= w[1].created_at)
            );
        }
    }
}
