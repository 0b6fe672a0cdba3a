-- Remembered phones (#15): a student chose at login to keep this phone for the 深职通码. The
-- phone holds a cookie (its SHA-256 is `token_hash`) that opens the code and the balance
-- without a password, and a secret of its own in the browser's storage, from which it makes
-- codes offline. `key_id` is the code's key id, below 10,000,000 (a session key's is above),
-- chosen by the application. `secret` is sealed like a session key's. A binding ends by itself
-- at `expires_at`, or earlier (`ended_at`, `end_reason`): removed on the profile page, or on a
-- password change or reset, a loss report, a freeze or a closing.
CREATE TABLE phone_bindings (
    key_id         INTEGER PRIMARY KEY,
    holder_id      INTEGER NOT NULL REFERENCES cardholders (id),
    token_hash     TEXT    NOT NULL UNIQUE,
    secret         TEXT    NOT NULL,
    device_name    TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    expires_at     TEXT    NOT NULL,
    last_used_at   TEXT    NOT NULL,
    ended_at       TEXT,
    end_reason     TEXT
);
CREATE INDEX phone_bindings_live ON phone_bindings (holder_id) WHERE ended_at IS NULL;

-- A phone's code used for a payment, as `pay_code_uses` for a session's.
CREATE TABLE phone_code_uses (
    key_id   INTEGER NOT NULL REFERENCES phone_bindings (key_id),
    step     INTEGER NOT NULL,
    used_at  TEXT    NOT NULL,
    PRIMARY KEY (key_id, step)
);
