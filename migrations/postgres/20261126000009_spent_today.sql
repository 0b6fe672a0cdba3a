-- The daily limit needs what the holder paid today (payments less till refunds). Summing the
-- day's journal entries on every payment grows with the number of payments that day; the
-- debit keeps a running total on the account instead, valid for one day: `spent_fen` is the
-- sum of the account's 'payment' and 'refund' entries created at or after `spent_since` (the
-- campus-local midnight it belongs to). Any other write of such an entry makes the total
-- unknown (the trigger below); the next payment then sums the day once and starts a new
-- running total. So a path that forgets the counter costs one sum, never a wrong limit.
ALTER TABLE accounts ADD COLUMN spent_since TIMESTAMPTZ;
ALTER TABLE accounts ADD COLUMN spent_fen BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION journal_spent_unknown() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only when known: a copy or a demo load inserts thousands of entries per account in one
    -- transaction and must not leave a dead row version of the account for each.
    UPDATE accounts SET spent_since = NULL WHERE id = NEW.account_id AND spent_since IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER journal_spent_unknown AFTER INSERT ON journal_entries
    FOR EACH ROW WHEN (NEW.kind IN ('payment', 'refund'))
    EXECUTE FUNCTION journal_spent_unknown();
