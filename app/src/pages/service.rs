use crate::components::{HoursList, PageTitle, WithCampus, localized};
use crate::i18n::*;
use crate::model::CampusProfile;
use leptos::prelude::*;

/// Where the service centre is, when it is open, and whom to call.
#[component]
pub fn ServicePage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <WithCampus view=move |c: CampusProfile| {
            let office = localized(&c.office_name);
            view! {
                <PageTitle text=Signal::derive(office.clone()) />
                <h1>{office.clone()}</h1>
                <p class="lead">{t!(i18n, service.intro)}</p>
                <div class="two-col">
                    <section class="panel" data-testid="service-points">
                        <h2>{t!(i18n, service.points_title)}</h2>
                        <ul class="plain">
                            {c
                                .service_points
                                .iter()
                                .map(|p| {
                                    view! {
                                        <li>
                                            <strong>{localized(&p.name)}</strong>
                                            <br />
                                            {localized(&p.location)}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    </section>
                    <section class="panel">
                        <h2>{t!(i18n, service.hours_title)}</h2>
                        <HoursList profile=c.clone() holidays=true />
                    </section>
                    <section class="panel" data-testid="hotlines">
                        <h2>{t!(i18n, service.hotlines_title)}</h2>
                        <ul class="plain">
                            {c
                                .hotlines
                                .iter()
                                .map(|h| {
                                    view! {
                                        <li>
                                            {localized(&h.label)}
                                            ": "
                                            <a href=format!("tel:{}", h.phone)>{h.phone.clone()}</a>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                        <h3>{t!(i18n, service.office_phone_title)}</h3>
                        <p>
                            <a href=format!("tel:{}", c.office_phone)>{c.office_phone.clone()}</a>
                        </p>
                    </section>
                    <section class="panel">
                        <h2>{t!(i18n, service.bring_title)}</h2>
                        <p>{t!(i18n, service.bring_text)}</p>
                    </section>
                </div>
            }
        } />
    }
}
