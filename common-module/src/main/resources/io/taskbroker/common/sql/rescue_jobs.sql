-- Takes back jobs whose lease expired (their worker died, froze or lost the database):
-- cancelled if a cancel was requested, failed when attempts are used up, else pending again
-- after a short backoff. SKIP LOCKED and the condition re-checked under the lock make it safe
-- when several workers rescue at once: each row is rescued by exactly one of them.
WITH expired AS (
    SELECT id
      FROM taskbroker.job_queue
     WHERE status = 'running' AND lease_expires_at < now()
     ORDER BY lease_expires_at
     LIMIT :limit
     FOR UPDATE SKIP LOCKED),
decided AS (
    SELECT j.id,
           CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
                WHEN j.attempt >= j.max_attempts THEN 'failed'
                ELSE 'pending' END AS new_status,
           'worker ' || j.worker_id || ' lost the job: lease expired at '
               || to_char(j.lease_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
               AS message
      FROM taskbroker.job_queue j JOIN expired e ON e.id = j.id)
UPDATE taskbroker.job_queue j
   SET status = d.new_status,
       completed_at = CASE WHEN d.new_status = 'pending' THEN NULL ELSE now() END,
       -- A job lost for the first time keeps its place in the queue (it did nothing wrong);
       -- one lost again backs off, so a job that kills its workers cannot hog them.
       run_at = CASE WHEN d.new_status = 'pending' AND j.attempt > 1
                     THEN now() + least(j.attempt - 1, 60) * interval '1 second'
                     ELSE j.run_at END,
       error = CASE WHEN d.new_status = 'cancelled' THEN j.error ELSE d.message END,
       errors = j.errors || jsonb_build_array(jsonb_build_object(
                    'attempt', j.attempt, 'at', now(), 'worker_id', j.worker_id,
                    'kind', 'worker_lost', 'error', d.message)),
       lease_expires_at = NULL
  FROM decided d
 -- The expired rows are locked and were checked under the lock (SKIP LOCKED re-checks a row
 -- another statement changed), so the update finds them by id alone: a re-check here would let
 -- the planner read the running-only lease index once per job (see complete_jobs.sql).
 WHERE j.id = d.id
RETURNING j.id, j.status, j.attempt
