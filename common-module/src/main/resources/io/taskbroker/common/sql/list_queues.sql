-- The queues that have settings (taskbroker.queues), or one of them (:name not null). Durations
-- travel as milliseconds.
SELECT q.name, q.paused, q.paused_at, q.global_concurrency, q.rate_limit,
       CAST(extract(epoch FROM q.rate_period) * 1000 AS bigint) AS rate_period_ms,
       q.key_concurrency, q.updated_at
  FROM taskbroker.queues q
 WHERE CAST(:name AS text) IS NULL OR q.name = :name
 ORDER BY q.name
