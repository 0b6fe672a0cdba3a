-- A payment is reversed at most once, whoever reverses it: a refund at the till and a
-- correction at the counter exclude each other (each kind had its own unique index before,
-- so a corrected payment could still be refunded at the till).
DROP INDEX journal_one_refund_per_payment;
DROP INDEX journal_one_correction_per_payment;
CREATE UNIQUE INDEX journal_one_reversal_per_payment ON journal_entries (reverses_id)
    WHERE reverses_id IS NOT NULL;
