use crate::api::portal::{ChangePassword, me};
use crate::components::labels::ActionError;
use crate::components::{PageTitle, WithCampus, localized};
use crate::i18n::*;
use crate::model::CampusProfile;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// Change the query password; explains where the consumption password is changed.
#[component]
pub fn PasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<ChangePassword>::new();
    let holder = Resource::new(|| (), |_| me());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, password.title).to_string()) />
        <h1>{t!(i18n, password.title)}</h1>
        <Suspense>
            {move || Suspend::new(async move {
                holder.await.map(|h| {
                    h.filter(|h| h.must_change_password)
                        .map(|_| view! { <p class="notice" data-testid="must-change">{t!(i18n, password.must_change)}</p> })
                })
            })}
        </Suspense>
        <section class="panel narrow">
            <ActionForm action=action attr:class="form" attr:data-testid="password-form">
                <label for="old">{t!(i18n, password.old_pw)}</label>
                <input id="old" name="old" type="password" inputmode="numeric" maxlength="6" autocomplete="current-password" required />
                <label for="new">{t!(i18n, password.new_pw)}</label>
                <input id="new" name="new" type="password" inputmode="numeric" maxlength="6" autocomplete="new-password" required aria-describedby="pw-rules" />
                <label for="repeat">{t!(i18n, password.repeat)}</label>
                <input id="repeat" name="repeat" type="password" inputmode="numeric" maxlength="6" autocomplete="new-password" required />
                <p id="pw-rules" class="muted">{t!(i18n, password.rules)}</p>
                <ActionError result=action.value() />
                <button type="submit" class="primary" disabled=move || action.pending().get()>{t!(i18n, password.submit)}</button>
            </ActionForm>
        </section>
        <section class="panel narrow">
            <h2>{t!(i18n, password.consumption_title)}</h2>
            <p>{t!(i18n, password.consumption_text)}</p>
            <WithCampus view=move |c: CampusProfile| {
                view! {
                    <ul class="plain">
                        {c.service_points.iter().map(|p| view! { <li>{localized(&p.location)}</li> }).collect_view()}
                    </ul>
                }
            } />
        </section>
    }
}
