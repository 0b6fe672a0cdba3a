//! Enrolment: one holder typed at the counter, or a CSV file of enrolment data. Every row is
//! checked; a file with any bad row enrols nobody; importing the same file again changes
//! nothing.

use crate::api::staff::{EnrolHolder, ImportHolders};
use crate::components::PageTitle;
use crate::components::labels::{ActionError, error_text};
use crate::error::AppError;
use crate::i18n::*;
use crate::staff_model::ImportReport;
use leptos::form::ActionForm;
use leptos::prelude::*;

#[component]
pub fn EnrolPage() -> impl IntoView {
    let i18n = use_i18n();
    let single = ServerAction::<EnrolHolder>::new();
    let import = ServerAction::<ImportHolders>::new();
    view! {
        <PageTitle text=Signal::derive(move || t_string!(i18n, staff.enrol_title).to_string()) />
        <h1>{t!(i18n, staff.enrol_title)}</h1>
        <div class="two-col">
            <section class="panel">
                <h2>{t!(i18n, staff.import_title)}</h2>
                <p class="muted">{t!(i18n, staff.import_intro)}</p>
                <pre class="sample">"student_no,name,kind,department,class_name,id_doc_kind,id_number,phone,chip_serial\n2026010001,赵一鸣,student,计算机工程学院,计算机26级1班,resident_id,44030120060101123X,13812345678,0A1B2C3D"</pre>
                <ActionForm action=import attr:class="form" attr:data-testid="import-form">
                    <CsvFields />
                    <ActionError result=import.value() />
                    <button type="submit" class="primary" disabled=move || import.pending().get()>{t!(i18n, staff.import_submit)}</button>
                </ActionForm>
                {move || import.value().get().and_then(|r| r.ok()).map(|r| view! { <ImportResult report=r /> })}
            </section>
            <section class="panel">
                <h2>{t!(i18n, staff.enrol_one)}</h2>
                <ActionForm action=single attr:class="form" attr:data-testid="enrol-form">
                    <label for="e-no">{t!(i18n, staff.student_no)}</label>
                    <input id="e-no" name="student_no" type="text" required />
                    <label for="e-name">{t!(i18n, staff.name)}</label>
                    <input id="e-name" name="name" type="text" required />
                    <label for="e-kind">{t!(i18n, staff.kind)}</label>
                    <select id="e-kind" name="kind">
                        <option value="student">{t!(i18n, staff.kind_student)}</option>
                        <option value="faculty">{t!(i18n, staff.kind_faculty)}</option>
                    </select>
                    <label for="e-dept">{t!(i18n, staff.department)}</label>
                    <input id="e-dept" name="department" type="text" />
                    <label for="e-class">{t!(i18n, staff.class_name)}</label>
                    <input id="e-class" name="class_name" type="text" />
                    <label for="e-doc">{t!(i18n, staff.id_doc_kind)}</label>
                    <select id="e-doc" name="id_doc_kind">
                        <option value="resident_id">{t!(i18n, staff.doc_resident)}</option>
                        <option value="passport">{t!(i18n, staff.doc_passport)}</option>
                        <option value="hk_macau_permit">{t!(i18n, staff.doc_hk_macau)}</option>
                    </select>
                    <label for="e-id">{t!(i18n, staff.id_number)}</label>
                    <input id="e-id" name="id_number" type="text" autocomplete="off" required />
                    <label for="e-phone">{t!(i18n, staff.phone)}</label>
                    <input id="e-phone" name="phone" type="tel" />
                    <label for="e-serial">{t!(i18n, staff.chip_serial_optional)}</label>
                    <input id="e-serial" name="chip_serial" type="text" />
                    <ActionError result=single.value() />
                    <button type="submit" class="primary" disabled=move || single.pending().get()>{t!(i18n, staff.enrol_submit)}</button>
                </ActionForm>
                {move || single.value().get().and_then(|r| r.ok()).map(|r| view! { <ImportResult report=r /> })}
            </section>
        </div>
    }
}

/// A CSV list's fields in a form: a file to read, or the text pasted (the form sends `csv`
/// and `file_name`). Reading the file needs the wasm; the text area works without it.
#[component]
pub fn CsvFields() -> impl IntoView {
    let i18n = use_i18n();
    let (csv, set_csv) = signal(String::new());
    let (file_name, set_file_name) = signal(String::new());
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                set_file_name.set(file.name());
                let text = file.text();
                leptos::task::spawn_local(async move {
                    if let Ok(value) = wasm_bindgen_futures::JsFuture::from(text).await
                        && let Some(text) = value.as_string()
                    {
                        set_csv.set(text);
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, set_csv, set_file_name);
    };
    view! {
        <label for="csv-file">{t!(i18n, staff.csv_file)}</label>
        <input id="csv-file" type="file" accept=".csv,text/csv" on:change=on_file data-testid="csv-file" />
        <label for="csv-text">{t!(i18n, staff.csv_text)}</label>
        <textarea id="csv-text" name="csv" rows="8" prop:value=move || csv.get() on:input=move |ev| set_csv.set(event_target_value(&ev)) data-testid="csv-text"></textarea>
        <input type="hidden" name="file_name" prop:value=move || file_name.get() />
    }
}

#[component]
fn ImportResult(report: ImportReport) -> impl IntoView {
    let i18n = use_i18n();
    if report.errors.is_empty() {
        return view! {
            <p class="notice ok" role="status" data-testid="import-done">
                {t!(i18n, staff.import_done, rows = report.rows, created = report.created, unchanged = report.unchanged)}
            </p>
        }
        .into_any();
    }
    view! {
        <div class="notice" role="alert" data-testid="import-errors">
            <p>{t!(i18n, staff.import_refused, n = report.errors.len())}</p>
            <ul>
                {report.errors.into_iter().map(|e| {
                    let text = error_text(i18n, &AppError::Rejected(e.problem.clone()));
                    view! { <li>{t!(i18n, staff.line, line = e.line)} ": " {text}</li> }
                }).collect_view()}
            </ul>
        </div>
    }
    .into_any()
}
