//! HTTP side of top-ups: the providers' notification endpoint, and the sandbox provider's own
//! pay page (which a real deployment replaces with the bank's or WeChat's).

use app::model::{Channel, TopupStatus};
use app::server::topup::{self, NotifyError};
use app::server::{AppState, auth, client_from_parts};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;

pub const SANDBOX_SIGNATURE: &str = "x-sandbox-signature";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/topup/notify/sandbox", post(notify))
        .route("/sandbox/pay/{order_no}", get(pay_page).post(pay_decision))
}

/// A provider's asynchronous notification. Answers `SUCCESS` once it is handled (also for a
/// duplicate), so the provider stops retrying; anything else makes it retry later.
async fn notify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get(SANDBOX_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match topup::notify(&state, signature, &body).await {
        Ok(status) => {
            axum::Json(serde_json::json!({ "code": "SUCCESS", "status": status.as_str() }))
                .into_response()
        }
        Err(e) => {
            let status = match e {
                NotifyError::BadSignature => StatusCode::UNAUTHORIZED,
                NotifyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            tracing::warn!(error = %e, "refused a top-up notification");
            let message = match e {
                NotifyError::Internal(inner) => app::server::internal(inner).to_string(),
                other => other.to_string(),
            };
            (
                status,
                axum::Json(serde_json::json!({ "code": "FAIL", "message": message })),
            )
                .into_response()
        }
    }
}

/// The order, when the sandbox is on and the logged-in holder owns it (the sandbox stands in
/// for the payer authenticating with their bank or WeChat).
async fn own_order(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    order_no: &str,
) -> Result<app::server::store::OrderRow, Response> {
    if state.sandbox.is_none() {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let client = client_from_parts(headers, Some(peer), state.secure_cookies);
    let session = auth::require_holder(state, &client, false)
        .await
        .map_err(|_| Redirect::to("/login").into_response())?;
    match state.db.order(order_no).await {
        Ok(Some(order)) if order.holder_id == session.holder_id => Ok(order),
        Ok(_) => Err((StatusCode::NOT_FOUND, "no such order").into_response()),
        Err(e) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            app::server::internal(e).to_string(),
        )
            .into_response()),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn pay_page(
    State(state): State<AppState>,
    nonce: Option<axum::Extension<leptos::nonce::Nonce>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(order_no): Path<String>,
) -> Response {
    let order = match own_order(&state, &headers, peer, &order_no).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (brand, colour) = match order.channel {
        Channel::Wechat => ("微信支付 WeChat Pay · 沙箱 Sandbox", "#07c160"),
        _ => ("银行卡支付 Bank card · 沙箱 Sandbox", "#1d4ed8"),
    };
    let body = if order.status == TopupStatus::Pending {
        format!(
            r#"<form method="post"><input type="hidden" name="decision" value="pay">
<button type="submit" class="pay" data-testid="sandbox-pay">确认支付 Pay {amount}</button></form>
<form method="post"><input type="hidden" name="decision" value="fail">
<button type="submit" class="fail" data-testid="sandbox-fail">模拟失败 Simulate a failure</button></form>"#,
            amount = escape(&order.amount.to_string())
        )
    } else {
        format!(
            r#"<p>此订单已处理 This order is already {status}.</p><p><a href="/portal/topup?order={no}">返回 Back</a></p>"#,
            status = order.status.as_str(),
            no = escape(&order.order_no)
        )
    };
    Html(format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{brand}</title>
<style nonce="{nonce}">
body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;background:#f3f4f6;color:#111}}
header{{background:{colour};color:#fff;padding:1rem;font-weight:600}}
main{{max-width:28rem;margin:1.5rem auto;background:#fff;padding:1.5rem;border-radius:.75rem}}
.amount{{font-size:2.5rem;font-weight:700;margin:.5rem 0}}
button{{width:100%;padding:.9rem;font-size:1.1rem;border-radius:.5rem;border:0;margin-top:.75rem;cursor:pointer}}
.pay{{background:{colour};color:#fff}} .fail{{background:#e5e7eb;color:#111}}
small{{color:#555}}
</style></head><body><header>{brand}</header><main>
<p>收款方 Payee: 校园一卡通 Campus card top-up</p>
<p class="amount" data-testid="sandbox-amount">{amount}</p>
<p><small>订单号 Order {no}</small></p>
{body}
<p><small>This is the sandbox provider shipped with Yikatong: no real money moves.</small></p>
</main></body></html>"#,
        amount = escape(&order.amount.to_string()),
        no = escape(&order.order_no),
        nonce = nonce.map(|n| n.0.to_string()).unwrap_or_default(),
    ))
    .into_response()
}

#[derive(serde::Deserialize)]
struct Decision {
    decision: String,
}

async fn pay_decision(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(order_no): Path<String>,
    Form(decision): Form<Decision>,
) -> Response {
    let order = match own_order(&state, &headers, peer, &order_no).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Some(sandbox) = state.sandbox.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if order.status == TopupStatus::Pending {
        topup::sandbox_complete(state.clone(), sandbox, order, decision.decision == "pay");
    }
    Redirect::to(&format!("/portal/topup?order={order_no}")).into_response()
}
