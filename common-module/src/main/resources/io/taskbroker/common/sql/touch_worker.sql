UPDATE taskbroker.workers SET last_heartbeat_at = now() WHERE id = :id
