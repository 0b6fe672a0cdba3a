-- A purchase whose biller gives no outcome (#17). It is asked about less often as it ages
-- (`next_ask_at`, by `domain::utilities::next_ask`), and reported to the operators once when a
-- day has gone by (`overdue_at`). A biller contradicting a settled purchase is recorded once
-- (`conflicted_at`), however often it says so.
ALTER TABLE utility_purchases ADD COLUMN next_ask_at   TEXT;
ALTER TABLE utility_purchases ADD COLUMN overdue_at    TEXT;
ALTER TABLE utility_purchases ADD COLUMN conflicted_at TEXT;
