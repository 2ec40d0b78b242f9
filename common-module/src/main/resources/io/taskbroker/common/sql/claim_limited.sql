-- The claim of a queue with limits: taskbroker.claim_limited (V5; V9 serialises the claims of the
-- queue on an advisory lock) claims at most what its global, rate and per-key limits leave. The
-- same rows as claim_jobs.sql.
SELECT * FROM taskbroker.claim_limited(
    :queue, :worker_id, CASE WHEN :any_plugin THEN NULL ELSE CAST(:plugins AS text[]) END, :limit, :lease_ms)
