-- Finished jobs per minute and queue since :since (and for all queues: queue NULL), with run-time
-- and queue-wait percentiles. A range of jobs_finished_idx: the dashboard asks for the last minute
-- or two on each tick and for the last hour once at start, never for the whole history.
SELECT date_trunc('minute', j.completed_at)                       AS minute,
       j.queue,
       count(*) FILTER (WHERE j.status = 'completed')             AS completed,
       count(*) FILTER (WHERE j.status = 'failed')                AS failed,
       count(*) FILTER (WHERE j.status = 'cancelled')             AS cancelled,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (
           ORDER BY extract(epoch FROM j.completed_at - j.started_at) * 1000) AS run_ms,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (
           ORDER BY extract(epoch FROM j.started_at - j.run_at) * 1000)       AS wait_ms
  FROM taskbroker.jobs j
 WHERE j.completed_at >= CAST(:since AS timestamptz)
 GROUP BY GROUPING SETS ((date_trunc('minute', j.completed_at), j.queue),
                         (date_trunc('minute', j.completed_at)))
