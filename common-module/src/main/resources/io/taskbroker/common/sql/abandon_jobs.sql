-- When the worker's process dies without a stop request (a plugin called System.exit, an Error
-- killed one of the worker's own units): every job still running under this worker leaves it
-- with the attempt SPENT, unlike the graceful hand-back, since the death may be the job's own
-- doing and a job that kills every worker must end 'failed' after max_attempts, as after a
-- kill -9. Cancelled if a cancel was requested, failed when attempts are used up, else pending
-- again, backing off like the rescuer's. The history gets a `worker_exit` entry. Locks in id
-- order, like the completer, the heartbeat and the hand-back.
WITH mine AS (
    SELECT id
      FROM taskbroker.job_queue
     WHERE status = 'running' AND worker_id = :worker_id
     ORDER BY id
       FOR UPDATE),
decided AS (
    SELECT j.id,
           CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled'
                WHEN j.attempt >= j.max_attempts THEN 'failed'
                ELSE 'pending' END AS new_status,
           'worker ' || j.worker_id || ' exited while running the job: ' || :reason AS message
      FROM taskbroker.job_queue j JOIN mine ON mine.id = j.id)
UPDATE taskbroker.job_queue j
   SET status = d.new_status,
       completed_at = CASE WHEN d.new_status = 'pending' THEN NULL ELSE now() END,
       run_at = CASE WHEN d.new_status = 'pending' AND j.attempt > 1
                     THEN now() + least(j.attempt - 1, 60) * interval '1 second'
                     ELSE now() END,
       error = CASE WHEN d.new_status = 'cancelled' THEN j.error ELSE d.message END,
       errors = j.errors || jsonb_build_array(jsonb_build_object(
                    'attempt', j.attempt, 'at', now(), 'worker_id', j.worker_id,
                    'kind', 'worker_exit', 'error', d.message)),
       lease_expires_at = NULL
  FROM decided d
 -- mine is locked and was fenced under the lock: found by id alone (see complete_jobs.sql).
 WHERE j.id = d.id
RETURNING j.id, j.status, j.attempt
