use crate::api::portal::{SetCardLoss, get_dashboard};
use crate::components::labels::{ActionError, card_status_label};
use crate::components::{PageTitle, WithCampus, localized};
use crate::i18n::*;
use crate::model::{CampusProfile, CardStatus};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Report the card lost, or lift the report: one form, confirmed by the query password. The
/// confirmation shows with the wasm (the action's value) and without it (the server sends a
/// plain form to `?done=1`, and the page names the card's new state).
#[component]
pub fn LostPage() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SetCardLoss>::new();
    let query = use_query_map();
    // Not after a refused second try, whose error comes back to this address.
    let done_by_form = move || {
        let q = query.read();
        q.get("done").is_some() && q.get("__err").is_none() && action.value().get().is_none()
    };
    // Reload the card state after each change.
    let state = Resource::new(move || action.version().get(), |_| get_dashboard());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, lost.title).to_string()) />
        <h1>{t!(i18n, lost.title)}</h1>
        {move || {
            action.value().get().and_then(|r| r.ok()).map(|c| {
                view! {
                    <p class="notice ok" role="status" data-testid="lost-done">
                        {t!(i18n, lost.done, card = c.card_no_masked.clone(), status = card_status_label(i18n, c.status))}
                    </p>
                }
            })
        }}
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                state.await.map(|d| match d.card_status {
                    None => view! { <p>{t!(i18n, lost.no_card)}</p> }.into_any(),
                    Some(status) => {
                        let lost = status == CardStatus::Lost;
                        let card = d.card_no_masked.clone();
                        view! {
                            {move || done_by_form().then(|| view! {
                                <p class="notice ok" role="status" data-testid="lost-done">
                                    {t!(i18n, lost.done, card = card.clone(), status = card_status_label(i18n, status))}
                                </p>
                            })}
                            <section class="panel narrow" data-testid="lost-panel">
                                <p>
                                    <span class="card-no">{d.card_no_masked.clone()}</span>
                                    " "
                                    <span class=format!("status status-{status}") data-testid="card-status">{move || card_status_label(i18n, status)}</span>
                                </p>
                                {if lost {
                                    view! { <p>{t!(i18n, lost.lift_intro)}</p> }.into_any()
                                } else {
                                    view! {
                                        <p>
                                            <WithCampus view=move |c: CampusProfile| {
                                                let code = localized(&c.qr_code_name);
                                                view! { {t!(i18n, lost.report_intro, code = code.clone())} }
                                            } />
                                        </p>
                                    }.into_any()
                                }}
                                <ActionForm action=action attr:class="form" attr:data-testid="lost-form">
                                    <input type="hidden" name="lost" value=if lost { "false" } else { "true" } />
                                    <label for="lost-password">{t!(i18n, lost.password_label)}</label>
                                    <input id="lost-password" name="password" type="password" inputmode="numeric" maxlength="6" autocomplete="current-password" required />
                                    <ActionError result=action.value() />
                                    <button type="submit" class=if lost { "primary" } else { "danger" } disabled=move || action.pending().get()>
                                        {if lost { t_string!(i18n, lost.lift).to_string() } else { t_string!(i18n, lost.report).to_string() }}
                                    </button>
                                </ActionForm>
                            </section>
                        }.into_any()
                    }
                })
            })}
        </Suspense>
    }
}
