use crate::components::PageTitle;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_router::components::A;

/// How to add the app to the home screen, on iOS and on Android (the browsers' own menus: a
/// web page cannot add itself).
#[component]
pub fn InstallPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, install.title).to_string()) />
        <h1>{t!(i18n, install.title)}</h1>
        <p class="lead">{t!(i18n, install.intro)}</p>
        <section class="panel" data-testid="install-ios">
            <h2>{t!(i18n, install.ios_title)}</h2>
            <ol>
                <li>{t!(i18n, install.ios_1)}</li>
                <li>{t!(i18n, install.ios_2)}</li>
                <li>{t!(i18n, install.ios_3)}</li>
            </ol>
        </section>
        <section class="panel" data-testid="install-android">
            <h2>{t!(i18n, install.android_title)}</h2>
            <ol>
                <li>{t!(i18n, install.android_1)}</li>
                <li>{t!(i18n, install.android_2)}</li>
                <li>{t!(i18n, install.android_3)}</li>
            </ol>
        </section>
        <p class="muted">{t!(i18n, install.wechat)}</p>
        <p class="muted">{t!(i18n, install.offline)}</p>
        <p><A href="/portal/code">{t!(i18n, install.open_code)}</A></p>
    }
}
