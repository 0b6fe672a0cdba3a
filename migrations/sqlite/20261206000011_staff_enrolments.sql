-- One-time enrolment links for staff (#14). Whoever opens the link sets their own password
-- and scans their own second factor; the administrator who created the account (or the
-- command line that created the first one) never sees either. Only the SHA-256 of the link's
-- token is kept. The second factor offered on the page is made with the link, so the page
-- shows the same one however often it is opened, and it becomes the account's when the
-- person confirms it with a code.
CREATE TABLE staff_enrolments (
    token_hash   TEXT    PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff_users (id),
    totp_secret  TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    used_at      TEXT
);

CREATE INDEX staff_enrolments_by_staff ON staff_enrolments (staff_id);
