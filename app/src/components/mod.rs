//! Pieces every page uses: the campus profile in context, the header, the footer, the
//! language switch and the error page.

pub mod labels;

use crate::api::campus::get_campus_profile;
use crate::error::AppError;
use crate::i18n::*;
use crate::model::{CampusProfile, Localized};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// The campus profile, loaded once per page load and shared by every component.
#[derive(Clone, Copy)]
pub struct Campus(pub Resource<Result<CampusProfile, AppError>>);

pub fn provide_campus() {
    provide_context(Campus(Resource::new(|| (), |_| get_campus_profile())));
}

pub fn use_campus() -> Campus {
    expect_context::<Campus>()
}

/// The current language tag, "zh" or "en", tracked reactively.
pub fn lang() -> &'static str {
    match use_i18n().get_locale() {
        Locale::zh => "zh",
        Locale::en => "en",
    }
}

/// A campus text in the current language, updating when the language changes. The language
/// context is taken when this is made, not when the text is read: a page title may be read
/// after its page was left, when the context is gone.
pub fn localized(text: &Localized) -> impl Fn() -> String + Send + Sync + Clone + use<> {
    let text = text.clone();
    let i18n = use_i18n();
    move || {
        text.get(match i18n.get_locale() {
            Locale::zh => "zh",
            Locale::en => "en",
        })
        .to_string()
    }
}

/// Renders `view` with the campus profile once it has loaded; errors go to the error boundary.
#[component]
pub fn WithCampus<V, F>(view: F) -> impl IntoView
where
    F: Fn(CampusProfile) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let campus = use_campus();
    let i18n = use_i18n();
    view! {
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {
                let view = view.clone();
                move || {
                    let view = view.clone();
                    Suspend::new(async move { campus.0.await.map(view) })
                }
            }
        </Suspense>
    }
}

/// `<title>`: the page name and the campus.
#[component]
pub fn PageTitle(#[prop(into)] text: Signal<String>) -> impl IntoView {
    view! { <Title text=move || format!("{} · Yikatong", text.get()) /> }
}

#[component]
pub fn Header() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <header class="site-header">
            <div class="header-inner">
                <A href="/" attr:class="brand">
                    <img src="/favicon.svg" alt="" width="32" height="32" />
                    <span class="brand-text">
                        <span class="brand-name">{t!(i18n, brand)}</span>
                        <WithCampus view=|c: CampusProfile| {
                            view! { <span class="brand-campus">{localized(&c.campus_name)}</span> }
                        } />
                    </span>
                </A>
                <LanguageSwitch />
            </div>
            <nav class="main-nav" aria-label=move || t_string!(i18n, nav.label)>
                <A href="/" exact=true>{t!(i18n, nav.home)}</A>
                <A href="/card">{t!(i18n, nav.card)}</A>
                <A href="/faq">{t!(i18n, nav.faq)}</A>
                <A href="/service">{t!(i18n, nav.service)}</A>
                <A href="/care">{t!(i18n, nav.care)}</A>
                <A href="/portal" attr:class="nav-portal">{t!(i18n, nav.portal)}</A>
            </nav>
        </header>
    }
}

/// Switches between Chinese and English; the choice is kept in a cookie, so the server
/// renders the next page in the same language.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let switch = move |_| {
        let next = match i18n.get_locale() {
            Locale::zh => Locale::en,
            Locale::en => Locale::zh,
        };
        i18n.set_locale(next);
    };
    view! {
        <button
            type="button"
            class="lang-switch"
            data-testid="lang-switch"
            aria-label=move || t_string!(i18n, nav.switch_language_label)
            on:click=switch
        >
            {t!(i18n, nav.switch_language)}
        </button>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <footer class="site-footer">
            <WithCampus view=move |c: CampusProfile| {
                view! {
                    <div class="footer-grid">
                        <section>
                            <h2>{t!(i18n, footer.hotlines)}</h2>
                            <ul class="plain">
                                {c
                                    .hotlines
                                    .iter()
                                    .map(|h| {
                                        view! {
                                            <li>
                                                {localized(&h.label)} ": "
                                                <a href=format!("tel:{}", h.phone)>{h.phone.clone()}</a>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                                <li>
                                    {t!(i18n, footer.office_phone)}
                                    <a href=format!("tel:{}", c.office_phone)>{c.office_phone.clone()}</a>
                                </li>
                            </ul>
                        </section>
                        <section>
                            <h2>{t!(i18n, footer.hours)}</h2>
                            <HoursList profile=c.clone() />
                        </section>
                    </div>
                }
            } />
            <p class="footer-links">
                <A href="/found">{t!(i18n, footer.found)}</A>
                " · "
                <A href="/staff">{t!(i18n, footer.staff)}</A>
            </p>
            <p class="footer-note">{t!(i18n, footer.open_source)}</p>
        </footer>
    }
}

/// The opening hours and the note under them.
#[component]
pub fn HoursList(profile: CampusProfile) -> impl IntoView {
    view! {
        <ul class="plain hours">
            {profile
                .hours
                .iter()
                .map(|h| {
                    view! {
                        <li>
                            <strong>{localized(&h.days)}</strong>
                            " "
                            {h.periods.join(", ")}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <p class="muted">{localized(&profile.hours_note)}</p>
    }
}

/// The page shown for an error. During server rendering it also sets the HTTP status.
#[component]
pub fn ErrorPage(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            axum::http::StatusCode::from_u16(error.status_code())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    let i18n = use_i18n();
    let reference = match &error {
        AppError::Internal(r) => Some(r.clone()),
        _ => None,
    };
    let not_found = error == AppError::NotFound;
    view! {
        <section class="error-page" data-testid="error-page">
            {if not_found {
                view! {
                    <PageTitle text=Signal::derive(move || t_string!(i18n, error.not_found_title).to_string()) />
                    <h1>{t!(i18n, error.not_found_title)}</h1>
                    <p>{t!(i18n, error.not_found_text)}</p>
                }
                    .into_any()
            } else {
                view! {
                    <PageTitle text=Signal::derive(move || t_string!(i18n, error.generic_title).to_string()) />
                    <h1>{t!(i18n, error.generic_title)}</h1>
                    <p>{t!(i18n, error.generic_text)}</p>
                    {reference.map(|r| view! { <p class="muted">{t!(i18n, error.reference, reference = r.clone())}</p> })}
                }
                    .into_any()
            }}
            <p>
                <A href="/">{t!(i18n, common.back_home)}</A>
            </p>
        </section>
    }
}
