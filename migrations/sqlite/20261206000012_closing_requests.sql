-- Closing an account with money on it takes two people (#14): the operator who sees the holder
-- asks, and a second staff member approves in the work queue; only then is the balance paid
-- out to the bank account the first one recorded. One pending request per holder.
CREATE TABLE closing_requests (
    id            INTEGER PRIMARY KEY,
    holder_id     INTEGER NOT NULL REFERENCES cardholders (id),
    bank_account  TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    requested_by  INTEGER NOT NULL REFERENCES staff_users (id),
    requested_at  TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by    INTEGER REFERENCES staff_users (id),
    decided_at    TEXT
);

CREATE UNIQUE INDEX closing_one_pending ON closing_requests (holder_id) WHERE status = 'pending';
