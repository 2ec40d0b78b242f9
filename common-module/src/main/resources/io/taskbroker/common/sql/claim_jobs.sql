-- The claim: picks up to :limit runnable jobs of one queue, lowest priority value first, then
-- oldest run_at, skipping rows another worker has locked, and marks them running under this
-- worker with a fresh lease, in one statement.
WITH picked AS (
    SELECT id
      FROM taskbroker.jobs
     WHERE status = 'pending'
       AND queue = :queue
       AND run_at <= now()
       AND attempt < max_attempts
       AND (:any_plugin OR plugin = ANY (CAST(:plugins AS text[])))
     ORDER BY priority, run_at, id
     LIMIT :limit
     FOR UPDATE SKIP LOCKED)
UPDATE taskbroker.jobs j
   SET status = 'running',
       attempt = j.attempt + 1,
       worker_id = :worker_id,
       started_at = now(),
       heartbeat_at = now(),
       lease_expires_at = now() + :lease_ms * interval '1 millisecond',
       progress = NULL,
       progress_message = NULL
  FROM picked
 WHERE j.id = picked.id
RETURNING j.*
