-- The bank account a holder's balance is paid out to when the account is closed (#14). It is
-- recorded at the counter against the holder's identity document, never typed in at closing
-- time. `bank_account` is sealed (see app/src/server/sealing.rs); `account_masked` is what
-- pages show.
CREATE TABLE payout_accounts (
    holder_id       INTEGER PRIMARY KEY REFERENCES cardholders (id),
    bank_account    TEXT    NOT NULL,
    account_masked  TEXT    NOT NULL,
    recorded_by     INTEGER NOT NULL REFERENCES staff_users (id),
    recorded_at     TEXT    NOT NULL
);
