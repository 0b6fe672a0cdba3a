//! The holder's inbox: notices about their own card (newest first, unread marked), one button
//! to mark them read, and what to be told about.

use super::HolderChanged;
use crate::api::notices::{MarkNoticesRead, SaveNoticePrefs, get_notices};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, campus_time, money};
use crate::i18n::*;
use crate::model::{Money, NoticeKind};
use crate::notice_model::{NoticePrefs, NoticeView};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A notice in the reader's language.
pub fn notice_text(i18n: leptos_i18n::I18nContext<Locale>, n: &NoticeView) -> String {
    let amount = money(n.amount.unwrap_or(Money::ZERO));
    let balance = money(n.balance.unwrap_or(Money::ZERO));
    match n.kind {
        NoticeKind::Payment => match &n.place {
            Some(place) => {
                let place = if i18n.get_locale() == Locale::en {
                    place.en.clone()
                } else {
                    place.zh.clone()
                };
                t_string!(i18n, notices.payment, amount, place, balance).to_string()
            }
            None => t_string!(i18n, notices.payment_no_place, amount, balance).to_string(),
        },
        NoticeKind::LowBalance => t_string!(i18n, notices.low_balance, amount, balance).to_string(),
        NoticeKind::Topup => t_string!(i18n, notices.topup, amount, balance).to_string(),
        NoticeKind::AutoTopupFailed => t_string!(i18n, notices.auto_topup_failed).to_string(),
        NoticeKind::CardLost => t_string!(i18n, notices.card_lost).to_string(),
        NoticeKind::CardLifted => t_string!(i18n, notices.card_lifted).to_string(),
        NoticeKind::CardFound => t_string!(i18n, notices.card_found).to_string(),
        NoticeKind::CardReplaced => t_string!(i18n, notices.card_replaced).to_string(),
        NoticeKind::PasswordChanged => t_string!(i18n, notices.password_changed).to_string(),
        NoticeKind::PhoneBound => t_string!(i18n, notices.phone_bound).to_string(),
        NoticeKind::AccountFrozen => t_string!(i18n, notices.account_frozen).to_string(),
        NoticeKind::AccountUnfrozen => t_string!(i18n, notices.account_unfrozen).to_string(),
        NoticeKind::BillIssued => t_string!(i18n, notices.bill_issued).to_string(),
        NoticeKind::PurchaseRefunded => t_string!(i18n, notices.purchase_refunded).to_string(),
    }
}

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
    // Loaded again after a marking; a saved form already shows what was saved (and a refused
    // one keeps what the holder typed, with the reason).
    let page = Resource::new(move || mark.version().get(), |_| get_notices());
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
                            <PrefsForm prefs=p.prefs save=save />
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
                            <p>{move || notice_text(i18n, &text)}</p>
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
fn PrefsForm(prefs: NoticePrefs, save: ServerAction<SaveNoticePrefs>) -> impl IntoView {
    let i18n = use_i18n();
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
            <p class="muted">{t!(i18n, notices.prefs_security)}</p>
            <ActionError result=save.value() />
            <button type="submit" class="primary" disabled=move || save.pending().get()>{t!(i18n, notices.prefs_save)}</button>
        </ActionForm>
    }
}
