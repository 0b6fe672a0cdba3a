//! `/terminal/kiosk`: the self-service kiosk. Balance (card + query password), a new
//! consumption password (card + old + new), a loss report (student or card number + query
//! password). Plain forms: they work before the page's script has loaded.

use super::{TerminalBar, TerminalProblem};
use crate::api::terminal::{
    KioskBalance, KioskConsumptionPassword, KioskReportLoss, get_terminal_info,
};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, decline_text, money};
use crate::error::AppError;
use crate::i18n::*;
use crate::terminal_model::TillResult;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

/// The answer under a kiosk form: the success sentence, or the refusal.
fn answer(
    i18n: leptos_i18n::I18nContext<Locale>,
    value: Option<Result<TillResult, AppError>>,
    testid: &'static str,
    ok_text: impl Fn(&TillResult) -> String + 'static,
) -> Option<AnyView> {
    let r = value?.ok()?;
    Some(if r.approved {
        view! { <p class="till-result ok" role="status" data-testid=testid>{ok_text(&r)}</p> }
            .into_any()
    } else {
        let text = r.reason.map(|d| decline_text(i18n, d)).unwrap_or_default();
        view! { <p class="till-result declined" role="alert" data-testid=testid>{text}</p> }
            .into_any()
    })
}

/// How long the kiosk waits without a touch or a key before it clears itself.
pub const KIOSK_IDLE_MS: u64 = 60_000;

/// Calls `clear` once the page has gone `after_ms` without a key, a touch or a click, and again
/// after each later quiet spell. Browser only: on the server it does nothing.
fn idle_reset(after_ms: u64, clear: impl Fn() + Clone + Send + Sync + 'static) {
    let timer = StoredValue::new(None::<TimeoutHandle>);
    let arm = move || {
        if let Some(old) = timer.get_value() {
            old.clear();
        }
        let clear = clear.clone();
        let handle =
            set_timeout_with_handle(clear, std::time::Duration::from_millis(after_ms)).ok();
        timer.set_value(handle);
    };
    Effect::new(move |_| {
        arm();
        let arm_on = arm.clone();
        let listeners = [
            window_event_listener(leptos::ev::keydown, {
                let arm = arm_on.clone();
                move |_| arm()
            }),
            window_event_listener(leptos::ev::pointerdown, {
                let arm = arm_on.clone();
                move |_| arm()
            }),
            window_event_listener(leptos::ev::input, {
                let arm = arm_on.clone();
                move |_| arm()
            }),
        ];
        on_cleanup(move || {
            for l in listeners {
                l.remove();
            }
            if let Some(t) = timer.get_value() {
                t.clear();
            }
        });
    });
}

#[component]
pub fn KioskPage() -> impl IntoView {
    let i18n = use_i18n();
    let info = Resource::new(|| (), |_| get_terminal_info(true));
    let balance = ServerAction::<KioskBalance>::new();
    let password = ServerAction::<KioskConsumptionPassword>::new();
    let loss = ServerAction::<KioskReportLoss>::new();
    // Three references (`[NodeRef::new(); 3]` would be one reference, copied).
    // The three services, and the bar's "leave terminal mode" (a staff member may have begun
    // typing there and walked away).
    let forms: [NodeRef<leptos::html::Form>; 4] = std::array::from_fn(|_| NodeRef::new());
    // The start screen again after a minute without use: the forms empty, the answers gone,
    // so the next person at the kiosk sees nothing of the last one's.
    let clear = move || {
        balance.value().set(None);
        password.value().set(None);
        loss.value().set(None);
        for form in forms {
            if let Some(form) = form.get_untracked() {
                form.reset();
                // A section opened to type in (leaving terminal mode) closes again.
                if let Some(details) = form.closest("details").ok().flatten() {
                    let _ = details.remove_attribute("open");
                }
            }
        }
        if let Some(active) = document().active_element() {
            let _ = active
                .unchecked_into::<leptos::web_sys::HtmlElement>()
                .blur();
        }
        window().scroll_to_with_x_and_y(0.0, 0.0);
    };
    idle_reset(KIOSK_IDLE_MS, clear);
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, kiosk.title).to_string()) />
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match info.await {
                    Err(e) => view! { <TerminalProblem error=e /> }.into_any(),
                    Ok(i) => view! {
                        <TerminalBar info=i leave_form=forms[3] />
                        <h1>{t!(i18n, kiosk.title)}</h1>
                        <p class="muted">{t!(i18n, terminal.idle_note)}</p>
                        <div class="kiosk-grid">
                            <section class="panel">
                                <h2>{t!(i18n, kiosk.balance_title)}</h2>
                                <ActionForm action=balance node_ref=forms[0] attr:class="form" attr:data-testid="kiosk-balance">
                                    <label for="kb-card">{t!(i18n, kiosk.card)}</label>
                                    <input id="kb-card" name="card" type="text" autocomplete="off" required />
                                    <label for="kb-password">{t!(i18n, kiosk.query_password)}</label>
                                    <input id="kb-password" name="password" type="password" inputmode="numeric" maxlength="6" autocomplete="off" required />
                                    <ActionError result=balance.value() />
                                    <button type="submit" class="primary" disabled=move || balance.pending().get()>{t!(i18n, kiosk.show_balance)}</button>
                                </ActionForm>
                                {move || answer(i18n, balance.value().get(), "kiosk-balance-result", move |r| {
                                    t_string!(i18n, pos.balance_is, holder = r.holder.clone().unwrap_or_default(), balance = money(r.balance.unwrap_or_default())).to_string()
                                })}
                            </section>
                            <section class="panel">
                                <h2>{t!(i18n, kiosk.pw_title)}</h2>
                                <ActionForm action=password node_ref=forms[1] attr:class="form" attr:data-testid="kiosk-password">
                                    <label for="kp-card">{t!(i18n, kiosk.card)}</label>
                                    <input id="kp-card" name="card" type="text" autocomplete="off" required />
                                    <label for="kp-old">{t!(i18n, kiosk.old_pw)}</label>
                                    <input id="kp-old" name="old" type="password" inputmode="numeric" maxlength="6" autocomplete="off" required />
                                    <label for="kp-new">{t!(i18n, kiosk.new_pw)}</label>
                                    <input id="kp-new" name="new" type="password" inputmode="numeric" maxlength="6" autocomplete="off" required />
                                    <label for="kp-repeat">{t!(i18n, kiosk.repeat_pw)}</label>
                                    <input id="kp-repeat" name="repeat" type="password" inputmode="numeric" maxlength="6" autocomplete="off" required />
                                    <ActionError result=password.value() />
                                    <button type="submit" class="primary" disabled=move || password.pending().get()>{t!(i18n, kiosk.pw_submit)}</button>
                                </ActionForm>
                                {move || answer(i18n, password.value().get(), "kiosk-password-result", move |_| t_string!(i18n, kiosk.pw_done).to_string())}
                            </section>
                            <section class="panel">
                                <h2>{t!(i18n, kiosk.loss_title)}</h2>
                                <ActionForm action=loss node_ref=forms[2] attr:class="form" attr:data-testid="kiosk-loss">
                                    <label for="kl-login">{t!(i18n, kiosk.login)}</label>
                                    <input id="kl-login" name="login" type="text" inputmode="numeric" autocomplete="off" required />
                                    <label for="kl-password">{t!(i18n, kiosk.query_password)}</label>
                                    <input id="kl-password" name="password" type="password" inputmode="numeric" maxlength="6" autocomplete="off" required />
                                    <ActionError result=loss.value() />
                                    <button type="submit" class="danger" disabled=move || loss.pending().get()>{t!(i18n, kiosk.loss_submit)}</button>
                                </ActionForm>
                                {move || answer(i18n, loss.value().get(), "kiosk-loss-result", move |r| {
                                    t_string!(i18n, kiosk.loss_done, card = r.holder.clone().unwrap_or_default()).to_string()
                                })}
                            </section>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
