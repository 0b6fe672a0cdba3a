//! The page an e-mail's confirmation link opens. Opening it confirms nothing: a mail scanner
//! or a link preview that fetches every link would otherwise confirm an address nobody
//! asked for. The holder confirms with the button (a POST, with or without the page's
//! script); the answer stands on this page, which needs no login.

use crate::api::notices::ConfirmEmail;
use crate::components::PageTitle;
use crate::components::labels::ActionError;
use crate::i18n::*;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn EmailConfirmPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let confirm = ServerAction::<ConfirmEmail>::new();
    let token = move || query.read().get("token").unwrap_or_default();
    // The outcome: from the button's action, or (without the script) from where the server
    // sent the browser after it. A request that failed (the network, the server) keeps the
    // button, with the error, to try again.
    let outcome = move || match confirm.value().get() {
        Some(Ok(confirmed)) => Some(confirmed),
        _ => match query.read().get("done").as_deref() {
            Some("confirmed") => Some(true),
            Some("expired") => Some(false),
            _ => None,
        },
    };
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, notices.confirm_title).to_string()) />
        <h1>{t!(i18n, notices.confirm_title)}</h1>
        {move || match outcome() {
            Some(true) => view! {
                <p class="notice" role="status" data-testid="email-confirm-done">{t!(i18n, notices.email_now_confirmed)}</p>
                <p><A href="/portal/notices">{t!(i18n, notices.confirm_to_inbox)}</A></p>
            }
                .into_any(),
            Some(false) => view! {
                <p class="notice" role="alert" data-testid="email-confirm-expired">{t!(i18n, notices.confirm_expired)}</p>
                <p><A href="/portal/notices">{t!(i18n, notices.confirm_to_inbox)}</A></p>
            }
                .into_any(),
            None => view! {
                <p>{t!(i18n, notices.confirm_text)}</p>
                <ActionForm action=confirm attr:class="form" attr:data-testid="email-confirm-form">
                    <input type="hidden" name="token" value=token />
                    <ActionError result=confirm.value() />
                    <button type="submit" class="primary">{t!(i18n, notices.confirm_button)}</button>
                </ActionForm>
            }
                .into_any(),
        }}
    }
}
