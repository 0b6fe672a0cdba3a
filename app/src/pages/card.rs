use crate::components::{PageTitle, WithCampus, localized};
use crate::i18n::*;
use crate::model::CampusProfile;
use leptos::prelude::*;

/// How the physical and the virtual card work: paying, passwords, limits, gates.
#[component]
pub fn CardPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, card.title).to_string()) />
        <h1>{t!(i18n, card.title)}</h1>
        <WithCampus view=move |c: CampusProfile| {
            let code = localized(&c.qr_code_name);
            let limits = move || {
                t_string!(
                    i18n, common.yuan_limit, single = c.default_single_limit, daily = c.default_daily_limit
                )
            };
            view! {
                <section class="panel">
                    <h2>{t!(i18n, card.physical_title)}</h2>
                    <p>{t!(i18n, card.physical_text)}</p>
                </section>
                <section class="panel">
                    <h2>{t!(i18n, card.virtual_title, code = code.clone())}</h2>
                    <p>{t!(i18n, card.virtual_text, code = code.clone())}</p>
                    <h3>{t!(i18n, card.apps_title, code = code.clone())}</h3>
                    <AppList profile=c.clone() />
                </section>
                <section class="panel">
                    <h2>{t!(i18n, card.pay_title)}</h2>
                    <p>{t!(i18n, card.pay_steps)}</p>
                    <h3>{t!(i18n, card.balance_title)}</h3>
                    <p>{t!(i18n, card.balance_text)}</p>
                </section>
                <section class="panel" id="passwords">
                    <h2>{t!(i18n, card.passwords_title)}</h2>
                    <ul>
                        <li>{t!(i18n, card.query_pw)}</li>
                        <li>{t!(i18n, card.consumption_pw)}</li>
                    </ul>
                    <p>{t!(i18n, card.initial_pw)}</p>
                </section>
                <section class="panel" id="limits">
                    <h2>{t!(i18n, card.limits_title)}</h2>
                    <p data-testid="limits-text">{t!(i18n, card.limits_text, limits = limits)}</p>
                </section>
                <section class="panel">
                    <h2>{t!(i18n, card.gates_title)}</h2>
                    <p>{t!(i18n, card.gates_text)}</p>
                </section>
                <section class="panel">
                    <h2>{t!(i18n, card.no_cash_title)}</h2>
                    <p>{t!(i18n, card.no_cash_text)}</p>
                </section>
            }
        } />
    }
}

/// The apps and mini programs that show the virtual card, from the campus profile.
#[component]
pub fn AppList(profile: CampusProfile) -> impl IntoView {
    view! {
        <ol class="app-list">
            {profile
                .apps
                .iter()
                .map(|a| {
                    view! {
                        <li>
                            <strong>{localized(&a.name)}</strong>
                            " — "
                            {localized(&a.how)}
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}
