-- The claim: picks up to :limit runnable jobs of one queue, lowest priority value first, then
-- oldest run_at, skipping rows another worker has locked, and marks them running under this
-- worker with a fresh lease, in one statement. For a queue without limits: it claims nothing from
-- a queue whose row (V5, taskbroker.queues) says paused or has a limit, whatever this worker's
-- cached settings say (those queues are claimed through taskbroker.claim_limited); the check is
-- one primary-key probe per claim.
-- With :resume, the scan starts after the key (priority, run_at, id) of the last job this producer
-- claimed, instead of at the head of the claim index: without vacuum the head holds the dead
-- entries of every job claimed since, which a scan from the head must walk on each claim (about
-- 1,000 index pages after 100,000 jobs). The producer resumes only while nothing new may sit
-- behind that key (see Producer), and looks from the head again whenever a resumed claim comes
-- back short.
WITH picked AS (
    SELECT id
      FROM taskbroker.job_queue
     WHERE status = 'pending'
       AND queue = :queue
       AND run_at <= now()
       AND attempt < max_attempts
       AND (:any_plugin OR plugin = ANY (CAST(:plugins AS text[])))
       AND (NOT :resume
            OR (priority, run_at, id) > (:after_priority, CAST(:after_run_at AS timestamptz),
                                         CAST(:after_id AS uuid)))
       AND NOT EXISTS (
            SELECT 1 FROM taskbroker.queues q
             WHERE q.name = :queue
               AND (q.paused OR q.global_concurrency IS NOT NULL OR q.rate_limit IS NOT NULL
                    OR q.key_concurrency IS NOT NULL))
     ORDER BY priority, run_at, id
     LIMIT :limit
     FOR UPDATE SKIP LOCKED)
UPDATE taskbroker.job_queue j
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
-- What the worker runs the job with (JobRowMapper's required columns and the few it reads), not
-- what earlier attempts left: their errors (with traces) and last error would otherwise travel to
-- the worker, and be parsed there, on every claim of a job retried many times.
RETURNING j.id, j.queue, j.plugin, j.payload, j.metadata, j.status, j.priority, j.run_at,
          j.attempt, j.max_attempts, j.timeout_ms, j.created_at, j.started_at, j.worker_id,
          j.unique_key, j.cancel_requested_at, j.concurrency_key
