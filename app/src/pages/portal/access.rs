//! `/portal/access`: the holder's own gate and attendance records.

use crate::api::topup::get_access_records;
use crate::components::PageTitle;
use crate::components::labels::{campus_time, decline_text, device_kind_label};
use crate::i18n::*;
use leptos::prelude::*;

#[component]
pub fn AccessPage() -> impl IntoView {
    let i18n = use_i18n();
    let records = Resource::new(|| (), |_| get_access_records());
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, access.title).to_string()) />
        <h1>{t!(i18n, access.title)}</h1>
        <p>{t!(i18n, access.intro)}</p>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                records.await.map(|rows| {
                    if rows.is_empty() {
                        return view! { <p data-testid="access-none">{t!(i18n, access.none)}</p> }.into_any();
                    }
                    view! {
                        <div class="table-wrap" tabindex="0">
                            <table class="entries" data-testid="access-records">
                                <thead>
                                    <tr>
                                        <th scope="col">{t!(i18n, access.when)}</th>
                                        <th scope="col">{t!(i18n, access.place)}</th>
                                        <th scope="col">{t!(i18n, access.device)}</th>
                                        <th scope="col">{t!(i18n, access.result)}</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows.into_iter().map(|r| {
                                        let method = if r.method == "code" { t_string!(i18n, access.by_code) } else { t_string!(i18n, access.by_card) };
                                        view! {
                                            <tr data-testid="access-row" data-allowed=r.allowed.to_string()>
                                                <td>{campus_time(&r.at)}</td>
                                                <td>{r.place.clone()}</td>
                                                <td>{device_kind_label(i18n, r.kind)} " (" {method} ")"</td>
                                                <td class=if r.allowed { "ok" } else { "declined" }>
                                                    {if r.allowed { t_string!(i18n, access.allowed).to_string() } else {
                                                        format!("{} · {}", t_string!(i18n, access.denied), r.reason.map(|d| decline_text(i18n, d)).unwrap_or_default())
                                                    }}
                                                </td>
                                            </tr>
                                        }
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
