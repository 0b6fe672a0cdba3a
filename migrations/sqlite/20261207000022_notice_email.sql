-- E-mail for notices (#18): a holder's address, confirmed by a link before anything but the
-- confirmation is sent to it, and the deliveries a worker hands to the mail server.
--
-- `notices` is the transactional outbox: each notice is written with its event. The worker
-- marks it `dispatched` in the transaction that writes its e-mail delivery (or finds the
-- holder has no confirmed address), so no notice is dispatched twice and none is skipped.
ALTER TABLE notices ADD COLUMN dispatched INTEGER NOT NULL DEFAULT 0 CHECK (dispatched IN (0, 1));
-- Notices written before e-mail existed are not sent now.
UPDATE notices SET dispatched = 1;
CREATE INDEX notices_to_dispatch ON notices (id) WHERE dispatched = FALSE;

CREATE TABLE notice_emails (
    holder_id     INTEGER PRIMARY KEY REFERENCES cardholders (id),
    address       TEXT    NOT NULL CHECK (address <> ''),
    -- The hash of the confirmation link's token while it is unconfirmed.
    token_hash    TEXT,
    requested_at  TEXT    NOT NULL,
    confirmed_at  TEXT,
    CHECK ((token_hash IS NULL) = (confirmed_at IS NOT NULL))
);
CREATE UNIQUE INDEX notice_emails_token ON notice_emails (token_hash) WHERE token_hash IS NOT NULL;

-- One message for the mail server. `idempotency_key` is its Message-ID: one per notice (or
-- per confirmation request), so a delivery taken again after a crash is the same message.
-- A sender takes a delivery by setting `lease_until`; one that dies leaves it to be taken
-- again when the lease has run out.
CREATE TABLE notice_deliveries (
    id               INTEGER PRIMARY KEY,
    holder_id        INTEGER NOT NULL REFERENCES cardholders (id),
    notice_id        INTEGER REFERENCES notices (id),
    address          TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL UNIQUE,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_at          TEXT    NOT NULL,
    lease_until      TEXT,
    last_error       TEXT    NOT NULL DEFAULT '',
    created_at       TEXT    NOT NULL,
    sent_at          TEXT
);
CREATE INDEX notice_deliveries_due ON notice_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX notice_deliveries_failed ON notice_deliveries (id) WHERE status = 'failed';
