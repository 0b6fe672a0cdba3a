-- Device nonces moved to memory (see ledger::NonceCache): a database write per request
-- doubled the disk syncs of every payment. The request-id idempotency stays in the database.
DROP TABLE device_nonces;
