//! Bills (待缴费) at the card office: issue one at the counter or a list from a CSV file (all
//! lines or none), see what is paid and what is not with the totals, and cancel an unpaid bill
//! with a reason. Auditors see the list without the forms.

use super::enrol::CsvFields;
use super::{Done, ReasonField, changes, may_act_here};
use crate::api::bills::{CancelBill, IssueBill, IssueBills, get_office_bills};
use crate::bill_model::{BillsIssued, OfficeBillView};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, campus_time, error_text, money};
use crate::error::AppError;
use crate::i18n::*;
use crate::model::BillStatus;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

pub fn bill_status_label(i18n: leptos_i18n::I18nContext<Locale>, s: BillStatus) -> String {
    match s {
        BillStatus::Unpaid => t_string!(i18n, bills.status_unpaid),
        BillStatus::Paid => t_string!(i18n, bills.status_paid),
        BillStatus::Cancelled => t_string!(i18n, bills.status_cancelled),
    }
    .to_string()
}

#[component]
pub fn BillsOfficePage() -> impl IntoView {
    let i18n = use_i18n();
    let act = may_act_here();
    let issue = ServerAction::<IssueBill>::new();
    let issue_list = ServerAction::<IssueBills>::new();
    let cancel = ServerAction::<CancelBill>::new();
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        (
            q.get("status").unwrap_or_default(),
            q.get("q").unwrap_or_default(),
            q.get("before").and_then(|b| b.parse::<i64>().ok()),
        )
    };
    let issued = changes(issue.version(), issue.value());
    let listed = changes(issue_list.version(), issue_list.value());
    let cancelled = changes(cancel.version(), cancel.value());
    let list = Resource::new(
        move || (filter(), issued.get() + listed.get() + cancelled.get()),
        |((status, q, before), _)| get_office_bills(status, q, before),
    );
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, bills.office_title).to_string()) />
        <h1>{t!(i18n, bills.office_title)}</h1>
        {act.then(|| view! {
            <div class="two-col">
                <section class="panel">
                    <h2>{t!(i18n, bills.issue_one)}</h2>
                    <ActionForm action=issue attr:class="form" attr:data-testid="bill-form">
                        <label for="b-no">{t!(i18n, staff.student_no)}</label>
                        <input id="b-no" name="student_no" type="text" required />
                        <label for="b-title">{t!(i18n, bills.title_label)}</label>
                        <input id="b-title" name="title" type="text" maxlength="40" required />
                        <label for="b-dept">{t!(i18n, bills.department_label)}</label>
                        <input id="b-dept" name="department" type="text" maxlength="30" required />
                        <label for="b-amount">{t!(i18n, staff.amount_yuan)}</label>
                        <input id="b-amount" name="amount" type="text" inputmode="decimal" required />
                        <label for="b-due">{t!(i18n, bills.due_label)}</label>
                        <input id="b-due" name="due_on" type="date" required />
                        <ActionError result=issue.value() />
                        {move || issue.value().get().and_then(|r| r.ok()).map(|id| view! {
                            <p class="notice ok" role="status" data-testid="bill-issued">{t!(i18n, bills.issued_one, id = id)}</p>
                        })}
                        <button type="submit" class="primary" disabled=move || issue.pending().get()>{t!(i18n, bills.issue_submit)}</button>
                    </ActionForm>
                </section>
                <section class="panel">
                    <h2>{t!(i18n, bills.issue_list)}</h2>
                    <p class="muted">{t!(i18n, bills.list_intro)}</p>
                    <pre class="sample">"student_no,title,department,amount,due_on\n2023020215,补考费（高等数学）,教务处,60,2026-12-31"</pre>
                    <ActionForm action=issue_list attr:class="form" attr:data-testid="bills-import-form">
                        <CsvFields />
                        <ActionError result=issue_list.value() />
                        <button type="submit" class="primary" disabled=move || issue_list.pending().get()>{t!(i18n, bills.issue_list_submit)}</button>
                    </ActionForm>
                    {move || issue_list.value().get().and_then(|r| r.ok()).map(|r| view! { <IssueResult result=r /> })}
                </section>
            </div>
        })}
        <form method="get" action="/staff/bills" class="filters" data-testid="bills-filter">
            <label>{t!(i18n, bills.status_label)}
                <select name="status">
                    <option value="" selected=move || filter().0.is_empty()>{t!(i18n, bills.status_all)}</option>
                    {[BillStatus::Unpaid, BillStatus::Paid, BillStatus::Cancelled].into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || filter().0 == s.as_str()>{move || bill_status_label(i18n, s)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, bills.search_label)}
                <input name="q" type="search" prop:value=move || filter().1 />
            </label>
            <button type="submit">{t!(i18n, staff.filter)}</button>
        </form>
        <Done result=cancel.value() testid="bill-cancelled" />
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                list.await.map(|page| {
                    let t = page.totals.clone();
                    let next = page.next_before.map(|b| {
                        let (status, q, _) = filter();
                        format!("/staff/bills?status={}&q={}&before={b}", urlencoding(&status), urlencoding(&q))
                    });
                    view! {
                        <p class="totals" data-testid="bills-totals">
                            {t!(i18n, bills.totals, unpaid = t.unpaid, unpaid_amount = money(t.unpaid_amount), paid = t.paid, paid_amount = money(t.paid_amount), cancelled = t.cancelled)}
                        </p>
                        {page.bills.is_empty().then(|| view! { <p class="muted">{t!(i18n, bills.none_office)}</p> })}
                        <div class="table-wrap" tabindex="0">
                        <table class="data" data-testid="bills-list">
                            <thead><tr>
                                <th>"#"</th><th>{t!(i18n, staff.name)}</th><th>{t!(i18n, bills.title_label)}</th>
                                <th>{t!(i18n, staff.amount)}</th><th>{t!(i18n, bills.due_label)}</th>
                                <th>{t!(i18n, bills.status_label)}</th><th>{t!(i18n, staff.actions_col)}</th>
                            </tr></thead>
                            <tbody>
                                {page.bills.into_iter().map(|b| view! { <BillRow b=b act=act cancel=cancel /> }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                        {next.map(|href| view! { <p><a href=href data-testid="bills-next">{t!(i18n, bills.next_page)}</a></p> })}
                    }
                })
            })}
        </Suspense>
    }
}

/// A filter's value in a link.
fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn BillRow(b: OfficeBillView, act: bool, cancel: ServerAction<CancelBill>) -> impl IntoView {
    let i18n = use_i18n();
    let bill = b.bill;
    let status = bill.status;
    let when = match status {
        BillStatus::Unpaid => String::new(),
        BillStatus::Paid => bill.paid_at.as_deref().map(campus_time).unwrap_or_default(),
        BillStatus::Cancelled => format!(
            "{} {}：{}",
            bill.cancelled_at
                .as_deref()
                .map(campus_time)
                .unwrap_or_default(),
            b.cancelled_by.clone().unwrap_or_default(),
            bill.cancel_reason
        ),
    };
    view! {
        <tr data-testid="bill-row" data-status=status.as_str()>
            <td>{bill.id}</td>
            <td><A href=format!("/staff/holder/{}", b.holder_id)>{b.name.clone()} " " {b.student_no.clone()}</A></td>
            <td>{bill.title.clone()} <br /> <span class="muted">{bill.department.clone()} " · " {b.issued_by.clone()} " " {campus_time(&bill.issued_at)}</span></td>
            <td>{money(bill.amount)}</td>
            <td>{bill.due_on.clone()}</td>
            <td>
                <span class=format!("status status-{status}") data-testid="bill-status">{move || bill_status_label(i18n, status)}</span>
                {bill.refunded.then(|| view! { " " <span class="status status-cancelled" data-testid="bill-refunded">{t!(i18n, bills.refunded)}</span> })}
                <br /> <span class="muted">{when}</span>
            </td>
            <td>{(act && status == BillStatus::Unpaid).then(|| view! {
                <ActionForm action=cancel attr:class="inline-form">
                    <input type="hidden" name="bill_id" value=bill.id.to_string() />
                    <ReasonField id=format!("bc-{}", bill.id) />
                    <button type="submit" data-testid="bill-cancel">{t!(i18n, bills.cancel)}</button>
                </ActionForm>
            })}</td>
        </tr>
    }
}

/// What issuing a list did: how many bills and their total, or each refused line.
#[component]
fn IssueResult(result: BillsIssued) -> impl IntoView {
    let i18n = use_i18n();
    match result {
        BillsIssued::Issued { count, total } => view! {
            <p class="notice ok" role="status" data-testid="bills-issued">{t!(i18n, bills.issued_list, count = count, total = money(total))}</p>
        }
        .into_any(),
        BillsIssued::Refused(lines) => view! {
            <div class="notice" role="alert" data-testid="bills-refused">
                <p>{t!(i18n, bills.list_refused, n = lines.len())}</p>
                <ul>
                    {lines.into_iter().map(|(line, problem)| {
                        let text = error_text(i18n, &AppError::Rejected(problem));
                        view! { <li>{t!(i18n, staff.line, line = line)} ": " {text}</li> }
                    }).collect_view()}
                </ul>
            </div>
        }
        .into_any(),
    }
}
