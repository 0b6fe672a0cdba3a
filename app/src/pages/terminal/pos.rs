//! `/terminal/pos`: the cashier's till. Amount, then the scan field that a USB scanner or card
//! reader types into (ending with Enter); approved or declined shown large; the consumption
//! password asked for when the payment is over a limit; refund of the last sale; today's
//! takings. A sale keeps its request id until it has a final answer, so pressing Charge again
//! or a lost reply never charges twice.

use super::{TerminalBar, TerminalProblem};
use crate::api::terminal::{TillBalance, TillPay, TillRefund, get_terminal_info};
use crate::components::PageTitle;
use crate::components::labels::{campus_time, decline_text, error_text, money};
use crate::error::AppError;
use crate::i18n::*;
use crate::model::Decline;
use crate::terminal_model::TillResult;
use leptos::prelude::*;

/// What the big result panel shows.
#[derive(Clone)]
enum Shown {
    Sale(TillResult),
    Refund(TillResult),
    Balance(TillResult),
    Failed(AppError),
}

fn needs_password(r: &TillResult) -> bool {
    matches!(
        r.reason,
        Some(Decline::PasswordRequired | Decline::WrongPassword)
    )
}

#[component]
pub fn PosPage() -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let info = Resource::new(move || version.get(), |_| get_terminal_info(false));
    let amount = RwSignal::new(String::new());
    let scan = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // The sale in progress while the till waits for the consumption password:
    // (request id, amount, scan).
    let open_sale = RwSignal::new(None::<(String, String, String)>);
    // Request ids already sent: a new sale waits for a fresh one.
    let used = RwSignal::new(Vec::<String>::new());
    let shown = RwSignal::new(None::<Shown>);
    let pay = ServerAction::<TillPay>::new();
    let refund = ServerAction::<TillRefund>::new();
    let inquiry = ServerAction::<TillBalance>::new();
    let amount_ref = NodeRef::<leptos::html::Input>::new();
    let password_ref = NodeRef::<leptos::html::Input>::new();

    let focus = move |node: NodeRef<leptos::html::Input>| {
        request_animation_frame(move || {
            if let Some(el) = node.get_untracked() {
                let _ = el.focus();
            }
        });
    };

    Effect::new(move |_| {
        let Some(result) = pay.value().get() else {
            return;
        };
        password.set(String::new());
        match &result {
            Ok(r) if needs_password(r) => focus(password_ref),
            Ok(r) => {
                open_sale.set(None);
                scan.set(String::new());
                if r.approved {
                    amount.set(String::new());
                }
                version.update(|v| *v += 1);
                focus(amount_ref);
            }
            Err(_) => {
                open_sale.set(None);
                version.update(|v| *v += 1);
            }
        }
        shown.set(Some(match result {
            Ok(r) => Shown::Sale(r),
            Err(e) => Shown::Failed(e),
        }));
    });
    Effect::new(move |_| {
        if let Some(result) = refund.value().get() {
            version.update(|v| *v += 1);
            shown.set(Some(match result {
                Ok(r) => Shown::Refund(r),
                Err(e) => Shown::Failed(e),
            }));
        }
    });
    Effect::new(move |_| {
        if let Some(result) = inquiry.value().get() {
            scan.set(String::new());
            shown.set(Some(match result {
                Ok(r) => Shown::Balance(r),
                Err(e) => Shown::Failed(e),
            }));
        }
    });

    // A fresh request id from the server, not sent before.
    let fresh_id = move || -> Option<String> {
        let id = info.get_untracked()?.ok()?.request_id;
        if used.with_untracked(|u| u.contains(&id)) {
            return None;
        }
        used.update(|u| u.push(id.clone()));
        Some(id)
    };

    let charge = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pay.pending().get_untracked() {
            return;
        }
        let sale = match open_sale.get_untracked() {
            Some(sale) => sale,
            None => {
                let Some(id) = fresh_id() else { return };
                let sale = (id, amount.get_untracked(), scan.get_untracked());
                open_sale.set(Some(sale.clone()));
                sale
            }
        };
        let pw = password.get_untracked();
        pay.dispatch(TillPay {
            request_id: sale.0,
            amount: sale.1,
            scan: sale.2,
            password: (!pw.is_empty()).then_some(pw),
        });
    };
    let cancel = move |_| {
        open_sale.set(None);
        password.set(String::new());
        shown.set(None);
        version.update(|v| *v += 1);
        focus(amount_ref);
    };
    let ask_balance = move |_| {
        inquiry.dispatch(TillBalance {
            scan: scan.get_untracked(),
        });
    };
    let refund_last = move |payment_id: i64| {
        if let Some(id) = fresh_id() {
            refund.dispatch(TillRefund {
                request_id: id,
                payment_id,
            });
        }
    };
    let waiting = move || open_sale.with(Option::is_some);
    let busy = move || pay.pending().get() || refund.pending().get() || inquiry.pending().get();

    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, pos.title).to_string()) />
        <h1 class="terminal-title">{t!(i18n, pos.title)}</h1>
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match info.await {
                    Err(e) => view! { <TerminalProblem error=e /> }.into_any(),
                    Ok(i) => {
                        let last = i.last_sale.clone();
                        view! {
                            <TerminalBar info=i />
                            <div class="till">
                                <form class="form till-form" on:submit=charge data-testid="pos-form">
                                    <label for="pos-amount">{t!(i18n, pos.amount)}</label>
                                    <input id="pos-amount" node_ref=amount_ref data-testid="pos-amount" type="text" inputmode="decimal" autocomplete="off" required
                                        bind:value=amount readonly=waiting
                                        on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                            // Enter after the amount moves on to the scan field.
                                            if ev.key() == "Enter" {
                                                ev.prevent_default();
                                                if let Some(el) = document().get_element_by_id("pos-scan") {
                                                    use leptos::wasm_bindgen::JsCast;
                                                    if let Ok(el) = el.dyn_into::<leptos::web_sys::HtmlElement>() {
                                                        let _ = el.focus();
                                                    }
                                                }
                                            }
                                        } />
                                    <label for="pos-scan">{t!(i18n, pos.scan)}</label>
                                    <input id="pos-scan" data-testid="pos-scan" type="text" autocomplete="off" spellcheck="false" bind:value=scan readonly=waiting />
                                    <p class="hint">{t!(i18n, pos.scan_hint)}</p>
                                    <div class="till-password" hidden=move || !waiting()>
                                        <p class="notice" role="status">{t!(i18n, pos.password_prompt)}</p>
                                        <label for="pos-password">{t!(i18n, pos.password)}</label>
                                        <input id="pos-password" node_ref=password_ref data-testid="pos-password" type="password" inputmode="numeric" maxlength="6" autocomplete="off" bind:value=password />
                                    </div>
                                    <div class="button-row">
                                        <button type="submit" class="primary big" data-testid="pos-charge" disabled=busy>{t!(i18n, pos.charge)}</button>
                                        {move || if waiting() {
                                            view! { <button type="button" class="secondary" data-testid="pos-cancel" on:click=cancel>{t!(i18n, pos.cancel)}</button> }.into_any()
                                        } else {
                                            view! { <button type="button" class="secondary" data-testid="pos-balance" on:click=ask_balance disabled=busy>{t!(i18n, pos.balance)}</button> }.into_any()
                                        }}
                                    </div>
                                </form>
                                <ResultPanel shown=shown />
                                <section class="panel last-sale" data-testid="pos-last-sale">
                                    <h2>{t!(i18n, pos.last_sale)}</h2>
                                    {match last {
                                        None => view! { <p>{t!(i18n, pos.no_sales)}</p> }.into_any(),
                                        Some(s) => {
                                            let id = s.journal_id;
                                            view! {
                                                <p>
                                                    <strong>{money(s.amount)}</strong> " · " {campus_time(&s.at)} " · " {s.holder.clone()}
                                                </p>
                                                {if s.refunded {
                                                    view! { <p class="muted">{t!(i18n, pos.was_refunded)}</p> }.into_any()
                                                } else {
                                                    view! { <button type="button" class="danger till-action" data-testid="pos-refund" disabled=busy on:click=move |_| refund_last(id)>{t!(i18n, pos.refund)}</button> }.into_any()
                                                }}
                                            }.into_any()
                                        }
                                    }}
                                </section>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ResultPanel(shown: RwSignal<Option<Shown>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        shown.get().map(|s| {
            let (ok, headline, detail) = match s {
                Shown::Sale(r) | Shown::Refund(r) | Shown::Balance(r) if !r.approved => (
                    false,
                    t_string!(i18n, pos.declined).to_string(),
                    r.reason.map(|d| decline_text(i18n, d)).unwrap_or_default(),
                ),
                Shown::Sale(r) => (
                    true,
                    t_string!(i18n, pos.approved, amount = money(r.amount.unwrap_or_default())).to_string(),
                    t_string!(i18n, pos.balance_after, balance = money(r.balance.unwrap_or_default())).to_string(),
                ),
                Shown::Refund(r) => (
                    true,
                    t_string!(i18n, pos.refunded, amount = money(r.amount.unwrap_or_default())).to_string(),
                    t_string!(i18n, pos.balance_after, balance = money(r.balance.unwrap_or_default())).to_string(),
                ),
                Shown::Balance(r) => (
                    true,
                    t_string!(i18n, pos.balance_is, holder = r.holder.clone().unwrap_or_default(), balance = money(r.balance.unwrap_or_default())).to_string(),
                    String::new(),
                ),
                Shown::Failed(e) => (false, t_string!(i18n, pos.declined).to_string(), error_text(i18n, &e)),
            };
            view! {
                <section class=if ok { "till-result ok" } else { "till-result declined" } role="status" aria-live="assertive" data-testid="pos-result" data-approved=ok.to_string()>
                    <p class="headline">{headline}</p>
                    <p class="detail">{detail}</p>
                </section>
            }
        })
    }
}
