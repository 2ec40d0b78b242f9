-- The claim of a queue with limits: taskbroker.claim_limited (V5; V9 serialises the claims of the
-- queue on an advisory lock) claims at most what its global, rate and per-key limits leave. The
-- same columns as claim_jobs.sql returns.
SELECT id, queue, plugin, payload, metadata, status, priority, run_at, attempt, max_attempts,
       timeout_ms, created_at, started_at, worker_id, unique_key, cancel_requested_at,
       concurrency_key
  FROM taskbroker.claim_limited(
    :queue, :worker_id, CASE WHEN :any_plugin THEN NULL ELSE CAST(:plugins AS text[]) END, :limit, :lease_ms)
