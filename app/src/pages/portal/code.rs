use crate::api::portal::get_pay_code;
use crate::components::{PageTitle, WithCampus, localized};
use crate::i18n::*;
use crate::model::CampusProfile;
use leptos::prelude::*;
use std::time::Duration;

/// The 深职通码 full width, black on white, with its digits underneath (for scanners that read
/// typed digits, and for cashiers), a countdown, and automatic renewal: shortly before expiry,
/// and within seconds after the code is used at a terminal.
#[component]
pub fn CodePage() -> impl IntoView {
    let i18n = use_i18n();
    let generation = RwSignal::new(0u32);
    let remaining = RwSignal::new(60i64);
    let code = Resource::new(move || generation.get(), |_| get_pay_code());
    Effect::new(move |_| {
        if let Some(Ok(Some(c))) = code.get() {
            remaining.set(c.expires_in);
        }
    });
    // Browser only (effects do not run on the server): tick every second; ask the server again
    // every 3 s (it answers with a fresh code once this one was used) and before expiry.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                remaining.update(|r| *r = (*r - 1).max(0));
                let r = remaining.get_untracked();
                if r <= 5 || r % 3 == 0 {
                    generation.update(|g| *g = g.wrapping_add(1));
                }
            },
            Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <WithCampus view=move |c: CampusProfile| {
            let name = localized(&c.qr_code_name);
            view! {
                <PageTitle text=Signal::derive(name.clone()) />
                <h1>{t!(i18n, code.title, code = name.clone())}</h1>
            }
        } />
        <p class="muted">{t!(i18n, code.intro)}</p>
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                code.await.map(|c| match c {
                    None => view! { <p class="loading">{t!(i18n, code.refreshing)}</p> }.into_any(),
                    Some(c) => {
                        let grouped = c
                            .digits
                            .as_bytes()
                            .chunks(4)
                            .map(|g| String::from_utf8_lossy(g).into_owned())
                            .collect::<Vec<_>>()
                            .join(" ");
                        view! {
                            <section class="pay-code" data-testid="pay-code">
                                <div class="qr" role="img" aria-label=move || t_string!(i18n, code.digits_label) inner_html=c.svg.clone()></div>
                                <p class="digits" data-testid="pay-code-digits" data-digits=c.digits.clone()>{grouped}</p>
                                <p class="countdown" data-testid="pay-code-countdown">{move || t!(i18n, code.expires, secs = remaining.get())}</p>
                            </section>
                        }
                            .into_any()
                    }
                })
            })}
        </Transition>
    }
}
