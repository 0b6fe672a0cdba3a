-- Notices and their e-mails are kept a year and a day, then deleted (#18,
-- `domain::notices::kept_since`): the deletion finds them by age, and a notice's deliveries by notice.
CREATE INDEX notices_by_age ON notices (created_at);
CREATE INDEX notice_deliveries_by_age ON notice_deliveries (created_at);
CREATE INDEX notice_deliveries_of_notice ON notice_deliveries (notice_id);
