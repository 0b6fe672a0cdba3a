-- Per-channel choices (#18): which notices also go by e-mail, by event (see the SQLite
-- migration of the same name).
ALTER TABLE notice_prefs
    ADD COLUMN email_payments    BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN email_low_balance BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN email_topups      BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN email_bills       BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN email_utilities   BOOLEAN NOT NULL DEFAULT TRUE;
