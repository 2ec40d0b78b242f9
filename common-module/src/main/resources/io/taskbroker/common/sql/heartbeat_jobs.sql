-- Extends the lease of every job this worker still holds, and stores the latest progress the
-- plugins reported, in one statement. Returns the jobs it still holds and whether a cancel
-- was requested for them; a job missing from the result is no longer ours.
-- Rows are locked in id order, as the completer and the hand-back lock them (no deadlock).
WITH beat AS (
    SELECT *
      FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]),
                  CAST(:progress AS real[]), CAST(:progress_messages AS text[]))
           AS v(id, attempt, progress, progress_message)),
-- Each job is looked up by primary key alone (one probe per job), locked, then fenced, as the
-- completion does; complete_jobs.sql says why.
held AS MATERIALIZED (
    SELECT b.id, j.status, j.worker_id, j.attempt
      FROM (SELECT id FROM beat ORDER BY id) b
      CROSS JOIN LATERAL (
          SELECT status, worker_id, attempt
            FROM taskbroker.job_queue
           WHERE id = b.id
             FOR UPDATE) j)
UPDATE taskbroker.job_queue j
   SET heartbeat_at = now(),
       lease_expires_at = now() + :lease_ms * interval '1 millisecond',
       progress = coalesce(b.progress, j.progress),
       progress_message = coalesce(b.progress_message, j.progress_message)
  FROM held h
  JOIN beat b ON b.id = h.id
 WHERE j.id = h.id AND h.status = 'running' AND h.worker_id = :worker_id
   AND h.attempt = b.attempt
RETURNING j.id, j.cancel_requested_at IS NOT NULL AS cancel_requested
