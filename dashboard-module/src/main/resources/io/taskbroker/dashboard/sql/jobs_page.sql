-- One page of the jobs list, newest first, with a bounded cost: a window of at most :scan rows
-- is read in index order (jobs_created_idx, or jobs_failed_created_idx / the running index when
-- the window is narrowed to those statuses), and the filters that no index serves (queue, plugin,
-- status, text in the error) are applied inside that window only. When the window is used up
-- before the page is full, window_end is where the next request continues: a search through ten
-- million rows is many cheap requests, never one scan. The COALESCEs keep the bounds index
-- conditions in a generic plan too (an "x IS NULL OR" would turn them into filters).
WITH win AS MATERIALIZED (
  SELECT j.id, j.queue, j.plugin, j.status, j.attempt, j.max_attempts, j.created_at, j.run_at,
         j.started_at, j.completed_at, j.worker_id, j.progress, j.error
    FROM taskbroker.jobs j
   WHERE (j.created_at, j.id) < (COALESCE(CAST(:before_at AS timestamptz), 'infinity'),
                                 COALESCE(CAST(:before_id AS uuid),
                                          'ffffffff-ffff-ffff-ffff-ffffffffffff'))
     AND j.created_at >= COALESCE(CAST(:from AS timestamptz), '-infinity')
     AND j.created_at < COALESCE(CAST(:to AS timestamptz), 'infinity')
     /*window_status*/
   ORDER BY j.created_at DESC, j.id DESC
   LIMIT :scan
), hits AS (
  SELECT w.*
    FROM win w
   WHERE (cardinality(CAST(:statuses AS text[])) = 0 OR w.status = ANY (CAST(:statuses AS text[])))
     AND (CAST(:queue AS text) IS NULL OR w.queue = CAST(:queue AS text))
     AND (CAST(:plugin AS text) IS NULL OR w.plugin = CAST(:plugin AS text))
     AND (CAST(:text AS text) IS NULL OR strpos(lower(w.error), lower(CAST(:text AS text))) > 0)
   ORDER BY w.created_at DESC, w.id DESC
   LIMIT :page
)
SELECT (SELECT count(*) FROM win) AS scanned,
       (SELECT json_build_object('at', w.created_at, 'id', w.id)
          FROM win w ORDER BY w.created_at, w.id LIMIT 1) AS window_end,
       COALESCE((SELECT json_agg(json_build_object(
                   'id', h.id, 'queue', h.queue, 'plugin', h.plugin, 'status', h.status,
                   'attempt', h.attempt, 'max_attempts', h.max_attempts,
                   'created_at', h.created_at, 'run_at', h.run_at, 'started_at', h.started_at,
                   'completed_at', h.completed_at, 'worker_id', h.worker_id,
                   'progress', h.progress, 'error', left(h.error, 300))
                   ORDER BY h.created_at DESC, h.id DESC)
                   FROM hits h), '[]') AS rows
