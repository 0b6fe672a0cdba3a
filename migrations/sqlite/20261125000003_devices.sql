-- The device API: device credentials, replay protection, idempotent requests, access events.

-- A device's credential is an Ed25519 key pair made when an administrator issues it: the
-- private key is shown once and kept by the device; the server keeps only the public key, so
-- nothing stored here lets anyone act as the device.
ALTER TABLE devices ADD COLUMN public_key TEXT;

-- Nonces seen per device within the timestamp window: a captured request sent again is refused.
CREATE TABLE device_nonces (
    device_id  INTEGER NOT NULL REFERENCES devices (id),
    nonce      TEXT    NOT NULL,
    seen_at    TEXT    NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX device_nonces_by_time ON device_nonces (seen_at);

-- The first outcome of every device request id: a retry with the same payload gets the same
-- answer (and is never charged twice); a different payload under the same id is refused.
CREATE TABLE device_requests (
    device_id     INTEGER NOT NULL REFERENCES devices (id),
    request_id    TEXT    NOT NULL,
    payload_hash  TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (device_id, request_id)
);

-- Every gate and attendance check, allowed or not.
CREATE TABLE access_events (
    id          INTEGER PRIMARY KEY,
    device_id   INTEGER NOT NULL REFERENCES devices (id),
    holder_id   INTEGER REFERENCES cardholders (id),
    card_id     INTEGER REFERENCES cards (id),
    method      TEXT    NOT NULL CHECK (method IN ('card', 'code')),
    allowed     INTEGER NOT NULL CHECK (allowed IN (0, 1)),
    reason      TEXT    NOT NULL DEFAULT '',
    at          TEXT    NOT NULL
);
CREATE INDEX access_events_by_holder ON access_events (holder_id, at);

-- Finding an earlier credit by its provider reference (a duplicate notification).
CREATE INDEX journal_by_reference ON journal_entries (reference) WHERE reference <> '';
