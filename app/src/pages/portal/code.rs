use crate::api::portal::{get_pay_code, phone_secret};
use crate::components::labels::{decline_text, error_text, money};
use crate::components::{PageTitle, WithCampus, localized};
use crate::error::AppError;
use crate::i18n::*;
use crate::model::CampusProfile;
use crate::portal_model::{CodeResult, PayCode};
use leptos::prelude::*;
use leptos_router::components::A;
use std::time::Duration;

/// When the page asks the server again, in seconds from the last answer.
mod refetch {
    /// A code: a few seconds before it expires, so the next is ready in time.
    pub fn after_code(expires_in: i64) -> i64 {
        (expires_in - 5).max(1)
    }
    /// The code was just used and the next one is a moment away.
    pub const AFTER_USE: i64 = 2;
    /// No answer (offline, server busy): try again, keeping the code shown while it is valid.
    pub const AFTER_FAILURE: i64 = 5;
}

/// The browser's clock in seconds. Deadlines are kept in it rather than counted in ticks: a
/// phone whose screen was off (its timers paused) wakes up knowing its code has expired.
#[cfg(feature = "hydrate")]
fn now_secs() -> f64 {
    web_sys::js_sys::Date::now() / 1000.0
}

/// On the server no timer runs; the first render shows the code's own `expires_in`.
#[cfg(not(feature = "hydrate"))]
fn now_secs() -> f64 {
    0.0
}

/// What a remembered phone keeps in the browser's storage (`localStorage`, this origin only,
/// never a cookie): its code key and its clock's difference to the server's.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
mod local {
    use crate::code_format::{self as format, Purpose};
    use crate::portal_model::{PayCode, PhoneCodeKey};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct Stored {
        pub key: PhoneCodeKey,
        /// The server's clock less this browser's, in ms.
        pub offset_ms: i64,
    }

    /// The code this phone makes itself at `now_ms` (its own clock): the current step's,
    /// marked as made offline.
    pub fn code(stored: &Stored, now_ms: f64) -> Option<PayCode> {
        let unix = ((now_ms as i64) + stored.offset_ms).div_euclid(1000);
        let step = format::step_of(unix);
        let digits = format::digits(
            &stored.key.secret,
            Purpose::Offline,
            stored.key.key_id,
            step,
        );
        Some(PayCode {
            svg: format::qr_svg(&digits)?,
            digits,
            expires_in: format::expires_in(step, unix),
            name: stored.key.name.clone(),
            student_no_tail: stored.key.student_no_tail.clone(),
            balance: None,
            server_time_ms: unix * 1000,
            phone_key_id: Some(stored.key.key_id),
            offline: true,
        })
    }

    #[cfg(feature = "hydrate")]
    mod storage {
        use super::Stored;
        const KEY: &str = "ykt.phone";

        fn storage() -> Option<web_sys::Storage> {
            web_sys::window()?.local_storage().ok()?
        }

        pub fn load() -> Option<Stored> {
            let text = storage()?.get_item(KEY).ok()??;
            serde_json::from_str(&text).ok()
        }

        pub fn save(stored: &Stored) {
            if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(stored)) {
                // A full or refused storage leaves the phone making no codes offline.
                let _ = s.set_item(KEY, &text);
            }
        }

        pub fn forget() {
            if let Some(s) = storage() {
                let _ = s.remove_item(KEY);
            }
        }
    }

    #[cfg(not(feature = "hydrate"))]
    mod storage {
        use super::Stored;
        pub fn load() -> Option<Stored> {
            None
        }
        pub fn save(_: &Stored) {}
        pub fn forget() {}
    }

    pub use storage::{forget, load, save};
}

/// Keeps this browser's stored phone key in step with what the server said of it: the clock
/// difference from each code; the key fetched once when the phone is remembered and its
/// storage lacks it; forgotten when the server no longer knows this phone as remembered.
fn keep_phone_key(c: &PayCode) {
    let now_ms = now_secs() * 1000.0;
    let stored = local::load();
    match (c.phone_key_id, stored) {
        (Some(id), Some(mut s)) if s.key.key_id == id => {
            s.offset_ms = c.server_time_ms - now_ms as i64;
            local::save(&s);
        }
        (Some(_), _) => {
            leptos::task::spawn_local(async move {
                if let Ok(Some(key)) = phone_secret().await {
                    let offset_ms = key.server_time_ms - (now_secs() * 1000.0) as i64;
                    local::save(&local::Stored { key, offset_ms });
                }
            });
        }
        (None, Some(_)) => local::forget(),
        (None, None) => {}
    }
}

/// The 深职通码 full width, black on white, with its digits underneath (for scanners that read
/// typed digits, and for cashiers), a countdown to the end of the code's validity, and the
/// result of a payment as soon as a till decides it (`/events/pay-code`, server-sent events).
///
/// The page asks for a code once, then only shortly before that code expires and after it was
/// used: a student standing in a queue with the page open costs one request a minute. Without
/// a network the code on screen stays until it expires, with a note; it is never replaced by
/// an error while it still pays.
#[component]
pub fn CodePage() -> impl IntoView {
    let i18n = use_i18n();
    let generation = RwSignal::new(0u32);
    let code = Resource::new(move || generation.get(), |_| get_pay_code());
    // The code on screen, kept while later requests fail.
    let shown = RwSignal::new(None::<PayCode>);
    let remaining = RwSignal::new(60i64);
    // When the code on screen expires, and when to ask again (`now_secs`).
    let deadline = RwSignal::new(f64::MAX);
    let fetch_at = RwSignal::new(f64::MAX);
    let ask_in = move |secs: i64| fetch_at.set(now_secs() + secs as f64);
    let offline = RwSignal::new(false);
    let result = RwSignal::new(None::<CodeResult>);
    // A refusal (session over, account frozen): the code must not stay on screen.
    let refused = RwSignal::new(None::<AppError>);
    // Shows a code (the server's or this phone's own) and plans the next request.
    let show = move |c: PayCode| {
        remaining.set(c.expires_in);
        deadline.set(now_secs() + c.expires_in as f64);
        ask_in(refetch::after_code(c.expires_in));
        shown.set(Some(c));
        refused.set(None);
    };
    Effect::new(move |_| match code.get() {
        Some(Ok(Some(c))) => {
            keep_phone_key(&c);
            show(c);
            offline.set(false);
        }
        Some(Ok(None)) => {
            shown.set(None);
            ask_in(refetch::AFTER_USE);
            offline.set(false);
            refused.set(None);
        }
        Some(Err(AppError::Transport(_) | AppError::Internal(_))) => {
            offline.set(true);
            // A remembered phone makes its own code; others keep the last one while it pays.
            match local::load().and_then(|s| local::code(&s, now_secs() * 1000.0)) {
                Some(c) => show(c),
                None => ask_in(refetch::AFTER_FAILURE),
            }
        }
        // The page from the service worker's cache (rendered for nobody) on a remembered phone:
        // ask the network at once; without one, the phone makes its code.
        Some(Err(AppError::Unauthorized))
            if generation.get_untracked() == 0 && local::load().is_some() =>
        {
            generation.update(|g| *g = g.wrapping_add(1));
        }
        Some(Err(e)) => {
            // Neither a session nor this phone is let in any more: its key is worth nothing.
            local::forget();
            shown.set(None);
            offline.set(false);
            fetch_at.set(f64::MAX);
            refused.set(Some(e));
        }
        None => {}
    });
    // Browser only (effects do not run on the server): count down every second and ask again
    // when due.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                let now = now_secs();
                let until = deadline.get_untracked();
                if until < f64::MAX {
                    let left = (until - now).ceil().max(0.0) as i64;
                    if left != remaining.get_untracked() {
                        remaining.set(left);
                    }
                }
                if now >= fetch_at.get_untracked() {
                    ask_in(refetch::AFTER_FAILURE);
                    generation.update(|g| *g = g.wrapping_add(1));
                }
            },
            Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    Effect::new(move |_| {
        listen_for_results(move |r| {
            result.set(Some(r));
            // The code was used (or the till gave up on it): show the next one.
            generation.update(|g| *g = g.wrapping_add(1));
        })
    });
    let refresh = move |_| generation.update(|g| *g = g.wrapping_add(1));
    let full = RwSignal::new(false);
    view! {
        <WithCampus view=move |c: CampusProfile| {
            let name = localized(&c.qr_code_name);
            view! {
                <PageTitle text=Signal::derive(name.clone()) />
                <h1>{t!(i18n, code.title, code = name.clone())}</h1>
            }
        } />
        <div role="status" aria-live="polite">
            {move || result.get().map(|r| view! { <ResultCard result=r /> })}
        </div>
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                // The first answer, for the server's render; later ones arrive through `shown`.
                let first = code.await;
                move || {
                    // A later code replaces the first answer's refusal (the cached page of a
                    // remembered phone, rendered for nobody, then showing the phone's own code).
                    let refusal = refused
                        .get()
                        .or_else(|| shown.with(Option::is_none).then(|| first.clone().err()).flatten());
                    if let Some(e) = refusal.filter(|e| !matches!(e, AppError::Transport(_) | AppError::Internal(_))) {
                        return view! {
                            <p class="error" role="alert">{error_text(i18n, &e)}</p>
                            <p><A href="/login">{t!(i18n, code.login)}</A></p>
                        }
                            .into_any();
                    }
                    let current = shown.get().or_else(|| first.clone().ok().flatten());
                    // An expired code is never shown (a phone that slept may wake up to one):
                    // offline the page says so, online the next code is on its way.
                    let expired = remaining.get() == 0;
                    match current {
                        Some(c) if !expired => view! { <CodeView code=c remaining=remaining full=full /> }.into_any(),
                        Some(_) if offline.get() => view! {
                            <p class="notice" data-testid="pay-code-expired">{t!(i18n, code.expired_offline)}</p>
                        }
                            .into_any(),
                        _ => view! { <p class="loading">{t!(i18n, code.refreshing)}</p> }.into_any(),
                    }
                }
            })}
        </Transition>
        <Show when=move || offline.get()>
            {move || match shown.get().filter(|c| c.offline) {
                Some(_) => view! {
                    <p class="notice" data-testid="pay-code-offline" data-made-here="true">
                        {t!(i18n, code.offline_made, max = local::load().map(|s| money(s.key.offline_max)).unwrap_or_default())}
                    </p>
                }
                    .into_any(),
                None => view! { <p class="notice" data-testid="pay-code-offline">{t!(i18n, code.offline)}</p> }.into_any(),
            }}
        </Show>
        // Under the code, not above it: on a phone the code comes first.
        <p class="muted">{t!(i18n, code.intro)}</p>
        <p class="button-row">
            <button type="button" class="secondary" data-testid="pay-code-full" on:click=move |_| full.set(true)>{t!(i18n, code.full)}</button>
            <button type="button" class="secondary" on:click=refresh>{t!(i18n, code.refresh)}</button>
        </p>
        <p class="muted"><A href="/app">{t!(i18n, install.link)}</A></p>
    }
}

/// The code with its digits, the holder (name and the last four of the student number), and
/// the countdown. `full`: over the whole screen, as large as the screen allows, for the till's
/// scanner; a tap on "close" returns.
#[component]
fn CodeView(code: PayCode, remaining: RwSignal<i64>, full: RwSignal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let (name, tail) = (code.name.clone(), code.student_no_tail.clone());
    let grouped = code
        .digits
        .as_bytes()
        .chunks(4)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <section class="pay-code" class:full=move || full.get() data-testid="pay-code">
            <div class="qr" role="img" aria-label=move || t_string!(i18n, code.digits_label) inner_html=code.svg.clone()></div>
            <p class="digits" data-testid="pay-code-digits" data-digits=code.digits.clone()>{grouped}</p>
            <p class="code-holder" data-testid="pay-code-holder">{t!(i18n, code.holder, name = name.clone(), tail = tail.clone())}</p>
            {code.balance.map(|b| view! { <p class="code-balance" data-testid="pay-code-balance">{t!(i18n, code.balance_after, balance = money(b))}</p> })}
            <p class="countdown" data-testid="pay-code-countdown">{move || t!(i18n, code.expires, secs = remaining.get())}</p>
            <Show when=move || full.get()>
                <button type="button" class="secondary" data-testid="pay-code-close" on:click=move |_| full.set(false)>{t!(i18n, code.close)}</button>
            </Show>
        </section>
    }
}

/// A payment's result: the amount and place, with the new balance or the reason it failed.
#[component]
fn ResultCard(result: CodeResult) -> impl IntoView {
    let i18n = use_i18n();
    let amount = money(result.amount);
    let place = result.place.clone();
    match (result.decline, result.balance) {
        (None, balance) => view! {
            <section class="pay-result approved" data-testid="pay-result" data-approved="true">
                <p class="headline">{t!(i18n, code.paid, amount = amount.clone())}</p>
                <p>{t!(i18n, code.at, place = place.clone())}</p>
                {balance.map(|b| view! { <p data-testid="pay-result-balance">{t!(i18n, code.balance_after, balance = money(b))}</p> })}
            </section>
        }
            .into_any(),
        (Some(reason), _) => {
            let why = decline_text(i18n, reason);
            view! {
                <section class="pay-result declined" data-testid="pay-result" data-approved="false">
                    <p class="headline">{t!(i18n, code.declined, amount = amount.clone())}</p>
                    <p>{why}</p>
                    <p>{t!(i18n, code.at, place = place.clone())}</p>
                </section>
            }
                .into_any()
        }
    }
}

/// Listens to `/events/pay-code` while the page is open (the browser reconnects by itself
/// after a dropped connection; it stops for good when the session is over).
#[cfg(feature = "hydrate")]
fn listen_for_results(on_result: impl Fn(CodeResult) + 'static) {
    use leptos::wasm_bindgen::{JsCast, closure::Closure};
    let Ok(source) = web_sys::EventSource::new("/events/pay-code") else {
        return;
    };
    let handler =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            if let Some(text) = ev.data().as_string()
                && let Ok(r) = serde_json::from_str::<CodeResult>(&text)
            {
                on_result(r);
            }
        });
    if source
        .add_event_listener_with_callback("result", handler.as_ref().unchecked_ref())
        .is_err()
    {
        source.close();
        return;
    }
    // Kept until the page goes away, then closed (the handler is dropped with it).
    let kept = StoredValue::new_local((source, handler));
    on_cleanup(move || {
        kept.try_with_value(|(source, _)| source.close());
    });
}

#[cfg(not(feature = "hydrate"))]
fn listen_for_results(_on_result: impl Fn(CodeResult) + 'static) {}
