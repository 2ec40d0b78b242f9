-- The jobs open on some page of this dashboard, for their live progress: one statement per tick
-- for every tab, by primary key.
SELECT j.id, j.status, j.attempt, j.progress, j.progress_message, j.worker_id
  FROM taskbroker.jobs j
 WHERE j.id = ANY (CAST(:ids AS uuid[]))
