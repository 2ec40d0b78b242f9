-- One batch of an explicit prune in the history (workers drop its whole days instead, V12).
WITH doomed AS (
    SELECT id, completed_at FROM taskbroker.job_history
     WHERE completed_at < now() - :older_than_ms * interval '1 millisecond'
       AND status = ANY (CAST(:statuses AS text[]))
       AND (CAST(:queue AS text) IS NULL OR queue = :queue)
     LIMIT :batch_size
     FOR UPDATE SKIP LOCKED)
DELETE FROM taskbroker.job_history h USING doomed
 WHERE h.id = doomed.id AND h.completed_at = doomed.completed_at
