//! E-mail for notices: the worker that hands the outbox to the mail server.
//!
//! `notices` is the outbox: each notice is written in its event's transaction. The worker,
//! every half second:
//! 1. dispatches the notices not yet dispatched: a notice whose holder has a confirmed address
//!    and wants that event by e-mail (`domain::notices::by_email`) becomes a delivery (its
//!    text in Chinese and English, its idempotency key, the time it may go out:
//!    `domain::delivery::send_at`), in the transaction that marks it dispatched;
//! 2. takes the deliveries that are due, one at a time, each for `domain::delivery::LEASE`,
//!    and sends it with its key as the `Message-ID`; a silence or a temporary refusal is tried
//!    again later (`domain::delivery::after_failure`), a permanent refusal (5xx) is given up at
//!    once, and the last try's failure too, for the operators' list.
//!
//! A server stopped in the middle of a send leaves the delivery taken; once the lease has run
//! out, the next server sends it again. A message the mail server had not yet accepted
//! arrives once; one it had accepted just before the stop arrives again with the same
//! `Message-ID` (delivery is at least once).

use super::AppState;
use super::domain::delivery::{self, Retry};
use crate::components::labels::notice_text_in;
use crate::i18n::Locale;
use crate::server::store::{NewDelivery, Taken, Tried, Undispatched};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the worker looks for work (real time).
const TICK: Duration = Duration::from_millis(500);
/// How many notices or deliveries one tick handles at most.
const BATCH: usize = 50;

/// The campus's mail server and the worker sending through it.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The portal's address as students reach it (`https://card.example.edu.cn`), for links.
    pub public_url: String,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Mailer {
    /// `smtp_url`: `smtp://host:25` (plain, for a relay on the same machine), `smtp://host:587?tls=required`
    /// or `smtps://user:password@host:465`; `from`: `一卡通 <card@example.edu.cn>`.
    pub fn new(smtp_url: &str, from: &str, public_url: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| format!("the SMTP URL is not one lettre reads: {e}"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("the sender address is not an address: {e}"))?;
        Ok(Self {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_string(),
            worker: Mutex::new(None),
        })
    }

    /// Starts the worker (once). The server does when it starts serving; commands that only
    /// build the state (`create-admin`) do not.
    pub fn start(self: &Arc<Self>, state: AppState) {
        let mailer = self.clone();
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = mailer.work(&state).await {
                    tracing::warn!(error = %e, "the mail worker could not reach the database");
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

    async fn work(&self, state: &AppState) -> Result<(), crate::server::store::StoreError> {
        for notice in state.db.undispatched_notices(BATCH as i64).await? {
            // What the holder chose for e-mail now, not when the notice was made.
            let by_email = notice.address.is_some()
                && crate::server::domain::notices::by_email(
                    notice.notice.kind,
                    &state.db.notice_prefs(notice.holder_id).await?,
                );
            let delivery = by_email
                .then(|| self.delivery_of(&notice, state.now()))
                .flatten();
            state
                .db
                .dispatch_notice(notice.notice.id, delivery.as_ref())
                .await?;
        }
        // One at a time, each taken just before its send: a slow mail server never keeps a
        // taken delivery waiting past its lease.
        for _ in 0..BATCH {
            let now = state.now();
            let Some(t) = state.db.take_delivery(now, now + delivery::LEASE).await? else {
                break;
            };
            let tried = match self.send(&t).await {
                Ok(()) => Tried::Sent,
                Err(Refused { error, permanent }) => {
                    tracing::warn!(delivery = t.id, attempt = t.attempts, permanent, %error, "an e-mail was not accepted");
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
                        "an e-mail's lease ran out before its send ended"
                    )
                }
                Err(e) => {
                    tracing::error!(delivery = t.id, error = %e, "an e-mail's outcome was not recorded")
                }
            }
        }
        Ok(())
    }

    /// The e-mail of a notice, if its holder has a confirmed address.
    fn delivery_of(
        &self,
        n: &Undispatched,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<NewDelivery> {
        let address = n.address.clone()?;
        let made = chrono::DateTime::parse_from_rfc3339(&n.notice.at).ok()?;
        if !delivery::still_worth_sending(made.with_timezone(&chrono::Utc), now) {
            return None;
        }
        let (zh, en) = (
            notice_text_in(Locale::zh, &n.notice),
            notice_text_in(Locale::en, &n.notice),
        );
        let subject = if n.security {
            "校园卡安全提醒 · Campus card security notice"
        } else {
            "校园卡提醒 · Campus card notice"
        };
        let body = format!(
            "{zh}\n\n{en}\n\n--\n在“消息”页可以更改提醒设置。Change what you are told on the Notices page:\n{}/portal/notices\n",
            self.public_url
        );
        Some(NewDelivery {
            holder_id: n.holder_id,
            notice_id: Some(n.notice.id),
            address,
            subject: subject.to_string(),
            body,
            key: delivery::notice_key(n.notice.id),
            next_at: delivery::send_at(n.security, now),
        })
    }

    /// The message asking to confirm `address` by the link with `token`.
    pub fn confirmation(
        &self,
        holder_id: i64,
        address: &str,
        token: &str,
        key: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> NewDelivery {
        let link = format!("{}/email/confirm?token={token}", self.public_url);
        NewDelivery {
            holder_id,
            notice_id: None,
            address: address.to_string(),
            subject: "确认您的邮箱 · Confirm your e-mail address".into(),
            body: format!(
                "请打开以下链接，确认用此邮箱接收校园卡提醒（48 小时内有效）：\n{link}\n\n\
                 Open this link to receive your campus card's notices at this address (it works for 48 hours):\n{link}\n\n\
                 如果不是您本人的操作，请忽略此邮件。If you did not ask for this, ignore this message.\n"
            ),
            key,
            next_at: now,
        }
    }

    async fn send(&self, t: &Taken) -> Result<(), Refused> {
        let to: Mailbox = t.address.parse().map_err(|e| Refused {
            error: format!("address: {e}"),
            permanent: true,
        })?;
        let domain = self.from.email.domain().to_string();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(t.subject.clone())
            .message_id(Some(format!("<{}@{domain}>", t.key)))
            .header(ContentType::TEXT_PLAIN)
            .body(t.body.clone())
            .map_err(|e| Refused {
                error: format!("message: {e}"),
                permanent: true,
            })?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Refused {
                permanent: e.is_permanent(),
                error: e.to_string(),
            })
    }
}

/// Why a send did not happen; `permanent`: the mail server refused for good (5xx), or the
/// message could not be made.
struct Refused {
    error: String,
    permanent: bool,
}
