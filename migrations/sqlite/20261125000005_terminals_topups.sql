-- Web terminals, refunds, top-up orders and automatic top-up.

-- A browser set up as a device's terminal (the POS page at a till, the kiosk page). The
-- administrator's device credential is checked once when the terminal is set up; the cookie
-- then carries a random token whose SHA-256 is kept here. Revoking or rotating the device's
-- credential ends its terminal sessions.
CREATE TABLE terminal_sessions (
    token_hash    TEXT    PRIMARY KEY,
    device_id     INTEGER NOT NULL REFERENCES devices (id),
    created_at    TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL,
    ip            TEXT    NOT NULL DEFAULT '',
    ended_at      TEXT
);
CREATE INDEX terminal_sessions_by_device ON terminal_sessions (device_id);

-- A payment is refunded at most once: the refund entry points at it.
CREATE UNIQUE INDEX journal_one_refund_per_payment ON journal_entries (reverses_id)
    WHERE kind = 'refund' AND reverses_id IS NOT NULL;
CREATE INDEX journal_by_device_time ON journal_entries (device_id, created_at) WHERE device_id IS NOT NULL;

-- Top-up orders sent to a payment provider (bank card, WeChat Pay, or the bound card of an
-- automatic top-up). 'pending' until the provider's signed notification says 'paid' (the
-- account is credited in the same transaction, at most once) or 'failed'. A failure of an
-- automatic top-up is shown to the holder and listed for operators until resolved.
CREATE TABLE topup_orders (
    id            INTEGER PRIMARY KEY,
    order_no      TEXT    NOT NULL UNIQUE,
    holder_id     INTEGER NOT NULL REFERENCES cardholders (id),
    channel       TEXT    NOT NULL CHECK (channel IN ('bank', 'wechat', 'auto')),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    provider_ref  TEXT    NOT NULL DEFAULT '',
    failure       TEXT    NOT NULL DEFAULT '',
    journal_id    INTEGER REFERENCES journal_entries (id),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    resolved_at   TEXT,
    resolved_by   INTEGER REFERENCES staff_users (id),
    resolution    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX topup_orders_by_holder ON topup_orders (holder_id, created_at);
-- At most one automatic top-up in flight per holder: a burst of payments starts one.
CREATE UNIQUE INDEX topup_one_pending_auto ON topup_orders (holder_id)
    WHERE channel = 'auto' AND status = 'pending';
CREATE INDEX topup_failed_auto ON topup_orders (status, channel) WHERE status = 'failed';

-- Automatic top-up settings: when a payment leaves the balance below `threshold`, `amount`
-- is charged to the bound bank card. Only the provider's token and a masked number are kept.
CREATE TABLE auto_topup (
    holder_id     INTEGER PRIMARY KEY REFERENCES cardholders (id),
    enabled       INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    threshold     INTEGER NOT NULL CHECK (threshold > 0),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    card_masked   TEXT    NOT NULL,
    card_token    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
