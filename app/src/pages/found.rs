//! The public list of cards handed in at the service centre: masked names and numbers only.

use crate::api::staff::public_found_cards;
use crate::components::PageTitle;
use crate::components::labels::campus_time;
use crate::i18n::*;
use leptos::prelude::*;

#[component]
pub fn FoundCardsPage() -> impl IntoView {
    let i18n = use_i18n();
    let cards = Resource::new(|| (), |_| public_found_cards());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, found.title).to_string()) />
        <h1>{t!(i18n, found.title)}</h1>
        <p>{t!(i18n, found.intro)}</p>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                cards.await.map(|cards| {
                    if cards.is_empty() {
                        return view! { <p class="muted" data-testid="found-none">{t!(i18n, found.none)}</p> }.into_any();
                    }
                    view! {
                        <ul class="found-list" data-testid="found-public">
                            {cards.into_iter().map(|c| view! {
                                <li class="panel">
                                    <strong>{c.name_masked.clone()}</strong> " · " <span class="card-no">{c.card_no_masked.clone()}</span>
                                    <br />
                                    {t!(i18n, found.where_when, place = c.place.clone(), at = campus_time(&c.found_at))}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
