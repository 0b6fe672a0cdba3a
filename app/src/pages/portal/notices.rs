//! The holder's inbox: notices about their own card (newest first, unread marked), one button
//! to mark them read, and what to be told about.

use super::HolderChanged;
use super::push_client::{self, PushRefused};
use crate::api::notices::{
    MarkNoticesRead, RemoveNoticeEmail, SaveNoticePrefs, SetNoticeEmail, SubscribePush,
    UnsubscribePush, get_notices,
};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, campus_time, notice_text_in};
use crate::i18n::*;
use crate::model::Money;
use crate::notice_model::{ChannelChoices, EmailView, NoticePrefs, NoticeView, PushView};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn NoticesPage() -> impl IntoView {
    let i18n = use_i18n();
    let mark = ServerAction::<MarkNoticesRead>::new();
    let save = ServerAction::<SaveNoticePrefs>::new();
    let query = use_query_map();
    let saved_by_form = move || {
        let q = query.read();
        q.get("saved").is_some() && q.get("__err").is_none() && save.value().get().is_none()
    };
    let set_email = ServerAction::<SetNoticeEmail>::new();
    let subscribe = ServerAction::<SubscribePush>::new();
    let unsubscribe = ServerAction::<UnsubscribePush>::new();
    // A browser stopped since: the page no longer says push was turned on (here, where the
    // panel is not rebuilt with each loading of the page).
    Effect::new(move |seen: Option<usize>| {
        let version = unsubscribe.version().get();
        if seen.is_some_and(|seen| seen != version) {
            subscribe.value().set(None);
        }
        version
    });
    let remove_email = ServerAction::<RemoveNoticeEmail>::new();
    // The later of the two e-mail actions is the one the page speaks of.
    Effect::new(move |_| {
        if remove_email.version().get() > 0 {
            set_email.value().set(None);
        }
    });
    Effect::new(move |_| {
        if set_email.version().get() > 0 {
            remove_email.value().set(None);
        }
    });
    // An address given (not one refused): the page shows it waiting for its link.
    let emailed = RwSignal::new(0u32);
    Effect::new(move |_| {
        if set_email.value().with(|v| matches!(v, Some(Ok(_)))) {
            emailed.update(|n| *n += 1);
        }
    });
    // Loaded again after a marking and an e-mail change; a saved form already shows what was
    // saved (and a refused one keeps what the holder typed, with the reason).
    let page = Resource::new(
        move || {
            (
                mark.version().get(),
                remove_email.version().get(),
                emailed.get(),
                subscribe.version().get(),
                unsubscribe.version().get(),
            )
        },
        |_| get_notices(),
    );
    // What happened to the e-mail: by this page's actions, or (without the wasm) by the
    // address the server sent the browser to.
    let email_message = move || {
        if set_email.value().with(|v| matches!(v, Some(Ok(_)))) {
            return Some(t_string!(i18n, notices.email_sent).to_string());
        }
        if remove_email.value().with(|v| matches!(v, Some(Ok(_)))) {
            return Some(t_string!(i18n, notices.email_removed).to_string());
        }
        let q = query.read();
        if q.get("__err").is_some() {
            return None;
        }
        match q.get("email").as_deref() {
            Some("sent") if set_email.value().get().is_none() => {
                Some(t_string!(i18n, notices.email_sent).to_string())
            }
            Some("removed") if remove_email.value().get().is_none() => {
                Some(t_string!(i18n, notices.email_removed).to_string())
            }
            _ => None,
        }
    };
    // The bell in the layout follows a marking.
    if let Some(HolderChanged(changed)) = use_context::<HolderChanged>() {
        Effect::new(move |seen: Option<usize>| {
            let version = mark.version().get();
            if seen.is_some_and(|seen| seen != version) {
                changed.update(|n| *n += 1);
            }
            version
        });
    }
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, notices.title).to_string()) />
        <h1>{t!(i18n, notices.title)}</h1>
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                page.await.map(|p| {
                    let newest = p.notices.first().map(|n| n.id);
                    view! {
                        <section class="panel" data-testid="notices">
                            {match newest {
                                Some(newest) if p.unread > 0 => view! {
                                    <ActionForm action=mark attr:class="form inline" attr:data-testid="mark-read">
                                        <input type="hidden" name="up_to" value=newest.to_string() />
                                        <p>{t!(i18n, notices.unread, count = p.unread.to_string())}</p>
                                        <button type="submit" disabled=move || mark.pending().get()>{t!(i18n, notices.mark_read)}</button>
                                    </ActionForm>
                                }.into_any(),
                                _ => ().into_any(),
                            }}
                            <NoticeList notices=p.notices />
                        </section>
                        <section class="panel narrow">
                            <h2>{t!(i18n, notices.prefs_title)}</h2>
                            {move || (save.value().get().is_some_and(|r| r.is_ok()) || saved_by_form()).then(|| view! {
                                <p class="notice ok" role="status" data-testid="prefs-saved">{t!(i18n, notices.prefs_saved)}</p>
                            })}
                            <PrefsForm prefs=p.prefs email_available=p.email_available push_available=p.push.is_some() save=save />
                        </section>
                        <section class="panel narrow" data-testid="email-panel">
                            <h2>{t!(i18n, notices.email_title)}</h2>
                            {move || email_message().map(|m| view! {
                                <p class="notice ok" role="status" data-testid="email-message">{m}</p>
                            })}
                            <EmailPanel email=p.email available=p.email_available set=set_email remove=remove_email />
                        </section>
                        <section class="panel narrow" data-testid="push-panel">
                            <h2>{t!(i18n, notices.push_title)}</h2>
                            <PushPanel push=p.push subscribe=subscribe unsubscribe=unsubscribe />
                        </section>
                    }
                })
            })}
        </Transition>
    }
}

#[component]
fn NoticeList(notices: Vec<NoticeView>) -> impl IntoView {
    let i18n = use_i18n();
    if notices.is_empty() {
        return view! { <p class="muted" data-testid="no-notices">{t!(i18n, notices.empty)}</p> }
            .into_any();
    }
    view! {
        <ul class="notices" data-testid="notice-list">
            {notices
                .into_iter()
                .map(|n| {
                    let text = n.clone();
                    view! {
                        <li class=if n.read { "notice-item" } else { "notice-item unread" }
                            data-kind=n.kind.as_str() data-read=n.read.to_string()>
                            <p>{move || notice_text_in(i18n.get_locale(), &text)}</p>
                            <p class="muted">{campus_time(&n.at)}</p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// The boxes of one channel's choices (`email_*` or `push_*`), or, when the campus does not
/// offer the channel, the same choices kept as hidden fields.
fn channel_boxes(
    i18n: leptos_i18n::I18nContext<Locale>,
    channel: &'static str,
    choices: ChannelChoices,
    offered: bool,
) -> AnyView {
    let boxes = [
        ("payments", choices.payments),
        ("low_balance", choices.low_balance),
        ("topups", choices.topups),
        ("bills", choices.bills),
        ("utilities", choices.utilities),
    ];
    if !offered {
        return boxes
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| view! { <input type="hidden" name=format!("{channel}_{name}") value="on" /> })
            .collect_view()
            .into_any();
    }
    let email = channel == "email";
    let label = move |name: &str| match (email, name) {
        (true, "payments") => t_string!(i18n, notices.prefs_email_payments),
        (true, "low_balance") => t_string!(i18n, notices.prefs_email_low_balance),
        (true, "topups") => t_string!(i18n, notices.prefs_email_topups),
        (true, "bills") => t_string!(i18n, notices.prefs_email_bills),
        (true, _) => t_string!(i18n, notices.prefs_email_utilities),
        (false, "payments") => t_string!(i18n, notices.prefs_push_payments),
        (false, "low_balance") => t_string!(i18n, notices.prefs_push_low_balance),
        (false, "topups") => t_string!(i18n, notices.prefs_push_topups),
        (false, "bills") => t_string!(i18n, notices.prefs_push_bills),
        (false, _) => t_string!(i18n, notices.prefs_push_utilities),
    };
    view! {
        <fieldset data-testid=format!("prefs-{channel}")>
            <legend>{move || if email { t_string!(i18n, notices.prefs_email) } else { t_string!(i18n, notices.prefs_push) }}</legend>
            <p class="hint">{move || if email { t_string!(i18n, notices.prefs_email_hint) } else { t_string!(i18n, notices.prefs_push_hint) }}</p>
            {boxes
                .into_iter()
                .map(|(name, on)| view! {
                    <label class="check"><input type="checkbox" name=format!("{channel}_{name}") value="on" checked=on />{move || label(name)}</label>
                })
                .collect_view()}
        </fieldset>
    }
    .into_any()
}

#[component]
fn PrefsForm(
    prefs: NoticePrefs,
    email_available: bool,
    push_available: bool,
    save: ServerAction<SaveNoticePrefs>,
) -> impl IntoView {
    let i18n = use_i18n();
    // A channel the campus does not offer is not shown, and its choices kept as they are.
    let by_email = channel_boxes(i18n, "email", prefs.email, email_available);
    let by_push = channel_boxes(i18n, "push", prefs.push, push_available);
    let every = prefs.payment_above == Some(Money::ZERO);
    let above = prefs.payment_above.filter(|m| *m > Money::ZERO);
    let none = prefs.payment_above.is_none();
    view! {
        <ActionForm action=save attr:class="form prefs" attr:data-testid="prefs-form">
            <fieldset>
                <legend>{t!(i18n, notices.prefs_payments)}</legend>
                <label class="check"><input type="radio" name="payments" value="every" checked=every />{t!(i18n, notices.prefs_every)}</label>
                <label class="check"><input type="radio" name="payments" value="above" checked=above.is_some() />{t!(i18n, notices.prefs_above)}</label>
                <label for="payment-above">{t!(i18n, notices.prefs_above_amount)}</label>
                <input id="payment-above" name="payment_above" type="text" inputmode="decimal"
                    value=above.map(Money::yuan_string).unwrap_or_default() />
                <label class="check"><input type="radio" name="payments" value="none" checked=none />{t!(i18n, notices.prefs_none)}</label>
            </fieldset>
            <fieldset>
                <legend>{t!(i18n, notices.prefs_low_balance)}</legend>
                <label class="check"><input type="checkbox" name="low_balance" value="on" checked=prefs.low_balance_below.is_some() />{t!(i18n, notices.prefs_low_on)}</label>
                <label for="low-below">{t!(i18n, notices.prefs_low_amount)}</label>
                <input id="low-below" name="low_balance_below" type="text" inputmode="decimal"
                    value=prefs.low_balance_below.map(Money::yuan_string).unwrap_or_default() />
            </fieldset>
            <fieldset>
                <legend>{t!(i18n, notices.prefs_others)}</legend>
                <label class="check"><input type="checkbox" name="topups" value="on" checked=prefs.topups />{t!(i18n, notices.prefs_topups)}</label>
                <label class="check"><input type="checkbox" name="bills" value="on" checked=prefs.bills />{t!(i18n, notices.prefs_bills)}</label>
                <label class="check"><input type="checkbox" name="utilities" value="on" checked=prefs.utilities />{t!(i18n, notices.prefs_utilities)}</label>
            </fieldset>
            {by_email}
            {by_push}
            <p class="muted">{t!(i18n, notices.prefs_security)}</p>
            <ActionError result=save.value() />
            <button type="submit" class="primary" disabled=move || save.pending().get()>{t!(i18n, notices.prefs_save)}</button>
        </ActionForm>
    }
}

/// The holder's address for notices: confirmed, waiting for its link, or none; a form to give
/// one (a confirmation link is sent to it) and a button to stop e-mails.
#[component]
fn EmailPanel(
    email: Option<EmailView>,
    available: bool,
    set: ServerAction<SetNoticeEmail>,
    remove: ServerAction<RemoveNoticeEmail>,
) -> impl IntoView {
    let i18n = use_i18n();
    if !available {
        return view! { <p class="muted" data-testid="email-unavailable">{t!(i18n, notices.email_unavailable)}</p> }
            .into_any();
    }
    let state = email.map(|e| {
        let address = e.address.clone();
        view! {
            <p data-testid="email-state" data-confirmed=e.confirmed.to_string()>
                {if e.confirmed {
                    view! { {t!(i18n, notices.email_confirmed, address = address.clone())} }.into_any()
                } else {
                    view! { {t!(i18n, notices.email_waiting, address = address.clone())} }.into_any()
                }}
            </p>
            <ActionForm action=remove attr:class="form inline" attr:data-testid="email-remove">
                <button type="submit" disabled=move || remove.pending().get()>{t!(i18n, notices.email_remove)}</button>
            </ActionForm>
        }
    });
    view! {
        <p class="muted">{t!(i18n, notices.email_intro)}</p>
        {state}
        <ActionForm action=set attr:class="form" attr:data-testid="email-form">
            <label for="notice-email">{t!(i18n, notices.email_label)}</label>
            <input id="notice-email" name="address" type="email" autocomplete="email" inputmode="email" required />
            <ActionError result=set.value() />
            <button type="submit" class="primary" disabled=move || set.pending().get()>{t!(i18n, notices.email_send)}</button>
        </ActionForm>
    }
    .into_any()
}

/// Push for this browser: a button that asks the browser for permission and subscribes it,
/// the holder's browsers with a button to stop each, and why a subscription did not happen.
#[component]
fn PushPanel(
    push: Option<PushView>,
    subscribe: ServerAction<SubscribePush>,
    unsubscribe: ServerAction<UnsubscribePush>,
) -> impl IntoView {
    let i18n = use_i18n();
    let Some(push) = push else {
        return view! { <p class="muted" data-testid="push-unavailable">{t!(i18n, problem.push_unavailable)}</p> }
            .into_any();
    };
    // This browser's subscription, once the wasm has asked its push manager; the button
    // works once the wasm runs (before, it is shown disabled, the same on both renders).
    let here = RwSignal::new(None::<String>);
    let mounted = RwSignal::new(false);
    Effect::new(move |_| {
        mounted.set(true);
        subscribe.version().get();
        leptos::task::spawn_local(async move { here.set(push_client::current().await) });
    });

    let refused = RwSignal::new(None::<PushRefused>);
    let asking = RwSignal::new(false);
    let key = push.key.clone();
    let turn_on = move |_| {
        let key = key.clone();
        refused.set(None);
        asking.set(true);
        leptos::task::spawn_local(async move {
            match push_client::subscribe(&key).await {
                Ok(s) => {
                    subscribe.dispatch(SubscribePush {
                        endpoint: s.endpoint,
                        p256dh: s.keys.p256dh,
                        auth: s.keys.auth,
                    });
                }
                Err(why) => refused.set(Some(why)),
            }
            asking.set(false);
        });
    };
    let refusal = move || {
        refused.get().map(|why| {
            let text = match why {
                PushRefused::Unsupported => t_string!(i18n, notices.push_unsupported),
                PushRefused::Denied => t_string!(i18n, notices.push_denied),
                PushRefused::Dismissed => t_string!(i18n, notices.push_dismissed),
                PushRefused::Failed => t_string!(i18n, notices.push_failed),
            };
            view! { <p class="form-error" role="alert" data-testid="push-refused">{text}</p> }
        })
    };
    let done = move || {
        subscribe.value().with(|v| matches!(v, Some(Ok(_)))).then(|| {
            view! { <p class="notice ok" role="status" data-testid="push-done">{t!(i18n, notices.push_done)}</p> }
        })
    };
    let browsers = push.browsers;
    let endpoints: Vec<String> = browsers.iter().map(|b| b.endpoint.clone()).collect();
    // This browser is listed already: nothing to turn on.
    let on_here =
        move || here.with(|h| h.as_ref().is_some_and(|h| endpoints.iter().any(|e| e == h)));
    let listed = (!browsers.is_empty()).then(|| {
        view! {
            <p>{t!(i18n, notices.push_browsers)}</p>
            <ul class="plain" data-testid="push-browsers">
                {browsers
                    .into_iter()
                    .map(|b| {
                        let endpoint = b.endpoint.clone();
                        let this = move || here.with(|h| h.as_deref() == Some(endpoint.as_str()));
                        let since = campus_time(&b.since);
                        let label = b.label.clone();
                        let named = label.clone();
                        view! {
                            <li>
                                <ActionForm action=unsubscribe attr:class="form inline">
                                    <input type="hidden" name="id" value=b.id.to_string() />
                                    <span>
                                        {move || label.clone().unwrap_or_else(|| t_string!(i18n, notices.push_browser_unknown).to_string())}
                                        " · "
                                        {t!(i18n, notices.push_since, date = since.clone())}
                                    </span>
                                    {move || this().then(|| view! { <strong data-testid="push-this">" · "{t!(i18n, notices.push_this)}</strong> })}
                                    <button type="submit" disabled=move || unsubscribe.pending().get()
                                        attr:aria-label=move || format!(
                                            "{} · {}",
                                            t_string!(i18n, notices.push_remove),
                                            named.clone().unwrap_or_else(|| t_string!(i18n, notices.push_browser_unknown).to_string()),
                                        )>{t!(i18n, notices.push_remove)}</button>
                                </ActionForm>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
    });
    view! {
        <p class="muted">{t!(i18n, notices.push_intro)}</p>
        {listed}
        {done}
        {refusal}
        <ActionError result=subscribe.value() />
        <Show when=move || !on_here()>
            <button type="button" class="primary" data-testid="push-on" on:click=turn_on.clone()
                disabled=move || !mounted.get() || asking.get() || subscribe.pending().get()>{t!(i18n, notices.push_on)}</button>
        </Show>
    }
    .into_any()
}
