-- One batch of a prune in job_queue: small batches keep locks short and WAL bursts bounded.
WITH doomed AS (
    SELECT id FROM taskbroker.job_queue
     WHERE completed_at < now() - :older_than_ms * interval '1 millisecond'
       AND status = ANY (CAST(:statuses AS text[]))
       AND (CAST(:queue AS text) IS NULL OR queue = :queue)
     LIMIT :batch_size
     FOR UPDATE SKIP LOCKED)
DELETE FROM taskbroker.job_queue j USING doomed WHERE j.id = doomed.id
