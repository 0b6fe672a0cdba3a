//! The cardholder's pages under `/portal`. The layout checks the session on the server before
//! anything renders: no session sends the browser to `/login`, an initial password to the
//! password page.

pub mod access;
pub mod bills;
pub mod code;
pub mod dashboard;
pub mod history;
pub mod limits;
pub mod lost;
pub mod notices;
pub mod password;
pub mod profile;
mod push_client;
pub mod topup;
pub mod utilities;

use crate::api::portal::{Logout, me};
use crate::components::localized;
use crate::i18n::*;
use crate::model::Localized;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

/// The 深职通码 page: the one a remembered phone opens without a password.
pub const CODE_PAGE: &str = "/portal/code";

/// Bumped by a page that changed what the layout shows (notices marked read): the layout loads
/// the holder again, so the bell's count follows without a navigation.
#[derive(Clone, Copy)]
pub struct HolderChanged(pub RwSignal<u32>);

#[component]
pub fn PortalLayout() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let changed = RwSignal::new(0u32);
    provide_context(HolderChanged(changed));
    let holder = Resource::new(move || (location.pathname.get(), changed.get()), |_| me());
    let logout = ServerAction::<Logout>::new();
    // The guard and the navigation sit in their own transition; the page (the outlet) is not
    // inside it, so navigating between portal pages does not rebuild the page around it.
    view! {
        <Transition>
            {move || Suspend::new(async move {
                let path = location.pathname.get_untracked();
                match holder.await {
                    Ok(Some(h)) if h.must_change_password && path != "/portal/password" => {
                        view! { <Redirect path="/portal/password" /> }.into_any()
                    }
                    // A remembered phone alone opens the code (with the balance), nothing else.
                    Ok(Some(h)) if h.phone_only => {
                        if path != CODE_PAGE {
                            return view! { <Redirect path="/login" /> }.into_any();
                        }
                        view! {
                            <div class="welcome">
                                <p data-testid="welcome">{t!(i18n, portal.welcome, name = h.name.clone())}</p>
                                <A href="/login" attr:data-testid="phone-only-login">{t!(i18n, portal.login_for_more)}</A>
                            </div>
                        }
                            .into_any()
                    }
                    Ok(Some(h)) => {
                        view! {
                            <div class="welcome">
                                <p data-testid="welcome">{t!(i18n, portal.welcome, name = h.name.clone())}</p>
                                <ActionForm action=logout>
                                    <button type="submit" class="link-button" data-testid="logout">{t!(i18n, nav.logout)}</button>
                                </ActionForm>
                            </div>
                            {(!h.must_change_password).then(|| view! { <PortalNav code_name=h.code_name.clone() unread=h.unread /> })}
                        }
                            .into_any()
                    }
                    // The code page stays: a remembered phone's page from the service worker's
                    // cache (without the network) makes its own code.
                    Ok(None) if path == CODE_PAGE => ().into_any(),
                    Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(e) => view! { <crate::components::ErrorPage error=e /> }.into_any(),
                }
            })}
        </Transition>
        <Outlet />
    }
}

/// The portal's navigation. No loading boundary inside: it is rendered inside the layout's
/// guard, and a boundary created there would be numbered differently on the server and in the
/// browser, breaking the hydration of the page below it.
#[component]
fn PortalNav(code_name: Localized, unread: i64) -> impl IntoView {
    let code = localized(&code_name);
    let i18n = use_i18n();
    view! {
        <nav class="portal-nav" aria-label=move || t_string!(i18n, portal.nav_label)>
            <A href="/portal" exact=true>{t!(i18n, portal.dashboard)}</A>
            <A href="/portal/notices" attr:class="bell" attr:data-testid="bell"
                attr:aria-label=move || t_string!(i18n, notices.bell_label, count = unread.to_string()).to_string()>
                {t!(i18n, notices.nav)}
                {(unread > 0).then(|| view! { <span class="badge" data-testid="unread-count">{unread.min(99)}</span> })}
            </A>
            <A href="/portal/code">{t!(i18n, portal.code, code = code.clone())}</A>
            <A href="/portal/topup">{t!(i18n, portal.topup)}</A>
            <A href="/portal/bills">{t!(i18n, portal.bills)}</A>
            <A href="/portal/utilities">{t!(i18n, utilities.nav)}</A>
            <A href="/portal/history">{t!(i18n, portal.history)}</A>
            <A href="/portal/access">{t!(i18n, portal.access)}</A>
            <A href="/portal/lost">{t!(i18n, portal.lost)}</A>
            <A href="/portal/password">{t!(i18n, portal.password)}</A>
            <A href="/portal/limits">{t!(i18n, portal.limits)}</A>
            <A href="/portal/profile">{t!(i18n, portal.profile)}</A>
        </nav>
    }
}
