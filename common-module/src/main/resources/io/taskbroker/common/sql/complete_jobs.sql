-- Writes a batch of outcomes. Fenced: a row changes only while it is still running under this
-- worker at the same attempt, so a worker that lost the job (rescued, handed back) cannot
-- overwrite newer truth. The caller compares the returned ids with what it sent.
-- A cancel request turns a retry or a failure into 'cancelled'; a success still completes.
-- JSON travels as text[] and is cast row by row: casting a jsonb[] parameter costs more.
WITH outcome AS (
    SELECT t.id, t.attempt, t.status, CAST(t.result AS jsonb) AS result, t.error,
           CAST(t.error_entry AS jsonb) AS error_entry, t.run_at_ms, t.delay_ms, t.refund
      FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]),
                  CAST(:statuses AS text[]), CAST(:results AS text[]),
                  CAST(:errors AS text[]), CAST(:error_entries AS text[]),
                  CAST(:run_at_ms AS bigint[]), CAST(:delay_ms AS bigint[]),
                  CAST(:refunds AS boolean[]))
           AS t(id, attempt, status, result, error, error_entry, run_at_ms, delay_ms, refund)),
decided AS (
    SELECT o.*,
           CASE WHEN o.status IN ('pending', 'failed') AND j.cancel_requested_at IS NOT NULL
                THEN 'cancelled' ELSE o.status END AS new_status
      FROM outcome o
      JOIN taskbroker.jobs j ON j.id = o.id
     WHERE j.status = 'running' AND j.worker_id = :worker_id AND j.attempt = o.attempt
     -- Rows are locked in id order, as the heartbeat and the hand-back lock them: the same
     -- worker's statements then queue behind each other instead of deadlocking.
     ORDER BY j.id
       FOR UPDATE OF j)
UPDATE taskbroker.jobs j
   SET status = d.new_status,
       completed_at = CASE WHEN d.new_status = 'pending' THEN NULL ELSE now() END,
       result = CASE WHEN d.new_status = 'completed' THEN d.result END,
       error = CASE WHEN d.new_status = 'completed' THEN NULL ELSE d.error END,
       errors = CASE WHEN d.error_entry IS NULL THEN j.errors
                     ELSE j.errors || jsonb_build_array(d.error_entry) END,
       run_at = CASE WHEN d.new_status <> 'pending' THEN j.run_at
                     ELSE coalesce(to_timestamp(d.run_at_ms / 1000.0),
                                   now() + coalesce(d.delay_ms, 0) * interval '1 millisecond')
                END,
       attempt = CASE WHEN d.new_status = 'pending' AND d.refund THEN j.attempt - 1
                      ELSE j.attempt END,
       progress = CASE WHEN d.new_status = 'completed' THEN 1 ELSE j.progress END,
       lease_expires_at = NULL
  FROM decided d
 WHERE j.id = d.id AND j.status = 'running' AND j.worker_id = :worker_id
   AND j.attempt = d.attempt
RETURNING j.id, j.status
