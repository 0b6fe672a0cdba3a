//! The service counter: finding holders, enrolment (one or a CSV batch), cards, cash top-ups,
//! password resets after an ID check, lockouts, loss, freezing, closing accounts, found cards,
//! corrections and failed automatic top-ups. Every change carries the reason the operator
//! typed and is audited in the same transaction by the store.

use super::domain::payments;
use super::ids;
use super::sealing::Sealed;
use super::staff::StaffSession;
use super::store::{
    CardChange, CardIssue, CashDecision, Closing, Correction, Credit, CreditOutcome, EntryRecord,
    HolderRecord, NewCard, NewHolder, PasswordKind,
};
use super::{AppState, internal};
use crate::audit_text::{AuditText, Counted, Fact, Phrase};
use crate::error::AppError;
use crate::model::{
    AccountStatus, AuditAction, CardStatus, Channel, EntryKind, HolderKind, IdDocKind, Money,
};
use crate::portal_model::Problem;
use crate::staff_model::*;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

pub const MIN_CASH: Money = Money::yuan(1);
pub const MAX_CASH: Money = Money::yuan(2000);
pub const MAX_FEE: Money = Money::yuan(100);
pub const MAX_IMPORT_ROWS: usize = 2000;
const HISTORY: i64 = 30;

fn rejected(problem: Problem) -> AppError {
    AppError::Rejected(problem)
}

use super::domain::audit::{reason, second_person};

async fn holder(state: &AppState, holder_id: i64) -> Result<HolderRecord, AppError> {
    state
        .db
        .holder_record(holder_id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn search(state: &AppState, query: &str) -> Result<Vec<HolderHit>, AppError> {
    let q = query.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    if q.chars().count() > 40 {
        return Err(AppError::Invalid("search text too long".into()));
    }
    Ok(state.db.search_holders(q, 50).await?)
}

pub async fn holder_file(state: &AppState, holder_id: i64) -> Result<HolderFile, AppError> {
    let h = holder(state, holder_id).await?;
    let db = &state.db;
    let now = state.now();
    let live = |t: Option<DateTime<Utc>>| t.filter(|t| *t > now).map(|t| t.to_rfc3339());
    Ok(HolderFile {
        holder_id,
        student_no: h.student_no,
        name: h.name,
        kind: h.kind,
        department: h.department,
        class_name: h.class_name,
        id_doc_kind: h.id_doc_kind,
        id_doc_masked: h.id_doc_masked,
        phone_masked: h.phone_masked,
        balance: h.balance,
        account_status: h.status,
        status_reason: h.status_reason,
        single_limit: h.single_limit,
        daily_limit: h.daily_limit,
        query_pw_is_initial: h.query_pw_is_initial,
        query_failures: h.failed_logins,
        query_locked_until: live(h.locked_until),
        consumption_pw_is_initial: h.consumption_pw_is_initial,
        consumption_failures: h.consumption_pw_failures,
        consumption_locked_until: live(h.consumption_pw_locked_until),
        cards: db.card_views(holder_id).await?,
        entries: db.staff_entries(holder_id, HISTORY).await?,
        audit: db.audit_of_holder(holder_id, HISTORY).await?,
        failed_topups: db.failed_topup_views(Some(holder_id)).await?,
        found: db.found_cards_of(holder_id).await?,
        pending_reversals: db.pending_reversals(Some(holder_id)).await?,
        can_change: false,
        cash_receipt_no: new_receipt_no(now),
        payout_account: db
            .payout_account(holder_id)
            .await?
            .map(|p| PayoutAccountView {
                account_masked: p.account_masked,
                recorded_by: p.recorded_by,
                recorded_at: p.recorded_at,
            }),
    })
}

// ---- Enrolment ----

/// One enrolment row as typed or imported.
#[derive(Debug, Clone, Default)]
pub struct EnrolInput {
    pub student_no: String,
    pub name: String,
    pub kind: String,
    pub department: String,
    pub class_name: String,
    pub id_doc_kind: String,
    pub id_number: String,
    pub phone: String,
    pub chip_serial: String,
}

/// A row that passed validation.
struct ValidRow {
    input: EnrolInput,
    kind: HolderKind,
    id_doc_kind: IdDocKind,
    initial: String,
}

fn parse_kind(text: &str) -> Option<HolderKind> {
    match text.trim() {
        "" | "student" | "学生" => Some(HolderKind::Student),
        "faculty" | "staff" | "教职工" | "教师" => Some(HolderKind::Faculty),
        _ => None,
    }
}

fn parse_doc(text: &str) -> Option<IdDocKind> {
    match text.trim() {
        "" | "resident_id" | "身份证" | "居民身份证" => Some(IdDocKind::ResidentId),
        "passport" | "护照" => Some(IdDocKind::Passport),
        "hk_macau_permit" | "港澳通行证" | "港澳居民来往内地通行证" => {
            Some(IdDocKind::HkMacauPermit)
        }
        _ => None,
    }
}

pub fn chip_serial_ok(serial: &str) -> bool {
    (8..=16).contains(&serial.len()) && serial.bytes().all(|b| b.is_ascii_hexdigit())
}

fn validate(input: EnrolInput) -> Result<ValidRow, Problem> {
    let mut input = input;
    input.student_no = input.student_no.trim().to_string();
    input.name = input.name.trim().to_string();
    input.chip_serial = input.chip_serial.trim().to_ascii_uppercase();
    if input.student_no.len() < 4
        || input.student_no.len() > 20
        || !input.student_no.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(Problem::EnrolField {
            field: "student_no".into(),
        });
    }
    if input.name.is_empty() || input.name.chars().count() > 40 {
        return Err(Problem::EnrolField {
            field: "name".into(),
        });
    }
    let kind = parse_kind(&input.kind).ok_or(Problem::EnrolField {
        field: "kind".into(),
    })?;
    let id_doc_kind = parse_doc(&input.id_doc_kind).ok_or(Problem::EnrolField {
        field: "id_doc_kind".into(),
    })?;
    let initial = ids::initial_password(&input.id_number).map_err(|_| Problem::IdDocDigits)?;
    let phone: String = input.phone.chars().filter(|c| !c.is_whitespace()).collect();
    if !phone.is_empty() && (phone.len() < 7 || !phone.bytes().all(|b| b.is_ascii_digit())) {
        return Err(Problem::EnrolField {
            field: "phone".into(),
        });
    }
    input.phone = phone;
    if !input.chip_serial.is_empty() && !chip_serial_ok(&input.chip_serial) {
        return Err(Problem::ChipSerialFormat);
    }
    if input.department.chars().count() > 60 || input.class_name.chars().count() > 60 {
        return Err(Problem::EnrolField {
            field: "department".into(),
        });
    }
    Ok(ValidRow {
        input,
        kind,
        id_doc_kind,
        initial,
    })
}

fn mask_phone(phone: &str) -> String {
    let n = phone.len();
    if n < 7 {
        return String::new();
    }
    format!("{}****{}", &phone[..3], &phone[n - 4..])
}

/// A fresh 8-digit card number (printed on the card).
fn new_card_no() -> String {
    format!("{}", 35_000_000 + rand::random::<u32>() % 4_000_000)
}

async fn build_holder(
    state: &AppState,
    row: &ValidRow,
    profile: &crate::model::CampusProfile,
    now: DateTime<Utc>,
) -> Result<NewHolder, AppError> {
    use secrecy::ExposeSecret;
    let key = state.secrets.id_hash_key.expose_secret().as_bytes();
    // Both passwords start from the same ID rule: one hash serves both.
    let hash = state
        .hasher
        .hash(row.initial.clone())
        .await
        .map_err(internal)?;
    let input = &row.input;
    Ok(NewHolder {
        student_no: input.student_no.clone(),
        name: input.name.clone(),
        kind: row.kind,
        department: input.department.trim().to_string(),
        class_name: input.class_name.trim().to_string(),
        id_doc_kind: row.id_doc_kind,
        id_doc_hash: ids::keyed_hash(key, &input.id_number),
        id_doc_masked: ids::mask(&input.id_number),
        phone_masked: mask_phone(&input.phone),
        query_pw_hash: hash.clone(),
        query_pw_is_initial: true,
        consumption_pw_hash: hash,
        personal_pins: ids::personal_pin_hashes(key, &input.id_number),
        single_limit: profile.default_single_limit,
        daily_limit: profile.default_daily_limit,
        created_at: now,
        cards: if input.chip_serial.is_empty() {
            Vec::new()
        } else {
            vec![NewCard {
                card_no: new_card_no(),
                chip_serial: input.chip_serial.clone(),
                status: CardStatus::Active,
                issued_at: now,
            }]
        },
        entries: Vec::new(),
    })
}

/// Validates every row, then enrols all new holders in one transaction, or nothing when any
/// row has a problem. A holder enrolled before with the same student number and name is
/// "unchanged", so importing the same file twice changes nothing. The row's ID number is not
/// compared with the enrolled one: the answer would tell an operator, without limit or audit,
/// whether a guessed ID number is right (the counter's checks of a presented document are
/// `check_id`'s, counted and audited).
pub async fn enrol_rows(
    state: &AppState,
    staff: &StaffSession,
    rows: Vec<(usize, EnrolInput)>,
    source: &str,
) -> Result<ImportReport, AppError> {
    let mut report = ImportReport {
        rows: rows.len(),
        created: 0,
        unchanged: 0,
        errors: Vec::new(),
    };
    if rows.is_empty() {
        report.errors.push(RowError {
            line: 1,
            problem: Problem::ImportEmpty,
        });
        return Ok(report);
    }
    if rows.len() > MAX_IMPORT_ROWS {
        report.errors.push(RowError {
            line: 1,
            problem: Problem::ImportTooLarge {
                max: MAX_IMPORT_ROWS as i64,
            },
        });
        return Ok(report);
    }
    let mut seen_numbers = HashSet::new();
    let mut seen_serials = HashSet::new();
    let mut fresh = Vec::new();
    for (line, input) in rows {
        let row = match validate(input) {
            Ok(row) => row,
            Err(problem) => {
                report.errors.push(RowError { line, problem });
                continue;
            }
        };
        if !seen_numbers.insert(row.input.student_no.clone())
            || (!row.input.chip_serial.is_empty()
                && !seen_serials.insert(row.input.chip_serial.clone()))
        {
            report.errors.push(RowError {
                line,
                problem: Problem::DuplicateInFile,
            });
            continue;
        }
        if let Some(existing) = state.db.holder_by_student_no(&row.input.student_no).await? {
            if existing.name == row.input.name {
                report.unchanged += 1;
            } else {
                report.errors.push(RowError {
                    line,
                    problem: Problem::EnrolConflict,
                });
            }
            continue;
        }
        if !row.input.chip_serial.is_empty()
            && state
                .db
                .card_by_number(&row.input.chip_serial)
                .await?
                .is_some()
        {
            report.errors.push(RowError {
                line,
                problem: Problem::CardTaken,
            });
            continue;
        }
        fresh.push(row);
    }
    if !report.errors.is_empty() || fresh.is_empty() {
        return Ok(report);
    }
    let profile = state
        .campus
        .get(&state.db)
        .await?
        .ok_or_else(|| internal("campus profile missing"))?;
    let now = state.now();
    let mut holders = Vec::with_capacity(fresh.len());
    let mut card_numbers = HashSet::new();
    for row in &fresh {
        let mut holder = build_holder(state, row, &profile, now).await?;
        // Card numbers are drawn at random: none twice in this batch, none already issued.
        for card in &mut holder.cards {
            while !card_numbers.insert(card.card_no.clone())
                || state.db.card_by_number(&card.card_no).await?.is_some()
            {
                card.card_no = new_card_no();
            }
        }
        holders.push(holder);
    }
    let numbers: Vec<String> = holders.iter().map(|h| h.student_no.clone()).collect();
    let mut audit = staff.audit(
        AuditAction::HolderEnrol,
        None,
        Fact::Holders(numbers),
        source,
    );
    audit.after = Fact::Count(Counted::Enrolled, holders.len() as i64).into();
    state.db.enrol(&holders, audit).await?;
    report.created = holders.len();
    Ok(report)
}

/// Reads an enrolment CSV: a header line naming the columns (English or Chinese names), then
/// one holder per line. Unknown columns are refused so a misspelt header is not silently
/// ignored.
pub fn parse_csv(text: &str) -> Result<Vec<(usize, EnrolInput)>, Problem> {
    const COLUMNS: &[&[&str]] = &[
        &["student_no", "学号", "工号"],
        &["name", "姓名"],
        &["kind", "类别"],
        &["department", "院系", "学院"],
        &["class_name", "class", "班级"],
        &["id_doc_kind", "证件类型"],
        &["id_number", "证件号码", "身份证号"],
        &["phone", "手机", "手机号"],
        &["chip_serial", "芯片号"],
    ];
    let rows = super::csv::read_table(text, COLUMNS, &[0, 1, 6])?;
    Ok(rows
        .into_iter()
        .map(|(line, mut v)| {
            let mut take = |i: usize| std::mem::take(&mut v[i]);
            let input = EnrolInput {
                student_no: take(0),
                name: take(1),
                kind: take(2),
                department: take(3),
                class_name: take(4),
                id_doc_kind: take(5),
                id_number: take(6),
                phone: take(7),
                chip_serial: take(8),
            };
            (line, input)
        })
        .collect())
}

// ---- Cards ----

fn card_issue_result(outcome: CardIssue) -> Result<Money, AppError> {
    match outcome {
        CardIssue::Issued { balance, .. } => Ok(balance),
        CardIssue::HasLiveCard => Err(rejected(Problem::HasLiveCard)),
        CardIssue::NoLiveCard => Err(rejected(Problem::NoCard)),
        CardIssue::Taken => Err(rejected(Problem::CardTaken)),
        CardIssue::AccountClosed => Err(rejected(Problem::AccountNotActive)),
        CardIssue::FeeAboveBalance => Err(rejected(Problem::FeeAboveBalance)),
    }
}

/// Issues a first card, or (`replace`) voids the live card for good and issues a new one,
/// charging an optional fee. The balance stays with the account.
pub async fn issue_card(
    state: &AppState,
    staff: &StaffSession,
    holder_id: i64,
    chip_serial: &str,
    replace: bool,
    fee: &str,
    why: &str,
) -> Result<Money, AppError> {
    let why = reason(why)?;
    let serial = chip_serial.trim().to_ascii_uppercase();
    if !chip_serial_ok(&serial) {
        return Err(rejected(Problem::ChipSerialFormat));
    }
    let fee = if fee.trim().is_empty() {
        Money::ZERO
    } else {
        Money::parse_yuan(fee).map_err(|_| rejected(Problem::LimitFormat))?
    };
    if !replace && fee != Money::ZERO || fee > MAX_FEE {
        return Err(rejected(Problem::LimitFormat));
    }
    let h = holder(state, holder_id).await?;
    // A random card number can collide with an existing one: try a few.
    for _ in 0..5 {
        let card = NewCard {
            card_no: new_card_no(),
            chip_serial: serial.clone(),
            status: CardStatus::Active,
            issued_at: state.now(),
        };
        let action = if replace {
            AuditAction::CardReplace
        } else {
            AuditAction::CardIssue
        };
        let audit = staff.audit(
            action,
            Some(holder_id),
            AuditText::from(Fact::Holder(h.student_no.clone()))
                .and(Fact::Card(card.card_no.clone())),
            why,
        );
        let outcome = state
            .db
            .issue_card(holder_id, &card, replace, fee, staff.id, audit)
            .await?;
        if outcome == CardIssue::Taken && state.db.card_by_number(&serial).await?.is_none() {
            continue;
        }
        return card_issue_result(outcome);
    }
    Err(internal("no free card number after 5 tries"))
}

pub async fn cancel_card(
    state: &AppState,
    staff: &StaffSession,
    holder_id: i64,
    why: &str,
) -> Result<(), AppError> {
    let why = reason(why)?;
    holder(state, holder_id).await?;
    let audit = staff.audit(
        AuditAction::CardCancel,
        Some(holder_id),
        AuditText::none(),
        why,
    );
    match state.db.cancel_card(holder_id, state.now(), audit).await? {
        CardChange::Changed { .. } => Ok(()),
        _ => Err(rejected(Problem::NoCard)),
    }
}

/// Reports the holder's card lost (`lost`) or lifts the report, at the counter. Lifting needs
/// the holder's ID document (SPEC §5), checked like a password reset.
pub async fn set_lost(
    state: &AppState,
    staff: &StaffSession,
    holder_id: i64,
    lost: bool,
    id_number: &str,
    why: &str,
) -> Result<(), AppError> {
    let why = reason(why)?;
    let h = holder(state, holder_id).await?;
    if !lost {
        check_id(state, staff, &h, id_number, AuditAction::CardLiftLost, why).await?;
    }
    let action = if lost {
        AuditAction::CardReportLost
    } else {
        AuditAction::CardLiftLost
    };
    let audit = staff.audit(action, Some(holder_id), AuditText::none(), why);
    match state
        .db
        .set_card_lost(holder_id, lost, state.now(), audit)
        .await?
    {
        CardChange::Changed { .. } => Ok(()),
        CardChange::NoCard => Err(rejected(Problem::NoCard)),
        CardChange::WrongState(_) if lost => Err(rejected(Problem::CardNotActive)),
        CardChange::WrongState(_) => Err(rejected(Problem::CardNotLost)),
    }
}

// ---- Money ----

/// A fresh receipt number for the next cash top-up, handed out with the holder page: the form
/// sends it back, so a form sent twice (a double click, a retry) credits once.
pub fn new_receipt_no(now: DateTime<Utc>) -> String {
    format!(
        "C{}{:06}",
        now.with_timezone(&super::domain::calendar::campus_tz())
            .format("%Y%m%d%H%M%S"),
        rand::random::<u32>() % 1_000_000
    )
}

fn receipt_no_ok(text: &str) -> bool {
    text.len() == 21 && text.starts_with('C') && text[1..].bytes().all(|b| b.is_ascii_digit())
}

pub async fn cash_topup(
    state: &AppState,
    staff: &StaffSession,
    holder_id: i64,
    amount: &str,
    why: &str,
    receipt_no: &str,
) -> Result<Receipt, AppError> {
    let why = if why.trim().is_empty() {
        Phrase::CashAtCounter.stored()
    } else {
        reason(why)?.to_string()
    };
    let why = why.as_str();
    let amount = Money::parse_yuan(amount)
        .ok()
        .filter(|a| *a >= MIN_CASH && *a <= MAX_CASH)
        .ok_or(rejected(Problem::TopupAmount {
            min: MIN_CASH,
            max: MAX_CASH,
        }))?;
    let receipt_no = receipt_no.trim();
    if !receipt_no_ok(receipt_no) {
        return Err(AppError::Invalid("receipt number".into()));
    }
    let h = holder(state, holder_id).await?;
    if h.status == AccountStatus::Closed {
        return Err(rejected(Problem::AccountNotActive));
    }
    let now = state.now();
    let profile = state
        .campus
        .get(&state.db)
        .await?
        .ok_or_else(|| internal("campus profile missing"))?;
    let target = AuditText::from(Fact::Holder(h.student_no.clone()))
        .and(Fact::Credit(amount))
        .and(Fact::Receipt(receipt_no.to_string()));
    let receipt = Receipt {
        receipt_no: receipt_no.to_string(),
        office: profile.office_name.zh.clone(),
        holder_name: h.name.clone(),
        student_no: h.student_no.clone(),
        amount,
        balance: h.balance,
        at: now.to_rfc3339(),
        operator: staff.display_name.clone(),
        approved_by: String::new(),
        awaiting_approval: false,
        kind: ReceiptKind::CashTopup,
        entry_id: 0,
        detail: String::new(),
        holder_id,
    };
    // What this holder got in cash today counts too: two top-ups just under the threshold
    // take a second person like one above it.
    let today = state
        .db
        .holder_cash_since(holder_id, super::domain::calendar::day_start(now))
        .await?;
    if payments::cash_needs_second_person(amount, today, profile.cash_approval_above) {
        // The operator keeps the cash and the holder waits while a colleague approves it in
        // the work queue; the approval credits it and prints the receipt.
        let mut audit = staff.audit(
            AuditAction::MoneyCashRequested,
            Some(holder_id),
            target,
            why,
        );
        audit.after = Fact::Said(Phrase::AwaitingSecondStaff).into();
        let (id, _) = state
            .db
            .request_cash_topup(holder_id, amount, receipt_no, why, staff.id, now, audit)
            .await?
            .ok_or_else(|| AppError::Invalid("receipt number".into()))?;
        // The same form again after the decision: say so rather than "waiting".
        state
            .db
            .cash_request(id)
            .await?
            .filter(|r| r.pending)
            .ok_or(rejected(Problem::ApprovalDecided))?;
        return Ok(Receipt {
            awaiting_approval: true,
            ..receipt
        });
    }
    let memo = payments::cash_memo(receipt_no);
    let credit = Credit {
        holder_id,
        amount,
        kind: EntryKind::Topup,
        channel: Some(Channel::Cash),
        merchant_id: None,
        staff_id: Some(staff.id),
        reference: receipt_no,
        memo: &memo,
        now,
    };
    let audit = staff.audit(AuditAction::MoneyCashTopup, Some(holder_id), target, why);
    let day_start = super::domain::calendar::day_start(now);
    let outcome = state
        .db
        .cash_topup(&credit, day_start, payments::OPERATOR_DAILY_CASH_CAP, audit)
        .await?;
    credited(state, holder_id, receipt, outcome).await
}

/// The receipt of a journal entry the counter gives one for (`ReceiptKind::of`), from what
/// is stored: the same page whether it is printed at once, later, or without the page's script.
pub async fn receipt(state: &AppState, entry_id: i64) -> Result<Receipt, AppError> {
    let row = state
        .db
        .receipt_entry(entry_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = ReceiptKind::of(row.kind, row.channel, &row.reference).ok_or(AppError::NotFound)?;
    let office = state
        .campus
        .get(&state.db)
        .await?
        .ok_or_else(|| internal("campus profile missing"))?
        .office_name
        .zh;
    let detail = match kind {
        ReceiptKind::CashTopup => String::new(),
        ReceiptKind::CardFee => super::domain::cards::replaced_by(&row.memo)
            .unwrap_or_default()
            .to_string(),
        // What the bill was for; the room or network account a purchase was for.
        ReceiptKind::Bill | ReceiptKind::Purchase => row.memo.clone(),
        // The payout's reference is its number, then the masked account.
        ReceiptKind::Payout => row
            .reference
            .split_once(' ')
            .map(|(_, account)| account.trim().to_string())
            .unwrap_or_default(),
    };
    Ok(Receipt {
        receipt_no: ReceiptKind::number(row.id, &row.reference),
        office,
        holder_name: row.holder_name,
        student_no: row.student_no,
        amount: Money::from_fen(row.amount.fen().abs()),
        balance: row.balance_after,
        at: row.created_at,
        operator: row.operator,
        approved_by: row.approved_by,
        awaiting_approval: false,
        kind,
        entry_id: row.id,
        detail,
        holder_id: row.holder_id,
    })
}

/// The receipt of a cash credit, or why there is none.
async fn credited(
    state: &AppState,
    holder_id: i64,
    receipt: Receipt,
    outcome: CreditOutcome,
) -> Result<Receipt, AppError> {
    match outcome {
        CreditOutcome::Credited {
            balance,
            journal_id,
        } => Ok(Receipt {
            balance,
            entry_id: journal_id,
            ..receipt
        }),
        CreditOutcome::AccountClosed => Err(rejected(Problem::AccountNotActive)),
        CreditOutcome::CashCapReached { taken, cap } => {
            Err(rejected(Problem::CashCapReached { taken, cap }))
        }
        // The same form again: the first top-up's receipt, nothing credited twice.
        CreditOutcome::AlreadyCredited { journal_id } => {
            let first = state
                .db
                .journal_entry(journal_id)
                .await?
                .filter(|e| e.holder_id == holder_id)
                .ok_or_else(|| AppError::Invalid("receipt number".into()))?;
            Ok(Receipt {
                amount: first.amount,
                balance: first.balance_after,
                at: first.created_at.to_rfc3339(),
                entry_id: journal_id,
                ..receipt
            })
        }
    }
}

// ---- Shifts ----

/// The shifts in `[from, until)` (of one operator, or all), with the operators' names.
pub async fn shift_views(
    state: &AppState,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<ShiftView>, AppError> {
    let cash_in = state.db.cash_ins(from, until, None).await?;
    let counts = state.db.cash_counts(from, until, None).await?;
    let shifts = super::domain::shifts::shifts(&cash_in, &counts).map_err(internal)?;
    let names: std::collections::HashMap<i64, String> = state
        .db
        .staff_users()
        .await?
        .into_iter()
        .map(|s| (s.id, s.display_name))
        .collect();
    Ok(shifts
        .iter()
        .map(|s| shift_view(s, names.get(&s.staff_id).cloned().unwrap_or_default()))
        .collect())
}

fn shift_view(s: &super::domain::shifts::Shift, operator: String) -> ShiftView {
    ShiftView {
        operator,
        from: s.from.map(super::store::ts::text),
        until: s.until.map(super::store::ts::text),
        topups: s.topups,
        cash_in: s.cash_in,
        counted: s.counted,
        difference: s.difference,
    }
}

/// The operator's open shift today: the cash top-ups credited since their last count.
async fn open_shift(
    state: &AppState,
    staff: &StaffSession,
) -> Result<super::domain::shifts::Shift, AppError> {
    let now = state.now();
    let day_start = super::domain::calendar::day_start(now);
    // A moment past now: what was credited this very millisecond is in.
    let until = now + chrono::Duration::seconds(1);
    let cash_in = state.db.cash_ins(day_start, until, Some(staff.id)).await?;
    let counts = state
        .db
        .cash_counts(day_start, until, Some(staff.id))
        .await?;
    super::domain::shifts::open_shift(staff.id, &cash_in, &counts).map_err(internal)
}

/// What the counter shows an operator about their shift (nothing for roles that take no cash).
pub async fn my_shift(
    state: &AppState,
    staff: &StaffSession,
) -> Result<Option<ShiftView>, AppError> {
    if !super::staff::roles::COUNTER.contains(&staff.role) {
        return Ok(None);
    }
    let shift = open_shift(state, staff).await?;
    Ok(Some(shift_view(&shift, staff.display_name.clone())))
}

/// Ends the operator's shift with the cash they counted: the shift (credited against counted)
/// comes back, and the audit record carries the same figures.
pub async fn count_cash(
    state: &AppState,
    staff: &StaffSession,
    counted: &str,
    note: &str,
) -> Result<ShiftView, AppError> {
    let note = note.trim();
    let counted = Money::parse_yuan(counted)
        .ok()
        .filter(|m| super::domain::shifts::count_ok(*m, note))
        .ok_or(rejected(Problem::CashCountInvalid))?;
    // Cash taken and not yet credited would show as a surplus now and a deficit later.
    if state
        .db
        .cash_requests(None)
        .await?
        .iter()
        .any(|r| r.requested_by_id == staff.id)
    {
        return Err(rejected(Problem::CashPending));
    }
    let open = open_shift(state, staff).await?;
    let difference = counted
        .checked_sub(open.cash_in)
        .ok_or_else(|| internal("shift difference overflow"))?;
    let now = state.now();
    let mut audit = staff.audit(
        AuditAction::CashCount,
        None,
        Fact::Shift(staff.username.clone()),
        &if note.is_empty() {
            Phrase::EndOfShift.stored()
        } else {
            note.to_string()
        },
    );
    audit.before = AuditText::from(Fact::Count(Counted::CashTopups, open.topups))
        .and(Fact::Credit(open.cash_in));
    audit.after = AuditText::from(Fact::CashCounted(counted)).and(Fact::Difference(difference));
    state
        .db
        .record_cash_count(staff.id, counted, note, now, audit)
        .await?;
    let closed = super::domain::shifts::Shift {
        // As stored (whole milliseconds): the next shift starts at exactly this moment.
        until: Some(super::store::Ts::new(now).0),
        counted: Some(counted),
        difference: Some(difference),
        ..open
    };
    Ok(shift_view(&closed, staff.display_name.clone()))
}

/// A work-queue decision as a form sends it.
pub fn approval(decision: &str) -> Result<bool, AppError> {
    match decision {
        "approve" => Ok(true),
        "reject" => Ok(false),
        _ => Err(AppError::Invalid("decision".into())),
    }
}

/// The cash top-ups waiting for a second staff member.
pub async fn cash_requests(state: &AppState) -> Result<Vec<CashRequestView>, AppError> {
    Ok(state.db.cash_requests(None).await?)
}

/// A second staff member's decision on a cash top-up above the threshold: approved, the
/// account is credited (against the daily cash cap of the operator who took the cash) and the
/// receipt comes back to print; rejected (with a reason), nothing is credited and the operator
/// gives the cash back. The one who asked cannot decide it, and it is decided once.
pub async fn decide_cash_topup(
    state: &AppState,
    staff: &StaffSession,
    request_id: i64,
    approve: bool,
    why: &str,
) -> Result<Option<Receipt>, AppError> {
    let request = state
        .db
        .cash_request(request_id)
        .await?
        .ok_or(rejected(Problem::ApprovalDecided))?;
    let why = second_person(
        request.pending,
        request.requested_by,
        &request.reason,
        staff.id,
        approve,
        why,
    )?;
    let h = holder(state, request.holder_id).await?;
    let now = state.now();
    let audit = staff.audit(
        if approve {
            AuditAction::MoneyCashTopup
        } else {
            AuditAction::MoneyCashRejected
        },
        Some(h.holder_id),
        AuditText::from(Fact::Holder(h.student_no.clone()))
            .and(Fact::Credit(request.amount))
            .and(Fact::Receipt(request.receipt_no.clone()))
            .and(Fact::Request(request_id))
            .and(Fact::TakenBy(request.requester.clone())),
        why,
    );
    let day_start = super::domain::calendar::day_start(now);
    let decision = state
        .db
        .decide_cash_request(
            request_id,
            approve,
            staff.id,
            day_start,
            payments::OPERATOR_DAILY_CASH_CAP,
            now,
            audit,
        )
        .await?
        .ok_or(rejected(Problem::ApprovalDecided))?;
    let outcome = match decision {
        CashDecision::Rejected => return Ok(None),
        // The receipt number was credited by another top-up: nothing is credited here, and the
        // request waits to be rejected.
        CashDecision::Approved(CreditOutcome::AlreadyCredited { .. }) => {
            return Err(AppError::Invalid("receipt number".into()));
        }
        CashDecision::Approved(outcome) => outcome,
    };
    let office = state
        .campus
        .get(&state.db)
        .await?
        .map(|p| p.office_name.zh)
        .unwrap_or_default();
    let receipt = Receipt {
        receipt_no: request.receipt_no,
        office,
        holder_name: h.name,
        student_no: h.student_no,
        amount: request.amount,
        balance: h.balance,
        at: now.to_rfc3339(),
        operator: request.requester,
        approved_by: staff.display_name.clone(),
        awaiting_approval: false,
        kind: ReceiptKind::CashTopup,
        entry_id: 0,
        detail: String::new(),
        holder_id: request.holder_id,
    };
    credited(state, request.holder_id, receipt, outcome)
        .await
        .map(Some)
}

/// The ID number typed from the presented document, against the enrolled keyed hash.
/// Wrong identity document numbers accepted per holder within `ID_CHECK_WINDOW` of the first
/// check, from any operator: enough for typing slips, too few to work through the few
/// thousand numbers a known birth date and district leave.
const ID_CHECKS: i64 = 5;
const ID_CHECK_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// Checks the number the operator typed from the presented identity document against the
/// enrolled keyed hash, for `action` (the audit action the check guards). The attempt is
/// counted before the check (`ID_CHECKS` per holder and window); a right number gives its own
/// attempt back, and every wrong one is audited with the operator, the action and the reason
/// given: guessing a holder's number to change their password or payout account leaves a
/// trail and stops.
async fn check_id(
    state: &AppState,
    staff: &StaffSession,
    h: &HolderRecord,
    id_number: &str,
    action: AuditAction,
    why: &str,
) -> Result<(), AppError> {
    use secrecy::ExposeSecret;
    let now = state.now();
    let throttle = format!("id-check:{}", h.holder_id);
    if !state
        .db
        .throttle_reserve(&throttle, ID_CHECKS, now, now - ID_CHECK_WINDOW)
        .await?
    {
        return Err(rejected(Problem::Throttled {
            retry_after_secs: ID_CHECK_WINDOW.num_seconds(),
        }));
    }
    let key = state.secrets.id_hash_key.expose_secret().as_bytes();
    if !ids::normalize(id_number).is_empty() && ids::keyed_hash(key, id_number) == h.id_doc_hash {
        state.db.throttle_release(&throttle).await?;
        return Ok(());
    }
    let mut audit = staff.audit(
        AuditAction::HolderIdMismatch,
        Some(h.holder_id),
        Fact::Holder(h.student_no.clone()),
        why,
    );
    audit.after = AuditText::from(Fact::Said(Phrase::IdMismatch)).and(Fact::For(action));
    state.db.audit(audit).await?;
    Err(rejected(Problem::IdMismatch))
}

fn password_kind(which: &str) -> Result<PasswordKind, AppError> {
    match which {
        "query" => Ok(PasswordKind::Query),
        "consumption" => Ok(PasswordKind::Consumption),
        _ => Err(AppError::Invalid("which password?".into())),
    }
}

/// Resets a password to its initial value after the operator typed the ID number from the
/// presented document; the number is checked against the stored keyed hash.
pub async fn reset_password(
    state: &AppState,
    staff: &StaffSession,
    holder_id: i64,
    which: &str,
    id_number: &str,
    why: &str,
) -> Result<(), AppError> {
    let why = reason(why)?;
    let kind = password_kind(which)?;
    let h = holder(state, holder_id).await?;
    let action = match kind {
        PasswordKind::Query => AuditAction::PasswordResetQuery,
        PasswordKind::Consumption => AuditAction::PasswordResetConsumption,
    };
    check_id(state, staff, &h, id_number, action, why).await?;
    let initial = ids::initial_password(id_number).map_err(|_| rejected(Problem::IdDocDigits))?;
    let hash = state.hasher.hash(initial).await.map_err(internal)?;
    let mut audit = staff.audit(
        action,
        Some(holder_id),
        Fact::Holder(h.student_no.clone()),
        why,
    );
    audit.after = Fact::Said(Phrase::InitialPassword).into();
    state
        .db
        .reset_password(holder_id, kind, &hash, state.now(), audit)
        .await?;
    Ok(())
}

pub async fn lift_lockout(
    state: &AppState,
    staff: &StaffSession,
    holder_id: i64,
    which: &str,
    why: &str,
) -> Result<(), AppError> {
    let why = reason(why)?;
    let kind = password_kind(which)?;
    let h = holder(state, holder_id).await?;
    let (action, before) = match kind {
        PasswordKind::Query => (AuditAction::LockoutLiftQuery, h.locked_until),
        PasswordKind::Consumption => (
            AuditAction::LockoutLiftConsumption,
            h.consumption_pw_locked_until,
        ),
    };
    let mut audit = staff.audit(
        action,
        Some(holder_id),
        Fact::Holder(h.student_no.clone()),
        why,
    );
    audit.before = before
        .map(|t| Fact::LockedUntil(t.to_rfc3339()))
        .unwrap_or(Fact::Said(Phrase::NotLocked))
        .into();
    audit.after = Fact::Said(Phrase::Unlocked).into();
    state.db.lift_lockout(holder_id, kind, audit).await?;
    Ok(())
}

pub async fn set_frozen(
    state: &AppState,
    staff: &StaffSession,
    holder_id: i64,
    frozen: bool,
    why: &str,
) -> Result<(), AppError> {
    let why = reason(why)?;
    let h = holder(state, holder_id).await?;
    let action = if frozen {
        AuditAction::AccountFreeze
    } else {
        AuditAction::AccountUnfreeze
    };
    let audit = staff.audit(
        action,
        Some(holder_id),
        Fact::Holder(h.student_no.clone()),
        why,
    );
    if !state.db.set_frozen(holder_id, frozen, audit).await? {
        return Err(rejected(Problem::AccountNotActive));
    }
    Ok(())
}

/// A bank account number for a payout: 12 to 30 digits.
fn bank_account(text: &str) -> Result<String, AppError> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !(12..=30).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(rejected(Problem::BankCardInvalid));
    }
    Ok(digits)
}

/// Money still on its way to or from the account: a correction or a cash top-up waiting for
/// approval, or a top-up order the provider has not answered. An account is not closed over it.
async fn has_pending_money(state: &AppState, holder_id: i64) -> Result<bool, AppError> {
    use crate::model::TopupStatus;
    Ok(!state
        .db
        .pending_reversals(Some(holder_id))
        .await?
        .is_empty()
        || !state.db.cash_requests(Some(holder_id)).await?.is_empty()
        || state
            .db
            .orders_of(holder_id, 50)
            .await?
            .iter()
            .any(|o| o.status == TopupStatus::Pending))
}

/// A payout's reference: unique (a reference is credited or paid out once): time plus 32
/// random bits, and the masked account when money goes to one.
fn payout_reference(now: chrono::DateTime<chrono::Utc>, masked: &str) -> String {
    let reference = format!(
        "PO{}{:08X}",
        now.format("%Y%m%d%H%M%S"),
        rand::random::<u32>()
    );
    if masked.is_empty() {
        reference
    } else {
        format!("{reference} {masked}")
    }
}

fn open_account(state: &AppState, sealed: &str) -> Result<String, AppError> {
    state
        .secrets
        .sealer
        .open(Sealed::BankAccount, sealed)
        .map_err(internal)
}

/// Records where the holder's balance goes when the account is closed. The holder presents
/// their identity document, whose number is checked against the enrolled keyed hash, and
/// gives the bank account. It is stored sealed, and pages show only its last digits; a
/// closing pays out only to this account, never to one typed in at closing time.
pub async fn record_payout_account(
    state: &AppState,
    staff: &StaffSession,
    holder_id: i64,
    account: &str,
    id_number: &str,
    why: &str,
) -> Result<String, AppError> {
    let why = reason(why)?;
    let account = bank_account(account)?;
    let h = holder(state, holder_id).await?;
    check_id(
        state,
        staff,
        &h,
        id_number,
        AuditAction::AccountPayoutAccount,
        why,
    )
    .await?;
    let masked = crate::staff_model::masked_account(&account);
    let mut audit = staff.audit(
        AuditAction::AccountPayoutAccount,
        Some(holder_id),
        Fact::Holder(h.student_no.clone()),
        why,
    );
    audit.before = state
        .db
        .payout_account(holder_id)
        .await?
        .map(|p| Fact::PayoutAccount(p.account_masked).into())
        .unwrap_or_default();
    audit.after =
        AuditText::from(Fact::PayoutAccount(masked.clone())).and(Fact::Said(Phrase::IdChecked));
    let sealed = state.secrets.sealer.seal(Sealed::BankAccount, &account);
    if let Some(refused) = state
        .db
        .record_payout_account(holder_id, &sealed, &masked, staff.id, state.now(), audit)
        .await?
    {
        return Err(rejected(refused));
    }
    Ok(masked)
}

async fn close_one(
    state: &AppState,
    staff: &StaffSession,
    h: &HolderRecord,
    why: &str,
) -> Result<ClosedAccount, AppError> {
    if has_pending_money(state, h.holder_id).await? {
        return Err(rejected(Problem::PendingMoney));
    }
    let now = state.now();
    if !super::domain::accounts::payout_needs_second_person(h.balance) {
        let reference = payout_reference(now, "");
        let audit = staff.audit(
            AuditAction::AccountClose,
            Some(h.holder_id),
            Fact::Holder(h.student_no.clone()),
            why,
        );
        // Refused under the lock if money arrived since the balance was read: then it takes
        // a second person like any payout (below).
        match state
            .db
            .close_empty_account(h.holder_id, &reference, staff.id, now, audit)
            .await?
        {
            Closing::Closed { paid_out, .. } => {
                return Ok(ClosedAccount {
                    student_no: h.student_no.clone(),
                    name: h.name.clone(),
                    paid_out,
                    reference,
                    awaiting_approval: false,
                });
            }
            Closing::AlreadyClosed => return Err(rejected(Problem::AccountNotActive)),
            Closing::MoneyInFlight => return Err(rejected(Problem::PendingMoney)),
            Closing::NotEmpty => {}
        }
    }
    // Money goes out, to the recorded account only: a second staff member approves it in the
    // work queue.
    let payout = state
        .db
        .payout_account(h.holder_id)
        .await?
        .ok_or(rejected(Problem::NoPayoutAccount))?;
    let balance = holder(state, h.holder_id).await?.balance;
    let mut audit = staff.audit(
        AuditAction::AccountCloseRequested,
        Some(h.holder_id),
        Fact::Holder(h.student_no.clone()),
        why,
    );
    audit.after = AuditText::from(Fact::PaidOut(balance))
        .and(Fact::PayoutAccount(payout.account_masked.clone()))
        .and(Fact::Said(Phrase::AwaitingSecondStaff));
    state
        .db
        .request_closing(h.holder_id, &payout.bank_account, why, staff.id, now, audit)
        .await?
        .ok_or(rejected(Problem::ClosingPending))?;
    Ok(ClosedAccount {
        student_no: h.student_no.clone(),
        name: h.name.clone(),
        paid_out: balance,
        reference: String::new(),
        awaiting_approval: true,
    })
}

/// The closings waiting for a second staff member.
pub async fn closing_requests(state: &AppState) -> Result<Vec<ClosingRequestView>, AppError> {
    let mut requests = state.db.closing_requests().await?;
    for r in &mut requests {
        r.bank_account = crate::staff_model::masked_account(&open_account(state, &r.bank_account)?);
    }
    Ok(requests)
}

/// A second staff member's decision on a closing: approved, the account is closed and its
/// whole balance (as it is now) paid out to the recorded bank account; rejected, nothing
/// changes. The one who asked cannot decide it.
pub async fn decide_closing(
    state: &AppState,
    staff: &StaffSession,
    request_id: i64,
    approve: bool,
    why: &str,
) -> Result<ClosedAccount, AppError> {
    let request = state
        .db
        .closing_request(request_id)
        .await?
        .ok_or(rejected(Problem::ApprovalDecided))?;
    let why = second_person(
        request.pending,
        request.requested_by,
        &request.reason,
        staff.id,
        approve,
        why,
    )?;
    if let Some(refused) = approve
        .then(|| {
            super::domain::accounts::payout_approver_refusal(request.account_recorded_by, staff.id)
        })
        .flatten()
    {
        return Err(rejected(refused));
    }
    let h = holder(state, request.holder_id).await?;
    let now = state.now();
    let reference = payout_reference(
        now,
        &crate::staff_model::masked_account(&open_account(state, &request.bank_account)?),
    );
    let audit = staff.audit(
        if approve {
            AuditAction::AccountClose
        } else {
            AuditAction::AccountCloseRejected
        },
        Some(h.holder_id),
        AuditText::from(Fact::Holder(h.student_no.clone())).and(Fact::Request(request_id)),
        why,
    );
    match state
        .db
        .decide_closing(request_id, approve, &reference, staff.id, now, audit)
        .await?
    {
        None => Err(rejected(Problem::ApprovalDecided)),
        Some(Closing::Closed { paid_out, .. }) => Ok(ClosedAccount {
            student_no: h.student_no.clone(),
            name: h.name.clone(),
            paid_out,
            reference,
            awaiting_approval: false,
        }),
        // Rejected, or the account was closed meanwhile: decided, nothing paid.
        Some(Closing::AlreadyClosed) => Ok(ClosedAccount {
            student_no: h.student_no.clone(),
            name: h.name.clone(),
            paid_out: Money::ZERO,
            reference: String::new(),
            awaiting_approval: false,
        }),
        Some(Closing::MoneyInFlight) => Err(rejected(Problem::PendingMoney)),
        Some(Closing::NotEmpty) => Err(internal("an approved closing was refused as not empty")),
    }
}

/// Closes one account (withdrawal, graduation). An empty account closes at once; otherwise
/// the whole balance is to be paid out to the recorded payout account, which a second staff
/// member approves (`decide_closing`).
pub async fn close_account(
    state: &AppState,
    staff: &StaffSession,
    holder_id: i64,
    why: &str,
) -> Result<ClosedAccount, AppError> {
    let why = reason(why)?;
    let h = holder(state, holder_id).await?;
    close_one(state, staff, &h, why).await
}

/// A batch line's payout problem, if any (`accounts::payout_account_problem`).
async fn batch_payout_problem(
    state: &AppState,
    h: &HolderRecord,
    given: Option<&str>,
) -> Result<Option<Problem>, AppError> {
    let recorded = match state.db.payout_account(h.holder_id).await? {
        Some(p) => Some(open_account(state, &p.bank_account)?),
        None => None,
    };
    Ok(super::domain::accounts::payout_account_problem(
        h.balance,
        recorded.as_deref(),
        given,
    ))
}

/// Closes a batch (a graduating class): one student number per line, optionally followed by
/// the bank account, which must then be the recorded one. Every line is checked first;
/// nothing is closed while any line has a problem.
pub async fn close_batch(
    state: &AppState,
    staff: &StaffSession,
    lines: &str,
    why: &str,
) -> Result<CloseReport, AppError> {
    let why = reason(why)?;
    let mut report = CloseReport {
        closed: Vec::new(),
        errors: Vec::new(),
    };
    let mut todo = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in lines.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split([',', '\t', '，']).map(str::trim);
        let number = parts.next().unwrap_or_default();
        let account = match parts.next().filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => match bank_account(a) {
                Ok(a) => Some(a),
                Err(_) => {
                    report.errors.push(RowError {
                        line: line_no,
                        problem: Problem::BankCardInvalid,
                    });
                    continue;
                }
            },
        };
        match state.db.holder_by_student_no(number).await? {
            None => report.errors.push(RowError {
                line: line_no,
                problem: Problem::UnknownHolder,
            }),
            Some(h) if h.status == AccountStatus::Closed => report.errors.push(RowError {
                line: line_no,
                problem: Problem::AccountNotActive,
            }),
            Some(h) if has_pending_money(state, h.holder_id).await? => {
                report.errors.push(RowError {
                    line: line_no,
                    problem: Problem::PendingMoney,
                })
            }
            Some(_) if !seen.insert(number.to_string()) => report.errors.push(RowError {
                line: line_no,
                problem: Problem::DuplicateInFile,
            }),
            Some(h) => match batch_payout_problem(state, &h, account.as_deref()).await? {
                Some(problem) => report.errors.push(RowError {
                    line: line_no,
                    problem,
                }),
                None => todo.push(h),
            },
        }
    }
    if todo.is_empty() && report.errors.is_empty() {
        report.errors.push(RowError {
            line: 1,
            problem: Problem::ImportEmpty,
        });
    }
    if !report.errors.is_empty() {
        return Ok(report);
    }
    for h in todo {
        report.closed.push(close_one(state, staff, &h, why).await?);
    }
    Ok(report)
}

// ---- Found cards ----

pub async fn record_found(
    state: &AppState,
    staff: &StaffSession,
    number: &str,
    place: &str,
) -> Result<(), AppError> {
    let place = place.trim();
    if place.is_empty() || place.chars().count() > 60 {
        return Err(rejected(Problem::EnrolField {
            field: "place".into(),
        }));
    }
    let number = number.trim().to_ascii_uppercase();
    let (card_id, holder_id, card_no) = state
        .db
        .card_by_number(&number)
        .await?
        .ok_or(rejected(Problem::UnknownCard))?;
    let audit = staff.audit(
        AuditAction::CardFound,
        Some(holder_id),
        Fact::Card(card_no.to_string()),
        place,
    );
    if !state
        .db
        .record_found_card(card_id, holder_id, place, staff.id, state.now(), audit)
        .await?
    {
        return Err(rejected(Problem::AlreadyRecorded));
    }
    Ok(())
}

pub async fn found_returned(
    state: &AppState,
    staff: &StaffSession,
    id: i64,
    why: &str,
) -> Result<(), AppError> {
    let why = reason(why)?;
    let found = state
        .db
        .found_card(id)
        .await?
        .filter(|f| f.returned_at.is_none())
        .ok_or(AppError::NotFound)?;
    let audit = staff.audit(
        AuditAction::CardFoundReturned,
        Some(found.holder_id),
        Fact::Card(found.card_no.clone()),
        why,
    );
    if !state
        .db
        .found_card_returned(id, staff.id, state.now(), audit)
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The public list: masked names and numbers only.
pub async fn public_found(state: &AppState) -> Result<Vec<PublicFoundCard>, AppError> {
    Ok(state
        .db
        .found_cards(true)
        .await?
        .into_iter()
        .map(|f| PublicFoundCard {
            card_no_masked: super::portal::mask_card_no(&f.card_no),
            name_masked: super::ledger::masked_name(&f.name),
            place: f.place,
            found_at: f.found_at,
        })
        .collect())
}

// ---- Corrections ----

async fn payment(state: &AppState, journal_id: i64) -> Result<EntryRecord, AppError> {
    let entry = state
        .db
        .journal_entry(journal_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !entry.kind.correctable() {
        return Err(rejected(Problem::NotAPayment));
    }
    if entry.reversed {
        return Err(rejected(Problem::AlreadyReversed));
    }
    Ok(entry)
}

fn correction_result(c: Correction) -> Result<Money, AppError> {
    match c {
        Correction::Corrected { balance, .. } => Ok(balance),
        Correction::AlreadyReversed => Err(rejected(Problem::AlreadyReversed)),
        Correction::AccountClosed => Err(rejected(Problem::AccountNotActive)),
        Correction::RequestDecided => Err(rejected(Problem::ApprovalDecided)),
    }
}

/// Corrects an erroneous payment with a reversal entry. Above the campus's approval amount the
/// correction waits for a second staff member.
pub async fn reverse_payment(
    state: &AppState,
    staff: &StaffSession,
    journal_id: i64,
    why: &str,
) -> Result<ReversalOutcome, AppError> {
    let why = reason(why)?;
    let entry = payment(state, journal_id).await?;
    let profile = state
        .campus
        .get(&state.db)
        .await?
        .ok_or_else(|| internal("campus profile missing"))?;
    let amount = Money::from_fen(-entry.amount.fen());
    let target = AuditText::from(Fact::Entry(journal_id)).and(Fact::Amount(amount));
    let now = state.now();
    if amount > profile.correction_approval_above {
        let mut audit = staff.audit(
            AuditAction::MoneyCorrectionRequested,
            Some(entry.holder_id),
            target,
            why,
        );
        audit.after = Fact::Said(Phrase::AwaitingSecondStaff).into();
        let id = state
            .db
            .request_correction(&entry, why, staff.id, now, audit)
            .await?
            .ok_or(rejected(Problem::ApprovalPending))?;
        return Ok(ReversalOutcome::AwaitingApproval { request_id: id });
    }
    let audit = staff.audit(
        AuditAction::MoneyCorrection,
        Some(entry.holder_id),
        target,
        why,
    );
    let balance = correction_result(
        state
            .db
            .correct_payment(journal_id, why, staff.id, None, now, audit)
            .await?,
    )?;
    Ok(ReversalOutcome::Reversed { balance })
}

/// A second staff member approves a pending correction; the one who asked cannot.
pub async fn approve_reversal(
    state: &AppState,
    staff: &StaffSession,
    request_id: i64,
) -> Result<Money, AppError> {
    let request = state
        .db
        .reversal_request(request_id)
        .await?
        .ok_or(rejected(Problem::ApprovalDecided))?;
    second_person(
        request.pending,
        request.requested_by,
        &request.reason,
        staff.id,
        true,
        "",
    )?;
    let audit = staff.audit(
        AuditAction::MoneyCorrectionApproved,
        Some(request.holder_id),
        AuditText::from(Fact::Entry(request.journal_id))
            .and(Fact::Amount(request.amount))
            .and(Fact::Request(request.id)),
        &request.reason,
    );
    correction_result(
        state
            .db
            .correct_payment(
                request.journal_id,
                &request.reason,
                staff.id,
                Some(request.id),
                state.now(),
                audit,
            )
            .await?,
    )
}

pub async fn resolve_failed_topup(
    state: &AppState,
    staff: &StaffSession,
    order_no: &str,
    why: &str,
) -> Result<(), AppError> {
    let why = reason(why)?;
    let order = state
        .db
        .order(order_no.trim())
        .await?
        .ok_or(AppError::NotFound)?;
    let audit = staff.audit(
        AuditAction::TopupResolveFailed,
        Some(order.holder_id),
        Fact::Order(order.order_no.clone()),
        why,
    );
    if !state
        .db
        .resolve_failed_topup(&order.order_no, why, staff.id, state.now(), audit)
        .await?
    {
        return Err(rejected(Problem::NothingToResolve));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_line_numbers_and_headers_are_checked() {
        let rows = parse_csv(
            "学号,姓名,证件号码,班级\n2026000001,赵一,44030120060101123X,计算机26级1班\n\n2026000002,\"钱, 二\",440301200602021234,计算机26级1班\n",
        )
        .expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[1].0, 4);
        assert_eq!(rows[1].1.name, "钱, 二");
        assert_eq!(rows[0].1.id_number, "44030120060101123X");
        assert!(matches!(
            parse_csv("student_no,nmae,id_number\n1,2,3\n"),
            Err(Problem::CsvHeader { column }) if column == "nmae"
        ));
        assert!(matches!(
            parse_csv("student_no,name\n1,2\n"),
            Err(Problem::CsvHeader { column }) if column == "id_number"
        ));
    }

    #[test]
    fn rows_are_validated_with_a_reason() {
        let ok = EnrolInput {
            student_no: "2026000001".into(),
            name: "赵一".into(),
            id_number: "44030120060101123X".into(),
            ..Default::default()
        };
        let row = validate(ok.clone()).expect("valid");
        assert_eq!(row.initial, "101123");
        let short = EnrolInput {
            id_number: "AB123".into(),
            ..ok.clone()
        };
        assert!(matches!(validate(short), Err(Problem::IdDocDigits)));
        let no_name = EnrolInput {
            name: " ".into(),
            ..ok.clone()
        };
        assert!(matches!(validate(no_name), Err(Problem::EnrolField { field }) if field == "name"));
        let bad_serial = EnrolInput {
            chip_serial: "XYZ".into(),
            ..ok
        };
        assert!(matches!(
            validate(bad_serial),
            Err(Problem::ChipSerialFormat)
        ));
    }

    #[test]
    fn reasons_are_required_and_bank_accounts_checked() {
        assert!(reason(" ").is_err());
        assert!(reason("学生证件核验").is_ok());
        assert!(bank_account("6222 0212 3456 7890").is_ok());
        assert!(bank_account("12345").is_err());
        assert_eq!(
            crate::staff_model::masked_account("6222021234567890"),
            "****7890"
        );
        assert_eq!(mask_phone("13812345678"), "138****5678");
    }
}
