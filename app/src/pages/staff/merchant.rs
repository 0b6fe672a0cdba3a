//! A merchant's own view: one day's sales, refunds and corrections at its tills, with totals.

use crate::api::staff::merchant_day;
use crate::components::PageTitle;
use crate::components::labels::{campus_time, kind_label, money};
use crate::i18n::*;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn MerchantPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let day = move || query.read().get("day").unwrap_or_default();
    let data = Resource::new(day, merchant_day);
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.nav_merchant).to_string()) />
        <h1>{t!(i18n, staff.nav_merchant)}</h1>
        <form method="get" action="/staff/merchant" class="form inline-form">
            <label for="m-day">{t!(i18n, staff.day)}</label>
            <input id="m-day" name="day" type="date" value=day />
            <button type="submit" class="primary">{t!(i18n, staff.filter)}</button>
        </form>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                data.await.map(|d| view! {
                    <section class="panel" data-testid="merchant-day">
                        <h2>{d.merchant.clone()} " · " {d.day.clone()}</h2>
                        <p data-testid="merchant-totals">
                            {t!(i18n, staff.merchant_totals, sales = d.sales, sales_total = money(d.sales_total), refunds = d.refunds, refunds_total = money(d.refunds_total), net = money(d.net))}
                        </p>
                        <div class="table-wrap" tabindex="0">
                        <table class="data">
                            <thead><tr><th>{t!(i18n, staff.time)}</th><th>{t!(i18n, staff.kind)}</th><th>{t!(i18n, staff.device)}</th><th>{t!(i18n, staff.payer)}</th><th class="num">{t!(i18n, staff.amount)}</th></tr></thead>
                            <tbody>{d.entries.iter().map(|e| {
                                let kind = e.kind;
                                view! {
                                    <tr><td>{campus_time(&e.at)}</td><td>{move || kind_label(i18n, kind)}</td><td>{e.device.clone()}</td><td>{e.payer.clone()}</td><td class="num">{money(e.amount)}</td></tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                        </div>
                    </section>
                })
            })}
        </Suspense>
    }
}
