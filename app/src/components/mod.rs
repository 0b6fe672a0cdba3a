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

/// Which part of the site a path belongs to: each wears its own frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteArea {
    /// The public pages and the student portal: the site's navigation and footer.
    Public,
    /// The card office's pages: the brand and the staff navigation, no student links.
    Staff,
    /// A till, a kiosk, or setting one up: full screen, no way to the rest of the site.
    Terminal,
}

impl SiteArea {
    pub fn of(path: &str) -> SiteArea {
        let under = |prefix: &str| {
            path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        if under("/terminal") {
            SiteArea::Terminal
        } else if under("/staff") {
            SiteArea::Staff
        } else {
            SiteArea::Public
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            SiteArea::Public => "area-public",
            SiteArea::Staff => "area-staff",
            SiteArea::Terminal => "area-terminal",
        }
    }
}

/// The area of the page shown now, changing only when the area does.
pub fn use_site_area() -> Memo<SiteArea> {
    let location = leptos_router::hooks::use_location();
    Memo::new(move |_| SiteArea::of(&location.pathname.get()))
}

#[cfg(test)]
mod tests {
    use super::SiteArea::{self, *};

    #[test]
    fn each_path_has_its_area() {
        let table = [
            ("/", Public),
            ("/portal/code", Public),
            ("/staffing", Public),
            ("/terminals-faq", Public),
            ("/staff", Staff),
            ("/staff/login", Staff),
            ("/staff/holder/3", Staff),
            ("/terminal", Terminal),
            ("/terminal/pos", Terminal),
            ("/terminal/kiosk", Terminal),
        ];
        for (path, area) in table {
            assert_eq!(SiteArea::of(path), area, "{path}");
        }
    }
}

/// The site's header. A terminal has none: a passer-by at a till or kiosk finds no link out.
/// The staff area keeps the brand and the language, without the student site's navigation.
#[component]
pub fn Header() -> impl IntoView {
    let i18n = use_i18n();
    let area = use_site_area();
    view! {
        <Show when=move || area.get() != SiteArea::Terminal>
        <header class="site-header">
            <div class="header-inner">
                <A href=move || String::from(if area.get() == SiteArea::Staff { "/staff" } else { "/" }) attr:class="brand">
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
            <Show
                when=move || area.get() == SiteArea::Public
                fallback=move || view! { <p class="staff-area-name" data-testid="staff-area">{t!(i18n, nav.staff_area)}</p> }
            >
                <nav class="main-nav" aria-label=move || t_string!(i18n, nav.label)>
                    <A href="/" exact=true>{t!(i18n, nav.home)}</A>
                    <A href="/card">{t!(i18n, nav.card)}</A>
                    <A href="/faq">{t!(i18n, nav.faq)}</A>
                    <A href="/service">{t!(i18n, nav.service)}</A>
                    <A href="/care">{t!(i18n, nav.care)}</A>
                    <A href="/portal" attr:class="nav-portal">{t!(i18n, nav.portal)}</A>
                </nav>
            </Show>
        </header>
        </Show>
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

/// The site's footer: hotlines, hours and the links. Not on a terminal.
#[component]
pub fn Footer() -> impl IntoView {
    let i18n = use_i18n();
    let area = use_site_area();
    view! {
        <Show when=move || area.get() != SiteArea::Terminal>
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
        </Show>
    }
}

/// The opening hours and the note under them; with `holidays`, the holiday hours too (the
/// service and home pages; the footer keeps to the usual week).
#[component]
pub fn HoursList(profile: CampusProfile, #[prop(optional)] holidays: bool) -> impl IntoView {
    let i18n = use_i18n();
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
        {(holidays && !profile.holidays.is_empty()).then(|| view! {
            <h3>{t!(i18n, common.holiday_hours)}</h3>
            <ul class="plain hours" data-testid="holiday-hours">
                {profile.holidays.iter().map(|h| {
                    let periods = h.periods.join(", ");
                    view! {
                        <li>
                            <strong>{localized(&h.name)}</strong>
                            " " {h.from.clone()} " – " {h.until.clone()} " "
                            {if periods.is_empty() { t_string!(i18n, common.holiday_closed).to_string() } else { periods }}
                        </li>
                    }
                }).collect_view()}
            </ul>
        })}
    }
}

/// Sets the HTTP status of the page being rendered on the server; nothing in the browser.
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(
            axum::http::StatusCode::from_u16(code)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

/// The page shown for an error. During server rendering it also sets the HTTP status.
#[component]
pub fn ErrorPage(error: AppError) -> impl IntoView {
    set_status(error.status_code());
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

/// The card office's announcements, in the page's language (home page and dashboard).
#[component]
pub fn AnnouncementList(items: Vec<crate::portal_model::AnnouncementView>) -> impl IntoView {
    (!items.is_empty()).then(|| {
        view! {
            <section class="announcements" data-testid="announcements">
                {items
                    .into_iter()
                    .map(|a| {
                        view! {
                            <article class="notice announcement" data-testid="announcement">
                                <h2>{localized(&a.title)}</h2>
                                <p>{localized(&a.body)}</p>
                            </article>
                        }
                    })
                    .collect_view()}
            </section>
        }
    })
}
