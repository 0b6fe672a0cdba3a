-- The card office: staff second factor, found cards, reversals that need a second approver,
-- and the indexes the staff pages and reports read by.

-- The last TOTP time step a staff member logged in with: a code is accepted once, so a code
-- seen over someone's shoulder cannot be used again within its 30 seconds.
ALTER TABLE staff_users ADD COLUMN totp_last_step INTEGER;
ALTER TABLE staff_users ADD COLUMN password_changed_at TEXT;

-- A card handed in at the service centre. The owner sees a notice in the portal until the card
-- is returned; the public page lists open ones with a masked name and number.
CREATE TABLE found_cards (
    id           INTEGER PRIMARY KEY,
    card_id      INTEGER NOT NULL REFERENCES cards (id),
    holder_id    INTEGER NOT NULL REFERENCES cardholders (id),
    place        TEXT    NOT NULL,
    found_at     TEXT    NOT NULL,
    recorded_by  INTEGER NOT NULL REFERENCES staff_users (id),
    returned_at  TEXT,
    returned_by  INTEGER REFERENCES staff_users (id)
);
-- One open record per card: handing the same card in twice is one record.
CREATE UNIQUE INDEX found_cards_one_open ON found_cards (card_id) WHERE returned_at IS NULL;
CREATE INDEX found_cards_by_holder ON found_cards (holder_id);

-- A correction of an erroneous payment above the campus's approval amount waits here for a
-- second staff member. Approving writes the correction entry; the requester cannot approve.
CREATE TABLE reversal_requests (
    id            INTEGER PRIMARY KEY,
    journal_id    INTEGER NOT NULL REFERENCES journal_entries (id),
    holder_id     INTEGER NOT NULL REFERENCES cardholders (id),
    amount        INTEGER NOT NULL CHECK (amount > 0),
    reason        TEXT    NOT NULL,
    requested_by  INTEGER NOT NULL REFERENCES staff_users (id),
    requested_at  TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by    INTEGER REFERENCES staff_users (id),
    decided_at    TEXT,
    correction_id INTEGER REFERENCES journal_entries (id)
);
CREATE UNIQUE INDEX reversal_one_pending ON reversal_requests (journal_id) WHERE status = 'pending';

-- A payment is corrected at most once, whoever asks.
CREATE UNIQUE INDEX journal_one_correction_per_payment ON journal_entries (reverses_id)
    WHERE kind = 'correction' AND reverses_id IS NOT NULL;
-- Reports: entries of a kind over a period; the audit viewer by action and by time.
CREATE INDEX journal_by_kind_time ON journal_entries (kind, created_at);
CREATE INDEX audit_by_action ON audit_log (action, at);
CREATE INDEX audit_by_time ON audit_log (at);
CREATE INDEX cardholders_class ON cardholders (class_name);
