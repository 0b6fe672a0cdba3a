use super::history::EntryList;
use crate::api::portal::get_dashboard;
use crate::components::labels::{campus_time, card_status_label, money};
use crate::components::{AnnouncementList, PageTitle, localized};
use crate::i18n::*;
use crate::model::{AccountStatus, CardStatus};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// Balance first and large, with the pay code and top-up a tap away; then the card, today's
/// spending and the last five transactions.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| get_dashboard());
    let query = use_query_map();
    let changed = move || query.read().get("changed").is_some();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, portal.dashboard).to_string()) />
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                data.await.map(|d| {
                    let pct = if d.daily_limit.fen() > 0 {
                        (d.spent_today.fen().max(0) * 100 / d.daily_limit.fen()).min(100)
                    } else {
                        0
                    };
                    let card_lost = d.card_status == Some(CardStatus::Lost);
                    view! {
                        {changed().then(|| view! { <p class="notice ok" data-testid="notice-changed">{t!(i18n, portal.notice_changed)}</p> })}
                        <section class="balance-card" data-testid="balance">
                            <h1 class="label">{t!(i18n, portal.balance)}</h1>
                            <p class="amount" data-testid="balance-amount">{money(d.balance)}</p>
                            <p class="holder">{d.name.clone()} " · " {d.student_no.clone()}</p>
                            <p class="actions quick-actions">
                                <a class="button primary" href="/portal/code" data-testid="quick-code">{t!(i18n, portal.pay_code_button)}</a>
                                <a class="button" href="/portal/topup" data-testid="quick-topup">{t!(i18n, portal.topup)}</a>
                            </p>
                        </section>
                        {match d.account_status {
                            AccountStatus::Frozen => Some(view! { <p class="notice">{t!(i18n, portal.account_frozen)}</p> }.into_any()),
                            AccountStatus::Closed => Some(view! { <p class="notice">{t!(i18n, portal.account_closed)}</p> }.into_any()),
                            AccountStatus::Active => None,
                        }}
                        {card_lost.then(|| view! {
                            <p class="notice" data-testid="notice-lost">
                                {t!(i18n, portal.notice_lost, code = localized(&d.code_name))}
                            </p>
                        })}
                        {d.found_card_at.clone().map(|place| view! {
                            <p class="notice ok" role="status" data-testid="notice-found">
                                {t!(i18n, portal.notice_found, place = place.clone())}
                            </p>
                        })}
                        <AnnouncementList items=d.announcements.clone() />
                        {(d.bills_due > 0).then(|| view! {
                            <p class="notice" data-testid="notice-bills">
                                {t!(i18n, portal.notice_bills, count = d.bills_due, amount = money(d.bills_due_amount))}
                                " "
                                <A href="/portal/bills">{t!(i18n, portal.bills_pay_now)}</A>
                            </p>
                        })}
                        {d.auto_topup_failures.iter().map(|f| {
                            let (amount, at, why, phone) = (money(f.amount), campus_time(&f.at), f.failure.clone(), d.office_phone.clone());
                            view! {
                                <div class="notice" role="alert" data-testid="notice-auto-failed">
                                    <p>{t!(i18n, portal.notice_auto_failed, amount = amount.clone(), at = at.clone(), why = why.clone(), phone = phone.clone())}</p>
                                    <p><A href="/portal/topup">{t!(i18n, portal.topup)}</A></p>
                                </div>
                            }
                        }).collect_view()}
                        {d.consumption_pw_is_initial.then(|| view! {
                            <p class="notice" data-testid="notice-consumption-pw">{t!(i18n, portal.notice_consumption_pw)}</p>
                        })}
                        <div class="two-col">
                            <section class="panel" data-testid="card-state">
                                <h2>{t!(i18n, portal.card)}</h2>
                                {match (d.card_no_masked.clone(), d.card_status) {
                                    (Some(no), Some(st)) => view! {
                                        <p><span class="card-no">{no}</span> " " <span class=format!("status status-{st}")>{move || card_status_label(i18n, st)}</span></p>
                                    }.into_any(),
                                    _ => view! { <p>{t!(i18n, portal.card_none)}</p> }.into_any(),
                                }}
                            </section>
                            <section class="panel" data-testid="today">
                                <h2>{t!(i18n, portal.today)}</h2>
                                <p><strong>{money(d.spent_today)}</strong> " / " {t!(i18n, portal.of_daily, limit = d.daily_limit.to_string())}</p>
                                <div class="meter" role="presentation"><span style=format!("width:{pct}%")></span></div>
                            </section>
                        </div>
                        <section class="panel">
                            <h2>{t!(i18n, portal.recent)}</h2>
                            <EntryList entries=d.recent.clone() />
                            <p><A href="/portal/history">{t!(i18n, portal.see_all)}</A></p>
                        </section>
                    }
                })
            })}
        </Suspense>
    }
}
