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
-- Each job is looked up by primary key alone, locked, and only then fenced. With the fence in the
-- lookup the planner may read jobs_running_key_idx instead: its statistics, taken while a large
-- history held no running row, put one row there, so it scans every running job once per job of
-- the batch (measured with 10 million finished jobs kept: 24 ms per 160-job batch, 5 ms this way).
-- A join on id alone may still become a scan of the whole table when the table is small; one
-- probe per job (the lateral lookup by id) is what a batch costs at any size.
-- Locking a row that is no longer ours costs its new owner a wait until this commit, no more.
locked AS MATERIALIZED (
    SELECT o.*, j.status AS held_status, j.worker_id AS held_by, j.attempt AS held_attempt,
           j.cancel_requested_at
      -- Rows are locked in id order, as the heartbeat and the hand-back lock them: the same
      -- worker's statements then queue behind each other instead of deadlocking.
      FROM (SELECT * FROM outcome ORDER BY id) o
      CROSS JOIN LATERAL (
          SELECT status, worker_id, attempt, cancel_requested_at
            FROM taskbroker.job_queue
           WHERE id = o.id
             FOR UPDATE) j),
decided AS (
    SELECT l.*,
           CASE WHEN l.status IN ('pending', 'failed') AND l.cancel_requested_at IS NOT NULL
                THEN 'cancelled' ELSE l.status END AS new_status
      FROM locked l
     WHERE l.held_status = 'running' AND l.held_by = :worker_id AND l.held_attempt = l.attempt)
-- The rows are locked and fenced above, so the update finds them by id alone.
UPDATE taskbroker.job_queue j
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
 WHERE j.id = d.id
RETURNING j.id, j.status
