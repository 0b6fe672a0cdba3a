-- no-transaction
-- 缴费 to billers (#17): a dorm room's electricity and water and the campus network, bought
-- from the card balance. The rules are `server::domain::utilities`.
--
-- A purchase is a journal entry of its own kind, 'purchase', and counts towards the daily
-- limit like a payment (the running total's trigger and `spent_today!` include it); a failed
-- delivery is given back by a 'refund' entry reversing it (at most one reversal per entry, by
-- `journal_one_reversal_per_payment`).
--
-- SQLite cannot change a CHECK constraint, so the journal is rebuilt as SQLite documents it
-- (https://sqlite.org/lang_altertable.html#otheralter): foreign keys off (only possible
-- outside a transaction, hence `no-transaction` above), then in one transaction a new table
-- with the wider CHECK, every row copied as it is, the old table dropped, the new one renamed,
-- and its indexes and triggers made again exactly as migrations 0001 to 0009 left them. sqlx
-- records a migration without a transaction only after it ran: if the process stopped between
-- the COMMIT and that record, the next start runs this file again, so what it adds is made
-- only if missing (the journal's rebuild is safe to repeat).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE journal_entries_new (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    kind           TEXT    NOT NULL CHECK (kind IN ('payment', 'topup', 'refund', 'correction', 'payout', 'fee', 'purchase')),
    amount         INTEGER NOT NULL CHECK (amount <> 0),
    balance_after  INTEGER NOT NULL CHECK (balance_after >= 0),
    channel        TEXT    CHECK (channel IS NULL OR channel IN ('bank', 'wechat', 'cash', 'auto')),
    merchant_id    INTEGER REFERENCES merchants (id),
    device_id      INTEGER REFERENCES devices (id),
    staff_id       INTEGER REFERENCES staff_users (id),
    card_id        INTEGER REFERENCES cards (id),
    request_id     TEXT,
    reverses_id    INTEGER REFERENCES journal_entries (id),
    reference      TEXT    NOT NULL DEFAULT '',
    memo           TEXT    NOT NULL DEFAULT '',
    created_at     TEXT    NOT NULL
);
INSERT INTO journal_entries_new (id, account_id, kind, amount, balance_after, channel, merchant_id,
        device_id, staff_id, card_id, request_id, reverses_id, reference, memo, created_at)
    SELECT id, account_id, kind, amount, balance_after, channel, merchant_id,
        device_id, staff_id, card_id, request_id, reverses_id, reference, memo, created_at
    FROM journal_entries;
DROP TABLE journal_entries;
ALTER TABLE journal_entries_new RENAME TO journal_entries;

CREATE INDEX journal_by_account_time ON journal_entries (account_id, created_at DESC, id DESC);
CREATE INDEX journal_by_merchant_time ON journal_entries (merchant_id, created_at) WHERE merchant_id IS NOT NULL;
CREATE UNIQUE INDEX journal_device_request ON journal_entries (device_id, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX journal_by_reference ON journal_entries (reference) WHERE reference <> '';
CREATE INDEX journal_by_device_time ON journal_entries (device_id, created_at) WHERE device_id IS NOT NULL;
CREATE INDEX journal_by_kind_time ON journal_entries (kind, created_at);
CREATE UNIQUE INDEX journal_one_reversal_per_payment ON journal_entries (reverses_id)
    WHERE reverses_id IS NOT NULL;

CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END;
CREATE TRIGGER journal_spent_unknown AFTER INSERT ON journal_entries
WHEN NEW.kind IN ('payment', 'refund', 'purchase')
BEGIN
    -- Only when known: a copy or a demo load inserts thousands of entries per account and
    -- must not rewrite the account row for each.
    UPDATE accounts SET spent_since = NULL WHERE id = NEW.account_id AND spent_since IS NOT NULL;
END;

-- The campus's dorm rooms (the list administrators keep): a room is bound only if listed.
CREATE TABLE IF NOT EXISTS rooms (
    building   TEXT    NOT NULL CHECK (building <> ''),
    room       TEXT    NOT NULL CHECK (room <> ''),
    PRIMARY KEY (building, room)
);

-- What a holder buys for: their room ('room', as "building-room") and their campus network
-- account ('network'). Roommates bind the same room and see its purchases.
CREATE TABLE IF NOT EXISTS utility_accounts (
    holder_id  INTEGER NOT NULL REFERENCES cardholders (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('room', 'network')),
    account    TEXT    NOT NULL CHECK (account <> ''),
    bound_at   TEXT    NOT NULL,
    PRIMARY KEY (holder_id, kind)
);
CREATE INDEX IF NOT EXISTS utility_accounts_by_account ON utility_accounts (kind, account);

-- Purchases from billers. `reference` is ours, sent to the biller as its idempotency key;
-- `request_key` is the holder's form's, so the same purchase sent twice is charged once. The
-- charge (`entry_id`) is made with the row; the biller's outcome settles it once: delivered,
-- or refunded (`refund_id`, the reversing entry).
CREATE TABLE IF NOT EXISTS utility_purchases (
    id           INTEGER PRIMARY KEY,
    reference    TEXT    NOT NULL UNIQUE,
    holder_id    INTEGER NOT NULL REFERENCES cardholders (id),
    request_key  TEXT    NOT NULL CHECK (request_key <> ''),
    biller       TEXT    NOT NULL,
    utility      TEXT    NOT NULL CHECK (utility IN ('electricity', 'water', 'network')),
    account      TEXT    NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'refunded')),
    entry_id     INTEGER NOT NULL UNIQUE REFERENCES journal_entries (id),
    refund_id    INTEGER UNIQUE REFERENCES journal_entries (id),
    biller_ref   TEXT    NOT NULL DEFAULT '',
    failure      TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    settled_at   TEXT,
    UNIQUE (holder_id, request_key),
    CHECK ((status = 'refunded') = (refund_id IS NOT NULL)),
    CHECK ((status = 'pending') = (settled_at IS NULL))
);
CREATE INDEX IF NOT EXISTS utility_purchases_by_account ON utility_purchases (utility, account, created_at DESC);
CREATE INDEX IF NOT EXISTS utility_purchases_by_holder ON utility_purchases (holder_id, created_at DESC);
CREATE INDEX IF NOT EXISTS utility_purchases_pending ON utility_purchases (status, created_at) WHERE status = 'pending';

-- Automatic room top-up: when the room's meter reads below `below_milli`, buy `quantity`, at
-- most once a campus day (the purchase's form key is the utility and the day).
CREATE TABLE IF NOT EXISTS utility_autobuy (
    holder_id    INTEGER NOT NULL REFERENCES cardholders (id),
    utility      TEXT    NOT NULL CHECK (utility IN ('electricity', 'water')),
    room         TEXT    NOT NULL,
    below_milli  INTEGER NOT NULL CHECK (below_milli > 0),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    saved_at     TEXT    NOT NULL,
    PRIMARY KEY (holder_id, utility)
);

-- The sandbox billers' own side (a real biller keeps this in its own system): each meter's
-- reading at `as_of` and how fast it runs down, and every delivery it was asked for, with its
-- outcome. Never used with a real biller.
CREATE TABLE IF NOT EXISTS sandbox_meters (
    utility        TEXT    NOT NULL,
    account        TEXT    NOT NULL,
    milli          INTEGER NOT NULL CHECK (milli >= 0),
    as_of          TEXT    NOT NULL,
    per_hour_milli INTEGER NOT NULL CHECK (per_hour_milli >= 0),
    -- An offline meter (its reader lost contact) takes no delivery.
    offline        INTEGER NOT NULL DEFAULT 0 CHECK (offline IN (0, 1)),
    PRIMARY KEY (utility, account)
);
CREATE TABLE IF NOT EXISTS sandbox_deliveries (
    reference   TEXT    PRIMARY KEY,
    utility     TEXT    NOT NULL,
    account     TEXT    NOT NULL,
    quantity    INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    delivered   INTEGER NOT NULL CHECK (delivered IN (0, 1)),
    reason      TEXT    NOT NULL DEFAULT '',
    biller_ref  TEXT    NOT NULL,
    at          TEXT    NOT NULL
);

COMMIT;
PRAGMA foreign_keys = ON;
