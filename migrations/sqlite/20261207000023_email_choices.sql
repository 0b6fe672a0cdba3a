-- Per-channel choices (#18): which notices also go by e-mail, by event. A holder without a row
-- in `notice_prefs` has the defaults (`NoticePrefs::default`: all of them); an existing row
-- keeps what it meant before, every notice in the inbox also by e-mail.
ALTER TABLE notice_prefs ADD COLUMN email_payments    INTEGER NOT NULL DEFAULT 1 CHECK (email_payments IN (0, 1));
ALTER TABLE notice_prefs ADD COLUMN email_low_balance INTEGER NOT NULL DEFAULT 1 CHECK (email_low_balance IN (0, 1));
ALTER TABLE notice_prefs ADD COLUMN email_topups      INTEGER NOT NULL DEFAULT 1 CHECK (email_topups IN (0, 1));
ALTER TABLE notice_prefs ADD COLUMN email_bills       INTEGER NOT NULL DEFAULT 1 CHECK (email_bills IN (0, 1));
ALTER TABLE notice_prefs ADD COLUMN email_utilities   INTEGER NOT NULL DEFAULT 1 CHECK (email_utilities IN (0, 1));
