//! The Yikatong application: routes, pages, components and server functions, compiled twice:
//! with `ssr` into the server, with `hydrate` into the browser bundle.
#![recursion_limit = "256"]

include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

pub mod api;
pub mod audit_text;
pub mod bill_model;
pub mod campus_form;
pub mod code_format;
pub mod components;
pub mod error;
pub mod model;
pub mod notice_model;
pub mod opening;
pub mod pages;
pub mod portal_model;
#[cfg(feature = "ssr")]
pub mod server;
pub mod staff_model;
pub mod terminal_model;
pub mod user_agent;
pub mod utility_model;

use crate::components::{ErrorPage, Footer, Header, provide_campus};
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};
use staff_model::StaffPage;

/// The HTML document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // The installable app: its manifest (start page: the 深职通码), the icon iOS puts
                // on the home screen, and the service worker that keeps the app shell offline.
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="apple-touch-icon" href="/icons/icon-180.png" />
                <script src="/sw-register.js" defer nonce=leptos::nonce::use_nonce()></script>
                <AutoReload options=options.clone() />
                // The style sheet and the bundle by the names of this build (hashed in a
                // release: see server::site_files).
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, and only once the page is hydrated: the end-to-end
    // tests wait for this marker before they click anything.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    let cookie_options = leptos_i18n::context::CookieOptions::<Locale>::default()
        .path("/")
        .max_age(365 * 24 * 3600 * 1000_i64);

    view! {
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Meta name="theme-color" content="#0b5cad" />
        <I18nContextProvider cookie_options>
            <AppBody />
        </I18nContextProvider>
    }
}

#[component]
fn AppBody() -> impl IntoView {
    provide_campus();
    let i18n = use_i18n();
    view! {
        // Every page has a title and a description from its first byte; a page's own
        // `PageTitle` replaces this one.
        <Title text=move || t_string!(i18n, site_title).to_string() />
        <Meta name="description" content=move || t_string!(i18n, meta_description).to_string() />
        <Router>
            <a class="skip-link" href="#main">{t!(i18n, skip_to_content)}</a>
            <Header />
            <AreaMain>
                <ErrorBoundary fallback=|errors| view! { <ErrorPage error=first_error(&errors.get_untracked()) /> }>
                <Routes fallback=|| view! { <ErrorPage error=error::AppError::NotFound /> }>
                    <Route path=path!("") view=pages::home::HomePage />
                    <Route path=path!("/card") view=pages::card::CardPage />
                    <Route path=path!("/faq") view=pages::faq::FaqPage />
                    <Route path=path!("/service") view=pages::service::ServicePage />
                    <Route path=path!("/care") view=pages::care::CarePage />
                    <Route path=path!("/app") view=pages::install::InstallPage />
                    <Route path=path!("/login") view=pages::login::LoginPage />
                    // The portal waits for its data before sending headers, so the session
                    // guard can answer with a real redirect.
                    <ParentRoute path=path!("/portal") view=pages::portal::PortalLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=pages::portal::dashboard::DashboardPage ssr=SsrMode::Async />
                        <Route path=path!("history") view=pages::portal::history::HistoryPage ssr=SsrMode::Async />
                        <Route path=path!("lost") view=pages::portal::lost::LostPage ssr=SsrMode::Async />
                        <Route path=path!("password") view=pages::portal::password::PasswordPage ssr=SsrMode::Async />
                        <Route path=path!("limits") view=pages::portal::limits::LimitsPage ssr=SsrMode::Async />
                        <Route path=path!("code") view=pages::portal::code::CodePage ssr=SsrMode::Async />
                        <Route path=path!("profile") view=pages::portal::profile::ProfilePage ssr=SsrMode::Async />
                        <Route path=path!("topup") view=pages::portal::topup::TopupPage ssr=SsrMode::Async />
                        <Route path=path!("access") view=pages::portal::access::AccessPage ssr=SsrMode::Async />
                        <Route path=path!("bills") view=pages::portal::bills::BillsPage ssr=SsrMode::Async />
                        <Route path=path!("utilities") view=pages::portal::utilities::UtilitiesPage ssr=SsrMode::Async />
                        <Route path=path!("notices") view=pages::portal::notices::NoticesPage ssr=SsrMode::Async />
                    </ParentRoute>
                    <Route path=path!("/found") view=pages::found::FoundCardsPage />
                    <Route path=path!("/email/confirm") view=pages::email_confirm::EmailConfirmPage />
                    <Route path=path!("/staff/login") view=pages::staff::StaffLoginPage />
                    <Route path=path!("/staff/welcome") view=pages::staff::welcome::WelcomePage ssr=SsrMode::Async />
                    <ParentRoute path=path!("/staff") view=pages::staff::StaffLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=|| staff_page(StaffPage::Search, pages::staff::SearchPage) ssr=SsrMode::Async />
                        <Route path=path!("holder/:id") view=|| staff_page(StaffPage::Holder, pages::staff::holder::HolderPage) ssr=SsrMode::Async />
                        <Route path=path!("receipt/:id") view=|| staff_page(StaffPage::Receipt, pages::staff::holder::ReceiptPage) ssr=SsrMode::Async />
                        <Route path=path!("enrol") view=|| staff_page(StaffPage::Enrol, pages::staff::enrol::EnrolPage) ssr=SsrMode::Async />
                        <Route path=path!("found") view=|| staff_page(StaffPage::Found, pages::staff::office::FoundPage) ssr=SsrMode::Async />
                        <Route path=path!("bills") view=|| staff_page(StaffPage::Bills, pages::staff::bills::BillsOfficePage) ssr=SsrMode::Async />
                        <Route path=path!("queue") view=|| staff_page(StaffPage::Queue, pages::staff::office::QueuePage) ssr=SsrMode::Async />
                        <Route path=path!("graduation") view=|| staff_page(StaffPage::Graduation, pages::staff::office::GraduationPage) ssr=SsrMode::Async />
                        <Route path=path!("audit") view=|| staff_page(StaffPage::Audit, pages::staff::oversight::AuditPage) ssr=SsrMode::Async />
                        <Route path=path!("announcements") view=|| staff_page(StaffPage::Announcements, pages::staff::announcements::AnnouncementsPage) ssr=SsrMode::Async />
                        <Route path=path!("reports") view=|| staff_page(StaffPage::Reports, pages::staff::oversight::ReportsPage) ssr=SsrMode::Async />
                        <Route path=path!("admin") view=|| staff_page(StaffPage::Admin, pages::staff::admin::AdminPage) ssr=SsrMode::Async />
                        <Route path=path!("merchant") view=|| staff_page(StaffPage::Merchant, pages::staff::merchant::MerchantPage) ssr=SsrMode::Async />
                        <Route path=path!("password") view=|| staff_page(StaffPage::Password, pages::staff::StaffPasswordPage) ssr=SsrMode::Async />
                    </ParentRoute>
                    <Route path=path!("/terminal") view=pages::terminal::SetupPage />
                    <Route path=path!("/terminal/pos") view=pages::terminal::pos::PosPage ssr=SsrMode::Async />
                    <Route path=path!("/terminal/kiosk") view=pages::terminal::kiosk::KioskPage ssr=SsrMode::Async />
                </Routes>
                </ErrorBoundary>
            </AreaMain>
            <Footer />
        </Router>
    }
}

/// `<main>`, classed by the site's area (a terminal's is full screen).
#[component]
fn AreaMain(children: Children) -> impl IntoView {
    let area = components::use_site_area();
    view! { <main id="main" tabindex="-1" class=move || area.get().class()>{children()}</main> }
}

/// A staff page behind its role check (`StaffGate`).
fn staff_page<V: IntoView + 'static>(
    page: staff_model::StaffPage,
    view: fn() -> V,
) -> impl IntoView {
    view! { <pages::staff::StaffGate page view /> }
}

/// The first error an error boundary caught, as an `AppError` (anything else is internal).
fn first_error(errors: &Errors) -> error::AppError {
    errors
        .iter()
        .next()
        .map(|(_, e)| match e.downcast_ref::<error::AppError>() {
            Some(app) => app.clone(),
            None => error::AppError::Internal(String::from("render")),
        })
        .unwrap_or(error::AppError::NotFound)
}
