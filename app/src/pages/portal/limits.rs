use crate::api::portal::{SetLimits, get_limits};
use crate::components::PageTitle;
use crate::components::labels::ActionError;
use crate::i18n::*;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// Show and change the holder's own single and daily limits (raising one asks for the query
/// password).
#[component]
pub fn LimitsPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SetLimits>::new();
    let limits = Resource::new(move || action.version().get(), |_| get_limits());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, limits.title).to_string()) />
        <h1>{t!(i18n, limits.title)}</h1>
        <p>{t!(i18n, limits.intro)}</p>
        {move || action.value().get().and_then(|r| r.ok()).map(|l| view! {
            <p class="notice ok" role="status" data-testid="limits-saved">
                {t!(i18n, limits.saved, limits = t_string!(i18n, common.yuan_limit, single = l.single_limit, daily = l.daily_limit))}
            </p>
        })}
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                limits.await.map(|l| view! {
                    <section class="panel narrow">
                        <ActionForm action=action attr:class="form" attr:data-testid="limits-form">
                            <label for="single">{t!(i18n, limits.single)} " (" {t!(i18n, limits.max, max = l.max_single_limit.to_string())} ")"</label>
                            <input id="single" name="single" type="text" inputmode="decimal" required value=l.single_limit.yuan_string() />
                            <label for="daily">{t!(i18n, limits.daily)} " (" {t!(i18n, limits.max, max = l.max_daily_limit.to_string())} ")"</label>
                            <input id="daily" name="daily" type="text" inputmode="decimal" required value=l.daily_limit.yuan_string() />
                            <label for="limits-password">{t!(i18n, limits.password)}</label>
                            <input id="limits-password" name="password" type="password" inputmode="numeric" maxlength="6" autocomplete="current-password" />
                            <ActionError result=action.value() />
                            <button type="submit" class="primary" disabled=move || action.pending().get()>{t!(i18n, limits.submit)}</button>
                        </ActionForm>
                    </section>
                })
            })}
        </Suspense>
    }
}
