//! The holder's inbox: notices about their own card (newest first, unread marked), one button
//! to mark them read, and what to be told about.

use super::HolderChanged;
use crate::api::notices::{
    MarkNoticesRead, RemoveNoticeEmail, SaveNoticePrefs, SetNoticeEmail, get_notices,
};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, campus_time, notice_text_in};
use crate::i18n::*;
use crate::model::Money;
use crate::notice_model::{EmailView, NoticePrefs, NoticeView};
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
                            <PrefsForm prefs=p.prefs email_available=p.email_available save=save />
                        </section>
                        <section class="panel narrow" data-testid="email-panel">
                            <h2>{t!(i18n, notices.email_title)}</h2>
                            {move || email_message().map(|m| view! {
                                <p class="notice ok" role="status" data-testid="email-message">{m}</p>
                            })}
                            <EmailPanel email=p.email available=p.email_available set=set_email remove=remove_email />
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

#[component]
fn PrefsForm(
    prefs: NoticePrefs,
    email_available: bool,
    save: ServerAction<SaveNoticePrefs>,
) -> impl IntoView {
    let i18n = use_i18n();
    let e = prefs.email;
    // Without a mail server the e-mail choices are not offered, and kept as they are.
    let by_email = if email_available {
        view! {
            <fieldset data-testid="prefs-email">
                <legend>{t!(i18n, notices.prefs_email)}</legend>
                <p class="hint">{t!(i18n, notices.prefs_email_hint)}</p>
                <label class="check"><input type="checkbox" name="email_payments" value="on" checked=e.payments />{t!(i18n, notices.prefs_email_payments)}</label>
                <label class="check"><input type="checkbox" name="email_low_balance" value="on" checked=e.low_balance />{t!(i18n, notices.prefs_email_low_balance)}</label>
                <label class="check"><input type="checkbox" name="email_topups" value="on" checked=e.topups />{t!(i18n, notices.prefs_email_topups)}</label>
                <label class="check"><input type="checkbox" name="email_bills" value="on" checked=e.bills />{t!(i18n, notices.prefs_email_bills)}</label>
                <label class="check"><input type="checkbox" name="email_utilities" value="on" checked=e.utilities />{t!(i18n, notices.prefs_email_utilities)}</label>
            </fieldset>
        }
        .into_any()
    } else {
        [
            ("email_payments", e.payments),
            ("email_low_balance", e.low_balance),
            ("email_topups", e.topups),
            ("email_bills", e.bills),
            ("email_utilities", e.utilities),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| view! { <input type="hidden" name=name value="on" /> })
        .collect_view()
        .into_any()
    };
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
