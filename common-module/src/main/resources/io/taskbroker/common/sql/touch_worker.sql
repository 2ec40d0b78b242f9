-- The worker's own row, once per heartbeat interval: alive, and the health of each of its units
-- (one small UPDATE per interval, never per job). No row: it was reaped; the caller registers
-- again.
UPDATE taskbroker.workers
   SET last_heartbeat_at = now(), status = :status, units = CAST(:units AS jsonb)
 WHERE id = :id
