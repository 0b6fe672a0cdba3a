use crate::components::PageTitle;
use crate::i18n::*;
use leptos::prelude::*;

/// How to keep the card reading for years.
#[component]
pub fn CarePage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, care.title).to_string()) />
        <h1>{t!(i18n, care.title)}</h1>
        <p class="lead">{t!(i18n, care.intro)}</p>
        <ul class="care-list" data-testid="care-list">
            <li>{t!(i18n, care.no_press)}</li>
            <li>{t!(i18n, care.no_bend)}</li>
            <li>{t!(i18n, care.no_magnet)}</li>
            <li>{t!(i18n, care.no_water)}</li>
            <li>{t!(i18n, care.no_scratch)}</li>
            <li>{t!(i18n, care.hold)}</li>
            <li>{t!(i18n, care.report)}</li>
        </ul>
    }
}
