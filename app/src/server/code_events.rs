//! Payment results pushed to the 深职通码 page (server-sent events, served by the `server`
//! crate at `/events/pay-code`).
//!
//! One process: a payment decided by this server reaches the phones connected to this server.
//! A phone that was not connected (or connected to another server) sees its fresh code and the
//! payment in its history on the next contact; nothing depends on an event arriving.

use crate::portal_model::CodeResult;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};

/// Open code pages one holder may keep listening at once (phone, tablet, a reloaded tab).
pub const MAX_LISTENERS_PER_HOLDER: usize = 4;

/// Results not yet read by a slow listener before it skips ahead (it then misses the oldest).
const BACKLOG: usize = 8;

/// The listeners of every holder with a code page open on this server.
#[derive(Debug)]
pub struct CodeEvents {
    holders: Mutex<HashMap<i64, broadcast::Sender<CodeResult>>>,
    closing: watch::Sender<bool>,
}

impl Default for CodeEvents {
    fn default() -> Self {
        CodeEvents {
            holders: Mutex::default(),
            closing: watch::Sender::new(false),
        }
    }
}

/// One open code page's subscription. Dropping it (the page went away) forgets the holder once
/// nobody listens for them any more.
#[derive(Debug)]
pub struct Listener {
    events: Arc<CodeEvents>,
    holder_id: i64,
    pub results: broadcast::Receiver<CodeResult>,
    /// Turns `true` when the server shuts down: the stream ends so the shutdown need not wait.
    pub closing: watch::Receiver<bool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut holders = self.events.lock();
        // This listener's receiver is still alive here: it is the last one when the count is 1.
        if holders
            .get(&self.holder_id)
            .is_some_and(|tx| tx.receiver_count() <= 1)
        {
            holders.remove(&self.holder_id);
        }
    }
}

impl CodeEvents {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, broadcast::Sender<CodeResult>>> {
        // A panic while holding the lock leaves the map consistent (every step is one call).
        self.holders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Listens for a holder's results; `None` when they already have
    /// `MAX_LISTENERS_PER_HOLDER` pages listening, or the server is shutting down.
    pub fn listen(self: &Arc<Self>, holder_id: i64) -> Option<Listener> {
        if *self.closing.borrow() {
            return None;
        }
        let mut holders = self.lock();
        let tx = holders
            .entry(holder_id)
            .or_insert_with(|| broadcast::channel(BACKLOG).0);
        if tx.receiver_count() >= MAX_LISTENERS_PER_HOLDER {
            return None;
        }
        let results = tx.subscribe();
        drop(holders);
        Some(Listener {
            events: Arc::clone(self),
            holder_id,
            results,
            closing: self.closing.subscribe(),
        })
    }

    /// Tells every open code page of the holder (none: nothing happens).
    pub fn publish(&self, holder_id: i64, result: CodeResult) {
        if let Some(tx) = self.lock().get(&holder_id) {
            // No receiver left: the entry goes with the last listener's drop.
            let _ = tx.send(result);
        }
    }

    /// Ends every stream (the server is shutting down) and refuses new ones.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Holders with at least one page listening (for tests and metrics).
    pub fn holders_listening(&self) -> usize {
        self.lock().len()
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
    async fn listeners_are_capped_per_holder_and_forgotten_when_gone() {
        let events = Arc::new(CodeEvents::default());
        let pages: Vec<_> = (0..MAX_LISTENERS_PER_HOLDER)
            .map(|_| events.listen(7).unwrap())
            .collect();
        assert!(events.listen(7).is_none(), "one page too many");
        assert!(events.listen(8).is_some(), "the cap is per holder");
        drop(pages);
        assert_eq!(
            events.holders_listening(),
            0,
            "the map keeps no dead holders"
        );
        assert!(events.listen(7).is_some());
    }

    #[tokio::test]
    async fn closing_ends_streams_and_refuses_new_ones() {
        let events = Arc::new(CodeEvents::default());
        let mut page = events.listen(1).unwrap();
        assert!(!*page.closing.borrow());
        events.close();
        page.closing.changed().await.unwrap();
        assert!(*page.closing.borrow());
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
