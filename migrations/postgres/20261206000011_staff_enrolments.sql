-- One-time enrolment links for staff (#14), as ../sqlite/20261206000011_staff_enrolments.sql.
CREATE TABLE staff_enrolments (
    token_hash   TEXT        PRIMARY KEY,
    staff_id     BIGINT      NOT NULL REFERENCES staff_users (id),
    totp_secret  TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);

CREATE INDEX staff_enrolments_by_staff ON staff_enrolments (staff_id);
