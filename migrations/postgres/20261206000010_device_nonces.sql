-- Device nonces in the database (#14), as ../sqlite/20261206000010_device_nonces.sql: a
-- captured signed request must not work again after a restart or on a second server.
CREATE TABLE device_nonces (
    device_id  BIGINT      NOT NULL REFERENCES devices (id),
    nonce      TEXT        NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device_id, nonce)
);

CREATE INDEX device_nonces_by_time ON device_nonces (seen_at);
