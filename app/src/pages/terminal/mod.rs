//! The web terminals under `/terminal`: setting a browser up as a device, the POS till and the
//! self-service kiosk. Every action is checked on the server against the terminal cookie.

pub mod kiosk;
pub mod pos;

use crate::api::terminal::{LeaveTerminal, SetUpTerminal};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, error_text, money};
use crate::error::AppError;
use crate::i18n::*;
use crate::portal_model::Problem;
use crate::terminal_model::TerminalInfo;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// `/terminal`: type the device code and its credential once.
#[component]
pub fn SetupPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SetUpTerminal>::new();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, terminal.setup_title).to_string()) />
        <h1>{t!(i18n, terminal.setup_title)}</h1>
        <section class="panel narrow">
            <p>{t!(i18n, terminal.setup_intro)}</p>
            <ActionForm action=action attr:class="form" attr:data-testid="terminal-setup">
                <label for="device">{t!(i18n, terminal.device)}</label>
                <input id="device" name="device" type="text" autocomplete="off" autocapitalize="characters" required />
                <label for="credential">{t!(i18n, terminal.credential)}</label>
                <input id="credential" name="credential" type="password" autocomplete="off" required />
                <ActionError result=action.value() />
                <button type="submit" class="primary" disabled=move || action.pending().get()>{t!(i18n, terminal.setup_submit)}</button>
            </ActionForm>
        </section>
    }
}

/// The bar above a till or kiosk: which device this is, today's takings, a way out.
/// `leave_form`: the "leave terminal mode" form, for a page that clears itself (the kiosk).
#[component]
pub fn TerminalBar(
    info: TerminalInfo,
    #[prop(optional)] leave_form: Option<NodeRef<leptos::html::Form>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let leave = ServerAction::<LeaveTerminal>::new();
    let leave_form = leave_form.unwrap_or_default();
    let merchant = move || match i18n.get_locale() {
        Locale::zh => info.merchant_zh.clone(),
        Locale::en => info.merchant_en.clone(),
    };
    view! {
        <div class="terminal-bar" data-testid="terminal-bar">
            <p>
                // A kiosk belongs to no merchant: then only its place.
                {move || merchant().filter(|n| !n.is_empty()).map(|name| view! { <strong>{name}</strong> " · " })}
                {info.place.clone()} " · "
                <code data-testid="terminal-device">{info.device_code.clone()}</code>
            </p>
            <p data-testid="terminal-today">
                {t!(i18n, terminal.today, sales = info.sales, total = money(info.sales_total), refunds = info.refunds, refunds_total = money(info.refunds_total))}
            </p>
            <details class="terminal-leave">
                <summary data-testid="terminal-leave-open">{t!(i18n, terminal.leave)}</summary>
                <ActionForm action=leave node_ref=leave_form attr:class="form" attr:data-testid="terminal-leave">
                    <p class="muted">{t!(i18n, terminal.leave_intro)}</p>
                    <crate::pages::staff::CredentialFields prefix="tl-" shared_machine=true />
                    <ActionError result=leave.value() />
                    <button type="submit" class="danger" disabled=move || leave.pending().get()>{t!(i18n, terminal.leave_submit)}</button>
                </ActionForm>
            </details>
        </div>
    }
}

/// What to show when the terminal's data did not load: the way to set it up, or the error.
#[component]
pub fn TerminalProblem(error: AppError) -> impl IntoView {
    let i18n = use_i18n();
    let not_set_up = matches!(
        error,
        AppError::Rejected(Problem::TerminalRequired | Problem::TerminalKind)
    );
    view! {
        <section class="panel narrow" data-testid="terminal-problem">
            <p class="notice">{error_text(i18n, &error)}</p>
            {not_set_up.then(|| view! { <p><a href="/terminal" rel="external">{t!(i18n, terminal.set_up_link)}</a></p> })}
        </section>
    }
}
