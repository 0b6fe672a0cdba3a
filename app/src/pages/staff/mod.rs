//! The card office's pages under `/staff`. The layout checks the staff session on the server
//! before anything renders (no session: `/staff/login`); every server function the pages
//! call checks the role again. The navigation shows what the role may use.

/// Approve and reject buttons for one request of a two-person list (a macro: `ActionForm`
/// is generic over the server function in ways a helper function cannot name).
macro_rules! decide_forms {
    ($action:expr, $id:expr, $approve:expr, $reject:expr, $key:literal) => {
        view! {
            <ActionForm action=$action attr:class="inline-form">
                <input type="hidden" name="request_id" value=$id.to_string() />
                <input type="hidden" name="decision" value="approve" />
                <button type="submit" class="primary">{$approve}</button>
            </ActionForm>
            <ActionForm action=$action attr:class="inline-form">
                <input type="hidden" name="request_id" value=$id.to_string() />
                <input type="hidden" name="decision" value="reject" />
                <ReasonField id=format!(concat!($key, "-{}"), $id) />
                <button type="submit" class="danger">{$reject}</button>
            </ActionForm>
        }
    };
}

pub mod admin;
pub mod enrol;
pub mod holder;
pub mod merchant;
pub mod office;
pub mod oversight;
pub mod welcome;

use crate::api::staff::{ChangeStaffPassword, StaffLogin, StaffLogout, search_holders, staff_me};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, money};
use crate::i18n::*;
use crate::model::{AccountStatus, StaffRole};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::{use_location, use_query_map};

pub fn role_label(i18n: leptos_i18n::I18nContext<Locale>, role: StaffRole) -> String {
    match role {
        StaffRole::Operator => t_string!(i18n, staff.role_operator),
        StaffRole::Admin => t_string!(i18n, staff.role_admin),
        StaffRole::Auditor => t_string!(i18n, staff.role_auditor),
        StaffRole::Merchant => t_string!(i18n, staff.role_merchant),
    }
    .to_string()
}

pub fn account_label(i18n: leptos_i18n::I18nContext<Locale>, s: AccountStatus) -> String {
    match s {
        AccountStatus::Active => t_string!(i18n, staff.account_active),
        AccountStatus::Frozen => t_string!(i18n, staff.account_frozen),
        AccountStatus::Closed => t_string!(i18n, staff.account_closed),
    }
    .to_string()
}

#[component]
pub fn StaffLoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let login = ServerAction::<StaffLogin>::new();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.login_title).to_string()) />
        <section class="narrow">
            <h1>{t!(i18n, staff.login_title)}</h1>
            <p>{t!(i18n, staff.login_intro)}</p>
            <ActionForm action=login attr:class="form" attr:data-testid="staff-login-form">
                <label for="username">{t!(i18n, staff.username)}</label>
                <input id="username" name="username" type="text" autocomplete="username" required />
                <label for="password">{t!(i18n, staff.password)}</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <label for="code">{t!(i18n, staff.code)}</label>
                <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]{6}" required />
                <ActionError result=login.value() />
                <button type="submit" class="primary" disabled=move || login.pending().get()>{t!(i18n, staff.login_submit)}</button>
            </ActionForm>
            <p class="muted">{t!(i18n, staff.login_note)}</p>
        </section>
    }
}

#[component]
pub fn StaffLayout() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let me = Resource::new(move || location.pathname.get(), |_| staff_me());
    let logout = ServerAction::<StaffLogout>::new();
    view! {
        <Transition>
            {move || Suspend::new(async move {
                let path = location.pathname.get_untracked();
                match me.await {
                    Ok(Some(s)) if s.must_change_password && path != "/staff/password" => {
                        view! { <Redirect path="/staff/password" /> }.into_any()
                    }
                    Ok(Some(s)) => {
                        let must_change = s.must_change_password;
                        view! {
                            <div class="welcome staff-bar">
                                <p data-testid="staff-who">
                                    {s.display_name.clone()} " · " {role_label(i18n, s.role)}
                                    {s.merchant.clone().map(|m| format!(" · {m}"))}
                                </p>
                                <ActionForm action=logout>
                                    <button type="submit" class="link-button" data-testid="staff-logout">{t!(i18n, nav.logout)}</button>
                                </ActionForm>
                            </div>
                            {(!must_change).then(|| view! { <StaffNav role=s.role /> })}
                            {must_change.then(|| view! {
                                <p class="notice" role="status" data-testid="staff-must-change">{t!(i18n, staff.password_must_change)}</p>
                            })}
                        }
                            .into_any()
                    }
                    Ok(None) => view! { <Redirect path="/staff/login" /> }.into_any(),
                    Err(e) => view! { <crate::components::ErrorPage error=e /> }.into_any(),
                }
            })}
        </Transition>
        <Outlet />
    }
}

/// What each role may open. The server checks again on every call.
#[component]
fn StaffNav(role: StaffRole) -> impl IntoView {
    let i18n = use_i18n();
    let counter = matches!(role, StaffRole::Operator | StaffRole::Admin);
    let read = counter || role == StaffRole::Auditor;
    let oversight = matches!(role, StaffRole::Admin | StaffRole::Auditor);
    view! {
        <nav class="portal-nav staff-nav" aria-label=move || t_string!(i18n, staff.nav_label)>
            {read.then(|| view! { <A href="/staff" exact=true>{t!(i18n, staff.nav_search)}</A> })}
            {counter.then(|| view! { <A href="/staff/enrol">{t!(i18n, staff.nav_enrol)}</A> })}
            {read.then(|| view! { <A href="/staff/found">{t!(i18n, staff.nav_found)}</A> })}
            {read.then(|| view! { <A href="/staff/queue">{t!(i18n, staff.nav_queue)}</A> })}
            {counter.then(|| view! { <A href="/staff/graduation">{t!(i18n, staff.nav_graduation)}</A> })}
            {oversight.then(|| view! { <A href="/staff/audit">{t!(i18n, staff.nav_audit)}</A> })}
            {oversight.then(|| view! { <A href="/staff/reports">{t!(i18n, staff.nav_reports)}</A> })}
            {oversight.then(|| view! { <A href="/staff/admin">{t!(i18n, staff.nav_admin)}</A> })}
            {(role == StaffRole::Merchant).then(|| view! { <A href="/staff/merchant">{t!(i18n, staff.nav_merchant)}</A> })}
            <A href="/staff/password">{t!(i18n, staff.nav_password)}</A>
        </nav>
    }
}

/// Find a holder by name, student number, card number or chip serial. A GET form: the query
/// is in the address, so the browser's back button returns to the results.
#[component]
pub fn SearchPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let hits = Resource::new(q, search_holders);
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.search_title).to_string()) />
        <h1>{t!(i18n, staff.search_title)}</h1>
        <form method="get" action="/staff" class="form inline-form" data-testid="search-form">
            <label for="q">{t!(i18n, staff.search_label)}</label>
            <input id="q" name="q" type="search" value=q required />
            <button type="submit" class="primary">{t!(i18n, staff.search_submit)}</button>
        </form>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                hits.await.map(|hits| {
                    if hits.is_empty() {
                        return view! { <p class="muted" data-testid="search-empty">{t!(i18n, staff.search_none)}</p> }.into_any();
                    }
                    view! {
                        <div class="table-wrap" tabindex="0">
                        <table class="data" data-testid="search-results">
                            <thead><tr>
                                <th>{t!(i18n, staff.student_no)}</th><th>{t!(i18n, staff.name)}</th>
                                <th>{t!(i18n, staff.class_name)}</th><th>{t!(i18n, staff.card_no)}</th>
                                <th>{t!(i18n, staff.status)}</th><th class="num">{t!(i18n, staff.balance)}</th>
                            </tr></thead>
                            <tbody>
                                {hits.into_iter().map(|h| view! {
                                    <tr>
                                        <td><A href=format!("/staff/holder/{}", h.holder_id)>{h.student_no.clone()}</A></td>
                                        <td>{h.name.clone()}</td>
                                        <td>{h.class_name.clone()}</td>
                                        <td>{h.card_no.clone().unwrap_or_default()}</td>
                                        <td>{account_label(i18n, h.account_status)}</td>
                                        <td class="num">{money(h.balance)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any()
                })
            })}
        </Suspense>
    }
}

/// A staff member's own password: at a demo staff member's first login (the published
/// password must go) and whenever they choose.
#[component]
pub fn StaffPasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let change = ServerAction::<ChangeStaffPassword>::new();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.password_title).to_string()) />
        <section class="narrow">
            <h1>{t!(i18n, staff.password_title)}</h1>
            <p>{t!(i18n, staff.password_intro)}</p>
            {move || change.value().get().and_then(|r| r.ok()).map(|_| view! {
                <p class="notice ok" role="status" data-testid="staff-password-done">{t!(i18n, staff.password_done)}</p>
                <p><A href="/staff">{t!(i18n, staff.nav_search)}</A></p>
            })}
            <ActionForm action=change attr:class="form" attr:data-testid="staff-password-form">
                <label for="sp-current">{t!(i18n, staff.password_current)}</label>
                <input id="sp-current" name="current" type="password" autocomplete="current-password" required />
                <label for="sp-new">{t!(i18n, staff.password_new)}</label>
                <input id="sp-new" name="new_password" type="password" autocomplete="new-password" minlength="12" required />
                <label for="sp-confirm">{t!(i18n, staff.password_confirm)}</label>
                <input id="sp-confirm" name="confirm" type="password" autocomplete="new-password" minlength="12" required />
                <ActionError result=change.value() />
                <button type="submit" class="primary" disabled=move || change.pending().get()>{t!(i18n, staff.save)}</button>
            </ActionForm>
        </section>
    }
}

/// The reason field every changing form carries: it goes into the audit log.
#[component]
pub fn ReasonField(#[prop(into)] id: String) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label for=id.clone()>{t!(i18n, staff.reason)}</label>
        <input id=id name="reason" type="text" required minlength="2" maxlength="200" />
    }
}

/// The reply of a staff action: the error, or a short confirmation.
#[component]
pub fn Done<T: Clone + Send + Sync + 'static>(
    #[prop(into)] result: Signal<Option<Result<T, crate::error::AppError>>>,
    #[prop(into)] testid: String,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ActionError result=result />
        {move || result.get().and_then(|r| r.ok()).map(|_| view! {
            <p class="notice ok" role="status" data-testid=testid.clone()>{t!(i18n, staff.done)}</p>
        })}
    }
}
