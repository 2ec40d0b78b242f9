-- Whether a runnable job of the queue waits now: after a limited claim came back short, this
-- tells "held back by a limit, look again soon" from "nothing to do".
SELECT EXISTS (
    SELECT 1 FROM taskbroker.job_queue
     WHERE status = 'pending' AND queue = :queue AND run_at <= now()
       AND attempt < max_attempts) AS waiting
