use crate::components::{PageTitle, WithCampus, localized};
use crate::i18n::*;
use crate::model::CampusProfile;
use crate::pages::card::AppList;
use leptos::prelude::*;

/// Questions people bring to the service centre, answered. `<details>` works without wasm.
#[component]
pub fn FaqPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, faq.title).to_string()) />
        <h1>{t!(i18n, faq.title)}</h1>
        <WithCampus view=move |c: CampusProfile| {
            let code = localized(&c.qr_code_name);
            let phone = c.office_phone.clone();
            view! {
                <div class="faq" data-testid="faq">
                    <details open>
                        <summary>{t!(i18n, faq.q_virtual, code = code.clone())}</summary>
                        <p>{t!(i18n, faq.a_virtual, code = code.clone())}</p>
                        <AppList profile=c.clone() />
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_devices)}</summary>
                        <p>{t!(i18n, faq.a_devices)}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_card_no)}</summary>
                        <p>{t!(i18n, faq.a_card_no)}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_auto_topup)}</summary>
                        <p>{t!(i18n, faq.a_auto_topup, phone = phone.clone())}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_withdraw)}</summary>
                        <p>{t!(i18n, faq.a_withdraw)}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_balance)}</summary>
                        <p>{t!(i18n, faq.a_balance)}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_gates)}</summary>
                        <p>{t!(i18n, faq.a_gates)}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_forgot)}</summary>
                        <p>{t!(i18n, faq.a_forgot)}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_lost)}</summary>
                        <p>{t!(i18n, faq.a_lost)}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_found_own)}</summary>
                        <p>{t!(i18n, faq.a_found_own)}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_found_other)}</summary>
                        <p>{t!(i18n, faq.a_found_other)}</p>
                    </details>
                    <details>
                        <summary>{t!(i18n, faq.q_broken)}</summary>
                        <p>{t!(i18n, faq.a_broken)}</p>
                    </details>
                </div>
            }
        } />
    }
}
