-- The browsers each holder logged in from (#18): a login from a browser not among them, by a
-- holder who logged in before, is a security notice. A browser is known by the hash of its
-- `ykt_browser` cookie's random value (the value itself is never stored); at most
-- `domain::sessions::KNOWN_BROWSERS` a holder, the least recently used forgotten first.
CREATE TABLE known_browsers (
    holder_id     INTEGER NOT NULL REFERENCES cardholders (id),
    browser_hash  TEXT    NOT NULL,
    first_seen_at TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL,
    PRIMARY KEY (holder_id, browser_hash)
);
