-- Bills (待缴费, #17): what the card office asks one holder to pay (an exam resit, a library
-- fine, a replacement student ID), issued at the counter alone or from a list. The holder pays
-- it from the card balance in the portal: a 'fee' journal entry whose reference is
-- 'bill:<id>', and `entry_id` points at it. The rules are `server::domain::bills`; the
-- constraints below hold whatever a path forgets: a bill is paid at most once (one entry, and
-- the entry belongs to one bill), and it is paid exactly when it has an entry.
CREATE TABLE bills (
    id            INTEGER PRIMARY KEY,
    holder_id     INTEGER NOT NULL REFERENCES cardholders (id),
    title         TEXT    NOT NULL CHECK (title <> ''),
    department    TEXT    NOT NULL CHECK (department <> ''),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    -- The campus date (YYYY-MM-DD) it is due on.
    due_on        TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'unpaid' CHECK (status IN ('unpaid', 'paid', 'cancelled')),
    issued_by     INTEGER NOT NULL REFERENCES staff_users (id),
    issued_at     TEXT    NOT NULL,
    entry_id      INTEGER UNIQUE REFERENCES journal_entries (id),
    paid_at       TEXT,
    cancelled_by  INTEGER REFERENCES staff_users (id),
    cancelled_at  TEXT,
    cancel_reason TEXT    NOT NULL DEFAULT '',
    CHECK ((status = 'paid') = (entry_id IS NOT NULL AND paid_at IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);

CREATE INDEX bills_by_holder ON bills (holder_id, status, due_on);
CREATE INDEX bills_by_time ON bills (issued_at DESC, id DESC);
CREATE INDEX bills_unpaid ON bills (status, issued_at DESC, id DESC);
