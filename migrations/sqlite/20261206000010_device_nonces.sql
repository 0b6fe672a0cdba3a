-- Device nonces back in the database (#14): kept only in memory, a captured signed request
-- could be sent again after a restart, or to a second server, within the timestamp window.
-- One row per (device, nonce), pruned once it is older than the window.
CREATE TABLE device_nonces (
    device_id  INTEGER NOT NULL REFERENCES devices (id),
    nonce      TEXT    NOT NULL,
    seen_at    TEXT    NOT NULL,
    PRIMARY KEY (device_id, nonce)
);

CREATE INDEX device_nonces_by_time ON device_nonces (seen_at);
