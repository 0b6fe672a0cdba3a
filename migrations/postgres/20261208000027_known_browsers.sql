-- The browsers each holder logged in from (#18), as ../sqlite/20261208000027_known_browsers.sql.
CREATE TABLE known_browsers (
    holder_id     BIGINT      NOT NULL REFERENCES cardholders (id),
    browser_hash  TEXT        NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (holder_id, browser_hash)
);
