-- taskbroker schema, version 3: worker unit health, and no pending job without attempts left.
--
-- Plain SQL with no Flyway placeholders (applies with psql -f too), and safe on a database that
-- already has rows.

-- The health of each worker's background units (completer, heartbeat, producers, rescuer,
-- pruner, notifier), written by the worker's own touch once per heartbeat interval, never per
-- job. status: 'healthy', 'unhealthy' (a unit keeps failing or has stalled) or 'failed' (a unit
-- died of an Error and the worker stopped; the row stays until a rescuer reaps it, so psql
-- shows why the worker is gone). units: {"<unit>": {"state", "last_progress_at",
-- "consecutive_failures", "last_error"}}.
ALTER TABLE taskbroker.workers
    ADD COLUMN status text  NOT NULL DEFAULT 'healthy',
    ADD COLUMN units  jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD CONSTRAINT workers_status_valid CHECK (status IN ('healthy', 'unhealthy', 'failed')),
    ADD CONSTRAINT workers_units_is_object CHECK (jsonb_typeof(units) = 'object');

-- A pending job must have an attempt left: the claim only takes jobs with attempt <
-- max_attempts, so one without would wait forever, never claimed and never failed. Every
-- worker path already keeps to it (a retry is only written with attempts left, a snooze or a
-- graceful hand-back refunds the attempt, the rescuer and an abandoning worker fail a job whose
-- attempts are used up); the constraint catches the rest, e.g. a manual retry that forgets
-- `attempt = 0`. Rows already stuck that way end 'failed', with the reason, before it is added.
UPDATE taskbroker.jobs
   SET status = 'failed',
       completed_at = now(),
       error = 'pending with its attempts used up (' || attempt || ' of ' || max_attempts
               || '): no worker would ever claim it; retry it with attempt = 0',
       errors = errors || jsonb_build_array(jsonb_build_object(
                    'attempt', attempt, 'at', now(), 'kind', 'attempts_used_up',
                    'error', 'pending with its attempts used up; failed by migration 3'))
 WHERE status = 'pending' AND attempt >= max_attempts;

ALTER TABLE taskbroker.jobs
    ADD CONSTRAINT jobs_pending_has_attempts_left
        CHECK (status <> 'pending' OR attempt < max_attempts);

COMMENT ON CONSTRAINT jobs_pending_has_attempts_left ON taskbroker.jobs IS
    'A pending job with no attempt left would never be claimed: to retry a job by hand, set'
    ' attempt = 0 (or raise max_attempts) with status = ''pending''.';

-- Pending jobs no live worker will run, with the reason: no live worker serves the queue, or
-- none of those that do has the plugin. A worker whose row says 'failed' is not live. (Columns
-- as in version 1, plus reason; a pending job with no attempts left cannot exist any more.)
CREATE OR REPLACE VIEW taskbroker.unserved_jobs AS
SELECT u.queue, u.plugin, count(*) AS pending, min(u.created_at) AS oldest_created_at, u.reason
  FROM (SELECT j.queue, j.plugin, j.created_at,
               CASE WHEN EXISTS (
                        SELECT 1 FROM taskbroker.workers w
                         WHERE w.queues ? j.queue
                           AND w.status <> 'failed'
                           AND w.last_heartbeat_at > now() - interval '1 minute')
                    THEN 'no live worker of the queue has the plugin'
                    ELSE 'no live worker serves the queue' END AS reason
          FROM taskbroker.jobs j
         WHERE j.status = 'pending'
           AND NOT EXISTS (
                SELECT 1 FROM taskbroker.workers w
                 WHERE w.queues ? j.queue
                   AND (j.plugin = ANY (w.plugins) OR '*' = ANY (w.plugins))
                   AND w.status <> 'failed'
                   AND w.last_heartbeat_at > now() - interval '1 minute')) u
 GROUP BY u.queue, u.plugin, u.reason;

-- The view was recreated: it lost its grants (V2).
SELECT taskbroker.grant_roles();

INSERT INTO taskbroker.applied_migrations (version) VALUES (3);
