SELECT queue, pending, scheduled, running, completed, failed, cancelled,
       CAST(extract(epoch FROM oldest_pending_age) * 1000 AS bigint) AS oldest_pending_ms
  FROM taskbroker.queue_stats
 ORDER BY queue
