//! Announcements at the card office: administrators publish one (Chinese and English, a time
//! window in campus time, an audience) and withdraw one early with a reason; auditors read the
//! list.

use super::{Done, ReasonField, StaffRoleHere, changes};
use crate::api::announcements::{PublishAnnouncement, WithdrawAnnouncement, staff_announcements};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, campus_time};
use crate::i18n::*;
use crate::model::{Audience, StaffRole};
use crate::portal_model::AnnouncementView;
use leptos::form::ActionForm;
use leptos::prelude::*;

fn audience_label(i18n: leptos_i18n::I18nContext<Locale>, a: &AnnouncementView) -> String {
    match a.audience {
        Audience::Everyone => t_string!(i18n, announcements.audience_everyone).to_string(),
        Audience::Students => t_string!(i18n, announcements.audience_students).to_string(),
        Audience::Department => a.department.clone(),
    }
}

#[component]
pub fn AnnouncementsPage() -> impl IntoView {
    let i18n = use_i18n();
    let admin = use_context::<StaffRoleHere>().is_some_and(|r| r.0 == StaffRole::Admin);
    let publish = ServerAction::<PublishAnnouncement>::new();
    let withdraw = ServerAction::<WithdrawAnnouncement>::new();
    let published = changes(publish.version(), publish.value());
    let withdrawn = changes(withdraw.version(), withdraw.value());
    let list = Resource::new(
        move || published.get() + withdrawn.get(),
        |_| staff_announcements(),
    );
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, announcements.title).to_string()) />
        <h1>{t!(i18n, announcements.title)}</h1>
        {admin.then(|| view! {
            <section class="panel">
                <h2>{t!(i18n, announcements.publish_title)}</h2>
                <ActionForm action=publish attr:class="form" attr:data-testid="announcement-form">
                    <label for="an-title-zh">{t!(i18n, announcements.title_zh)}</label>
                    <input id="an-title-zh" name="title_zh" type="text" maxlength="60" required />
                    <label for="an-title-en">{t!(i18n, announcements.title_en)}</label>
                    <input id="an-title-en" name="title_en" type="text" maxlength="60" required />
                    <label for="an-body-zh">{t!(i18n, announcements.body_zh)}</label>
                    <textarea id="an-body-zh" name="body_zh" rows="3" maxlength="1000" required></textarea>
                    <label for="an-body-en">{t!(i18n, announcements.body_en)}</label>
                    <textarea id="an-body-en" name="body_en" rows="3" maxlength="1000" required></textarea>
                    <label for="an-starts">{t!(i18n, announcements.starts_at)}</label>
                    <input id="an-starts" name="starts_at" type="datetime-local" required />
                    <label for="an-ends">{t!(i18n, announcements.ends_at)}</label>
                    <input id="an-ends" name="ends_at" type="datetime-local" required />
                    <label for="an-audience">{t!(i18n, announcements.audience)}</label>
                    <select id="an-audience" name="audience">
                        <option value="everyone">{t!(i18n, announcements.audience_everyone)}</option>
                        <option value="students">{t!(i18n, announcements.audience_students)}</option>
                        <option value="department">{t!(i18n, announcements.audience_department)}</option>
                    </select>
                    <label for="an-dept">{t!(i18n, announcements.department)}</label>
                    <input id="an-dept" name="department" type="text" maxlength="40" />
                    <ActionError result=publish.value() />
                    {move || publish.value().get().and_then(|r| r.ok()).map(|id| view! {
                        <p class="notice ok" role="status" data-testid="announcement-published">{t!(i18n, announcements.published, id = id)}</p>
                    })}
                    <button type="submit" class="primary" disabled=move || publish.pending().get()>{t!(i18n, announcements.publish)}</button>
                </ActionForm>
            </section>
        })}
        <Done result=withdraw.value() testid="announcement-withdrawn" />
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                list.await.map(|items| view! {
                    {items.is_empty().then(|| view! { <p class="muted">{t!(i18n, announcements.none)}</p> })}
                    <div class="table-wrap" tabindex="0">
                    <table class="data" data-testid="announcement-list">
                        <thead><tr>
                            <th>"#"</th><th>{t!(i18n, announcements.title_zh)}</th><th>{t!(i18n, announcements.window)}</th>
                            <th>{t!(i18n, announcements.audience)}</th><th>{t!(i18n, staff.actions_col)}</th>
                        </tr></thead>
                        <tbody>
                            {items.into_iter().map(|a| {
                                let audience = audience_label(i18n, &a);
                                view! {
                                    <tr data-testid="announcement-row">
                                        <td>{a.id}</td>
                                        <td>{a.title.zh.clone()} <br /> <span class="muted">{a.title.en.clone()} " · " {a.created_by.clone()}</span></td>
                                        <td>{campus_time(&a.starts_at)} " – " {campus_time(&a.ends_at)}</td>
                                        <td>{audience}</td>
                                        <td>{match a.withdrawn_at.clone() {
                                            Some(at) => view! {
                                                <span class="muted">{t!(i18n, announcements.withdrawn_at, at = campus_time(&at), why = a.withdraw_reason.clone())}</span>
                                            }.into_any(),
                                            None => admin.then(|| view! {
                                                <ActionForm action=withdraw attr:class="inline-form">
                                                    <input type="hidden" name="id" value=a.id.to_string() />
                                                    <ReasonField id=format!("aw-{}", a.id) />
                                                    <button type="submit" data-testid="announcement-withdraw">{t!(i18n, announcements.withdraw)}</button>
                                                </ActionForm>
                                            }).into_any(),
                                        }}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                })
            })}
        </Suspense>
    }
}
