-- The tick of the scheduler: unpaused schedules whose next slot is due by the clock of the worker, or not
-- computed yet (NULL after an upsert or resume), and that a worker can compute (no last_error).
-- No lock here: fire_schedule locks the row (SKIP LOCKED) and compares next_run_at with the one
-- read here, so workers that read the same row race safely and only one fires it.
SELECT s.name, s.cron, s.time_zone, s.catch_up,
       CAST(extract(epoch FROM s.catch_up_window) * 1000 AS bigint) AS catch_up_window_ms,
       CAST(extract(epoch FROM s.jitter) * 1000 AS bigint) AS jitter_ms,
       s.next_run_at
  FROM taskbroker.schedules s
 WHERE NOT s.paused
   AND s.last_error IS NULL
   AND (s.next_run_at IS NULL OR s.next_run_at <= to_timestamp(:now_ms / 1000.0))
 ORDER BY s.next_run_at NULLS FIRST
 LIMIT :limit
