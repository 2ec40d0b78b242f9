-- A worker starting, or registering again after a rescuer reaped its row while it was cut off:
-- healthy until its touch says otherwise.
INSERT INTO taskbroker.workers (id, host, pid, queues, plugins, concurrency)
VALUES (:id, :host, :pid, CAST(:queues AS jsonb), CAST(:plugins AS text[]), :concurrency)
ON CONFLICT (id) DO UPDATE
   SET last_heartbeat_at = now(), queues = EXCLUDED.queues, plugins = EXCLUDED.plugins,
       concurrency = EXCLUDED.concurrency, status = 'healthy'
