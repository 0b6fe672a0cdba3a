use crate::api::portal::{Login, login_flash};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, error_text};
use crate::i18n::*;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// Log in with a student or card number and the query password. A plain HTML form: it works
/// before (or without) the wasm, and the server redirects on success.
#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let login = ServerAction::<Login>::new();
    // A login refused before the wasm ran: the number typed and the reason, once.
    let flash = Resource::new(|| (), |_| login_flash());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, login.title).to_string()) />
        <section class="narrow">
            <h1>{t!(i18n, login.title)}</h1>
            <p>{t!(i18n, login.intro)}</p>
            <ActionForm action=login attr:class="form" attr:data-testid="login-form">
                <label for="login">{t!(i18n, login.login_label)}</label>
                <Suspense>
                    {move || Suspend::new(async move {
                        let flash = flash.await.ok().flatten();
                        let typed = flash.as_ref().map(|f| f.login.clone()).unwrap_or_default();
                        view! {
                            <input id="login" name="login" type="text" inputmode="numeric" autocomplete="username" required value=typed />
                            {flash.map(|f| view! { <p class="form-error" role="alert" data-testid="form-error">{error_text(i18n, &crate::error::AppError::Rejected(f.problem))}</p> })}
                        }
                    })}
                </Suspense>
                <label for="password">{t!(i18n, login.password_label)}</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    inputmode="numeric"
                    autocomplete="current-password"
                    maxlength="6"
                    required
                />
                <label class="check">
                    <input type="checkbox" name="remember" value="on" data-testid="remember-phone" />
                    {t!(i18n, login.remember)}
                </label>
                <p class="muted small">{t!(i18n, login.remember_note)}</p>
                <ActionError result=login.value() />
                <button type="submit" class="primary" disabled=move || login.pending().get()>
                    {t!(i18n, login.submit)}
                </button>
            </ActionForm>
            <p class="muted">{t!(i18n, login.first_time)}</p>
            <p class="muted">{t!(i18n, login.forgot)}</p>
        </section>
    }
}
