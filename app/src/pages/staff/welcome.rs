//! `/staff/welcome?token=…`: a new staff member's enrolment link. It shows their authenticator
//! QR code and takes their own password and a first code; nobody else ever sees either. No
//! session is needed (the link is the credential); a used or expired link says so.

use crate::api::staff::{Welcome, welcome_view};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, error_text};
use crate::i18n::*;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn WelcomePage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let page = Resource::new(token, welcome_view);
    let finish = ServerAction::<Welcome>::new();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.welcome_title).to_string()) />
        <section class="narrow">
            <h1>{t!(i18n, staff.welcome_title)}</h1>
            <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p class="form-error" role="alert" data-testid="form-error">{error_text(i18n, &e)}</p> }.into_any(),
                        Ok(_) if matches!(finish.value().get(), Some(Ok(_))) => view! {
                            <p class="notice ok" role="status" data-testid="welcome-done">{t!(i18n, staff.welcome_done)}</p>
                            <p><a href="/staff/login" class="button primary">{t!(i18n, staff.login_title)}</a></p>
                        }.into_any(),
                        Ok(e) => view! {
                            <p>{t!(i18n, staff.welcome_intro, user = e.username.clone())}</p>
                            <ActionForm action=finish attr:class="form" attr:data-testid="welcome-form">
                                <input type="hidden" name="token" value=token() />
                                <p>{t!(i18n, staff.welcome_scan)}</p>
                                <div class="qr" inner_html=e.qr_svg.clone()></div>
                                <p><code class="secret" data-testid="welcome-secret">{e.totp_secret.clone()}</code></p>
                                <p>{t!(i18n, staff.welcome_password)}</p>
                                <label for="password">{t!(i18n, staff.password_new)}</label>
                                <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" />
                                <label for="confirm">{t!(i18n, staff.password_confirm)}</label>
                                <input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="12" />
                                <label for="code">{t!(i18n, staff.welcome_code)}</label>
                                <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]{6}" required />
                                <ActionError result=finish.value() />
                                <button type="submit" class="primary" disabled=move || finish.pending().get()>{t!(i18n, staff.welcome_submit)}</button>
                            </ActionForm>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
