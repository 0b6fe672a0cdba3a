//! The worker that hands the outbox to the mail server and the push services.
//!
//! `notices` is the outbox: each notice is written in its event's transaction. The worker,
//! every half second:
//! 1. dispatches the notices not yet dispatched: a notice becomes an e-mail if its holder has
//!    a confirmed address and wants that event by e-mail, and a push to each of the holder's
//!    browsers if they want it pushed (`domain::notices::by_channel`), each a delivery with
//!    its idempotency key and the time it may go out (`domain::delivery::send_at`), all in the
//!    transaction that marks the notice dispatched;
//! 2. takes the deliveries that are due, one at a time, each for `domain::delivery::LEASE`,
//!    and sends it (`mail::Mailer::send`, `push::Pusher::send`); a silence or a temporary
//!    refusal is tried again later (`domain::delivery::after_failure`), a permanent refusal is
//!    given up at once, and the last try's failure too, for the operators' list. A browser its
//!    push service calls gone is forgotten.
//!
//! A server stopped in the middle of a send leaves the delivery taken; once the lease has run
//! out, the next server sends it again. A message the other side had not yet accepted arrives
//! once; one it had accepted just before the stop arrives again with the same key (delivery
//! is at least once; the `Message-ID`, or the notification's tag, makes it the same message).

use super::AppState;
use super::domain::delivery::{self, Retry};
use super::domain::notices::{Channel, by_channel};
use super::outbox::Refused;
use super::push::Pusher;
use crate::server::store::{NewDelivery, StoreError, Taken, Tried};
use std::sync::Mutex;
use std::time::Duration;

/// How often the worker looks for work (real time).
const TICK: Duration = Duration::from_millis(500);
/// How many notices or deliveries one tick handles at most.
const BATCH: usize = 50;

/// The worker, while the server serves.
#[derive(Default)]
pub struct Courier {
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Courier {
    /// Starts the worker (once), if the server has a mail server or push to send by. The
    /// server does when it starts serving; commands that only build the state do not.
    pub fn start(&self, state: AppState) {
        if state.mailer.is_none() && state.pusher.is_none() {
            return;
        }
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = work(&state).await {
                    tracing::warn!(error = %e, "the notice worker could not reach the database");
                }
            }
        });
        if let Ok(mut worker) = self.worker.lock()
            && let Some(old) = worker.replace(handle)
        {
            old.abort();
        }
    }

    /// Stops the worker wherever it is, a send included (as a crash would).
    pub fn stop(&self) {
        if let Ok(mut worker) = self.worker.lock()
            && let Some(handle) = worker.take()
        {
            handle.abort();
        }
    }
}

async fn work(state: &AppState) -> Result<(), StoreError> {
    // Notices too old to send (written while no worker ran: the campus had neither channel)
    // are dispatched at once, all of them, rather than read 50 at a time before the new ones.
    state
        .db
        .skip_stale_notices(state.now() - delivery::DISPATCH_WITHIN)
        .await?;
    for notice in state.db.undispatched_notices(BATCH as i64).await? {
        // What the holder chose now, not when the notice was made.
        let prefs = state.db.notice_prefs(notice.holder_id).await?;
        let now = state.now();
        let made = chrono::DateTime::parse_from_rfc3339(&notice.notice.at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or(now);
        let next_at = delivery::send_at(notice.security, now);
        let mut deliveries: Vec<NewDelivery> = Vec::new();
        if delivery::still_worth_sending(made, now) {
            if let Some(mailer) = &state.mailer
                && by_channel(notice.notice.kind, &prefs, Channel::Email)
            {
                deliveries.extend(mailer.delivery_of(&notice, next_at));
            }
            if state.pusher.is_some() && by_channel(notice.notice.kind, &prefs, Channel::Push) {
                // A security notice also goes to the browsers of the sessions its event ended
                // (the password changed: the student hears of it everywhere).
                let ended_since = notice.security.then_some(made);
                for browser in state
                    .db
                    .push_subscriptions(notice.holder_id, ended_since)
                    .await?
                {
                    deliveries.push(Pusher::delivery_of(&notice, &browser, next_at));
                }
            }
        }
        state
            .db
            .dispatch_notice(notice.notice.id, &deliveries)
            .await?;
    }
    // One at a time, each taken just before its send: a slow server never keeps a taken
    // delivery waiting past its lease.
    for _ in 0..BATCH {
        let now = state.now();
        let Some(t) = state.db.take_delivery(now, now + delivery::LEASE).await? else {
            break;
        };
        let mut gone = false;
        let tried = match send(state, &t).await {
            Ok(()) => Tried::Sent,
            Err(refused) => {
                let Refused {
                    error, permanent, ..
                } = refused;
                gone = refused.gone;
                tracing::warn!(delivery = t.id, channel = t.channel.as_str(), attempt = t.attempts, permanent, %error, "a notice was not accepted");
                match delivery::after_failure(t.attempts, t.urgent, state.now()) {
                    Retry::At(at) if !permanent => Tried::Again { at, error },
                    _ => Tried::GaveUp { error },
                }
            }
        };
        // The send happened: a database that fails now must not stop the others. The
        // delivery stays taken, and is sent again when its lease runs out.
        match state.db.finish_delivery(&t, &tried, state.now()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    delivery = t.id,
                    "a notice's lease ran out before its send ended"
                )
            }
            Err(e) => {
                tracing::error!(delivery = t.id, error = %e, "a notice's outcome was not recorded")
            }
        }
        // Given up above (for the operators' list); what else waits for the browser goes.
        if gone
            && let Some(id) = t.subscription_id
            && let Err(e) = state.db.forget_push_subscription(t.holder_id, id).await
        {
            tracing::error!(delivery = t.id, error = %e, "a gone browser was not forgotten");
        }
    }
    Ok(())
}

/// Sends by the delivery's channel; one whose channel the server no longer has waits for it.
async fn send(state: &AppState, t: &Taken) -> Result<(), Refused> {
    let missing = |what: &str| Refused {
        error: format!("this server has no {what} now"),
        permanent: false,
        gone: false,
    };
    match t.channel {
        Channel::Email => match &state.mailer {
            Some(mailer) => mailer.send(t).await,
            None => Err(missing("mail server")),
        },
        Channel::Push => match &state.pusher {
            Some(pusher) => pusher.send(t, state.now()).await,
            None => Err(missing("Web Push")),
        },
    }
}
