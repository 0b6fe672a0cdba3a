-- The student portal: login throttling by address, and the keys behind the 深职通码
-- (as ../sqlite/20261125000002_portal.sql).

-- Failed logins per client address in a sliding window, kept across restarts.
CREATE TABLE login_throttle (
    key           TEXT        PRIMARY KEY,
    window_start  TIMESTAMPTZ NOT NULL,
    failures      BIGINT      NOT NULL DEFAULT 0
);

-- One key per logged-in device (session) that showed a 深职通码; dies with the session.
-- `key_id` is chosen by the application (random), not generated here.
CREATE TABLE pay_code_keys (
    key_id        BIGINT PRIMARY KEY,
    holder_id     BIGINT NOT NULL REFERENCES cardholders (id),
    session_hash  TEXT   NOT NULL REFERENCES sessions (token_hash),
    secret        TEXT   NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX pay_code_keys_by_holder ON pay_code_keys (holder_id);
CREATE UNIQUE INDEX pay_code_keys_live_per_session ON pay_code_keys (session_hash) WHERE revoked_at IS NULL;

-- A code used for a payment cannot be used again: (key, time step) is recorded on use.
CREATE TABLE pay_code_uses (
    key_id   BIGINT NOT NULL REFERENCES pay_code_keys (key_id),
    step     BIGINT NOT NULL,
    used_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key_id, step)
);

-- Keyed hashes of PINs too personal to allow as a new password. Comma-separated hex.
ALTER TABLE cardholders ADD COLUMN personal_pins TEXT NOT NULL DEFAULT '';
