-- Changes to staff accounts (create, role or status, credential reset) and to the approval
-- thresholds take two administrators (#14): one asks, with the full before and after; a second
-- approves, and only then is the change made. `payload` is the change as JSON.
CREATE TABLE admin_requests (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    before_state  TEXT    NOT NULL,
    after_state   TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    requested_by  INTEGER NOT NULL REFERENCES staff_users (id),
    requested_at  TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by    INTEGER REFERENCES staff_users (id),
    decided_at    TEXT
);

CREATE INDEX admin_requests_pending ON admin_requests (requested_at) WHERE status = 'pending';
