//! What the mail server's and the push services' senders share: a notice's text in both
//! languages, and why a send did not happen (`server::courier` acts on it).

use crate::components::labels::notice_text_in;
use crate::i18n::Locale;
use crate::server::store::Undispatched;

/// Why a send did not happen. `permanent`: refused for good (a mail server's 5xx, a push
/// service's 4xx), or the message could not be made; `gone`: the push service says the
/// browser is gone (404, 410).
pub(crate) struct Refused {
    pub(crate) error: String,
    pub(crate) permanent: bool,
    pub(crate) gone: bool,
}

/// A notice's subject (a security notice's says so), and its text in Chinese and English: an
/// e-mail's and a push's.
pub(crate) fn notice_texts(n: &Undispatched) -> (&'static str, String, String) {
    let subject = if n.security {
        "校园卡安全提醒 · Campus card security notice"
    } else {
        "校园卡提醒 · Campus card notice"
    };
    (
        subject,
        notice_text_in(Locale::zh, &n.notice),
        notice_text_in(Locale::en, &n.notice),
    )
}
