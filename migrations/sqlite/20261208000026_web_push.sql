-- Notices by Web Push (#18): the browsers a holder subscribed (each a push service's URL and
-- the two keys the notice is encrypted with, RFC 8291), the choices of what is pushed, and
-- the channel of each delivery. A push delivery names its subscription: it is sent with that
-- subscription's keys only while the subscription is still its holder's, and forgetting the
-- subscription drops what still waits for it (a finished push keeps its row, without it).
CREATE TABLE push_subscriptions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    holder_id    INTEGER NOT NULL REFERENCES cardholders (id),
    endpoint     TEXT    NOT NULL UNIQUE CHECK (endpoint <> ''),
    p256dh       TEXT    NOT NULL,
    auth         TEXT    NOT NULL,
    -- The browser, as its User-Agent named it ("Chrome on Android"), for its holder's list.
    label        TEXT,
    -- The session that subscribed it (or last logged in from its browser), and the hash of the
    -- browser's cookie: logging out there forgets it, another holder logging in there too.
    session_hash TEXT    NOT NULL,
    browser_hash TEXT,
    created_at   TEXT    NOT NULL,
    -- Set when the holder's other sessions were ended (a password changed): the browser gets
    -- the security notices written up to then, nothing after, and is deleted a day later.
    ended_at     TEXT
);
CREATE INDEX push_subscriptions_of_holder ON push_subscriptions (holder_id, id);
CREATE INDEX push_subscriptions_of_browser ON push_subscriptions (browser_hash) WHERE browser_hash IS NOT NULL;
CREATE INDEX push_subscriptions_ended ON push_subscriptions (ended_at) WHERE ended_at IS NOT NULL;

ALTER TABLE notice_deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'push'));
ALTER TABLE notice_deliveries ADD COLUMN subscription_id INTEGER REFERENCES push_subscriptions (id) ON DELETE SET NULL;
CREATE INDEX notice_deliveries_of_subscription ON notice_deliveries (subscription_id) WHERE subscription_id IS NOT NULL;

-- By default everything a holder is told in the inbox is pushed too (`NoticePrefs::default`).
ALTER TABLE notice_prefs ADD COLUMN push_payments    INTEGER NOT NULL DEFAULT 1 CHECK (push_payments IN (0, 1));
ALTER TABLE notice_prefs ADD COLUMN push_low_balance INTEGER NOT NULL DEFAULT 1 CHECK (push_low_balance IN (0, 1));
ALTER TABLE notice_prefs ADD COLUMN push_topups      INTEGER NOT NULL DEFAULT 1 CHECK (push_topups IN (0, 1));
ALTER TABLE notice_prefs ADD COLUMN push_bills       INTEGER NOT NULL DEFAULT 1 CHECK (push_bills IN (0, 1));
ALTER TABLE notice_prefs ADD COLUMN push_utilities   INTEGER NOT NULL DEFAULT 1 CHECK (push_utilities IN (0, 1));
