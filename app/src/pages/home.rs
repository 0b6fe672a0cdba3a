use crate::api::announcements::public_announcements;
use crate::api::campus::service_week;
use crate::components::labels::day_label;
use crate::components::{AnnouncementList, HoursList, PageTitle, WithCampus, localized};
use crate::i18n::*;
use crate::model::CampusProfile;
use crate::opening::DayHours;
use leptos::prelude::*;
use leptos_router::components::A;

/// What the card is and does, for a first-time visitor.
#[component]
pub fn HomePage() -> impl IntoView {
    let i18n = use_i18n();
    // Blocking: the server waits for them, so they are in the page as sent and nothing moves
    // when it hydrates.
    let announcements = Resource::new_blocking(|| (), |_| public_announcements());
    let week = Resource::new_blocking(|| (), |_| service_week());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                announcements.await.ok().map(|items| view! { <AnnouncementList items=items /> })
            })}
        </Suspense>
        <WithCampus view=move |c: CampusProfile| {
            let campus = localized(&c.campus_name);
            let card = localized(&c.card_name);
            let code = localized(&c.qr_code_name);
            let title = Signal::derive({
                let (campus, card) = (campus.clone(), card.clone());
                move || t_string!(i18n, home.title, campus = campus(), card = card())
            });
            view! {
                <PageTitle text=title />
                <section class="hero" data-testid="home-hero">
                    <h1>{move || title.get()}</h1>
                    <p class="lead">{t!(i18n, home.lead)}</p>
                    <div class="actions">
                        <A href="/card" attr:class="button primary">{t!(i18n, home.cta_card)}</A>
                        <A href="/service" attr:class="button">{t!(i18n, home.cta_service)}</A>
                    </div>
                </section>
                <section class="cards-grid">
                    <article class="tile">
                        <h2>{t!(i18n, home.pay_title)}</h2>
                        <p>{t!(i18n, home.pay_text)}</p>
                    </article>
                    <article class="tile">
                        <h2>{t!(i18n, home.id_title)}</h2>
                        <p>{t!(i18n, home.id_text)}</p>
                    </article>
                    <article class="tile">
                        <h2>{t!(i18n, home.topup_title)}</h2>
                        <p>{t!(i18n, home.topup_text)}</p>
                    </article>
                    <article class="tile">
                        <h2>{t!(i18n, home.code_title, code = code.clone())}</h2>
                        <p>{t!(i18n, home.code_text)}</p>
                    </article>
                </section>
                <section class="notice">
                    <h2>{t!(i18n, home.lost_title)}</h2>
                    <p>{t!(i18n, home.lost_text, code = code.clone())}</p>
                </section>
                <section class="panel">
                    <h2>{t!(i18n, home.hours_title)}</h2>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            week.await.ok().flatten().map(|days| view! { <Week days=days /> })
                        })}
                    </Suspense>
                    <HoursList profile=c.clone() holidays=true />
                </section>
            }
        } />
    }
}

/// "Is it open today?" answered, then the six days after today, each with its holiday's name
/// when one decides it.
#[component]
fn Week(days: Vec<DayHours>) -> impl IntoView {
    let i18n = use_i18n();
    let today = days.first().cloned();
    view! {
        {today.map(|d| {
            let class = if d.open() { "today open" } else { "today closed" };
            let date = d.date.clone();
            let holiday = d.holiday.as_ref().map(localized);
            let text = move || {
                let day = day_label(i18n, &d);
                if d.open() {
                    t_string!(i18n, home.today_open, day, periods = d.periods.join(", ")).to_string()
                } else {
                    t_string!(i18n, home.today_closed, day).to_string()
                }
            };
            view! {
                <p class=class data-testid="open-today" data-date=date>
                    <strong>{text}</strong>
                    {holiday.map(|h| view! { " " <span class="tag">{h}</span> })}
                </p>
            }
        })}
        <h3>{t!(i18n, home.week_title)}</h3>
        <ul class="plain week" data-testid="week-hours">
            {days.into_iter().skip(1).map(|d| {
                let date = d.date.clone();
                let closed = !d.open();
                let holiday = d.holiday.as_ref().map(localized);
                let when = {
                    let d = d.clone();
                    move || if d.open() { d.periods.join(", ") } else { t_string!(i18n, home.day_closed).to_string() }
                };
                view! {
                    <li data-date=date class:closed=closed>
                        <strong>{move || day_label(i18n, &d)}</strong>
                        " "
                        {when}
                        {holiday.map(|h| view! { " " <span class="tag">{h}</span> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
