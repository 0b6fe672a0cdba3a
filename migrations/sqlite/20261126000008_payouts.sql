-- What the finance office needs to make a payout the journal records: the bank account the
-- holder gave when the account was closed. Kept apart from the journal (whose reference shows
-- only the masked account) and read only by the payout report for administrators and
-- auditors.
CREATE TABLE payouts (
    id            INTEGER PRIMARY KEY,
    journal_id    INTEGER NOT NULL UNIQUE REFERENCES journal_entries (id),
    holder_id     INTEGER NOT NULL REFERENCES cardholders (id),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    bank_account  TEXT    NOT NULL,
    reference     TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
);
CREATE INDEX payouts_by_time ON payouts (created_at);
