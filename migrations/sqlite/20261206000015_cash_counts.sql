-- An operator ends a shift by counting the cash taken and recording it (#14): the shift summary
-- sets the cash top-ups they credited since their previous count against it.
CREATE TABLE cash_counts (
    id          INTEGER PRIMARY KEY,
    staff_id    INTEGER NOT NULL REFERENCES staff_users (id),
    counted     INTEGER NOT NULL CHECK (counted >= 0),
    note        TEXT    NOT NULL,
    counted_at  TEXT    NOT NULL
);

CREATE INDEX cash_counts_by_time ON cash_counts (counted_at);
