//! One cardholder at the counter: who they are, balance, cards, lockouts, recent activity and
//! the audit trail, with every counter action as a form that asks for the reason.

use super::{Done, ReasonField, account_label, changes};
use crate::api::staff::*;
use crate::components::PageTitle;
use crate::components::labels::{ActionError, campus_time, card_status_label, kind_label, money};
use crate::i18n::*;
use crate::model::{AccountStatus, CardStatus};
use crate::staff_model::{
    HolderFile, Paper, PayoutAccountView, Receipt, ReceiptKind, ReversalOutcome, receipt_href,
};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn HolderPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let holder_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let topup = ServerAction::<CashTopup>::new();
    let issue = ServerAction::<IssueCard>::new();
    let replace = ServerAction::<ReplaceCard>::new();
    let cancel = ServerAction::<CancelCard>::new();
    let lost = ServerAction::<SetCardLost>::new();
    let frozen = ServerAction::<SetFrozen>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let unlock = ServerAction::<LiftLockout>::new();
    let close = ServerAction::<CloseAccount>::new();
    let payout = ServerAction::<RecordPayoutAccount>::new();
    let reverse = ServerAction::<ReversePayment>::new();
    let approve = ServerAction::<ApproveReversal>::new();
    let resolve = ServerAction::<ResolveTopup>::new();
    let returned = ServerAction::<FoundReturned>::new();
    let actions = Actions {
        topup,
        issue,
        replace,
        cancel,
        lost,
        frozen,
        reset,
        unlock,
        close,
        payout,
        reverse,
        approve,
        resolve,
        returned,
    };
    // Reloaded after a change, not after a refusal: a refused form keeps what was typed in it.
    let counts = [
        changes(topup.version(), topup.value()),
        changes(issue.version(), issue.value()),
        changes(replace.version(), replace.value()),
        changes(cancel.version(), cancel.value()),
        changes(lost.version(), lost.value()),
        changes(frozen.version(), frozen.value()),
        changes(reset.version(), reset.value()),
        changes(unlock.version(), unlock.value()),
        changes(close.version(), close.value()),
        changes(payout.version(), payout.value()),
        changes(reverse.version(), reverse.value()),
        changes(approve.version(), approve.value()),
        changes(resolve.version(), resolve.value()),
        changes(returned.version(), returned.value()),
    ];
    let versions = move || counts.iter().map(|c| c.get()).sum::<usize>();
    let file = Resource::new(
        move || (holder_id(), versions()),
        |(id, _)| get_holder_file(id),
    );
    // A cash top-up sent without the page's script that waits for a second staff member comes
    // back here with `?cash=awaiting`.
    let query = leptos_router::hooks::use_query_map();
    let awaiting_here = move || {
        query.read().get("cash").as_deref() == Some("awaiting") && topup.value().get().is_none()
    };
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.holder_title).to_string()) />
        {move || awaiting_here().then(|| view! {
            <p class="notice" role="status" data-testid="cash-awaiting">{t!(i18n, staff.cash_awaiting_sent)}</p>
        })}
        {move || topup.value().get().and_then(|r| r.ok()).map(|r| if r.awaiting_approval {
            view! {
                <p class="notice" role="status" data-testid="cash-awaiting">{t_string!(i18n, staff.cash_awaiting, amount = money(r.amount)).to_string()}</p>
            }.into_any()
        } else {
            view! { <ReceiptView receipt=r /> }.into_any()
        })}
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                file.await.map(|f| view! { <HolderView f=f actions=actions /> })
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    topup: ServerAction<CashTopup>,
    issue: ServerAction<IssueCard>,
    replace: ServerAction<ReplaceCard>,
    cancel: ServerAction<CancelCard>,
    lost: ServerAction<SetCardLost>,
    frozen: ServerAction<SetFrozen>,
    reset: ServerAction<ResetPassword>,
    unlock: ServerAction<LiftLockout>,
    close: ServerAction<CloseAccount>,
    payout: ServerAction<RecordPayoutAccount>,
    reverse: ServerAction<ReversePayment>,
    approve: ServerAction<ApproveReversal>,
    resolve: ServerAction<ResolveTopup>,
    returned: ServerAction<FoundReturned>,
}

/// A printable receipt; the print stylesheet prints only this. On the holder page right after
/// the top-up (A4), and on its own page (`ReceiptPage`) laid out for A4 or an 80 mm roll.
#[component]
pub(super) fn ReceiptView(
    receipt: Receipt,
    #[prop(optional)] roll: bool,
    /// On the receipt's own page (no link to itself).
    #[prop(optional)]
    own_page: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let kind = receipt.kind;
    let detail = receipt.detail.clone();
    let href = (receipt.entry_id > 0 && !own_page).then(|| receipt_href(receipt.entry_id));
    // An entry no staff member made (a demo campus's history) names nobody.
    let operator = if receipt.operator.is_empty() {
        "—".to_string()
    } else {
        receipt.operator.clone()
    };
    view! {
        <section class=if roll { "receipt panel paper-80mm" } else { "receipt panel paper-a4" } data-testid="receipt">
            <h2>{receipt.office.clone()} <span class="receipt-kind">{move || receipt_title(i18n, kind)}</span></h2>
            <dl class="facts">
                <dt>{t!(i18n, staff.receipt_no)}</dt><dd data-testid="receipt-no">{receipt.receipt_no.clone()}</dd>
                <dt>{t!(i18n, staff.name)}</dt><dd>{receipt.holder_name.clone()} " (" {receipt.student_no.clone()} ")"</dd>
                <dt>{move || receipt_amount_label(i18n, kind)}</dt><dd data-testid="receipt-amount">{money(receipt.amount)}</dd>
                {(!detail.is_empty()).then(|| view! {
                    <dt>{move || match kind {
                        ReceiptKind::Payout => t_string!(i18n, staff.receipt_to_account),
                        ReceiptKind::Bill => t_string!(i18n, bills.title_label),
                        ReceiptKind::Purchase => t_string!(i18n, utilities.receipt_for),
                        _ => t_string!(i18n, staff.receipt_new_card),
                    }}</dt>
                    <dd data-testid="receipt-detail">{detail.clone()}</dd>
                })}
                <dt>{t!(i18n, staff.balance_after)}</dt><dd>{money(receipt.balance)}</dd>
                <dt>{t!(i18n, staff.time)}</dt><dd>{campus_time(&receipt.at)}</dd>
                <dt>{t!(i18n, staff.operator)}</dt><dd>{operator}</dd>
                {(!receipt.approved_by.is_empty()).then(|| view! {
                    <dt>{t!(i18n, staff.approved_by)}</dt><dd>{receipt.approved_by.clone()}</dd>
                })}
            </dl>
            <p class="receipt-sign">{t!(i18n, staff.receipt_sign)}</p>
            <div class="actions no-print">
                <button type="button" class="primary" on:click=move |_| { let _ = window().print(); }>{t!(i18n, staff.print)}</button>
                {href.map(|h| view! { <a class="link-button" href=h data-testid="receipt-page">{t!(i18n, staff.receipt_open)}</a> })}
            </div>
        </section>
    }
}

fn receipt_title(i18n: leptos_i18n::I18nContext<crate::i18n::Locale>, kind: ReceiptKind) -> String {
    match kind {
        ReceiptKind::CashTopup => t_string!(i18n, staff.receipt_title),
        ReceiptKind::CardFee => t_string!(i18n, staff.receipt_title_fee),
        ReceiptKind::Bill => t_string!(i18n, bills.receipt_title),
        ReceiptKind::Payout => t_string!(i18n, staff.receipt_title_payout),
        ReceiptKind::Purchase => t_string!(i18n, utilities.receipt_title),
    }
    .to_string()
}

fn receipt_amount_label(
    i18n: leptos_i18n::I18nContext<crate::i18n::Locale>,
    kind: ReceiptKind,
) -> String {
    match kind {
        ReceiptKind::CashTopup => t_string!(i18n, staff.receipt_amount_in),
        ReceiptKind::CardFee => t_string!(i18n, staff.receipt_amount_fee),
        ReceiptKind::Bill | ReceiptKind::Purchase => t_string!(i18n, bills.receipt_amount),
        ReceiptKind::Payout => t_string!(i18n, staff.receipt_amount_out),
    }
    .to_string()
}

/// `/staff/receipt/:id`: one receipt from what is stored, to print on A4 or on an 80 mm roll
/// (`?paper=80mm`). A cash top-up without the page's script lands here; so does "print
/// again" from the holder's recent entries.
#[component]
pub fn ReceiptPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = leptos_router::hooks::use_query_map();
    let entry_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let paper = move || Paper::from_query(query.read().get("paper").as_deref());
    let receipt = Resource::new(entry_id, get_receipt);
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.receipt_page_title).to_string()) />
        <h1 class="no-print">{t!(i18n, staff.receipt_page_title)}</h1>
        <nav class="paper-switch no-print" aria-label=move || t_string!(i18n, staff.paper_label)>
            {[Paper::A4, Paper::Roll80].map(|p| view! {
                <a class="link-button" href=move || format!("{}?paper={}", receipt_href(entry_id()), p.query())
                    aria-current=move || (paper() == p).then_some("page")>
                    {move || if p == Paper::A4 { t_string!(i18n, staff.paper_a4) } else { t_string!(i18n, staff.paper_80mm) }}
                </a>
            })}
        </nav>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                receipt.await.map(|r| {
                    let holder = format!("/staff/holder/{}", r.holder_id);
                    view! {
                        <ReceiptView receipt=r roll=paper() == Paper::Roll80 own_page=true />
                        <p class="no-print"><a href=holder>{t!(i18n, staff.back_to_holder)}</a></p>
                    }
                })
            })}
        </Suspense>
    }
}

#[component]
fn HolderView(f: HolderFile, actions: Actions) -> impl IntoView {
    let i18n = use_i18n();
    let id = f.holder_id.to_string();
    let live_card = f
        .cards
        .iter()
        .find(|c| matches!(c.status, CardStatus::Active | CardStatus::Lost))
        .cloned();
    let closed = f.account_status == AccountStatus::Closed;
    let can = f.can_change && !closed;
    let can_change = f.can_change;
    let pending = f.pending_reversals.clone();
    let failed = f.failed_topups.clone();
    let found = f.found.clone();
    view! {
        <h1 data-testid="holder-name">{f.name.clone()} " · " {f.student_no.clone()}</h1>
        <div class="two-col">
            <section class="balance-card">
                <p class="label">{t!(i18n, staff.balance)}</p>
                <p class="amount" data-testid="holder-balance">{money(f.balance)}</p>
                <p class="holder" data-testid="holder-status">{account_label(i18n, f.account_status)} {(!f.status_reason.is_empty()).then(|| format!(" · {}", f.status_reason))}</p>
            </section>
            <section class="panel">
                <dl class="facts">
                    <dt>{t!(i18n, staff.department)}</dt><dd>{f.department.clone()} " " {f.class_name.clone()}</dd>
                    <dt>{t!(i18n, staff.id_doc)}</dt><dd>{f.id_doc_masked.clone()}</dd>
                    <dt>{t!(i18n, staff.phone)}</dt><dd>{f.phone_masked.clone()}</dd>
                    <dt>{t!(i18n, staff.limits)}</dt><dd>{money(f.single_limit)} " / " {money(f.daily_limit)}</dd>
                    <dt>{t!(i18n, bills.nav)}</dt><dd><a href=format!("/staff/bills?q={}", f.student_no) data-testid="holder-bills">{t!(i18n, bills.holder_link)}</a></dd>
                    <dt>{t!(i18n, staff.query_pw)}</dt>
                    <dd data-testid="query-pw-state">
                        {if f.query_pw_is_initial { t_string!(i18n, staff.pw_initial) } else { t_string!(i18n, staff.pw_changed) }}
                        " · " {t!(i18n, staff.failures, n = f.query_failures)}
                        {f.query_locked_until.clone().map(|u| view! { " · " <strong class="warn">{t!(i18n, staff.locked_until, until = campus_time(&u))}</strong> })}
                    </dd>
                    <dt>{t!(i18n, staff.consumption_pw)}</dt>
                    <dd>
                        {if f.consumption_pw_is_initial { t_string!(i18n, staff.pw_initial) } else { t_string!(i18n, staff.pw_changed) }}
                        " · " {t!(i18n, staff.failures, n = f.consumption_failures)}
                        {f.consumption_locked_until.clone().map(|u| view! { " · " <strong class="warn">{t!(i18n, staff.locked_until, until = campus_time(&u))}</strong> })}
                    </dd>
                </dl>
            </section>
        </div>

        <section class="panel">
            <h2>{t!(i18n, staff.cards)}</h2>
            <div class="table-wrap" tabindex="0">
            <table class="data nowrap" data-testid="holder-cards">
                <thead><tr><th>{t!(i18n, staff.card_no)}</th><th>{t!(i18n, staff.chip_serial)}</th><th>{t!(i18n, staff.status)}</th><th>{t!(i18n, staff.issued_at)}</th></tr></thead>
                <tbody>
                    {f.cards.iter().map(|c| {
                        let st = c.status;
                        view! {
                            <tr>
                                <td>{c.card_no.clone()}</td><td>{c.chip_serial.clone()}</td>
                                <td><span class=format!("status status-{st}")>{move || card_status_label(i18n, st)}</span></td>
                                <td>{campus_time(&c.issued_at)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        </section>

        {can.then(|| {
            let id = id.clone();
            let live_card = live_card.clone();
            let frozen_now = f.account_status == AccountStatus::Frozen;
            let receipt_no = f.cash_receipt_no.clone();
            let payout = f.payout_account.clone();
            view! { <CounterForms id=id live_card=live_card.map(|c| c.status) frozen=frozen_now receipt_no=receipt_no payout=payout actions=actions /> }
        })}

        {(!pending.is_empty()).then(move || view! {
            <section class="panel">
                <h2>{t!(i18n, staff.pending_corrections)}</h2>
                <ul class="plain">
                    {pending.into_iter().map(|r| {
                        let rid = r.id.to_string();
                        view! {
                            <li>
                                {format!("#{} {} · {} · {}", r.journal_id, money(r.amount), r.reason, r.requested_by)}
                                {can_change.then(|| view! {
                                    <ActionForm action=actions.approve attr:class="inline-form">
                                        <input type="hidden" name="request_id" value=rid.clone() />
                                        <button type="submit" class="primary" data-testid="approve-correction">{t!(i18n, staff.approve)}</button>
                                    </ActionForm>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <Done result=actions.approve.value() testid="approve-done" />
            </section>
        })}

        {(!failed.is_empty()).then(move || view! {
            <section class="panel">
                <h2>{t!(i18n, staff.failed_topups)}</h2>
                <ul class="plain">
                    {failed.into_iter().map(|o| view! {
                        <li>
                            {format!("{} · {} · {} · {}", campus_time(&o.at), money(o.amount), o.failure, o.order_no)}
                            {can_change.then(|| view! {
                                <ActionForm action=actions.resolve attr:class="inline-form">
                                    <input type="hidden" name="order_no" value=o.order_no.clone() />
                                    <ReasonField id=format!("resolve-{}", o.order_no) />
                                    <button type="submit">{t!(i18n, staff.resolve)}</button>
                                </ActionForm>
                            })}
                        </li>
                    }).collect_view()}
                </ul>
                <Done result=actions.resolve.value() testid="resolve-done" />
            </section>
        })}

        {(!found.is_empty()).then(move || view! {
            <section class="panel">
                <h2>{t!(i18n, staff.found_title)}</h2>
                <ul class="plain">
                    {found.into_iter().map(|c| view! {
                        <li>
                            {format!("{} · {} · {}", c.card_no, c.place, campus_time(&c.found_at))}
                            {match c.returned_at.clone() {
                                Some(at) => view! { " · " {t!(i18n, staff.returned_at, at = campus_time(&at))} }.into_any(),
                                None => can_change.then(|| view! {
                                    <ActionForm action=actions.returned attr:class="inline-form">
                                        <input type="hidden" name="id" value=c.id.to_string() />
                                        <ReasonField id=format!("returned-{}", c.id) />
                                        <button type="submit">{t!(i18n, staff.mark_returned)}</button>
                                    </ActionForm>
                                }).into_any(),
                            }}
                        </li>
                    }).collect_view()}
                </ul>
                <Done result=actions.returned.value() testid="returned-done" />
            </section>
        })}

        <section class="panel">
            <h2>{t!(i18n, staff.recent)}</h2>
            <Done result=actions.reverse.value() testid="reverse-done" />
            {move || actions.reverse.value().get().and_then(|r| r.ok()).map(|o| match o {
                ReversalOutcome::AwaitingApproval { .. } => view! { <p class="notice" data-testid="reverse-pending">{t!(i18n, staff.correction_pending)}</p> }.into_any(),
                ReversalOutcome::Reversed { .. } => ().into_any(),
            })}
            <div class="table-wrap" tabindex="0">
            <table class="data nowrap" data-testid="holder-entries">
                <thead><tr><th>{t!(i18n, staff.time)}</th><th>{t!(i18n, staff.kind)}</th><th>{t!(i18n, staff.merchant)}</th><th class="num">{t!(i18n, staff.amount)}</th><th class="num">{t!(i18n, staff.balance_after)}</th><th>{t!(i18n, staff.actions_col)}</th></tr></thead>
                <tbody>
                    {f.entries.iter().map(|e| {
                        let kind = e.kind;
                        let correctable = f.can_change && !closed && kind.correctable() && !e.reversed;
                        let eid = e.id;
                        view! {
                            <tr>
                                <td>{campus_time(&e.at)}</td>
                                <td>{move || kind_label(i18n, kind)}</td>
                                <td class="wrap">{e.merchant.clone().unwrap_or_else(|| e.memo.clone())}</td>
                                <td class="num">{money(e.amount)}</td>
                                <td class="num">{money(e.balance_after)}</td>
                                <td>
                                    {ReceiptKind::of(kind, e.channel, &e.reference).map(|_| view! {
                                        <a href=receipt_href(eid) data-testid=format!("receipt-{eid}")>{t!(i18n, staff.receipt_link)}</a>
                                    })}
                                    {e.reversed.then(|| view! { <span class="muted">{t!(i18n, staff.reversed)}</span> })}
                                    {correctable.then(|| view! {
                                        <details class="inline-details">
                                            <summary data-testid=format!("correct-{eid}")>{t!(i18n, staff.correct)}</summary>
                                            <ActionForm action=actions.reverse attr:class="form">
                                                <input type="hidden" name="journal_id" value=eid.to_string() />
                                                <ReasonField id=format!("reverse-{eid}") />
                                                <button type="submit" class="danger">{t!(i18n, staff.correct_submit)}</button>
                                            </ActionForm>
                                        </details>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        </section>

        <section class="panel">
            <h2>{t!(i18n, staff.audit_trail)}</h2>
            <super::oversight::AuditTable rows=f.audit.clone() />
        </section>
    }
}

/// The step before an action that cannot be undone: what it does, in words, and a box to tick
/// that says the holder was told. The box is required by the browser, with or without the
/// page's script.
#[component]
fn Consequence(
    #[prop(into)] id: String,
    text: impl Fn() -> String + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="consequence">{text}</p>
        <p class="check">
            <input type="checkbox" id=id.clone() required />
            <label for=id>{t!(i18n, staff.consequence_ok)}</label>
        </p>
    }
}

/// The counter's forms for one holder (not shown to auditors or for a closed account).
#[component]
fn CounterForms(
    id: String,
    live_card: Option<CardStatus>,
    frozen: bool,
    receipt_no: String,
    payout: Option<PayoutAccountView>,
    actions: Actions,
) -> impl IntoView {
    let i18n = use_i18n();
    let hidden = move || {
        let id = id.clone();
        view! { <input type="hidden" name="holder_id" value=id /> }
    };
    let hidden = StoredValue::new(hidden);
    view! {
        <div class="counter-forms">
            <section class="panel">
                <h2>{t!(i18n, staff.cash_topup)}</h2>
                <ActionForm action=actions.topup attr:class="form" attr:data-testid="cash-form">
                    {hidden.with_value(|h| h())}
                    <input type="hidden" name="receipt_no" value=receipt_no />
                    <label for="cash-amount">{t!(i18n, staff.amount_yuan)}</label>
                    <input id="cash-amount" name="amount" type="text" inputmode="decimal" required />
                    <label for="cash-note">{t!(i18n, staff.note_optional)}</label>
                    <input id="cash-note" name="reason" type="text" maxlength="200" />
                    <ActionError result=actions.topup.value() />
                    <button type="submit" class="primary" disabled=move || actions.topup.pending().get()>{t!(i18n, staff.cash_submit)}</button>
                </ActionForm>
            </section>

            <section class="panel">
                <h2>{t!(i18n, staff.card_actions)}</h2>
                {match live_card {
                    None => view! {
                        <ActionForm action=actions.issue attr:class="form" attr:data-testid="issue-form">
                            {hidden.with_value(|h| h())}
                            <label for="issue-serial">{t!(i18n, staff.chip_serial)}</label>
                            <input id="issue-serial" name="chip_serial" type="text" required />
                            <ReasonField id="issue-reason" />
                            <Done result=actions.issue.value() testid="issue-done" />
                            <button type="submit" class="primary">{t!(i18n, staff.issue_card)}</button>
                        </ActionForm>
                    }.into_any(),
                    Some(status) => view! {
                        <details>
                            <summary>{t!(i18n, staff.replace_card)}</summary>
                            <ActionForm action=actions.replace attr:class="form" attr:data-testid="replace-form">
                                {hidden.with_value(|h| h())}
                                <label for="replace-serial">{t!(i18n, staff.new_chip_serial)}</label>
                                <input id="replace-serial" name="chip_serial" type="text" required />
                                <label for="replace-fee">{t!(i18n, staff.fee)}</label>
                                <input id="replace-fee" name="fee" type="text" inputmode="decimal" value="" />
                                <ReasonField id="replace-reason" />
                                <Consequence id="replace-ok" text=move || t_string!(i18n, staff.replace_consequence).to_string() />
                                <Done result=actions.replace.value() testid="replace-done" />
                                <button type="submit" class="danger">{t!(i18n, staff.replace_submit)}</button>
                            </ActionForm>
                        </details>
                        <details>
                            <summary>{if status == CardStatus::Lost { t_string!(i18n, staff.lift_lost) } else { t_string!(i18n, staff.report_lost) }}</summary>
                            <ActionForm action=actions.lost attr:class="form" attr:data-testid="lost-form">
                                {hidden.with_value(|h| h())}
                                <input type="hidden" name="lost" value=if status == CardStatus::Lost { "false" } else { "true" } />
                                {(status == CardStatus::Lost).then(|| view! {
                                    <label for="lift-id">{t!(i18n, staff.presented_id)}</label>
                                    <input id="lift-id" name="id_number" type="text" autocomplete="off" required />
                                })}
                                {(status != CardStatus::Lost).then(|| view! { <input type="hidden" name="id_number" value="" /> })}
                                <ReasonField id="lost-reason" />
                                <Done result=actions.lost.value() testid="lost-done" />
                                <button type="submit" class="primary">{t!(i18n, staff.confirm)}</button>
                            </ActionForm>
                        </details>
                        <details>
                            <summary>{t!(i18n, staff.cancel_card)}</summary>
                            <ActionForm action=actions.cancel attr:class="form">
                                {hidden.with_value(|h| h())}
                                <ReasonField id="cancel-reason" />
                                <Consequence id="cancel-ok" text=move || t_string!(i18n, staff.cancel_consequence).to_string() />
                                <Done result=actions.cancel.value() testid="cancel-done" />
                                <button type="submit" class="danger">{t!(i18n, staff.cancel_card)}</button>
                            </ActionForm>
                        </details>
                    }.into_any(),
                }}
            </section>

            <section class="panel">
                <h2>{t!(i18n, staff.passwords)}</h2>
                <ActionForm action=actions.reset attr:class="form" attr:data-testid="reset-form">
                    {hidden.with_value(|h| h())}
                    <label for="reset-which">{t!(i18n, staff.which_password)}</label>
                    <select id="reset-which" name="which">
                        <option value="query">{t!(i18n, staff.query_pw)}</option>
                        <option value="consumption">{t!(i18n, staff.consumption_pw)}</option>
                    </select>
                    <label for="reset-id">{t!(i18n, staff.presented_id)}</label>
                    <input id="reset-id" name="id_number" type="text" autocomplete="off" required />
                    <ReasonField id="reset-reason" />
                    <Done result=actions.reset.value() testid="reset-done" />
                    <button type="submit" class="primary">{t!(i18n, staff.reset_submit)}</button>
                </ActionForm>
                <details>
                    <summary>{t!(i18n, staff.lift_lockout)}</summary>
                    <ActionForm action=actions.unlock attr:class="form" attr:data-testid="unlock-form">
                        {hidden.with_value(|h| h())}
                        <select name="which" aria-label=move || t_string!(i18n, staff.which_password)>
                            <option value="query">{t!(i18n, staff.query_pw)}</option>
                            <option value="consumption">{t!(i18n, staff.consumption_pw)}</option>
                        </select>
                        <ReasonField id="unlock-reason" />
                        <Done result=actions.unlock.value() testid="unlock-done" />
                        <button type="submit">{t!(i18n, staff.lift_lockout)}</button>
                    </ActionForm>
                </details>
            </section>

            <section class="panel">
                <h2>{t!(i18n, staff.account)}</h2>
                <details>
                    <summary>{if frozen { t_string!(i18n, staff.unfreeze) } else { t_string!(i18n, staff.freeze) }}</summary>
                    <ActionForm action=actions.frozen attr:class="form" attr:data-testid="freeze-form">
                        {hidden.with_value(|h| h())}
                        <input type="hidden" name="frozen" value=if frozen { "false" } else { "true" } />
                        <ReasonField id="freeze-reason" />
                        {(!frozen).then(|| view! { <Consequence id="freeze-ok" text=move || t_string!(i18n, staff.freeze_consequence).to_string() /> })}
                        <Done result=actions.frozen.value() testid="freeze-done" />
                        <button type="submit" class=if frozen { "primary" } else { "danger" }>{t!(i18n, staff.confirm)}</button>
                    </ActionForm>
                </details>
                <details>
                    <summary>{t!(i18n, staff.payout_account)}</summary>
                    <p class="muted">{t!(i18n, staff.payout_account_intro)}</p>
                    <p data-testid="payout-account">{match payout.clone() {
                        Some(p) => t_string!(i18n, staff.payout_account_now, account = p.account_masked, who = p.recorded_by, at = campus_time(&p.recorded_at)).to_string(),
                        None => t_string!(i18n, staff.payout_account_none).to_string(),
                    }}</p>
                    <ActionForm action=actions.payout attr:class="form" attr:data-testid="payout-form">
                        {hidden.with_value(|h| h())}
                        <label for="payout-bank">{t!(i18n, staff.bank_account)}</label>
                        <input id="payout-bank" name="bank_account" type="text" inputmode="numeric" autocomplete="off" required />
                        <label for="payout-id">{t!(i18n, staff.presented_id)}</label>
                        <input id="payout-id" name="id_number" type="text" autocomplete="off" required />
                        <ReasonField id="payout-reason" />
                        <ActionError result=actions.payout.value() />
                        {move || actions.payout.value().get().and_then(|r| r.ok()).map(|masked| view! {
                            <p class="notice ok" role="status" data-testid="payout-done">{t_string!(i18n, staff.payout_account_done, account = masked).to_string()}</p>
                        })}
                        <button type="submit" class="primary">{t!(i18n, staff.payout_account_submit)}</button>
                    </ActionForm>
                </details>
                <details>
                    <summary>{t!(i18n, staff.close_account)}</summary>
                    {payout.map(|p| view! { <p>{t_string!(i18n, staff.close_to, account = p.account_masked).to_string()}</p> })}
                    <ActionForm action=actions.close attr:class="form" attr:data-testid="close-form">
                        {hidden.with_value(|h| h())}
                        <ReasonField id="close-reason" />
                        <Consequence id="close-ok" text=move || t_string!(i18n, staff.close_intro).to_string() />
                        <ActionError result=actions.close.value() />
                        {move || actions.close.value().get().and_then(|r| r.ok()).map(|c| view! {
                            <p class="notice ok" role="status" data-testid="close-done">{if c.awaiting_approval {
                                    t_string!(i18n, staff.close_awaiting, amount = money(c.paid_out)).to_string()
                                } else {
                                    t_string!(i18n, staff.closed_paid, amount = money(c.paid_out), reference = c.reference.clone()).to_string()
                                }}</p>
                        })}
                        <button type="submit" class="danger">{t!(i18n, staff.close_submit)}</button>
                    </ActionForm>
                </details>
            </section>
        </div>
    }
}
