//! `/portal/topup`: top up by bank card or WeChat Pay through the payment provider, follow an
//! order until the provider confirms it, and set up automatic top-up from a bound bank card.

use crate::api::topup::{RemoveAutoTopup, SaveAutoTopup, StartTopup, get_topups};
use crate::components::PageTitle;
use crate::components::labels::{
    ActionError, campus_time, channel_label, money, topup_status_label,
};
use crate::i18n::*;
use crate::model::{Money, TopupStatus};

/// The amounts a tap puts into the top-up field (those within the campus's minimum and
/// maximum are offered).
const PRESETS_YUAN: [i64; 4] = [20, 50, 100, 200];
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn TopupPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let order_no = move || query.read().get("order").filter(|o| !o.is_empty());
    let start = ServerAction::<StartTopup>::new();
    let save = ServerAction::<SaveAutoTopup>::new();
    let remove = ServerAction::<RemoveAutoTopup>::new();
    // While the order from the pay page is pending, ask again; once it is settled, read the
    // page one last time (its balance may have been read just before the credit).
    let tick = RwSignal::new(0u32);
    let page = Resource::new(
        move || {
            (
                order_no(),
                save.version().get(),
                remove.version().get(),
                tick.get(),
            )
        },
        |(order, ..)| get_topups(order),
    );
    let order_status = RwSignal::new(None::<TopupStatus>);
    let amount_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(Ok(p)) = page.get() {
            order_status.set(p.order.map(|o| o.status));
        }
    });
    // Browser only (effects do not run on the server).
    Effect::new(move |_| {
        if order_no().is_none() {
            return;
        }
        let settled = StoredValue::new(false);
        if let Ok(handle) = set_interval_with_handle(
            move || match order_status.get_untracked() {
                Some(TopupStatus::Pending) => tick.update(|t| *t += 1),
                Some(_) if !settled.get_value() => {
                    settled.set_value(true);
                    tick.update(|t| *t += 1);
                }
                _ => {}
            },
            std::time::Duration::from_millis(700),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    // The pay page is the provider's, outside the app: leave with a full page load.
    Effect::new(move |_| {
        if let Some(Ok(url)) = start.value().get() {
            let _ = window().location().set_href(&url);
        }
    });
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, topup.title).to_string()) />
        <h1>{t!(i18n, topup.title)}</h1>
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                page.await.map(|p| {
                    let order = p.order.clone().map(|o| {
                        let (class, text) = match o.status {
                            TopupStatus::Pending => ("notice", t_string!(i18n, topup.waiting, order = o.order_no.clone()).to_string()),
                            TopupStatus::Paid => ("notice ok", t_string!(i18n, topup.done, amount = money(o.amount)).to_string()),
                            TopupStatus::Failed => ("notice", t_string!(i18n, topup.failed_notice, order = o.order_no.clone(), why = o.failure.clone()).to_string()),
                        };
                        view! { <p class=class role="status" data-testid="topup-status" data-status=o.status.as_str()>{text}</p> }
                    });
                    let auto = p.auto.clone();
                    let has_auto = auto.is_some();
                    let threshold_value = auto.as_ref().map(|a| a.threshold.yuan_string()).unwrap_or_else(|| "20.00".into());
                    let amount_value = auto.as_ref().map(|a| a.amount.yuan_string()).unwrap_or_else(|| "100.00".into());
                    let card_label = match auto.as_ref() {
                        Some(a) => t_string!(i18n, topup.bank_card_keep, card = a.card_masked.clone()).to_string(),
                        None => t_string!(i18n, topup.bank_card).to_string(),
                    };
                    let auto_state = match auto {
                        Some(a) => view! { <p class="notice ok" data-testid="auto-state">{t_string!(i18n, topup.auto_on, threshold = money(a.threshold), amount = money(a.amount), card = a.card_masked.clone()).to_string()}</p> }.into_any(),
                        None => view! { <p data-testid="auto-state">{t!(i18n, topup.auto_off)}</p> }.into_any(),
                    };
                    let forms = if !p.online {
                        view! { <p class="notice" role="status" data-testid="topup-offline">{t!(i18n, problem.topup_unavailable)}</p> }.into_any()
                    } else { view! {
                        <div class="two-col">
                            <section class="panel">
                                <ActionForm action=start attr:class="form" attr:data-testid="topup-form">
                                    <label for="topup-amount">{t!(i18n, topup.amount, min = money(p.min), max = money(p.max))}</label>
                                    <input id="topup-amount" node_ref=amount_input name="amount" type="text" inputmode="decimal" required autocomplete="off" />
                                    <div class="presets" role="group" aria-label=move || t_string!(i18n, topup.presets) data-testid="topup-presets">
                                        {PRESETS_YUAN
                                            .iter()
                                            .filter(|y| (p.min..=p.max).contains(&Money::yuan(**y)))
                                            .map(|y| {
                                                let y = *y;
                                                view! {
                                                    <button type="button" class="preset" on:click=move |_| {
                                                        if let Some(input) = amount_input.get() {
                                                            input.set_value(&y.to_string());
                                                        }
                                                    }>{money(Money::yuan(y))}</button>
                                                }
                                            })
                                            .collect_view()}
                                    </div>
                                    <fieldset class="choices">
                                        <legend>{t!(i18n, topup.channel)}</legend>
                                        <label><input type="radio" name="channel" value="wechat" checked /> {t!(i18n, topup.wechat)}</label>
                                        <label><input type="radio" name="channel" value="bank" /> {t!(i18n, topup.bank)}</label>
                                    </fieldset>
                                    <ActionError result=start.value() />
                                    <button type="submit" class="primary" data-testid="topup-submit" disabled=move || start.pending().get()>{t!(i18n, topup.submit)}</button>
                                    <p class="hint">{t!(i18n, topup.usable)}</p>
                                </ActionForm>
                            </section>
                            <section class="panel" data-testid="auto-topup">
                                <h2>{t!(i18n, topup.auto_title)}</h2>
                                <p>{t!(i18n, topup.auto_intro)}</p>
                                {auto_state}
                                <ActionForm action=save attr:class="form" attr:data-testid="auto-form">
                                    <label for="auto-threshold">{t!(i18n, topup.threshold)}</label>
                                    <input id="auto-threshold" name="threshold" type="text" inputmode="decimal" required value=threshold_value />
                                    <label for="auto-amount">{t!(i18n, topup.auto_amount)}</label>
                                    <input id="auto-amount" name="amount" type="text" inputmode="decimal" required value=amount_value />
                                    <label for="auto-card">{card_label}</label>
                                    <input id="auto-card" name="card" type="text" inputmode="numeric" autocomplete="cc-number" required=!has_auto />
                                    <label for="auto-password">{t!(i18n, topup.password)}</label>
                                    <input id="auto-password" name="password" type="password" inputmode="numeric" maxlength="6" autocomplete="current-password" required />
                                    <ActionError result=save.value() />
                                    <button type="submit" class="primary" disabled=move || save.pending().get()>{t!(i18n, topup.auto_save)}</button>
                                </ActionForm>
                                {has_auto.then(|| view! {
                                    <ActionForm action=remove attr:class="form">
                                        <label for="auto-remove-password">{t!(i18n, topup.password)}</label>
                                        <input id="auto-remove-password" name="password" type="password" inputmode="numeric" maxlength="6" autocomplete="current-password" required />
                                        <ActionError result=remove.value() />
                                        <button type="submit" class="danger" disabled=move || remove.pending().get()>{t!(i18n, topup.auto_remove)}</button>
                                    </ActionForm>
                                })}
                            </section>
                        </div>
                    }.into_any() };
                    view! {
                        {order}
                        <p class="lead" data-testid="topup-balance">{t!(i18n, topup.balance, balance = money(p.balance))}</p>
                        {forms}
                        <section class="panel">
                            <h2>{t!(i18n, topup.recent)}</h2>
                            {if p.orders.is_empty() {
                                view! { <p>{t!(i18n, topup.none)}</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="orders" data-testid="topup-orders">
                                        {p.orders.into_iter().map(|o| view! {
                                            <li data-status=o.status.as_str()>
                                                {campus_time(&o.at)} " · " {channel_label(i18n, o.channel)} " · " <strong>{money(o.amount)}</strong> " · " {topup_status_label(i18n, o.status)}
                                                {(!o.failure.is_empty()).then(|| view! { <span class="muted">" (" {o.failure.clone()} ")"</span> })}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                    }
                })
            })}
        </Transition>
    }
}
