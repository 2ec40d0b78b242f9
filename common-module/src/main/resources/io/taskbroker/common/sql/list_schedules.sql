-- Every schedule (or the one named), for people and the client: the definition with durations in
-- milliseconds, and its state.
SELECT s.name, s.cron, s.time_zone, s.plugin, s.queue, CAST(s.payload AS text) AS payload,
       CAST(s.metadata AS text) AS metadata, s.priority, s.max_attempts, s.timeout_ms,
       s.catch_up, CAST(extract(epoch FROM s.catch_up_window) * 1000 AS bigint)
           AS catch_up_window_ms,
       s.overlap, CAST(extract(epoch FROM s.jitter) * 1000 AS bigint) AS jitter_ms,
       s.paused, s.next_run_at, s.last_run_at, s.last_job_id, s.last_error, s.created_at,
       s.updated_at
  FROM taskbroker.schedules s
 WHERE CAST(:name AS text) IS NULL OR s.name = CAST(:name AS text)
 ORDER BY s.name
