use crate::api::portal::{EndOtherSessions, RemovePhone, get_profile};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, campus_time};
use crate::i18n::*;
use crate::model::HolderKind;
use crate::user_agent::DeviceName;
use leptos::form::ActionForm;
use leptos::prelude::*;

/// The holder's details as the card office has them, and the devices logged in.
#[component]
pub fn ProfilePage() -> impl IntoView {
    let i18n = use_i18n();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let remove_phone = ServerAction::<RemovePhone>::new();
    let profile = Resource::new(
        move || (end_others.version().get(), remove_phone.version().get()),
        |_| get_profile(),
    );
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, profile.title).to_string()) />
        <h1>{t!(i18n, profile.title)}</h1>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                profile.await.map(|p| view! {
                    <section class="panel">
                        <dl class="details" data-testid="profile-details">
                            <dt>{t!(i18n, profile.name)}</dt><dd>{p.name.clone()}</dd>
                            <dt>{t!(i18n, profile.student_no)}</dt><dd>{p.student_no.clone()}</dd>
                            <dt>{t!(i18n, profile.kind)}</dt>
                            <dd>{match p.kind { HolderKind::Student => t_string!(i18n, profile.student), HolderKind::Faculty => t_string!(i18n, profile.faculty) }}</dd>
                            <dt>{t!(i18n, profile.department)}</dt><dd>{p.department.clone()}</dd>
                            <dt>{t!(i18n, profile.class)}</dt><dd>{p.class_name.clone()}</dd>
                            <dt>{t!(i18n, profile.id_doc)}</dt><dd data-testid="id-masked">{p.id_doc_masked.clone()}</dd>
                            <dt>{t!(i18n, profile.phone)}</dt><dd>{p.phone_masked.clone()}</dd>
                        </dl>
                        <p class="muted">{t!(i18n, profile.note)}</p>
                    </section>
                    <section class="panel">
                        <h2>{t!(i18n, profile.phones)}</h2>
                        <p class="muted">{t!(i18n, profile.phones_note)}</p>
                        {move || remove_phone.value().get().and_then(|r| r.ok()).map(|()| view! {
                            <p class="notice ok" role="status" data-testid="phone-removed">{t!(i18n, profile.phone_removed)}</p>
                        })}
                        <ActionError result=remove_phone.value() />
                        {if p.phones.is_empty() {
                            view! { <p data-testid="no-phones">{t!(i18n, profile.no_phones)}</p> }.into_any()
                        } else {
                            view! {
                                <ul class="plain sessions" data-testid="phones">
                                    {p.phones.clone().into_iter().map(|ph| view! {
                                        <li data-testid="phone">
                                            <span data-testid="phone-name">{ph.name.clone()}</span>
                                            {ph.this_phone.then(|| view! { " · " <strong>{t!(i18n, profile.this_phone)}</strong> })}
                                            <br />
                                            <span class="muted">{t!(i18n, profile.since, at = campus_time(&ph.since))}</span>
                                            " · "
                                            <span class="muted">{t!(i18n, profile.phone_until, at = campus_time(&ph.until))}</span>
                                            " · "
                                            <span class="muted">{t!(i18n, profile.phone_used, at = campus_time(&ph.last_used))}</span>
                                            <ActionForm action=remove_phone attr:class="inline-form">
                                                <input type="hidden" name="key_id" value=ph.key_id.to_string() />
                                                <button type="submit" class="secondary" data-testid="remove-phone">{t!(i18n, profile.remove_phone)}</button>
                                            </ActionForm>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }
                                .into_any()
                        }}
                    </section>
                    <section class="panel">
                        <h2>{t!(i18n, profile.sessions)}</h2>
                        <ul class="plain sessions" data-testid="sessions">
                            {p.sessions.iter().map(|s| view! {
                                <li>
                                    <span data-testid="session-device">{DeviceName::of(&s.user_agent).label().unwrap_or_else(|| t_string!(i18n, profile.unknown_device).to_string())}</span>
                                    " · "
                                    <span class="muted">{t!(i18n, profile.since, at = campus_time(&s.created_at))}</span>
                                    {s.current.then(|| view! { " · " <strong>{t!(i18n, profile.this_device)}</strong> })}
                                </li>
                            }).collect_view()}
                        </ul>
                        {move || end_others.value().get().and_then(|r| r.ok()).map(|n| view! {
                            <p class="notice ok" role="status">{t!(i18n, profile.ended, n = n)}</p>
                        })}
                        <ActionForm action=end_others attr:class="form">
                            <ActionError result=end_others.value() />
                            <button type="submit" data-testid="end-others">{t!(i18n, profile.end_others)}</button>
                        </ActionForm>
                    </section>
                })
            })}
        </Suspense>
    }
}
