-- Announcements (#18): what the card office tells everyone, the students, or one department
-- ("closed on the Dragon Boat Festival"), in Chinese and English, shown on the home page and the
-- dashboard from `starts_at` until `ends_at`. Withdrawn early, an announcement stays here with
-- who withdrew it and why. Who sees one is `server::domain::announcements::shown`.
CREATE TABLE announcements (
    id              INTEGER PRIMARY KEY,
    title_zh        TEXT    NOT NULL CHECK (title_zh <> ''),
    title_en        TEXT    NOT NULL CHECK (title_en <> ''),
    body_zh         TEXT    NOT NULL,
    body_en         TEXT    NOT NULL,
    starts_at       TEXT    NOT NULL,
    ends_at         TEXT    NOT NULL CHECK (ends_at > starts_at),
    audience        TEXT    NOT NULL CHECK (audience IN ('everyone', 'students', 'department')),
    department      TEXT    NOT NULL DEFAULT '',
    created_by      INTEGER NOT NULL REFERENCES staff_users (id),
    created_at      TEXT    NOT NULL,
    withdrawn_by    INTEGER REFERENCES staff_users (id),
    withdrawn_at    TEXT,
    withdraw_reason TEXT    NOT NULL DEFAULT '',
    CHECK ((audience = 'department') = (department <> ''))
);

CREATE INDEX announcements_live ON announcements (ends_at) WHERE withdrawn_at IS NULL;
