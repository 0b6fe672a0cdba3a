//! The holder's bills (待缴费): what the card office asks them to pay, each paid with one tap
//! from the card balance; then the latest paid and cancelled ones. Without the wasm the pay
//! button is a plain form, and the server sends the browser back here with `?paid=<bill>`.

use crate::api::bills::{PayBill, get_my_bills};
use crate::bill_model::BillView;
use crate::components::PageTitle;
use crate::components::labels::{ActionError, money};
use crate::i18n::*;
use crate::model::{BillStatus, campus_time};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn BillsPage() -> impl IntoView {
    let i18n = use_i18n();
    let pay = ServerAction::<PayBill>::new();
    let query = use_query_map();
    let paid_by_form = move || {
        let q = query.read();
        q.get("paid").is_some() && q.get("__err").is_none() && pay.value().get().is_none()
    };
    let bills = Resource::new(move || pay.version().get(), |_| get_my_bills());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, bills.title).to_string()) />
        <h1>{t!(i18n, bills.title)}</h1>
        {move || pay.value().get().and_then(|r| r.ok()).map(|p| view! {
            <p class="notice ok" role="status" data-testid="bill-paid">
                {t!(i18n, bills.paid_notice, title = p.title.clone(), amount = money(p.amount), balance = money(p.balance))}
            </p>
        })}
        {move || paid_by_form().then(|| view! {
            <p class="notice ok" role="status" data-testid="bill-paid">{t!(i18n, bills.paid_plain)}</p>
        })}
        <ActionError result=pay.value() />
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                bills.await.map(|b| {
                    let balance = b.balance;
                    let today = b.today.clone();
                    view! {
                        <p data-testid="bills-balance">{t!(i18n, bills.balance, balance = money(balance))}</p>
                        <section class="panel" data-testid="bills-unpaid">
                            <h2>{t!(i18n, bills.unpaid)}</h2>
                            {b.unpaid.is_empty().then(|| view! { <p class="muted" data-testid="bills-none">{t!(i18n, bills.none)}</p> })}
                            <ul class="plain bill-list">
                                {b.unpaid.into_iter().map(|bill| {
                                    let late = bill.due_on < today;
                                    let short = bill.amount > balance;
                                    view! {
                                        <li class="bill" data-testid="bill">
                                            <BillLine bill=bill.clone() />
                                            <p class=if late { "due late" } else { "due" }>
                                                {if late {
                                                    t_string!(i18n, bills.overdue, date = bill.due_on.clone()).to_string()
                                                } else {
                                                    t_string!(i18n, bills.due, date = bill.due_on.clone()).to_string()
                                                }}
                                            </p>
                                            {if short {
                                                view! {
                                                    <p class="muted" data-testid="bill-short">
                                                        {t!(i18n, bills.short)} " "
                                                        <A href="/portal/topup">{t!(i18n, portal.topup)}</A>
                                                    </p>
                                                }.into_any()
                                            } else {
                                                view! {
                                                    <ActionForm action=pay attr:class="inline-form">
                                                        <input type="hidden" name="bill_id" value=bill.id.to_string() />
                                                        <button type="submit" class="primary" data-testid="bill-pay" disabled=move || pay.pending().get()>
                                                            {t!(i18n, bills.pay, amount = money(bill.amount))}
                                                        </button>
                                                    </ActionForm>
                                                }.into_any()
                                            }}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </section>
                        {(!b.settled.is_empty()).then(|| view! {
                            <section class="panel" data-testid="bills-settled">
                                <h2>{t!(i18n, bills.settled)}</h2>
                                <ul class="plain bill-list">
                                    {b.settled.iter().map(|bill| view! {
                                        <li class="bill" data-testid="bill-settled">
                                            <BillLine bill=bill.clone() />
                                            <p class="muted">{settled_text(i18n, bill)}</p>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </section>
                        })}
                    }
                })
            })}
        </Suspense>
    }
}

/// What a bill is for, who asks, and how much.
#[component]
fn BillLine(bill: BillView) -> impl IntoView {
    view! {
        <p class="bill-head">
            <strong data-testid="bill-title">{bill.title}</strong>
            <span class="amount" data-testid="bill-amount">{money(bill.amount)}</span>
        </p>
        <p class="muted">{bill.department}</p>
    }
}

/// "Paid on … (entry #…)" or "Cancelled on …: why".
fn settled_text(i18n: leptos_i18n::I18nContext<Locale>, bill: &BillView) -> String {
    match bill.status {
        BillStatus::Paid if bill.refunded => t_string!(
            i18n,
            bills.refunded_on,
            at = bill.paid_at.as_deref().map(campus_time).unwrap_or_default(),
            entry = bill.entry_id.unwrap_or_default()
        )
        .to_string(),
        BillStatus::Paid => t_string!(
            i18n,
            bills.paid_on,
            at = bill.paid_at.as_deref().map(campus_time).unwrap_or_default(),
            entry = bill.entry_id.unwrap_or_default()
        )
        .to_string(),
        _ => t_string!(
            i18n,
            bills.cancelled_on,
            at = bill
                .cancelled_at
                .as_deref()
                .map(campus_time)
                .unwrap_or_default(),
            why = bill.cancel_reason.clone()
        )
        .to_string(),
    }
}
