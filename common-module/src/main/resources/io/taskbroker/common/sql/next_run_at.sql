-- When the next scheduled job of a queue becomes runnable, so a producer can wake for it
-- instead of waiting for its next poll.
SELECT min(run_at) AS next_run_at
  FROM taskbroker.job_queue
 WHERE status = 'pending' AND queue = :queue AND run_at > now()
