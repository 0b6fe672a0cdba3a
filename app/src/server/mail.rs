//! E-mail for notices: the campus's mail server, the e-mail of a notice and of a confirmation
//! link, and the send of one delivery. The worker that dispatches and takes the deliveries is
//! `server::courier`'s, with the rules of `domain::delivery`.

use super::domain::delivery;
use super::domain::notices::Channel;
use super::outbox::{Refused, notice_texts};
use crate::server::store::{NewDelivery, Taken, Undispatched};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// The campus's mail server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The portal's address as students reach it (`https://card.example.edu.cn`), for links.
    pub public_url: String,
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
        })
    }

    /// The e-mail of a notice, if its holder has a confirmed address, to go out at `next_at`.
    pub(crate) fn delivery_of(
        &self,
        n: &Undispatched,
        next_at: chrono::DateTime<chrono::Utc>,
    ) -> Option<NewDelivery> {
        let address = n.address.clone()?;
        let (subject, zh, en) = notice_texts(n);
        let body = format!(
            "{zh}\n\n{en}\n\n--\n在“消息”页可以更改提醒设置。Change what you are told on the Notices page:\n{}/portal/notices\n",
            self.public_url
        );
        Some(NewDelivery {
            holder_id: n.holder_id,
            notice_id: Some(n.notice.id),
            channel: Channel::Email,
            address,
            subscription_id: None,
            subject: subject.to_string(),
            body,
            key: delivery::notice_key(n.notice.id),
            next_at,
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
            channel: Channel::Email,
            address: address.to_string(),
            subscription_id: None,
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

    pub(crate) async fn send(&self, t: &Taken) -> Result<(), Refused> {
        let to: Mailbox = t.address.parse().map_err(|e| Refused {
            error: format!("address: {e}"),
            permanent: true,
            gone: false,
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
                gone: false,
            })?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Refused {
                permanent: e.is_permanent(),
                error: e.to_string(),
                gone: false,
            })
    }
}
