-- A cash top-up above the campus's `cash_approval_above` takes two people (#14): the operator
-- who takes the cash asks, and a second staff member approves in the work queue; only then is
-- the account credited (under the receipt number the form carried, against the first
-- operator's daily cash cap). One request per receipt number.
CREATE TABLE cash_requests (
    id            INTEGER PRIMARY KEY,
    holder_id     INTEGER NOT NULL REFERENCES cardholders (id),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    receipt_no    TEXT    NOT NULL UNIQUE,
    reason        TEXT    NOT NULL,
    requested_by  INTEGER NOT NULL REFERENCES staff_users (id),
    requested_at  TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by    INTEGER REFERENCES staff_users (id),
    decided_at    TEXT
);

CREATE INDEX cash_requests_pending ON cash_requests (requested_at) WHERE status = 'pending';
