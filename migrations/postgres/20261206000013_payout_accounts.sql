-- Recorded payout accounts (#14), as ../sqlite/20261206000013_payout_accounts.sql.
CREATE TABLE payout_accounts (
    holder_id       BIGINT      PRIMARY KEY REFERENCES cardholders (id),
    bank_account    TEXT        NOT NULL,
    account_masked  TEXT        NOT NULL,
    recorded_by     BIGINT      NOT NULL REFERENCES staff_users (id),
    recorded_at     TIMESTAMPTZ NOT NULL
);
