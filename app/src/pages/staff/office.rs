//! The service centre's lists: found cards, the work queue (what waits for a second staff
//! member, and failed automatic top-ups) and closing a graduating class.

use super::{Done, ReasonField, may_act_here};
use crate::api::staff::*;
use crate::components::PageTitle;
use crate::components::labels::{ActionError, audit_text, campus_time, error_text, money};
use crate::error::AppError;
use crate::i18n::*;
use crate::staff_model::{CashRequestView, ClosingRequestView, FailedTopupView, ReversalView};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn FoundPage() -> impl IntoView {
    let i18n = use_i18n();
    let act = may_act_here();
    let record = ServerAction::<RecordFound>::new();
    let returned = ServerAction::<FoundReturned>::new();
    let list = Resource::new(
        move || record.version().get() + returned.version().get(),
        |_| found_cards(false),
    );
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.found_title).to_string()) />
        <h1>{t!(i18n, staff.found_title)}</h1>
        {act.then(|| view! {
        <section class="panel narrow">
            <h2>{t!(i18n, staff.found_record)}</h2>
            <ActionForm action=record attr:class="form" attr:data-testid="found-form">
                <label for="found-number">{t!(i18n, staff.found_number)}</label>
                <input id="found-number" name="number" type="text" required />
                <label for="found-place">{t!(i18n, staff.found_place)}</label>
                <input id="found-place" name="place" type="text" required />
                <Done result=record.value() testid="found-done" />
                <button type="submit" class="primary">{t!(i18n, staff.found_submit)}</button>
            </ActionForm>
        </section>
        })}
        <Done result=returned.value() testid="returned-done" />
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                list.await.map(|cards| view! {
                    <div class="table-wrap" tabindex="0">
                    <table class="data" data-testid="found-list">
                        <thead><tr><th>{t!(i18n, staff.card_no)}</th><th>{t!(i18n, staff.name)}</th><th>{t!(i18n, staff.found_place)}</th><th>{t!(i18n, staff.time)}</th><th>{t!(i18n, staff.actions_col)}</th></tr></thead>
                        <tbody>
                            {cards.into_iter().map(|c| view! {
                                <tr>
                                    <td>{c.card_no.clone()}</td>
                                    <td><A href=format!("/staff/holder/{}", c.holder_id)>{c.name.clone()} " " {c.student_no.clone()}</A></td>
                                    <td>{c.place.clone()}</td>
                                    <td>{campus_time(&c.found_at)}</td>
                                    <td>{match c.returned_at.clone() {
                                        Some(at) => view! { {t!(i18n, staff.returned_at, at = campus_time(&at))} }.into_any(),
                                        None => act.then(|| view! {
                                            <ActionForm action=returned attr:class="inline-form">
                                                <input type="hidden" name="id" value=c.id.to_string() />
                                                <ReasonField id=format!("ret-{}", c.id) />
                                                <button type="submit">{t!(i18n, staff.mark_returned)}</button>
                                            </ActionForm>
                                        }).into_any(),
                                    }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                })
            })}
        </Suspense>
    }
}

/// One list of the work queue: its rows, or "nothing waiting".
#[component]
fn QueueList<T, F, V>(
    rows: Resource<Result<Vec<T>, AppError>>,
    testid: &'static str,
    item: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Fn(T) -> V + Copy + Send + Sync + 'static,
    V: IntoView + Send + 'static,
{
    let i18n = use_i18n();
    view! {
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                rows.await.map(|rows| {
                    if rows.is_empty() {
                        return view! { <p class="muted">{t!(i18n, staff.nothing_waiting)}</p> }.into_any();
                    }
                    view! {
                        <ul class="plain" data-testid=testid>{rows.into_iter().map(item).collect_view()}</ul>
                    }.into_any()
                })
            })}
        </Suspense>
    }
}

/// The operator's own shift: what they credited in cash since their last count, and the form
/// that records the count and ends the shift. Not shown to roles that take no cash.
#[component]
fn ShiftPanel(approved: ServerAction<DecideCash>) -> impl IntoView {
    let i18n = use_i18n();
    let count = ServerAction::<CountCash>::new();
    let shift = Resource::new(
        move || count.version().get() + approved.version().get(),
        |_| my_shift(),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                shift.await.ok().flatten().map(|s| view! {
                    <section class="panel" data-testid="shift-panel">
                        <h2>{t!(i18n, staff.shift_title)}</h2>
                        <p data-testid="shift-open">{t_string!(
                            i18n,
                            staff.shift_open,
                            from = s.from.as_deref().map(campus_time).unwrap_or_else(|| t_string!(i18n, staff.shift_since_day).to_string()),
                            count = s.topups,
                            amount = money(s.cash_in)
                        ).to_string()}</p>
                        <ActionForm action=count attr:class="form" attr:data-testid="shift-form">
                            <label for="shift-counted">{t!(i18n, staff.shift_counted)}</label>
                            <input id="shift-counted" name="counted" type="text" inputmode="decimal" autocomplete="off" required />
                            <label for="shift-note">{t!(i18n, staff.shift_note)}</label>
                            <input id="shift-note" name="note" type="text" maxlength="200" />
                            <ActionError result=count.value() />
                            <button type="submit" class="primary">{t!(i18n, staff.shift_submit)}</button>
                        </ActionForm>
                    </section>
                })
            })}
        </Suspense>
        {move || count.value().get().and_then(|r| r.ok()).map(|s| view! {
            <p class="notice ok" role="status" data-testid="shift-done">{t_string!(
                i18n,
                staff.shift_done,
                credited = money(s.cash_in),
                counted = s.counted.map(money).unwrap_or_default(),
                diff = s.difference.map(money).unwrap_or_default()
            ).to_string()}</p>
        })}
    }
}

/// A holder's name and number, linking to their page.
fn holder_link(holder_id: i64, name: String, student_no: String) -> impl IntoView {
    view! { <A href=format!("/staff/holder/{holder_id}")>{name} " " {student_no}</A> }
}

/// Work waiting for the office: what needs a second staff member (large cash top-ups,
/// closings with a payout, corrections) and failed automatic top-ups.
#[component]
pub fn QueuePage() -> impl IntoView {
    let i18n = use_i18n();
    let act = may_act_here();
    let approve = ServerAction::<ApproveReversal>::new();
    let resolve = ServerAction::<ResolveTopup>::new();
    let failed = Resource::new(move || resolve.version().get(), |_| failed_topups());
    let pending = Resource::new(move || approve.version().get(), |_| pending_reversals());
    let decide = ServerAction::<DecideClosing>::new();
    let closings = Resource::new(move || decide.version().get(), |_| closing_requests());
    let cash = ServerAction::<DecideCash>::new();
    let cash_rows = Resource::new(move || cash.version().get(), |_| cash_requests());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.nav_queue).to_string()) />
        <h1>{t!(i18n, staff.nav_queue)}</h1>
        {act.then(|| view! { <ShiftPanel approved=cash /> })}
        <section class="panel">
            <h2>{t!(i18n, staff.pending_cash)}</h2>
            <Done result=cash.value() testid="cash-decided" />
            {move || cash.value().get().and_then(|r| r.ok()).flatten().map(|r| view! { <super::holder::ReceiptView receipt=r /> })}
            <QueueList rows=cash_rows testid="cash-list" item=move |r: CashRequestView| view! {
                <li>
                    {holder_link(r.holder_id, r.name, r.student_no)}
                    // The reason as typed, or the system's own ("在服务中心交现金") in the page's language.
                    {format!(" · {} · {} · {} · {} {}", money(r.amount), r.receipt_no, audit_text(i18n, &r.reason), r.requested_by, campus_time(&r.requested_at))}
                    {act.then(|| decide_forms!(cash, r.id, t!(i18n, staff.approve_cash), t!(i18n, staff.reject), "cq"))}
                </li>
            } />
        </section>
        <section class="panel">
            <h2>{t!(i18n, staff.pending_closings)}</h2>
            <Done result=decide.value() testid="closing-done" />
            <QueueList rows=closings testid="closing-list" item=move |r: ClosingRequestView| view! {
                <li>
                    {holder_link(r.holder_id, r.name, r.student_no)}
                    {format!(" · {} → {} ({} {}) · {} · {} {}", money(r.balance), r.bank_account, t_string!(i18n, staff.recorded_by), r.account_recorded_by, r.reason, r.requested_by, campus_time(&r.requested_at))}
                    {act.then(|| decide_forms!(decide, r.id, t!(i18n, staff.approve_payout), t!(i18n, staff.reject), "cr"))}
                </li>
            } />
        </section>
        <section class="panel">
            <h2>{t!(i18n, staff.pending_corrections)}</h2>
            <Done result=approve.value() testid="approve-done" />
            <QueueList rows=pending testid="pending-list" item=move |r: ReversalView| view! {
                <li>
                    {holder_link(r.holder_id, r.name, r.student_no)}
                    {format!(" · #{} {} · {} · {} {}", r.journal_id, money(r.amount), r.reason, r.requested_by, campus_time(&r.requested_at))}
                    {act.then(|| view! {
                        <ActionForm action=approve attr:class="inline-form">
                            <input type="hidden" name="request_id" value=r.id.to_string() />
                            <button type="submit" class="primary">{t!(i18n, staff.approve)}</button>
                        </ActionForm>
                    })}
                </li>
            } />
        </section>
        <section class="panel">
            <h2>{t!(i18n, staff.failed_topups)}</h2>
            <Done result=resolve.value() testid="resolve-done" />
            <QueueList rows=failed testid="failed-list" item=move |o: FailedTopupView| view! {
                <li>
                    {holder_link(o.holder_id, o.name, o.student_no)}
                    {format!(" · {} · {} · {}", campus_time(&o.at), money(o.amount), o.failure)}
                    {act.then(|| view! {
                        <ActionForm action=resolve attr:class="inline-form">
                            <input type="hidden" name="order_no" value=o.order_no.clone() />
                            <ReasonField id=format!("res-{}", o.order_no) />
                            <button type="submit">{t!(i18n, staff.resolve)}</button>
                        </ActionForm>
                    })}
                </li>
            } />
        </section>
    }
}

/// Closing the accounts of a graduating class: a student number per line (optionally with the
/// recorded payout account).
#[component]
pub fn GraduationPage() -> impl IntoView {
    let i18n = use_i18n();
    let batch = ServerAction::<CloseBatch>::new();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.nav_graduation).to_string()) />
        <h1>{t!(i18n, staff.nav_graduation)}</h1>
        <section class="panel narrow">
            <p>{t!(i18n, staff.graduation_intro)}</p>
            <ActionForm action=batch attr:class="form" attr:data-testid="batch-form">
                <label for="batch-lines">{t!(i18n, staff.graduation_lines)}</label>
                <textarea id="batch-lines" name="lines" rows="8" required placeholder="2022030307"></textarea>
                <ReasonField id="batch-reason" />
                <ActionError result=batch.value() />
                <button type="submit" class="danger" disabled=move || batch.pending().get()>{t!(i18n, staff.close_submit)}</button>
            </ActionForm>
            {move || batch.value().get().and_then(|r| r.ok()).map(|r| {
                if r.errors.is_empty() {
                    view! {
                        <div class="notice ok" role="status" data-testid="batch-done">
                            <ul>{r.closed.into_iter().map(|c| view! {
                                <li>{if c.awaiting_approval {
                                    t_string!(i18n, staff.close_awaiting, amount = money(c.paid_out)).to_string()
                                } else {
                                    t_string!(i18n, staff.closed_paid, amount = money(c.paid_out), reference = c.reference.clone()).to_string()
                                }} " · " {c.name.clone()} " " {c.student_no.clone()}</li>
                            }).collect_view()}</ul>
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <div class="notice" role="alert" data-testid="batch-errors">
                            <p>{t!(i18n, staff.batch_refused)}</p>
                            <ul>{r.errors.into_iter().map(|e| {
                                let text = error_text(i18n, &AppError::Rejected(e.problem.clone()));
                                view! { <li>{t!(i18n, staff.line, line = e.line)} ": " {text}</li> }
                            }).collect_view()}</ul>
                        </div>
                    }.into_any()
                }
            })}
        </section>
    }
}
