//! Administration: merchants, devices and their credentials, staff users and roles, and the
//! campus profile. Auditors see the same lists without the forms (and the server refuses
//! their changes anyway).

use super::oversight::{ActionName, change_text};
use super::{Done, ReasonField, changes, role_label};
use crate::api::staff::*;
use crate::api::utilities::{AddRooms, RemoveRoom, get_rooms};
use crate::campus_form::ProfileForm;
use crate::components::PageTitle;
use crate::components::labels::{ActionError, audit_text, campus_time, category_label};
use crate::i18n::*;
use crate::model::{DeviceKind, MerchantCategory, StaffRole};
use crate::staff_model::{AdminRequestView, DeviceView, MerchantView, StaffLink, StaffUserView};
use leptos::form::ActionForm;
use leptos::prelude::*;

#[derive(Clone, Copy)]
struct AdminActions {
    save_merchant: ServerAction<SaveMerchant>,
    create_device: ServerAction<CreateDevice>,
    issue: ServerAction<IssueCredential>,
    revoke: ServerAction<RevokeCredential>,
    create_staff: ServerAction<CreateStaff>,
    update_staff: ServerAction<UpdateStaff>,
    reset_staff: ServerAction<ResetStaff>,
    save_profile: ServerAction<SaveCampusProfile>,
    decide: ServerAction<DecideChange>,
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let i18n = use_i18n();
    let a = AdminActions {
        save_merchant: ServerAction::new(),
        create_device: ServerAction::new(),
        issue: ServerAction::new(),
        revoke: ServerAction::new(),
        create_staff: ServerAction::new(),
        update_staff: ServerAction::new(),
        reset_staff: ServerAction::new(),
        save_profile: ServerAction::new(),
        decide: ServerAction::new(),
    };
    // Reloaded after a change, not after a refusal (which keeps what was typed).
    let counts = [
        changes(a.save_merchant.version(), a.save_merchant.value()),
        changes(a.create_device.version(), a.create_device.value()),
        changes(a.issue.version(), a.issue.value()),
        changes(a.revoke.version(), a.revoke.value()),
        changes(a.create_staff.version(), a.create_staff.value()),
        changes(a.update_staff.version(), a.update_staff.value()),
        changes(a.reset_staff.version(), a.reset_staff.value()),
        changes(a.save_profile.version(), a.save_profile.value()),
        changes(a.decide.version(), a.decide.value()),
    ];
    let versions = move || counts.iter().map(|c| c.get()).sum::<usize>();
    let data = Resource::new(versions, |_| get_admin_overview());
    let requests = Resource::new(versions, |_| change_requests());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.nav_admin).to_string()) />
        <h1>{t!(i18n, staff.nav_admin)}</h1>
        // The answers shown once (a credential, a second factor) sit outside the reloading
        // lists, so reloading them does not hide what was just issued.
        {move || a.issue.value().get().and_then(|r| r.ok()).map(|c| view! {
            <div class="notice ok" role="status" data-testid="credential-shown">
                <p>{t!(i18n, staff.credential_once, device = c.device_code.clone())}</p>
                <p><code class="secret" data-testid="credential">{c.credential.clone()}</code></p>
            </div>
        })}
        <ActionError result=a.issue.value() />
        {move || a.create_staff.value().get().and_then(|r| r.ok()).map(|r| view! { <Requested id=r.request_id /> })}
        {move || a.reset_staff.value().get().and_then(|r| r.ok()).map(|r| view! { <Requested id=r.request_id /> })}
        {move || a.update_staff.value().get().and_then(|r| r.ok()).map(|r| view! { <Requested id=r.request_id /> })}
        {move || a.save_profile.value().get().and_then(|r| r.ok()).and_then(|r| r.thresholds_request).map(|id| view! { <Requested id=id /> })}
        {move || a.decide.value().get().and_then(|r| r.ok()).flatten().map(|e| view! { <EnrolmentNotice e=e /> })}
        <ActionError result=a.create_staff.value() />
        <ActionError result=a.reset_staff.value() />
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                let rows = requests.await;
                data.await.map(|o| {
                    let admin = o.can_change;
                    view! {
                        {(!admin).then(|| view! { <p class="notice" data-testid="read-only">{t!(i18n, staff.read_only)}</p> })}
                        <ChangeRequests admin=admin rows=rows.unwrap_or_default() a=a />
                        <Merchants admin=admin rows=o.merchants.clone() a=a />
                        <Devices admin=admin rows=o.devices.clone() shops=o.merchants.clone() a=a />
                        <StaffUsers admin=admin rows=o.staff.clone() shops=o.merchants.clone() a=a />
                        <CampusProfilePanel admin=admin form=o.profile.clone() a=a />
                    }
                })
            })}
        </Suspense>
        <RoomsPanel />
    }
}

/// The campus's dorm room list by building; administrators add the housing office's list
/// and take off a room no student has bound.
#[component]
fn RoomsPanel() -> impl IntoView {
    let i18n = use_i18n();
    let add = ServerAction::<AddRooms>::new();
    let remove = ServerAction::<RemoveRoom>::new();
    let counts = [
        changes(add.version(), add.value()),
        changes(remove.version(), remove.value()),
    ];
    let rooms = Resource::new(
        move || counts.iter().map(|c| c.get()).sum::<usize>(),
        |_| get_rooms(),
    );
    view! {
        <section class="panel" data-testid="rooms">
            <h2>{t!(i18n, utilities.rooms_title)}</h2>
            <p class="muted">{t!(i18n, utilities.rooms_intro)}</p>
            <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    rooms.await.map(|list| {
                        let total: i64 = list.buildings.iter().map(|(_, n)| n).sum();
                        let buildings = list.buildings.len();
                        view! {
                            {if list.buildings.is_empty() {
                                view! { <p data-testid="rooms-none"><strong class="warn">{t!(i18n, utilities.rooms_none)}</strong></p> }.into_any()
                            } else {
                                view! {
                                    <p data-testid="rooms-total">{t!(i18n, utilities.rooms_total, rooms = total, buildings = buildings)}</p>
                                    <div class="table-wrap" tabindex="0">
                                    <table class="data" data-testid="rooms-by-building">
                                        <thead><tr><th>{t!(i18n, utilities.rooms_building)}</th><th class="num">{t!(i18n, utilities.rooms_count)}</th></tr></thead>
                                        <tbody>{list.buildings.into_iter().map(|(b, n)| view! {
                                            <tr><td>{b}</td><td class="num">{n}</td></tr>
                                        }).collect_view()}</tbody>
                                    </table>
                                    </div>
                                }.into_any()
                            }}
                            {list.can_change.then(|| view! {
                                <details>
                                    <summary>{t!(i18n, utilities.rooms_add)}</summary>
                                    <ActionForm action=add attr:class="form" attr:data-testid="rooms-add-form">
                                        <label for="rooms-list">{t!(i18n, utilities.rooms_list)}</label>
                                        <textarea id="rooms-list" name="list" rows="8" required placeholder="8,601"></textarea>
                                        <ActionError result=add.value() />
                                        {move || add.value().get().and_then(|r| r.ok()).map(|r| view! {
                                            <p class="notice ok" role="status" data-testid="rooms-added">
                                                {t!(i18n, utilities.rooms_added, added = r.added, listed = r.listed)}
                                            </p>
                                        })}
                                        <button type="submit" class="primary">{t!(i18n, utilities.rooms_add)}</button>
                                    </ActionForm>
                                </details>
                                <details>
                                    <summary>{t!(i18n, utilities.rooms_remove)}</summary>
                                    <ActionForm action=remove attr:class="form" attr:data-testid="rooms-remove-form">
                                        <label for="room-building">{t!(i18n, utilities.rooms_building)}</label>
                                        <input id="room-building" name="building" type="text" required maxlength="10" />
                                        <label for="room-room">{t!(i18n, utilities.room)}</label>
                                        <input id="room-room" name="room" type="text" required maxlength="10" />
                                        <ReasonField id="room-reason" />
                                        <Done result=remove.value() testid="room-removed" />
                                        <button type="submit">{t!(i18n, utilities.rooms_remove_button)}</button>
                                    </ActionForm>
                                </details>
                            })}
                        }
                    })
                })}
            </Suspense>
        </section>
    }
}

/// A change now waiting for a second administrator.
#[component]
fn Requested(id: i64) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="notice" role="status" data-testid="change-requested">{t!(i18n, staff.change_requested, id = id)}</p>
    }
}

/// Changes to staff accounts and thresholds waiting for a second administrator (auditors see
/// them without the buttons).
#[component]
fn ChangeRequests(admin: bool, rows: Vec<AdminRequestView>, a: AdminActions) -> impl IntoView {
    let i18n = use_i18n();
    let decide = a.decide;
    view! {
        <section class="panel">
            <h2>{t!(i18n, staff.change_requests)}</h2>
            <Done result=decide.value() testid="change-decided" />
            {if rows.is_empty() {
                view! { <p class="muted">{t!(i18n, staff.nothing_waiting)}</p> }.into_any()
            } else {
                view! {
                    <ul class="plain" data-testid="change-list">
                        {rows.into_iter().map(|r| view! {
                            <li>
                                <strong>{move || audit_text(i18n, &r.target)}</strong>
                                " · " <ActionName code=r.kind.clone() />
                                {move || format!(
                                    " · {} · {} · {} {}",
                                    change_text(i18n, &r.before, &r.after),
                                    r.reason,
                                    r.requested_by,
                                    campus_time(&r.requested_at),
                                )}
                                {admin.then(|| decide_forms!(decide, r.id, t!(i18n, staff.approve), t!(i18n, staff.reject), "ac"))}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// A staff member's one-time enrolment link, for the administrator to hand over.
#[component]
fn EnrolmentNotice(e: StaffLink) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="notice ok" role="status" data-testid="staff-enrolment">
            <p>{t!(i18n, staff.link_once, user = e.username.clone(), until = campus_time(&e.expires_at))}</p>
            <p><a href=e.path.clone() data-testid="staff-enrolment-link"><code class="secret">{e.path.clone()}</code></a></p>
        </div>
    }
}

#[component]
fn Merchants(admin: bool, rows: Vec<MerchantView>, a: AdminActions) -> impl IntoView {
    let i18n = use_i18n();
    let save = a.save_merchant;
    view! {
        <section class="panel">
            <h2>{t!(i18n, staff.merchants)}</h2>
                    {view! {
                        <div class="table-wrap" tabindex="0">
                        <table class="data" data-testid="merchants">
                            <thead><tr><th>{t!(i18n, staff.code_label)}</th><th>{t!(i18n, staff.name)}</th><th>{t!(i18n, staff.category)}</th><th>{t!(i18n, staff.place)}</th><th>{t!(i18n, staff.status)}</th></tr></thead>
                            <tbody>{rows.iter().map(|m| {
                                let cat = m.category;
                                view! {
                                    <tr><td>{m.code.clone()}</td><td>{m.name_zh.clone()} " / " {m.name_en.clone()}</td><td>{move || category_label(i18n, cat)}</td><td>{m.place.clone()}</td>
                                    <td>{if m.active { t_string!(i18n, staff.active) } else { t_string!(i18n, staff.inactive) }}</td></tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                        </div>
                    }}
            {admin.then(|| view! {
                <details>
                    <summary>{t!(i18n, staff.merchant_new)}</summary>
                    <ActionForm action=save attr:class="form" attr:data-testid="merchant-form">
                        <label for="m-id">{t!(i18n, staff.merchant_edit_id)}</label>
                        <input id="m-id" name="id" type="text" inputmode="numeric" />
                        <label for="m-code">{t!(i18n, staff.code_label)}</label>
                        <input id="m-code" name="code" type="text" required />
                        <label for="m-zh">{t!(i18n, staff.name_zh)}</label>
                        <input id="m-zh" name="name_zh" type="text" required />
                        <label for="m-en">{t!(i18n, staff.name_en)}</label>
                        <input id="m-en" name="name_en" type="text" required />
                        <label for="m-cat">{t!(i18n, staff.category)}</label>
                        <select id="m-cat" name="category">
                            {MerchantCategory::ALL.iter().map(|c| {
                                let c = *c;
                                view! { <option value=c.as_str()>{move || category_label(i18n, c)}</option> }
                            }).collect_view()}
                        </select>
                        <label for="m-place">{t!(i18n, staff.place)}</label>
                        <input id="m-place" name="place" type="text" required />
                        <label for="m-active">{t!(i18n, staff.status)}</label>
                        <select id="m-active" name="active">
                            <option value="true">{t!(i18n, staff.active)}</option>
                            <option value="false">{t!(i18n, staff.inactive)}</option>
                        </select>
                        <Done result=save.value() testid="merchant-done" />
                        <button type="submit" class="primary">{t!(i18n, staff.save)}</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

fn merchant_options(rows: &[MerchantView]) -> impl IntoView + use<> {
    rows.iter()
        .map(|m| view! { <option value=m.id.to_string()>{m.code.clone()} " " {m.name_zh.clone()}</option> })
        .collect_view()
}

#[component]
fn Devices(
    admin: bool,
    rows: Vec<DeviceView>,
    shops: Vec<MerchantView>,
    a: AdminActions,
) -> impl IntoView {
    let i18n = use_i18n();
    let (create, issue, revoke) = (a.create_device, a.issue, a.revoke);
    view! {
        <section class="panel">
            <h2>{t!(i18n, staff.devices)}</h2>
            <Done result=revoke.value() testid="revoke-done" />
                    {view! {
                        <div class="table-wrap" tabindex="0">
                        <table class="data" data-testid="devices">
                            <thead><tr><th>{t!(i18n, staff.code_label)}</th><th>{t!(i18n, staff.kind)}</th><th>{t!(i18n, staff.merchant)}</th><th>{t!(i18n, staff.place)}</th><th>{t!(i18n, staff.credential)}</th><th>{t!(i18n, staff.actions_col)}</th></tr></thead>
                            <tbody>{rows.into_iter().map(|d| {
                                let state = if d.has_credential {
                                    t_string!(i18n, staff.credential_live).to_string() + " " + &d.credential_issued_at.as_deref().map(campus_time).unwrap_or_default()
                                } else if d.revoked {
                                    t_string!(i18n, staff.credential_revoked).to_string()
                                } else {
                                    t_string!(i18n, staff.credential_none).to_string()
                                };
                                let code = d.code.clone();
                                let row_id = format!("device-{code}");
                                view! {
                                    <tr data-testid=row_id>
                                        <td>{d.code.clone()}</td><td>{d.kind.as_str()}</td><td>{d.merchant.clone().unwrap_or_default()}</td><td>{d.place.clone()}</td><td>{state}</td>
                                        <td>{admin.then(|| view! {
                                            <details class="inline-details">
                                                <summary data-testid=format!("manage-{code}")>{t!(i18n, staff.manage)}</summary>
                                                <ActionForm action=issue attr:class="form">
                                                    <input type="hidden" name="device_id" value=d.id.to_string() />
                                                    <ReasonField id=format!("issue-{}", d.id) />
                                                    <button type="submit" class="primary" data-testid=format!("issue-{code}")>
                                                        {if d.has_credential { t_string!(i18n, staff.rotate) } else { t_string!(i18n, staff.issue) }}
                                                    </button>
                                                </ActionForm>
                                                {d.has_credential.then(|| view! {
                                                    <ActionForm action=revoke attr:class="form">
                                                        <input type="hidden" name="device_id" value=d.id.to_string() />
                                                        <ReasonField id=format!("revoke-{}", d.id) />
                                                        <button type="submit" class="danger">{t!(i18n, staff.revoke)}</button>
                                                    </ActionForm>
                                                })}
                                            </details>
                                        })}</td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                        </div>
                    }}
            {admin.then(|| view! {
                <details>
                    <summary data-testid="device-new">{t!(i18n, staff.device_new)}</summary>
                    <ActionForm action=create attr:class="form" attr:data-testid="device-form">
                        <label for="d-code">{t!(i18n, staff.code_label)}</label>
                        <input id="d-code" name="code" type="text" required />
                        <label for="d-kind">{t!(i18n, staff.kind)}</label>
                        <select id="d-kind" name="kind">
                            {DeviceKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                        </select>
                        <label for="d-merchant">{t!(i18n, staff.merchant)}</label>
                        <select id="d-merchant" name="merchant_id">
                            <option value="">"—"</option>
                            {merchant_options(&shops)}
                        </select>
                        <label for="d-place">{t!(i18n, staff.place)}</label>
                        <input id="d-place" name="place" type="text" required />
                        <Done result=create.value() testid="device-done" />
                        <button type="submit" class="primary">{t!(i18n, staff.save)}</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

#[component]
fn StaffUsers(
    admin: bool,
    rows: Vec<StaffUserView>,
    shops: Vec<MerchantView>,
    a: AdminActions,
) -> impl IntoView {
    let i18n = use_i18n();
    let (create, update, reset) = (a.create_staff, a.update_staff, a.reset_staff);
    let role_options = move || {
        StaffRole::ALL
            .iter()
            .map(|r| {
                let r = *r;
                view! { <option value=r.as_str()>{move || role_label(i18n, r)}</option> }
            })
            .collect_view()
    };
    view! {
        <section class="panel">
            <h2>{t!(i18n, staff.staff_users)}</h2>
            <Done result=update.value() testid="staff-update-done" />
                    {view! {
                        <div class="table-wrap" tabindex="0">
                        <table class="data" data-testid="staff-users">
                            <thead><tr><th>{t!(i18n, staff.username)}</th><th>{t!(i18n, staff.name)}</th><th>{t!(i18n, staff.role)}</th><th>{t!(i18n, staff.status)}</th><th>{t!(i18n, staff.actions_col)}</th></tr></thead>
                            <tbody>{rows.into_iter().map(|u| {
                                let role = u.role;
                                view! {
                                    <tr>
                                        <td>{u.username.clone()}</td><td>{u.display_name.clone()}</td>
                                        <td>{move || role_label(i18n, role)} {u.merchant.clone().map(|m| format!(" · {m}"))}</td>
                                        <td>{if u.active { t_string!(i18n, staff.active) } else { t_string!(i18n, staff.inactive) }} {u.locked.then_some(" 🔒")}</td>
                                        <td>{admin.then(|| view! {
                                            <details class="inline-details">
                                                <summary>{t!(i18n, staff.manage)}</summary>
                                                <ActionForm action=update attr:class="form">
                                                    <input type="hidden" name="id" value=u.id.to_string() />
                                                    <select name="role" aria-label=move || t_string!(i18n, staff.role)>{role_options()}</select>
                                                    <input name="merchant_id" type="text" inputmode="numeric" placeholder=move || t_string!(i18n, staff.merchant_id) />
                                                    <select name="active" aria-label=move || t_string!(i18n, staff.status)>
                                                        <option value="true">{t!(i18n, staff.active)}</option>
                                                        <option value="false">{t!(i18n, staff.inactive)}</option>
                                                    </select>
                                                    <ReasonField id=format!("su-{}", u.id) />
                                                    <button type="submit">{t!(i18n, staff.save)}</button>
                                                </ActionForm>
                                                <p class="muted">{t!(i18n, staff.reset_intro)}</p>
                                                <ActionForm action=reset attr:class="form">
                                                    <input type="hidden" name="id" value=u.id.to_string() />
                                                    <ReasonField id=format!("rr-{}", u.id) />
                                                    <button type="submit" class="danger">{t!(i18n, staff.reset_staff)}</button>
                                                </ActionForm>
                                            </details>
                                        })}</td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                        </div>
                    }}
            {admin.then(|| view! {
                <details>
                    <summary>{t!(i18n, staff.staff_new)}</summary>
                    <ActionForm action=create attr:class="form" attr:data-testid="staff-form">
                        <label for="s-user">{t!(i18n, staff.username)}</label>
                        <input id="s-user" name="username" type="text" required />
                        <label for="s-name">{t!(i18n, staff.name)}</label>
                        <input id="s-name" name="display_name" type="text" required />
                        <label for="s-role">{t!(i18n, staff.role)}</label>
                        <select id="s-role" name="role">{role_options()}</select>
                        <label for="s-merchant">{t!(i18n, staff.merchant)}</label>
                        <select id="s-merchant" name="merchant_id">
                            <option value="">"—"</option>
                            {merchant_options(&shops)}
                        </select>
                        <ReasonField id="s-reason" />
                        <button type="submit" class="primary">{t!(i18n, staff.save)}</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

#[component]
fn CampusProfilePanel(admin: bool, form: ProfileForm, a: AdminActions) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="panel">
            <h2>{t!(i18n, staff.campus_profile)}</h2>
            <p class="muted">{t!(i18n, staff.campus_profile_intro)}</p>
            <super::profile::CampusProfileForm admin=admin form=form save=a.save_profile />
        </section>
    }
}
