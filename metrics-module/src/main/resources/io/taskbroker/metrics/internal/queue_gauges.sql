-- The per-queue gauges (ready, scheduled, running, the oldest ready job's age), read on a period
-- by a process that serves metrics, never per scrape. Bounded by the live jobs, not the table:
-- the pending rows come from the claim index (jobs_claim_idx, partial on status = 'pending',
-- which holds queue and run_at: an index-only scan), the running rows from the lease index
-- (jobs_running_lease_idx, partial on status = 'running'). Finished rows, however many the
-- retention keeps, are never read; the queue_stats view, which counts them too, reads them all.
WITH pending AS (
    SELECT j.queue,
           count(*) FILTER (WHERE j.run_at <= now()) AS ready,
           count(*) FILTER (WHERE j.run_at > now())  AS scheduled,
           min(j.run_at) FILTER (WHERE j.run_at <= now()) AS oldest_ready_run_at
      FROM taskbroker.job_queue j
     WHERE j.status = 'pending'
     GROUP BY j.queue
), running AS (
    SELECT j.queue, count(*) AS running
      FROM taskbroker.job_queue j
     WHERE j.status = 'running'
     GROUP BY j.queue
)
SELECT coalesce(p.queue, r.queue) AS queue,
       coalesce(p.ready, 0)       AS ready,
       coalesce(p.scheduled, 0)   AS scheduled,
       coalesce(r.running, 0)     AS running,
       coalesce(CAST(extract(epoch FROM now() - p.oldest_ready_run_at) * 1000 AS bigint), 0)
                                  AS oldest_ready_ms
  FROM pending p
  FULL JOIN running r ON r.queue = p.queue
