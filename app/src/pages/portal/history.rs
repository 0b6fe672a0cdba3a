use crate::api::portal::{get_history, get_monthly_spend};
use crate::components::PageTitle;
use crate::components::labels::{campus_time, category_label, kind_label, money, spend_label};
use crate::i18n::*;
use crate::model::{EntryKind, MerchantCategory, Money, SpendCategory};
use crate::portal_model::{EntryView, HistoryFilter, MonthSpend};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Transactions, newest first, with their merchant and the balance after each.
#[component]
pub fn EntryList(entries: Vec<EntryView>) -> impl IntoView {
    let i18n = use_i18n();
    if entries.is_empty() {
        return view! { <p class="muted">{t!(i18n, portal.no_entries)}</p> }.into_any();
    }
    view! {
        <ul class="entries" data-testid="entries">
            {entries
                .into_iter()
                .map(|e| {
                    let merchant = (e.merchant_zh.clone(), e.merchant_en.clone());
                    let credit = e.amount.fen() > 0;
                    view! {
                        <li class="entry" data-kind=e.kind.as_str()>
                            <div class="entry-main">
                                <span class="entry-what">
                                    {move || kind_label(i18n, e.kind)}
                                    {move || {
                                        let name = if crate::components::lang() == "en" { merchant.1.clone() } else { merchant.0.clone() };
                                        name.map(|n| format!(" · {n}"))
                                    }}
                                </span>
                                <span class=if credit { "entry-amount credit" } else { "entry-amount" }>
                                    {if credit { format!("+{}", e.amount) } else { e.amount.to_string() }}
                                </span>
                            </div>
                            <div class="entry-sub muted">
                                <span>{campus_time(&e.at)}</span>
                                <span>{money(e.balance_after)}</span>
                            </div>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        HistoryFilter::from_pairs(|k| q.get_str(k))
    });
    let before = Memo::new(move |_| query.read().get("before"));
    let page = Resource::new(
        move || (filter.get(), before.get()),
        |(f, b)| {
            let kind = f.kind.map(|k| k.as_str().to_string());
            let category = f.category.map(|c| c.as_str().to_string());
            get_history(f.from, f.to, kind, category, b)
        },
    );
    let months = Resource::new(|| (), |_| get_monthly_spend());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, history.title).to_string()) />
        <h1>{t!(i18n, history.title)}</h1>
        <form method="get" action="/portal/history" class="filters" data-testid="history-filters">
            <label>{t!(i18n, history.from)}
                <input type="date" name="from" value=move || filter.get().from.unwrap_or_default() />
            </label>
            <label>{t!(i18n, history.to)}
                <input type="date" name="to" value=move || filter.get().to.unwrap_or_default() />
            </label>
            <label>{t!(i18n, history.kind_label)}
                <select name="kind">
                    <option value="">{t!(i18n, kind.any)}</option>
                    {EntryKind::ALL.iter().map(|k| {
                        let k = *k;
                        view! { <option value=k.as_str() selected=move || filter.get().kind == Some(k)>{move || kind_label(i18n, k)}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, history.place)}
                <select name="category">
                    <option value="">{t!(i18n, cat.any)}</option>
                    {MerchantCategory::ALL.iter().map(|c| {
                        let c = *c;
                        view! { <option value=c.as_str() selected=move || filter.get().category == Some(c)>{move || category_label(i18n, c)}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="primary">{t!(i18n, history.apply)}</button>
        </form>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                let f = filter.get_untracked();
                page.await.map(|p| {
                    let csv = format!("/portal/history.csv?{}", f.to_query());
                    let next = p.next_cursor.clone().map(|c| {
                        let q = f.to_query();
                        format!("/portal/history?{q}{}before={c}", if q.is_empty() { "" } else { "&" })
                    });
                    view! {
                        <p class="history-total" data-testid="history-total">
                            {t!(i18n, history.total, count = p.count, spent = p.spent.to_string(), received = p.received.to_string())}
                            " · "
                            <a href=csv rel="external" download="yikatong-history.csv" data-testid="csv-link">{t!(i18n, history.csv)}</a>
                        </p>
                        <EntryList entries=p.entries.clone() />
                        <p class="pager">
                            {before.get_untracked().map(|_| view! { <a href=format!("/portal/history?{}", f.to_query())>{t!(i18n, history.newest)}</a> " " })}
                            {next.map(|n| view! { <a href=n data-testid="older">{t!(i18n, history.older)}</a> })}
                        </p>
                    }
                })
            })}
        </Suspense>
        <Suspense>
            {move || Suspend::new(async move { months.await.map(|m| view! { <MonthlyChart months=m /> }) })}
        </Suspense>
    }
}

/// Bars per month, split by category (no chart library: a few divs).
#[component]
fn MonthlyChart(months: Vec<MonthSpend>) -> impl IntoView {
    let i18n = use_i18n();
    let mut by_month: Vec<(String, Vec<(SpendCategory, Money)>)> = Vec::new();
    for m in months {
        match by_month.last_mut() {
            Some((month, items)) if *month == m.month => items.push((m.category, m.amount)),
            _ => by_month.push((m.month.clone(), vec![(m.category, m.amount)])),
        }
    }
    let max = by_month
        .iter()
        .map(|(_, items)| items.iter().map(|(_, a)| a.fen().max(0)).sum::<i64>())
        .max()
        .unwrap_or(1)
        .max(1);
    view! {
        <section class="panel chart" data-testid="monthly-chart">
            <h2>{t!(i18n, history.chart)}</h2>
            {by_month
                .into_iter()
                .map(|(month, items)| {
                    let total: i64 = items.iter().map(|(_, a)| a.fen().max(0)).sum();
                    view! {
                        <div class="chart-row">
                            <span class="chart-month">{month}</span>
                            <div class="chart-bar" style=format!("width:{}%", total * 100 / max)>
                                {items
                                    .into_iter()
                                    .filter(|(_, a)| a.fen() > 0)
                                    .map(|(c, a)| {
                                        view! {
                                            <span
                                                class=format!("seg seg-{}", c.as_str())
                                                style=format!("flex-grow:{}", a.fen())
                                                title=move || format!("{} {}", spend_label(i18n, c), a)
                                            ></span>
                                        }
                                    })
                                    .collect_view()}
                            </div>
                            <span class="chart-total">{Money::from_fen(total).to_string()}</span>
                        </div>
                    }
                })
                .collect_view()}
            <p class="legend">
                {SpendCategory::ALL
                    .iter()
                    .map(|c| {
                        let c = *c;
                        view! { <span class="legend-item"><span class=format!("swatch seg-{}", c.as_str())></span>{move || spend_label(i18n, c)}</span> }
                    })
                    .collect_view()}
            </p>
        </section>
    }
}
