-- Extends the lease of every job this worker still holds, and stores the latest progress the
-- plugins reported, in one statement. Returns the jobs it still holds and whether a cancel
-- was requested for them; a job missing from the result is no longer ours.
UPDATE taskbroker.jobs j
   SET heartbeat_at = now(),
       lease_expires_at = now() + :lease_ms * interval '1 millisecond',
       progress = coalesce(v.progress, j.progress),
       progress_message = coalesce(v.progress_message, j.progress_message)
  FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]),
              CAST(:progress AS real[]), CAST(:progress_messages AS text[]))
       AS v(id, attempt, progress, progress_message)
 WHERE j.id = v.id AND j.status = 'running' AND j.worker_id = :worker_id
   AND j.attempt = v.attempt
RETURNING j.id, j.cancel_requested_at IS NOT NULL AS cancel_requested
