-- Remembered phones (#15), as ../sqlite/20261206000017_phone_bindings.sql.
CREATE TABLE phone_bindings (
    key_id         BIGINT PRIMARY KEY,
    holder_id      BIGINT NOT NULL REFERENCES cardholders (id),
    token_hash     TEXT   NOT NULL UNIQUE,
    secret         TEXT   NOT NULL,
    device_name    TEXT   NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    last_used_at   TIMESTAMPTZ NOT NULL,
    ended_at       TIMESTAMPTZ,
    end_reason     TEXT
);
CREATE INDEX phone_bindings_live ON phone_bindings (holder_id) WHERE ended_at IS NULL;

CREATE TABLE phone_code_uses (
    key_id   BIGINT NOT NULL REFERENCES phone_bindings (key_id),
    step     BIGINT NOT NULL,
    used_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key_id, step)
);
