-- The first full schema of Yikatong on SQLite.
--
-- Conventions (the PostgreSQL migrations follow the same shape):
--   * money is INTEGER fen (1 yuan = 100 fen); there is no REAL column on the money path;
--   * timestamps are RFC 3339 UTC text written by the application (sortable as text);
--   * enumerations are TEXT with CHECK constraints, so a bad value fails loudly here too;
--   * secrets (password hashes, keyed ID hashes, device key hashes) never leave the server.

-- The campus profile: one row holding every campus-specific fact (names, hotlines, service
-- points, hours, limits) as a JSON document validated by the application. Public pages read
-- it; administrators edit it. One row, enforced by the CHECK.
CREATE TABLE campus_profile (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    profile     TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

-- A cardholder: a student or a member of staff/faculty. The ID document number is personal
-- data: only a keyed hash (HMAC with a server secret, for checking a presented document) and a
-- masked form (for display) are stored.
CREATE TABLE cardholders (
    id                   INTEGER PRIMARY KEY,
    student_no           TEXT    NOT NULL UNIQUE,
    name                 TEXT    NOT NULL,
    kind                 TEXT    NOT NULL CHECK (kind IN ('student', 'faculty')),
    department           TEXT    NOT NULL DEFAULT '',
    class_name           TEXT    NOT NULL DEFAULT '',
    id_doc_kind          TEXT    NOT NULL CHECK (id_doc_kind IN ('resident_id', 'passport', 'hk_macau_permit')),
    id_doc_hash          TEXT    NOT NULL,
    id_doc_masked        TEXT    NOT NULL,
    phone_masked         TEXT    NOT NULL DEFAULT '',
    query_pw_hash        TEXT    NOT NULL,
    query_pw_is_initial  INTEGER NOT NULL DEFAULT 1 CHECK (query_pw_is_initial IN (0, 1)),
    query_pw_changed_at  TEXT,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TEXT,
    created_at           TEXT    NOT NULL
);
CREATE INDEX cardholders_name ON cardholders (name);

-- One account per cardholder: it holds the money. `balance` is a cached sum of the account's
-- journal entries, updated in the same transaction as the entry that changes it; the
-- reconciliation report and the tests check the two agree. The CHECK makes an overdraft
-- impossible even if application code were wrong.
CREATE TABLE accounts (
    id                    INTEGER PRIMARY KEY,
    holder_id             INTEGER NOT NULL UNIQUE REFERENCES cardholders (id),
    balance               INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    status                TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
    status_reason         TEXT    NOT NULL DEFAULT '',
    single_limit          INTEGER NOT NULL CHECK (single_limit >= 0),
    daily_limit           INTEGER NOT NULL CHECK (daily_limit >= 0),
    consumption_pw_hash   TEXT    NOT NULL,
    consumption_pw_is_initial INTEGER NOT NULL DEFAULT 1 CHECK (consumption_pw_is_initial IN (0, 1)),
    consumption_pw_failures INTEGER NOT NULL DEFAULT 0,
    consumption_pw_locked_until TEXT,
    created_at            TEXT    NOT NULL,
    closed_at             TEXT
);

-- Physical cards. A card is 'active', 'lost' (reported lost: refused everywhere, can be
-- lifted), 'void' (replaced: dead forever) or 'cancelled'. A holder has at most one card that
-- is active or lost, enforced by the partial unique index.
CREATE TABLE cards (
    id           INTEGER PRIMARY KEY,
    holder_id    INTEGER NOT NULL REFERENCES cardholders (id),
    card_no      TEXT    NOT NULL UNIQUE,
    chip_serial  TEXT    NOT NULL UNIQUE,
    status       TEXT    NOT NULL CHECK (status IN ('active', 'lost', 'void', 'cancelled')),
    issued_at    TEXT    NOT NULL,
    lost_at      TEXT,
    ended_at     TEXT
);
CREATE UNIQUE INDEX cards_one_live_per_holder ON cards (holder_id) WHERE status IN ('active', 'lost');

-- Merchants and the places they sell at: canteens, shops, water bars, sports venues, the
-- library, the clinic, printing.
CREATE TABLE merchants (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    name_zh     TEXT    NOT NULL,
    name_en     TEXT    NOT NULL,
    category    TEXT    NOT NULL CHECK (category IN ('canteen', 'shop', 'water_bar', 'sports', 'library', 'clinic', 'print', 'other')),
    place       TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT    NOT NULL
);

-- Devices talk to the device API. The credential is a random key shown once to the
-- administrator; only its hash is kept. Revoking sets revoked_at.
CREATE TABLE devices (
    id               INTEGER PRIMARY KEY,
    code             TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL CHECK (kind IN ('pos', 'meal_table', 'gate', 'attendance', 'kiosk')),
    merchant_id      INTEGER REFERENCES merchants (id),
    place            TEXT    NOT NULL,
    key_hash         TEXT,
    key_issued_at    TEXT,
    revoked_at       TEXT,
    created_at       TEXT    NOT NULL
);

-- The journal: every change of a balance, immutable (triggers below refuse UPDATE and
-- DELETE). `amount` is signed fen: credits positive, debits negative. `balance_after` is the
-- account balance right after this entry, which makes a statement readable and lets the
-- reconciliation find the first entry where something went wrong.
CREATE TABLE journal_entries (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    kind           TEXT    NOT NULL CHECK (kind IN ('payment', 'topup', 'refund', 'correction', 'payout', 'fee')),
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
CREATE INDEX journal_by_account_time ON journal_entries (account_id, created_at DESC, id DESC);
CREATE INDEX journal_by_merchant_time ON journal_entries (merchant_id, created_at) WHERE merchant_id IS NOT NULL;
-- A device request id is unique per device: the idempotency key of a POS debit.
CREATE UNIQUE INDEX journal_device_request ON journal_entries (device_id, request_id) WHERE request_id IS NOT NULL;

CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END;

-- Staff of the card office. Roles: operator (counter), admin, auditor (read only), merchant
-- (sees its own sales; merchant_id set). The TOTP secret is the second factor.
CREATE TABLE staff_users (
    id              INTEGER PRIMARY KEY,
    username        TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('operator', 'admin', 'auditor', 'merchant')),
    merchant_id     INTEGER REFERENCES merchants (id),
    password_hash   TEXT    NOT NULL,
    totp_secret     TEXT,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    created_at      TEXT    NOT NULL,
    CHECK ((role = 'merchant') = (merchant_id IS NOT NULL))
);

-- Server-side sessions for cardholders and staff. The cookie carries a random token; only its
-- SHA-256 is stored, so a leaked table cannot be replayed as cookies.
CREATE TABLE sessions (
    token_hash     TEXT    PRIMARY KEY,
    subject_kind   TEXT    NOT NULL CHECK (subject_kind IN ('holder', 'staff')),
    subject_id     INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    last_seen_at   TEXT    NOT NULL,
    expires_at     TEXT    NOT NULL,
    ip             TEXT    NOT NULL DEFAULT '',
    user_agent     TEXT    NOT NULL DEFAULT '',
    ended_at       TEXT
);
CREATE INDEX sessions_by_subject ON sessions (subject_kind, subject_id);

-- The audit log: who did what to whom, with the state before and after and the reason typed
-- by the staff member. Append-only.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            TEXT    NOT NULL,
    actor_kind    TEXT    NOT NULL CHECK (actor_kind IN ('holder', 'staff', 'device', 'system')),
    actor_id      INTEGER,
    action        TEXT    NOT NULL,
    holder_id     INTEGER REFERENCES cardholders (id),
    target        TEXT    NOT NULL DEFAULT '',
    before_state  TEXT    NOT NULL DEFAULT '',
    after_state   TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_holder ON audit_log (holder_id, at);
CREATE INDEX audit_by_actor ON audit_log (actor_kind, actor_id, at);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
