-- On shutdown: every job still running under this worker goes back to 'pending' without
-- spending an attempt (the job did not fail; we stopped), or to 'cancelled' if a cancel was
-- requested, so another worker takes it at once. Locks in id order, like the completer and
-- the heartbeat.
WITH mine AS (
    SELECT id
      FROM taskbroker.job_queue
     WHERE status = 'running' AND worker_id = :worker_id
     ORDER BY id
       FOR UPDATE)
UPDATE taskbroker.job_queue j
   SET status = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'pending' END,
       completed_at = CASE WHEN j.cancel_requested_at IS NOT NULL THEN now() END,
       attempt = CASE WHEN j.cancel_requested_at IS NOT NULL THEN j.attempt
                      ELSE j.attempt - 1 END,
       run_at = now(),
       lease_expires_at = NULL
  FROM mine
 -- mine is locked and was fenced under the lock: found by id alone (see complete_jobs.sql).
 WHERE j.id = mine.id
RETURNING j.id
