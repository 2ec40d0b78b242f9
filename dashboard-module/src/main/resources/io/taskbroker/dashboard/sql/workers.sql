-- The fleet, with how many jobs each worker holds (from the running partial index).
SELECT w.id, w.host, w.pid, CAST(w.queues AS text) AS queues, w.plugins, w.concurrency,
       w.started_at, w.last_heartbeat_at, w.status, CAST(w.units AS text) AS units,
       (SELECT count(*) FROM taskbroker.job_queue j
         WHERE j.status = 'running' AND j.worker_id = w.id) AS running
  FROM taskbroker.workers w
 ORDER BY w.host, w.id
