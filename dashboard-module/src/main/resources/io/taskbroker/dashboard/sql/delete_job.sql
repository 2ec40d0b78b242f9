-- Deletes one finished job (a pending or running one must be cancelled first, so a worker never
-- loses a row under its feet); returns the status it had.
DELETE FROM taskbroker.jobs j
 WHERE j.id = CAST(:id AS uuid) AND j.status IN ('completed', 'failed', 'cancelled')
RETURNING j.status
