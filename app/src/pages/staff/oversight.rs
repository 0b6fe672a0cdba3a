//! For administrators and auditors: the audit log with filters, and the reports with their
//! CSV exports. Both are GET forms, so a filtered view can be bookmarked and shared.

use crate::api::notices::get_failed_notices;
use crate::api::staff::{audit_log, get_reports};
use crate::api::utilities::{get_biller_settlement, get_waiting_purchases};
use crate::components::PageTitle;
use crate::components::labels::{
    actor_kind_label, audit_action_label, audit_text, campus_time, channel_label, error_text, money,
};
use crate::i18n::*;
use crate::model::{AuditAction, DifferenceKind};
use crate::pages::portal::utilities::what_text;
use crate::staff_model::AuditView;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditTable(rows: Vec<AuditView>) -> impl IntoView {
    let i18n = use_i18n();
    if rows.is_empty() {
        return view! { <p class="muted">{t!(i18n, staff.audit_none)}</p> }.into_any();
    }
    view! {
        <div class="table-wrap" tabindex="0">
        <table class="data audit" data-testid="audit-table">
            <thead><tr>
                <th>{t!(i18n, staff.time)}</th><th>{t!(i18n, staff.audit_who)}</th><th>{t!(i18n, staff.audit_action)}</th>
                <th>{t!(i18n, staff.audit_holder)}</th><th>{t!(i18n, staff.audit_what)}</th><th>{t!(i18n, staff.audit_change)}</th><th>{t!(i18n, staff.reason)}</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|a| view! {
                    <tr>
                        <td>{campus_time(&a.at)}</td>
                        <td>{move || actor_kind_label(i18n, a.actor_kind)} " " {a.actor_name.clone()}</td>
                        <td><ActionName code=a.action.clone() /></td>
                        <td>{a.holder.clone().unwrap_or_default()}</td>
                        <td>{move || audit_text(i18n, &a.target)}</td>
                        <td>{move || change_text(i18n, &a.before, &a.after)}</td>
                        <td>{move || audit_text(i18n, &a.reason)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

/// What changed: "before → after", or only the after when there was nothing before.
pub fn change_text(i18n: leptos_i18n::I18nContext<Locale>, before: &str, after: &str) -> String {
    if before.is_empty() {
        audit_text(i18n, after)
    } else {
        format!("{} → {}", audit_text(i18n, before), audit_text(i18n, after))
    }
}

/// An audit action in the reader's language, with its stored code beside it (what the filter
/// and the CSV export use). A code this version does not know is shown as it is.
#[component]
pub fn ActionName(code: String) -> impl IntoView {
    let i18n = use_i18n();
    match AuditAction::parse(&code) {
        Some(action) => view! {
            <span class="action-name">{move || audit_action_label(i18n, action)}</span>
            " " <code class="action-code">{code}</code>
        }
        .into_any(),
        None => view! { <code class="action-code">{code}</code> }.into_any(),
    }
}

/// One field of a filter form (a GET form: the filter is in the address), its label above it.
#[component]
fn Filter(
    id: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] placeholder: Option<&'static str>,
    value: impl Fn() -> String + Send + Sync + 'static,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{children()}</label>
            <input id=id name=name type=kind value=value placeholder=placeholder />
        </div>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let field = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let rows = Resource::new(
        move || {
            let q = query.read();
            let get = |k: &str| q.get(k).unwrap_or_default();
            (
                get("person"),
                get("holder"),
                get("action"),
                get("from"),
                get("to"),
            )
        },
        |(person, holder, action, from, to)| audit_log(person, holder, action, from, to),
    );
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.nav_audit).to_string()) />
        <h1>{t!(i18n, staff.nav_audit)}</h1>
        <form method="get" action="/staff/audit" class="form filters" data-testid="audit-filters">
            <Filter id="a-person" name="person" value=field("person")>{t!(i18n, staff.audit_person)}</Filter>
            <Filter id="a-holder" name="holder" value=field("holder")>{t!(i18n, staff.audit_holder)}</Filter>
            <Filter id="a-action" name="action" placeholder="card." value=field("action")>{t!(i18n, staff.audit_action)}</Filter>
            <Filter id="a-from" name="from" kind="date" value=field("from")>{t!(i18n, staff.from)}</Filter>
            <Filter id="a-to" name="to" kind="date" value=field("to")>{t!(i18n, staff.to)}</Filter>
            <button type="submit" class="primary">{t!(i18n, staff.filter)}</button>
        </form>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move { rows.await.map(|rows| view! { <AuditTable rows=rows /> }) })}
        </Suspense>
    }
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let field = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let data = Resource::new(
        move || {
            let q = query.read();
            (
                q.get("from").unwrap_or_default(),
                q.get("to").unwrap_or_default(),
            )
        },
        |(from, to)| get_reports(from, to),
    );
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.nav_reports).to_string()) />
        <h1>{t!(i18n, staff.nav_reports)}</h1>
        <form method="get" action="/staff/reports" class="form filters" data-testid="report-filters">
            <Filter id="r-from" name="from" kind="date" value=field("from")>{t!(i18n, staff.from)}</Filter>
            <Filter id="r-to" name="to" kind="date" value=field("to")>{t!(i18n, staff.to)}</Filter>
            <button type="submit" class="primary">{t!(i18n, staff.filter)}</button>
        </form>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                data.await.map(|r| {
                    let csv = |which: &str| format!("/staff/reports.csv?report={which}&from={}&to={}", r.from, r.to);
                    let l = r.liability.clone();
                    let consistent = l.difference.fen() == 0 && l.mismatches.is_empty();
                    view! {
                        <p class="muted">{t!(i18n, staff.period, from = r.from.clone(), to = r.to.clone())}</p>
                        <section class="panel">
                            <h2>{t!(i18n, staff.report_liability)}</h2>
                            <p data-testid="liability">
                                {t!(i18n, staff.liability_text, total = money(l.total_balance), journal = money(l.journal_total), accounts = l.accounts)}
                                " "
                                {if consistent {
                                    view! { <strong class="ok" data-testid="liability-ok">{t!(i18n, staff.reconciled)}</strong> }.into_any()
                                } else {
                                    view! { <strong class="warn" data-testid="liability-diff">{t!(i18n, staff.difference, diff = money(l.difference))}</strong> }.into_any()
                                }}
                            </p>
                            {(!l.mismatches.is_empty()).then(|| view! {
                                <ul>{l.mismatches.iter().map(|(id, b, s)| view! { <li>{format!("#{id}: {} / {}", money(*b), money(*s))}</li> }).collect_view()}</ul>
                            })}
                            <a href=csv("liability") download="">{t!(i18n, staff.csv)}</a>
                        </section>
                        <section class="panel">
                            <h2>{t!(i18n, staff.report_settlement)}</h2>
                            <div class="table-wrap" tabindex="0">
                            <table class="data" data-testid="settlement">
                                <thead><tr><th>{t!(i18n, staff.merchant)}</th><th class="num">{t!(i18n, staff.sales)}</th><th class="num">{t!(i18n, staff.sales_total)}</th><th class="num">{t!(i18n, staff.refunds)}</th><th class="num">{t!(i18n, staff.corrections)}</th><th class="num">{t!(i18n, staff.net)}</th></tr></thead>
                                <tbody>{r.settlement.iter().map(|s| view! {
                                    <tr><td>{s.merchant.clone()}</td><td class="num">{s.sales}</td><td class="num">{money(s.sales_total)}</td><td class="num">{money(s.refunds_total)}</td><td class="num">{money(s.corrections_total)}</td><td class="num">{money(s.net)}</td></tr>
                                }).collect_view()}</tbody>
                            </table>
                            </div>
                            <a href=csv("settlement") download="" data-testid="csv-settlement">{t!(i18n, staff.csv)}</a>
                        </section>
                        <section class="panel">
                            <h2>{t!(i18n, staff.report_topups)}</h2>
                            <table class="data" data-testid="topups">
                                <thead><tr><th>{t!(i18n, staff.channel)}</th><th class="num">{t!(i18n, staff.count)}</th><th class="num">{t!(i18n, staff.amount)}</th></tr></thead>
                                <tbody>{r.topups.iter().map(|c| view! {
                                    <tr><td>{let ch = c.channel; move || channel_label(i18n, ch)}</td><td class="num">{c.count}</td><td class="num">{money(c.total)}</td></tr>
                                }).collect_view()}</tbody>
                            </table>
                            <a href=csv("topups") download="">{t!(i18n, staff.csv)}</a>
                        </section>
                        <section class="panel">
                            <h2>{t!(i18n, staff.report_payouts)}</h2>
                            <div class="table-wrap" tabindex="0">
                            <table class="data" data-testid="payouts">
                                <thead><tr><th>{t!(i18n, staff.time)}</th><th>{t!(i18n, staff.name)}</th><th>{t!(i18n, staff.bank_account)}</th><th class="num">{t!(i18n, staff.amount)}</th><th>{t!(i18n, staff.receipt_no)}</th></tr></thead>
                                <tbody>{r.payouts.iter().map(|p| view! {
                                    <tr><td>{campus_time(&p.at)}</td><td>{p.name.clone()} " " {p.student_no.clone()}</td>
                                    <td>{p.bank_account.clone()}</td><td class="num">{money(p.amount)}</td><td>{p.reference.clone()}</td></tr>
                                }).collect_view()}</tbody>
                            </table>
                            </div>
                            <a href=csv("payouts") download="">{t!(i18n, staff.csv)}</a>
                        </section>
                        <section class="panel">
                            <h2>{t!(i18n, staff.report_shifts)}</h2>
                            <div class="table-wrap" tabindex="0">
                            <table class="data" data-testid="shifts">
                                <thead><tr><th>{t!(i18n, staff.operator)}</th><th>{t!(i18n, staff.shift_from)}</th><th>{t!(i18n, staff.shift_until)}</th><th class="num">{t!(i18n, staff.count)}</th><th class="num">{t!(i18n, staff.shift_credited)}</th><th class="num">{t!(i18n, staff.shift_count)}</th><th class="num">{t!(i18n, staff.shift_diff)}</th></tr></thead>
                                <tbody>{r.shifts.iter().map(|s| {
                                    let short = s.difference.is_some_and(|d| d.fen() != 0);
                                    view! {
                                        <tr>
                                            <td>{s.operator.clone()}</td>
                                            <td>{s.from.as_deref().map(campus_time).unwrap_or_else(|| t_string!(i18n, staff.shift_start).to_string())}</td>
                                            <td>{s.until.as_deref().map(campus_time).unwrap_or_else(|| t_string!(i18n, staff.shift_open_now).to_string())}</td>
                                            <td class="num">{s.topups}</td>
                                            <td class="num">{money(s.cash_in)}</td>
                                            <td class="num">{s.counted.map(money).unwrap_or_default()}</td>
                                            <td class="num">{s.difference.map(|d| view! { <strong class=if short { "warn" } else { "ok" }>{money(d)}</strong> })}</td>
                                        </tr>
                                    }
                                }).collect_view()}</tbody>
                            </table>
                            </div>
                            <a href=csv("shifts") download="">{t!(i18n, staff.csv)}</a>
                        </section>
                        <section class="panel">
                            <h2>{t!(i18n, staff.report_activity)}</h2>
                            <table class="data" data-testid="activity">
                                <thead><tr><th>{t!(i18n, staff.audit_who)}</th><th>{t!(i18n, staff.audit_action)}</th><th class="num">{t!(i18n, staff.count)}</th></tr></thead>
                                <tbody>{r.activity.iter().map(|a| view! {
                                    <tr><td>{a.staff.clone()}</td><td><ActionName code=a.action.clone() /></td><td class="num">{a.count}</td></tr>
                                }).collect_view()}</tbody>
                            </table>
                            <a href=csv("activity") download="">{t!(i18n, staff.csv)}</a>
                        </section>
                    }
                })
            })}
        </Suspense>
        <BillerSettlementPanel />
        <WaitingPurchasesPanel />
        <FailedNoticesPanel />
    }
}

/// The notices' e-mails the mail server never took, after every try: to follow up (a wrong
/// address, a mail server refusing the campus).
#[component]
fn FailedNoticesPanel() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| get_failed_notices());
    view! {
        <section class="panel" data-testid="failed-notices">
            <h2>{t!(i18n, notices.failed_title)}</h2>
            <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <p class="muted">{error_text(i18n, &e)}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p data-testid="failed-notices-none"><strong class="ok">{t!(i18n, notices.failed_none)}</strong></p>
                        }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap" tabindex="0">
                            <table class="data">
                                <thead><tr>
                                    <th>{t!(i18n, notices.failed_when)}</th>
                                    <th>{t!(i18n, notices.failed_student)}</th>
                                    <th>{t!(i18n, notices.failed_address)}</th>
                                    <th class="num">{t!(i18n, notices.failed_attempts)}</th>
                                    <th>{t!(i18n, notices.failed_error)}</th>
                                </tr></thead>
                                <tbody>{list.into_iter().map(|f| view! {
                                    <tr>
                                        <td>{campus_time(&f.created_at)}</td>
                                        <td>{f.student_no}</td>
                                        <td>{f.address}</td>
                                        <td class="num">{f.attempts}</td>
                                        <td>{f.last_error}</td>
                                    </tr>
                                }).collect_view()}</tbody>
                            </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// A biller's settlement for one campus day: our purchases against the biller's statement,
/// and every difference to follow up. Its own GET form (biller and day).
#[component]
fn BillerSettlementPanel() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let data = Resource::new(
        move || {
            let q = query.read();
            (
                q.get("biller").unwrap_or_default(),
                q.get("day").unwrap_or_default(),
            )
        },
        |(biller, day)| get_biller_settlement(biller, day),
    );
    view! {
        <section class="panel" data-testid="biller-settlement">
            <h2>{t!(i18n, utilities.settlement_title)}</h2>
            <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <p class="muted" data-testid="biller-settlement-none">{error_text(i18n, &e)}</p> }.into_any(),
                        Ok(s) => {
                            let day = s.day.clone();
                            view! {
                                <form method="get" action="/staff/reports" class="form filters" data-testid="biller-filters">
                                    <div class="field">
                                        <label for="s-biller">{t!(i18n, utilities.settlement_biller)}</label>
                                        <select id="s-biller" name="biller">
                                            {s.billers.iter().map(|b| view! { <option value=b.clone() selected=*b == s.biller>{b.clone()}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <Filter id="s-day" name="day" kind="date" value=move || day.clone()>{t!(i18n, utilities.settlement_day)}</Filter>
                                    <button type="submit" class="primary">{t!(i18n, staff.filter)}</button>
                                </form>
                                <p data-testid="biller-totals">
                                    {t!(i18n, utilities.settlement_totals,
                                        purchases = s.settlement.purchases, charged = money(s.settlement.charged), delivered = money(s.settlement.delivered),
                                        refunded = money(s.settlement.refunded), confirmed = s.settlement.confirmed,
                                        confirmed_amount = money(s.settlement.confirmed_amount), matched = s.settlement.matched)}
                                </p>
                                {if s.settlement.differences.is_empty() {
                                    view! { <p data-testid="biller-matched"><strong class="ok">{t!(i18n, utilities.settlement_none)}</strong></p> }.into_any()
                                } else {
                                    view! {
                                        <div class="table-wrap" tabindex="0">
                                        <table class="data" data-testid="biller-differences">
                                            <thead><tr>
                                                <th>{t!(i18n, utilities.settlement_kind)}</th>
                                                <th>{t!(i18n, utilities.settlement_reference)}</th>
                                                <th class="num">{t!(i18n, utilities.settlement_ours)}</th>
                                                <th class="num">{t!(i18n, utilities.settlement_theirs)}</th>
                                            </tr></thead>
                                            <tbody>{s.settlement.differences.iter().map(|d| {
                                                let kind = d.kind;
                                                view! {
                                                    <tr data-kind=kind.as_str()>
                                                        <td>{move || difference_label(i18n, kind)}</td>
                                                        <td>{d.reference.clone()}</td>
                                                        <td class="num">{d.ours.map(money)}</td>
                                                        <td class="num">{d.theirs.map(money)}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}</tbody>
                                        </table>
                                        </div>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The purchases still waiting for their billers, oldest first, each with its holder (a link
/// to the holder page) and where its asking stands: to follow up with the biller.
#[component]
fn WaitingPurchasesPanel() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| get_waiting_purchases());
    view! {
        <section class="panel" data-testid="waiting-purchases">
            <h2>{t!(i18n, utilities.waiting_title)}</h2>
            <p class="muted">{t!(i18n, utilities.waiting_intro)}</p>
            <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <p class="muted">{error_text(i18n, &e)}</p> }.into_any(),
                        Ok(w) if w.rows.is_empty() => view! {
                            <p data-testid="waiting-purchases-none"><strong class="ok">{t!(i18n, utilities.waiting_none)}</strong></p>
                        }.into_any(),
                        Ok(w) => view! {
                            <div class="table-wrap" tabindex="0">
                            <table class="data">
                                <thead><tr>
                                    <th>{t!(i18n, utilities.waiting_charged)}</th>
                                    <th>{t!(i18n, utilities.settlement_reference)}</th>
                                    <th>{t!(i18n, utilities.waiting_student)}</th>
                                    <th>{t!(i18n, utilities.waiting_what)}</th>
                                    <th class="num">{t!(i18n, utilities.waiting_amount)}</th>
                                    <th>{t!(i18n, utilities.waiting_biller)}</th>
                                    <th>{t!(i18n, utilities.waiting_next_ask)}</th>
                                </tr></thead>
                                <tbody>{w.rows.into_iter().map(|p| {
                                    let (utility, quantity, account) = (p.utility, p.quantity, p.account.clone());
                                    let what = move || what_text(i18n, utility, quantity, &account);
                                    let late = p.overdue.then(|| match p.reported_at.as_deref() {
                                        Some(at) => {
                                            let at = campus_time(at);
                                            view! { <strong class="warn">{t!(i18n, utilities.waiting_reported, at = at.clone())}</strong> }.into_any()
                                        }
                                        None => view! { <strong class="warn">{t!(i18n, utilities.waiting_overdue)}</strong> }.into_any(),
                                    });
                                    view! {
                                        <tr data-testid="waiting-purchase" data-overdue=p.overdue.to_string()>
                                            <td>{campus_time(&p.charged_at)}" "{late}</td>
                                            <td>{p.reference}</td>
                                            <td><a href=format!("/staff/holder/{}", p.holder_id)>{p.student_no}</a></td>
                                            <td>{what}</td>
                                            <td class="num">{money(p.amount)}</td>
                                            <td>{p.biller}</td>
                                            <td>{p.next_ask_at.as_deref().map(campus_time)}</td>
                                        </tr>
                                    }
                                }).collect_view()}</tbody>
                            </table>
                            </div>
                            {w.more.then(|| view! { <p class="muted">{t!(i18n, utilities.waiting_more, shown = crate::utility_model::WAITING_SHOWN)}</p> })}
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn difference_label(i18n: leptos_i18n::I18nContext<Locale>, kind: DifferenceKind) -> String {
    match kind {
        DifferenceKind::Pending => t_string!(i18n, utilities.diff_pending),
        DifferenceKind::MissingAtBiller => t_string!(i18n, utilities.diff_missing_at_biller),
        DifferenceKind::FailedButCharged => t_string!(i18n, utilities.diff_failed_but_charged),
        DifferenceKind::DeliveredButRefunded => {
            t_string!(i18n, utilities.diff_delivered_but_refunded)
        }
        DifferenceKind::AmountDiffers => t_string!(i18n, utilities.diff_amount_differs),
        DifferenceKind::UnknownToUs => t_string!(i18n, utilities.diff_unknown_to_us),
        DifferenceKind::ListedTwice => t_string!(i18n, utilities.diff_listed_twice),
    }
    .to_string()
}
