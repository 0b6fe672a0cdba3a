//! `GET /events/pay-code`: the 深职通码 page's stream of payment results (server-sent events;
//! `app::server::code_events` holds the listeners).
//!
//! The stream needs the holder's session cookie (or a remembered phone's) and a same-origin
//! request. It never prolongs the session, and it ends when the session (or the binding) does (checked at each result and every minute),
//! when the server shuts down, when the page goes away, or when a fifth page of the same
//! holder takes its place. Each result is one event named
//! `result` whose data is a `CodeResult` in JSON.

use app::server::code_events::Listener;
use app::server::phone::{self, Credential};
use app::server::{AppState, client_from_parts};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often an idle stream checks that its session is still alive.
const SESSION_CHECK: Duration = Duration::from_secs(60);

pub async fn pay_code(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !crate::same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    let client = client_from_parts(&headers, Some(peer), state.secure_cookies);
    let viewer = match phone::code_viewer(&state, &client, false).await {
        Ok(viewer) => viewer,
        Err(e) => return e.into_response(),
    };
    // `None` only while the server shuts down.
    let Some(listener) = state.code_events.listen(viewer.holder_id) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    };
    let stream = futures::stream::unfold(
        Open {
            listener,
            state,
            credential: viewer.credential(),
            check: tokio::time::interval_at(
                tokio::time::Instant::now() + SESSION_CHECK,
                SESSION_CHECK,
            ),
        },
        |mut open| async move {
            let event = open.next().await?;
            Some((Ok::<_, Infallible>(event), open))
        },
    );
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    // A reverse proxy (nginx) must pass each event on at once, not buffer it.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// One open stream.
struct Open {
    listener: Listener,
    state: AppState,
    credential: Credential,
    check: tokio::time::Interval,
}

impl Open {
    /// The next event to send, or `None` when the stream is over.
    async fn next(&mut self) -> Option<Event> {
        loop {
            tokio::select! {
                received = self.listener.results.recv() => match received {
                    Ok(result) => {
                        if !self.alive().await {
                            return None;
                        }
                        return Event::default().event("result").json_data(&result).ok();
                    }
                    // A slow reader missed the oldest results; the newest still come.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                },
                _ = self.check.tick() => {
                    if !self.alive().await {
                        return None;
                    }
                }
                _ = self.listener.ended.changed() => return None,
            }
        }
    }

    async fn alive(&self) -> bool {
        phone::still_open(&self.state, &self.credential)
            .await
            .unwrap_or(false)
    }
}
