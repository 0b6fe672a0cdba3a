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
pub mod announcements;
pub mod bills;
pub mod enrol;
pub mod holder;
pub mod merchant;
pub mod office;
pub mod oversight;
pub mod profile;
pub mod welcome;

use crate::api::staff::{ChangeStaffPassword, StaffLogin, StaffLogout, search_holders, staff_me};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, money};
use crate::i18n::*;
use crate::model::{AccountStatus, StaffRole};
use crate::staff_model::{StaffBrief, StaffPage, may_act};
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
                <CredentialFields />
                <ActionError result=login.value() />
                <button type="submit" class="primary" disabled=move || login.pending().get()>{t!(i18n, staff.login_submit)}</button>
            </ActionForm>
            <p class="muted">{t!(i18n, staff.login_note)}</p>
        </section>
    }
}

/// Username, password and authenticator code: the staff login, and leaving a web terminal.
/// On a shared machine (a till, a kiosk) the browser is told not to remember them.
#[component]
pub fn CredentialFields(
    #[prop(default = "")] prefix: &'static str,
    #[prop(optional)] shared_machine: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = move |name: &str| format!("{prefix}{name}");
    let remember = move |hint: &'static str| if shared_machine { "off" } else { hint };
    view! {
        <label for=id("username")>{t!(i18n, staff.username)}</label>
        <input id=id("username") name="username" type="text" autocomplete=remember("username") autocapitalize="none" required />
        <label for=id("password")>{t!(i18n, staff.password)}</label>
        <input id=id("password") name="password" type="password" autocomplete=remember("current-password") required />
        <label for=id("code")>{t!(i18n, staff.code)}</label>
        <input id=id("code") name="code" type="text" inputmode="numeric" autocomplete=remember("one-time-code") maxlength="6" pattern="[0-9]{6}" required />
    }
}

#[component]
pub fn StaffLayout() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let me = Resource::new(move || location.pathname.get(), |_| staff_me());
    provide_context(StaffMe(me));
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

/// The staff member the layout loaded, for the pages' guard.
#[derive(Clone, Copy)]
pub struct StaffMe(pub Resource<Result<Option<StaffBrief>, crate::error::AppError>>);

/// The signed-in staff member's role, provided by `StaffGate` to the page it lets through.
#[derive(Clone, Copy)]
pub struct StaffRoleHere(pub StaffRole);

/// May the staff member on this page take the counter's actions? Auditors see no forms.
pub fn may_act_here() -> bool {
    use_context::<StaffRoleHere>().is_some_and(|r| may_act(r.0))
}

pub fn page_label(i18n: leptos_i18n::I18nContext<Locale>, page: StaffPage) -> String {
    match page {
        StaffPage::Search => t_string!(i18n, staff.nav_search),
        StaffPage::Holder => t_string!(i18n, staff.holder_title),
        StaffPage::Receipt => t_string!(i18n, staff.receipt_title),
        StaffPage::Enrol => t_string!(i18n, staff.nav_enrol),
        StaffPage::Found => t_string!(i18n, staff.nav_found),
        StaffPage::Bills => t_string!(i18n, bills.nav),
        StaffPage::Queue => t_string!(i18n, staff.nav_queue),
        StaffPage::Graduation => t_string!(i18n, staff.nav_graduation),
        StaffPage::Audit => t_string!(i18n, staff.nav_audit),
        StaffPage::Announcements => t_string!(i18n, announcements.nav),
        StaffPage::Reports => t_string!(i18n, staff.nav_reports),
        StaffPage::Admin => t_string!(i18n, staff.nav_admin),
        StaffPage::Merchant => t_string!(i18n, staff.nav_merchant),
        StaffPage::Password => t_string!(i18n, staff.nav_password),
    }
    .to_string()
}

/// What each role may open (`StaffPage::open_to`). The server checks again on every call.
#[component]
fn StaffNav(role: StaffRole) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="portal-nav staff-nav" aria-label=move || t_string!(i18n, staff.nav_label)>
            {StaffPage::NAV
                .into_iter()
                .filter(|p| p.open_to(role))
                .map(|p| view! { <A href=p.href() exact=p == StaffPage::Search>{move || page_label(i18n, p)}</A> })
                .collect_view()}
        </nav>
    }
}

/// The role the server's staff guard found for this request (it puts it on the request).
#[cfg(feature = "ssr")]
fn role_of_request() -> Option<StaffRole> {
    use_context::<axum::http::request::Parts>()?
        .extensions
        .get::<StaffRoleHere>()
        .map(|r| r.0)
}

/// A staff page behind its role check: the page for a role that may open it, otherwise a
/// refusal with HTTP 403 and the way back. The page (and every server call it makes) is only
/// built for a role that may open it.
///
/// The role is known without waiting, so the page is not built inside a loading boundary (a
/// page with its own boundaries inside another's does not hydrate): on the server from the
/// request, in the browser from the server's render while hydrating, and after a navigation
/// in the browser from the layout's `staff_me`.
#[component]
pub fn StaffGate<F, V>(page: StaffPage, view: F) -> impl IntoView
where
    F: Fn() -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let me = expect_context::<StaffMe>().0;
    let served = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        let role = role_of_request();
        #[cfg(not(feature = "ssr"))]
        let role = None::<StaffRole>;
        role
    })
    .into_inner();
    // While the password must change, only the password page (the layout sends the browser
    // there; the server's guard already did for a page loaded from the server).
    let role = Memo::new(move |_| {
        served.or_else(|| {
            me.get()
                .and_then(|r| r.ok().flatten())
                .filter(|s| !s.must_change_password || page == StaffPage::Password)
                .map(|s| s.role)
        })
    });
    move || match role.get() {
        Some(r) if page.open_to(r) => {
            provide_context(StaffRoleHere(r));
            view().into_any()
        }
        Some(r) => view! { <Refused role=r page=page /> }.into_any(),
        // No staff member yet: the layout sends the browser to the login.
        None => ().into_any(),
    }
}

/// A staff page the role may not open: which page, who may, and the way back. HTTP 403.
#[component]
fn Refused(role: StaffRole, page: StaffPage) -> impl IntoView {
    crate::components::set_status(403);
    let i18n = use_i18n();
    let home = StaffPage::home(role);
    let allowed = move || {
        let comma = if i18n.get_locale() == Locale::zh {
            "、"
        } else {
            ", "
        };
        page.roles()
            .iter()
            .map(|&r| role_label(i18n, r))
            .collect::<Vec<_>>()
            .join(comma)
    };
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.refused_title).to_string()) />
        <section class="error-page" data-testid="staff-refused">
            <h1>{t!(i18n, staff.refused_title)}</h1>
            <p>{move || t_string!(i18n, staff.refused_text, page = page_label(i18n, page), role = role_label(i18n, role), allowed = allowed()).to_string()}</p>
            <p><A href=home.href() attr:class="button-link">{move || t_string!(i18n, staff.refused_back, page = page_label(i18n, home)).to_string()}</A></p>
        </section>
    }
}

/// Find a holder by name, student number, card number or chip serial. A GET form: the query
/// is in the address, so the browser's back button returns to the results.
#[component]
pub fn SearchPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    // Nothing is searched (and nothing is "not found") before a query is typed.
    let hits = Resource::new(q, |q| async move {
        if q.trim().is_empty() {
            Ok(None)
        } else {
            search_holders(q).await.map(Some)
        }
    });
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.search_title).to_string()) />
        <h1>{t!(i18n, staff.search_title)}</h1>
        <form method="get" action="/staff" class="form search-form" data-testid="search-form">
            <label for="q">{t!(i18n, staff.search_label)}</label>
            <input id="q" name="q" type="search" value=q required autofocus />
            <button type="submit" class="primary">{t!(i18n, staff.search_submit)}</button>
        </form>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                hits.await.map(|hits| {
                    let Some(hits) = hits else {
                        return view! { <p class="muted" data-testid="search-hint">{t!(i18n, staff.search_hint)}</p> }.into_any();
                    };
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

/// How many times an action changed something: its version, held while its last answer is a
/// refusal. A page reloads its lists on this, so a refused form keeps what was typed in it
/// (and the input the refusal marks) instead of being drawn again from the server.
pub fn changes<T, E>(
    version: RwSignal<usize>,
    value: impl Into<Signal<Option<Result<T, E>>>>,
) -> Memo<usize>
where
    T: Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    let value = value.into();
    Memo::new(move |last: Option<&usize>| {
        let now = version.get();
        if value.with(|v| matches!(v, Some(Err(_)))) {
            last.copied().unwrap_or(now)
        } else {
            now
        }
    })
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
