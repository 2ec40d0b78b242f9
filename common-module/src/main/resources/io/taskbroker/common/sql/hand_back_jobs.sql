-- On shutdown: every job still running under this worker goes back to 'pending' without
-- spending an attempt (the job did not fail; we stopped), or to 'cancelled' if a cancel was
-- requested, so another worker takes it at once.
UPDATE taskbroker.jobs j
   SET status = CASE WHEN j.cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE 'pending' END,
       completed_at = CASE WHEN j.cancel_requested_at IS NOT NULL THEN now() END,
       attempt = CASE WHEN j.cancel_requested_at IS NOT NULL THEN j.attempt
                      ELSE j.attempt - 1 END,
       run_at = now(),
       lease_expires_at = NULL
 WHERE j.status = 'running' AND j.worker_id = :worker_id
RETURNING j.id
