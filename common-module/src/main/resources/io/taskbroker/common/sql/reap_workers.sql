-- Rows of workers that stopped heartbeating long ago (killed, host lost). Their jobs are
-- rescued by lease, independently of this.
DELETE FROM taskbroker.workers
 WHERE last_heartbeat_at < now() - :stale_ms * interval '1 millisecond'
RETURNING id
