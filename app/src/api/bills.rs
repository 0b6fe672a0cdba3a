//! Bills (待缴费): the holder's list and payment, and the card office's list, issue and
//! cancel. Holders are checked by `as_holder`, staff by `guarded` with the roles of
//! `staff_model::roles` (and the authorization matrix in `server/tests/staff.rs`).

use crate::bill_model::{BillPaid, BillsIssued, MyBills, OfficeBills};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::bills;
#[cfg(feature = "ssr")]
use crate::staff_model::roles;

/// The holder's bills: what is to pay, and the latest paid and cancelled.
#[server(prefix = "/api", endpoint = "bills")]
pub async fn get_my_bills() -> Result<MyBills, AppError> {
    crate::api::as_holder(false, |state, _client, s| async move {
        bills::mine(&state, &s).await
    })
    .await
}

/// Pays one of the holder's bills from the card balance.
#[server(prefix = "/api", endpoint = "pay_bill")]
pub async fn pay_bill(bill_id: i64) -> Result<BillPaid, AppError> {
    crate::api::as_holder(false, |state, client, s| async move {
        let paid = bills::pay(&state, &s, &client, bill_id).await?;
        crate::api::after_plain_form(&format!("/portal/bills?paid={bill_id}"));
        Ok(paid)
    })
    .await
}

/// The card office's list of bills, with the totals. `status`: `unpaid`, `paid`, `cancelled`
/// or empty for all; `q`: a student number, or words of a title or department; `before`: the
/// next page's start.
#[server(prefix = "/api", endpoint = "staff/bills")]
pub async fn get_office_bills(
    #[server(default)] status: String,
    #[server(default)] q: String,
    #[server(default)] before: Option<i64>,
) -> Result<OfficeBills, AppError> {
    crate::api::staff::guarded(roles::READ, |s, _| async move {
        bills::office_list(&s, &status, &q, before).await
    })
    .await
}

/// Issues one bill at the counter. Answers its number.
#[server(prefix = "/api", endpoint = "staff/issue_bill")]
pub async fn issue_bill(
    student_no: String,
    title: String,
    department: String,
    amount: String,
    due_on: String,
) -> Result<i64, AppError> {
    crate::api::staff::guarded(roles::COUNTER, |s, who| async move {
        bills::issue_one(&s, &who, &student_no, &title, &department, &amount, &due_on).await
    })
    .await
}

/// Issues a list of bills (CSV): all of them, or none and the refused lines.
#[server(prefix = "/api", endpoint = "staff/issue_bills")]
pub async fn issue_bills(
    csv: String,
    #[server(default)] file_name: String,
) -> Result<BillsIssued, AppError> {
    crate::api::staff::guarded(roles::COUNTER, |s, who| async move {
        bills::issue_list(&s, &who, &csv, &file_name).await
    })
    .await
}

/// Cancels an unpaid bill, with the reason.
#[server(prefix = "/api", endpoint = "staff/cancel_bill")]
pub async fn cancel_bill(bill_id: i64, reason: String) -> Result<(), AppError> {
    crate::api::staff::guarded(roles::COUNTER, |s, who| async move {
        bills::cancel(&s, &who, bill_id, &reason).await
    })
    .await
}
