-- Notices (#18): what the portal's inbox tells a cardholder about their own card, written in
-- the same transaction as the event (a payment, a top-up, a lost report, a password changed),
-- so a committed event always has its notice and a rolled-back one never does. Which events
-- make a notice is `server::domain::notices`; this table only keeps them.
CREATE TABLE notices (
    id          INTEGER PRIMARY KEY,
    holder_id   INTEGER NOT NULL REFERENCES cardholders (id),
    kind        TEXT    NOT NULL,
    -- A security notice (a lost report, a password changed) cannot be switched off.
    security    INTEGER NOT NULL CHECK (security IN (0, 1)),
    -- The money it is about and the balance after, where it is about money.
    amount      INTEGER,
    balance     INTEGER,
    merchant_id INTEGER REFERENCES merchants (id),
    created_at  TEXT    NOT NULL,
    read_at     TEXT
);

CREATE INDEX notices_of_holder ON notices (holder_id, id);
CREATE INDEX notices_unread ON notices (holder_id) WHERE read_at IS NULL;

-- What a cardholder wants to hear about. No row: the defaults of
-- `domain::notices::NoticePrefs::default` (every payment, a balance below ¥20, top-ups, bills
-- and 缴费).
CREATE TABLE notice_prefs (
    holder_id         INTEGER PRIMARY KEY REFERENCES cardholders (id),
    -- Payments above this many fen (0: every payment); NULL: none.
    payment_above     INTEGER CHECK (payment_above >= 0),
    -- The balance falling below this many fen; NULL: never.
    low_balance_below INTEGER CHECK (low_balance_below > 0),
    topups            INTEGER NOT NULL CHECK (topups IN (0, 1)),
    bills             INTEGER NOT NULL CHECK (bills IN (0, 1)),
    utilities         INTEGER NOT NULL CHECK (utilities IN (0, 1)),
    saved_at          TEXT    NOT NULL
);
