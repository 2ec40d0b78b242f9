-- Live counts per queue, read from the partial indexes of pending and running jobs: their size is
-- the backlog and the running set, never the finished history (a UNION of two scans, since one
-- scan of status IN (...) may not pick both partial indexes).
SELECT p.queue,
       count(*) FILTER (WHERE p.run_at <= now()) AS ready,
       count(*) FILTER (WHERE p.run_at > now())  AS scheduled,
       0                                         AS running,
       CAST(extract(epoch FROM now() - min(p.run_at) FILTER (WHERE p.run_at <= now())) * 1000
            AS bigint)                           AS oldest_ready_ms
  FROM taskbroker.job_queue p
 WHERE p.status = 'pending'
 GROUP BY p.queue
UNION ALL
SELECT r.queue, 0, 0, count(*), NULL
  FROM taskbroker.job_queue r
 WHERE r.status = 'running'
 GROUP BY r.queue
