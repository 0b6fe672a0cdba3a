//! Payment results pushed to the 深职通码 page (server-sent events, served by the `server`
//! crate at `/events/pay-code`).
//!
//! A payment decided by this server reaches the phones connected to it at once (`publish`).
//! On PostgreSQL, where several servers may share the database, it is also announced to the
//! others (`tell`, `relay`: `NOTIFY`/`LISTEN`), whose phones hear it a moment later. A phone
//! that was not connected sees its fresh code and the payment in its history on the next
//! contact; nothing depends on an event arriving.

use crate::portal_model::CodeResult;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};

/// Open code pages one holder may keep listening at once (phone, tablet, a reloaded tab). A
/// further page takes the place of the oldest, whose stream ends: a page reloaded many times
/// (the browser closes the old stream, but the server notices only at its next write) always
/// hears its results.
pub const MAX_LISTENERS_PER_HOLDER: usize = 4;

/// Results not yet read by a slow listener before it skips ahead (it then misses the oldest).
const BACKLOG: usize = 8;

/// The listeners of one holder: the channel their results go out on, and each listener's
/// switch to end its stream, oldest first.
#[derive(Debug)]
struct Holder {
    results: broadcast::Sender<CodeResult>,
    listeners: VecDeque<(u64, watch::Sender<bool>)>,
}

/// The listeners of every holder with a code page open on this server.
#[derive(Debug)]
pub struct CodeEvents {
    inner: Mutex<Inner>,
    /// This process among the servers of one database: its own announcements come back to
    /// it, and are not published twice.
    origin: u64,
}

impl Default for CodeEvents {
    fn default() -> Self {
        CodeEvents {
            inner: Mutex::default(),
            origin: rand::random(),
        }
    }
}

/// A result as told to the other servers.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Announcement {
    origin: u64,
    holder_id: i64,
    result: CodeResult,
}

/// Tells every open code page of the holder: on this server at once, on the others of the
/// database through it, in the background (the till does not wait for it). A failed
/// announcement costs those pages the live result only.
pub fn tell(events: &CodeEvents, db: &crate::server::Db, holder_id: i64, result: CodeResult) {
    let announcement = Announcement {
        origin: events.origin,
        holder_id,
        result,
    };
    events.publish(holder_id, announcement.result.clone());
    let db = Arc::clone(db);
    tokio::spawn(async move {
        let sent = match serde_json::to_string(&announcement) {
            Ok(text) => db
                .announce_code_result(&text)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = sent {
            tracing::warn!(%error, "could not tell the other servers of a code payment");
        }
    });
}

/// Publishes here what the other servers of the database announce, for as long as the process
/// runs. Subscribed when this returns (nothing to do on SQLite).
pub async fn relay(events: Arc<CodeEvents>, db: &crate::server::Db) {
    let mut told = match db.code_result_announcements().await {
        Ok(Some(told)) => told,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, "not listening for other servers' code payments");
            return;
        }
    };
    tokio::spawn(async move {
        while let Some(text) = told.recv().await {
            match serde_json::from_str::<Announcement>(&text) {
                Ok(a) if a.origin != events.origin => events.publish(a.holder_id, a.result),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "an unreadable code payment announcement"),
            }
        }
    });
}

/// Under one lock, so a page that starts listening while the server closes is either refused
/// or ended, never left open.
#[derive(Debug, Default)]
struct Inner {
    holders: HashMap<i64, Holder>,
    next_id: u64,
    closed: bool,
}

/// One open code page's subscription. Dropping it (the page went away) forgets the holder once
/// nobody listens for them any more.
#[derive(Debug)]
pub struct Listener {
    events: Arc<CodeEvents>,
    holder_id: i64,
    id: u64,
    pub results: broadcast::Receiver<CodeResult>,
    /// Turns `true` when the stream must end: the server shuts down, or a newer page of the
    /// same holder took this one's place.
    pub ended: watch::Receiver<bool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut inner = self.events.lock();
        if let Some(holder) = inner.holders.get_mut(&self.holder_id) {
            holder.listeners.retain(|(id, _)| *id != self.id);
            if holder.listeners.is_empty() {
                inner.holders.remove(&self.holder_id);
            }
        }
    }
}

impl CodeEvents {
    /// A panic while the lock was held leaves the value consistent: every change under it is
    /// one call.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Listens for a holder's results; `None` once the server is shutting down. The holder's
    /// oldest listener ends when this one is one too many.
    pub fn listen(self: &Arc<Self>, holder_id: i64) -> Option<Listener> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let (end, ended) = watch::channel(false);
        let holder = inner.holders.entry(holder_id).or_insert_with(|| Holder {
            results: broadcast::channel(BACKLOG).0,
            listeners: VecDeque::new(),
        });
        while holder.listeners.len() >= MAX_LISTENERS_PER_HOLDER {
            if let Some((_, oldest)) = holder.listeners.pop_front() {
                oldest.send_replace(true);
            }
        }
        holder.listeners.push_back((id, end));
        let results = holder.results.subscribe();
        drop(inner);
        Some(Listener {
            events: Arc::clone(self),
            holder_id,
            id,
            results,
            ended,
        })
    }

    /// Tells every open code page of the holder (none: nothing happens).
    pub fn publish(&self, holder_id: i64, result: CodeResult) {
        if let Some(holder) = self.lock().holders.get(&holder_id) {
            // No receiver left: the entry goes with the last listener's drop.
            let _ = holder.results.send(result);
        }
    }

    /// Ends every stream (the server is shutting down) and refuses new ones.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        for holder in inner.holders.values() {
            for (_, end) in &holder.listeners {
                end.send_replace(true);
            }
        }
    }

    /// Holders with at least one page listening (for tests and metrics).
    pub fn holders_listening(&self) -> usize {
        self.lock().holders.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Decline, Money};

    fn result(fen: i64) -> CodeResult {
        CodeResult {
            amount: Money::from_fen(fen),
            place: "东校区第一食堂".into(),
            balance: Some(Money::from_fen(10_000 - fen)),
            decline: None,
        }
    }

    #[tokio::test]
    async fn a_result_reaches_every_page_of_that_holder_only() {
        let events = Arc::new(CodeEvents::default());
        let mut phone = events.listen(1).unwrap();
        let mut tablet = events.listen(1).unwrap();
        let mut other = events.listen(2).unwrap();
        events.publish(1, result(1250));
        assert_eq!(phone.results.recv().await.unwrap(), result(1250));
        assert_eq!(tablet.results.recv().await.unwrap(), result(1250));
        assert!(other.results.try_recv().is_err(), "holder 2 heard holder 1");
        // Nobody listening for holder 3: publishing is a no-op, not an error.
        events.publish(3, result(1));
        assert_eq!(events.holders_listening(), 2);
    }

    #[tokio::test]
    async fn a_page_too_many_takes_the_oldest_ones_place() {
        let events = Arc::new(CodeEvents::default());
        let mut pages: Vec<_> = (0..MAX_LISTENERS_PER_HOLDER)
            .map(|_| events.listen(7).unwrap())
            .collect();
        assert!(pages.iter().all(|p| !*p.ended.borrow()));
        let mut newest = events.listen(7).unwrap();
        // The oldest page's stream ends; the others and the newest still hear results.
        assert!(*pages[0].ended.borrow(), "the oldest page was not ended");
        assert!(pages[1..].iter().all(|p| !*p.ended.borrow()));
        assert!(!*newest.ended.borrow());
        events.publish(7, result(42));
        assert_eq!(newest.results.recv().await.unwrap(), result(42));
        assert_eq!(pages[3].results.recv().await.unwrap(), result(42));
        // Another holder's pages are not touched.
        let other = events.listen(8).unwrap();
        assert!(!*other.ended.borrow());
        drop(other);
        assert_eq!(events.holders_listening(), 1);
        // The map keeps no dead holders, whichever page goes first.
        drop(newest);
        pages.clear();
        assert_eq!(events.holders_listening(), 0);
        assert!(events.listen(7).is_some());
    }

    #[tokio::test]
    async fn closing_ends_streams_and_refuses_new_ones() {
        let events = Arc::new(CodeEvents::default());
        let mut page = events.listen(1).unwrap();
        assert!(!*page.ended.borrow());
        events.close();
        page.ended.changed().await.unwrap();
        assert!(*page.ended.borrow());
        assert!(events.listen(2).is_none());
        // A decline is a result too.
        let declined = CodeResult {
            balance: None,
            decline: Some(Decline::InsufficientBalance),
            ..result(5000)
        };
        assert!(!declined.approved());
        assert!(result(1).approved());
    }
}
