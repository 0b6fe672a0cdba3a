-- The student portal: login throttling by address, and the keys behind the 深职通码.

-- Failed logins per client address in a sliding window (per-account lockout lives on the
-- cardholder row). Kept in the database so a restart does not reset an attack's counter.
CREATE TABLE login_throttle (
    key           TEXT    PRIMARY KEY,
    window_start  TEXT    NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0
);

-- One key per logged-in device (session) that showed a 深职通码. The secret lets the server
-- recompute the MAC in a scanned code; it is random per session and dies with it: revoked on
-- logout, on a password change, and when an operator freezes the account.
CREATE TABLE pay_code_keys (
    key_id        INTEGER PRIMARY KEY,
    holder_id     INTEGER NOT NULL REFERENCES cardholders (id),
    session_hash  TEXT    NOT NULL REFERENCES sessions (token_hash),
    secret        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX pay_code_keys_by_holder ON pay_code_keys (holder_id);
CREATE UNIQUE INDEX pay_code_keys_live_per_session ON pay_code_keys (session_hash) WHERE revoked_at IS NULL;

-- A code used for a payment cannot be used again: (key, time step) is recorded on use.
CREATE TABLE pay_code_uses (
    key_id   INTEGER NOT NULL REFERENCES pay_code_keys (key_id),
    step     INTEGER NOT NULL,
    used_at  TEXT    NOT NULL,
    PRIMARY KEY (key_id, step)
);

-- Keyed hashes (HMAC with the ID-hash key) of PINs too personal to allow as a new password:
-- the initial password and the birth date from the ID number. Comma-separated hex.
ALTER TABLE cardholders ADD COLUMN personal_pins TEXT NOT NULL DEFAULT '';
