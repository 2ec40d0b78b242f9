-- taskbroker schema, version 11: writes that join a batch of jobs find them by id alone.
--
-- Plain SQL with no Flyway placeholders (applies with psql -f too); changes no table.
--
-- An UPDATE ... FROM batch WHERE j.id = batch.id AND j.status = 'x' lets the planner answer the
-- status with a partial index whose predicate it matches (jobs_claim_idx for 'pending',
-- jobs_failed_created_idx for 'failed'/'cancelled'). When the table was analysed while it held
-- few such rows (a long history of finished jobs between bursts, the usual state of a kept
-- table), the planner counts one row in that index and reads it whole once per job of the batch:
-- quadratic. Measured on a 20,000-row table analysed before 5,000 jobs failed:
-- retry_jobs(plugin => ...) took 4,162 ms, 63 ms after ANALYZE; a keyed claim_limited of 128 with
-- 20,000 pending took 688 ms. Both row sets are locked before the UPDATE (retry_jobs' targets FOR
-- UPDATE SKIP LOCKED with the status in their own condition; claim_limited's picked jobs now one
-- lateral FOR UPDATE by id each), so the UPDATE finds them by id alone and the status is checked
-- on the locked row. Everything else is V9's claim_limited and V5's retry_jobs unchanged.

CREATE OR REPLACE FUNCTION taskbroker.claim_limited(
    queue     text,
    worker_id text,
    plugins   text[],
    max_jobs  integer,
    lease_ms  bigint
) RETURNS SETOF taskbroker.jobs
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    q taskbroker.queues;
    v_now timestamptz;
    v_budget integer := claim_limited.max_jobs;
    v_count bigint;
    v_claimed integer;
BEGIN
    -- One claim of this queue at a time (see the top of this file); no tuple write.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('taskbroker.claim_limited'),
                                             pg_catalog.hashtext(claim_limited.queue));
    SELECT * INTO q FROM taskbroker.queues s WHERE s.name = claim_limited.queue;
    IF FOUND AND q.paused THEN
        RETURN;
    END IF;
    -- After the lock: in the order the claims run (see the top of this file).
    v_now := clock_timestamp();
    -- Each count is a statement of its own: its snapshot sees every claim before this one.
    IF q.global_concurrency IS NOT NULL THEN
        SELECT count(*) INTO v_count FROM taskbroker.jobs r
         WHERE r.queue = claim_limited.queue AND r.status = 'running';
        v_budget := least(v_budget, q.global_concurrency - v_count);
    END IF;
    IF q.rate_limit IS NOT NULL THEN
        DELETE FROM taskbroker.queue_starts s
         WHERE s.queue = claim_limited.queue
           AND s.started_at <= v_now - greatest(q.rate_period, interval '1 minute');
        SELECT coalesce(sum(s.jobs), 0) INTO v_count FROM taskbroker.queue_starts s
         WHERE s.queue = claim_limited.queue AND s.started_at > v_now - q.rate_period;
        v_budget := least(v_budget, q.rate_limit - v_count);
    END IF;
    IF v_budget <= 0 THEN
        RETURN;
    END IF;
    IF q.key_concurrency IS NULL THEN
        RETURN QUERY EXECUTE
            'WITH picked AS (
                 SELECT c.id FROM taskbroker.jobs c
                  WHERE c.status = ''pending'' AND c.queue = $1 AND c.run_at <= now()
                    AND c.attempt < c.max_attempts
                    AND ($2 IS NULL OR c.plugin = ANY ($2))
                  ORDER BY c.priority, c.run_at, c.id
                  LIMIT $3
                  FOR UPDATE SKIP LOCKED)
             UPDATE taskbroker.jobs j
                SET status = ''running'', attempt = j.attempt + 1, worker_id = $4,
                    started_at = clock_timestamp(), heartbeat_at = now(),
                    lease_expires_at = now() + $5 * interval ''1 millisecond'',
                    progress = NULL, progress_message = NULL
               FROM picked
              WHERE j.id = picked.id
             RETURNING j.*'
            USING claim_limited.queue, claim_limited.plugins, v_budget, claim_limited.worker_id,
                  claim_limited.lease_ms;
    ELSE
        -- Per key: rank the first runnable jobs within their key and take those that keep each
        -- key at most key_concurrency running. Only the first max(1000, 20 x max_jobs) runnable
        -- jobs are looked at (a key with a long backlog at the head can hold others back for
        -- that claim; never past a limit). No row locks on the candidates (the claims of this
        -- queue are serialised already); each is locked by id and re-checked as still pending.
        RETURN QUERY EXECUTE
            'WITH running AS (
                 SELECT r.concurrency_key AS key, count(*) AS n FROM taskbroker.jobs r
                  WHERE r.queue = $1 AND r.status = ''running'' AND r.concurrency_key IS NOT NULL
                  GROUP BY r.concurrency_key),
             candidates AS (
                 SELECT c.id, c.concurrency_key, c.priority, c.run_at FROM taskbroker.jobs c
                  WHERE c.status = ''pending'' AND c.queue = $1 AND c.run_at <= now()
                    AND c.attempt < c.max_attempts
                    AND ($2 IS NULL OR c.plugin = ANY ($2))
                  ORDER BY c.priority, c.run_at, c.id
                  LIMIT greatest(1000, 20 * $3)),
             ranked AS (
                 SELECT c.*, row_number() OVER (PARTITION BY c.concurrency_key
                                                ORDER BY c.priority, c.run_at, c.id) AS nth
                   FROM candidates c),
             picked AS (
                 SELECT k.id FROM ranked k LEFT JOIN running r ON r.key = k.concurrency_key
                  WHERE k.concurrency_key IS NULL OR k.nth + coalesce(r.n, 0) <= $6
                  ORDER BY k.priority, k.run_at, k.id
                  LIMIT $3),
             -- One probe by id per picked job, locked; still pending is checked on the locked
             -- row (see the top of V11).
             locked AS MATERIALIZED (
                 SELECT p.id, l.status FROM picked p
                 CROSS JOIN LATERAL (
                     SELECT c.status FROM taskbroker.jobs c WHERE c.id = p.id FOR UPDATE) l)
             UPDATE taskbroker.jobs j
                SET status = ''running'', attempt = j.attempt + 1, worker_id = $4,
                    started_at = clock_timestamp(), heartbeat_at = now(),
                    lease_expires_at = now() + $5 * interval ''1 millisecond'',
                    progress = NULL, progress_message = NULL
               FROM locked
              WHERE j.id = locked.id AND locked.status = ''pending''
             RETURNING j.*'
            USING claim_limited.queue, claim_limited.plugins, v_budget, claim_limited.worker_id,
                  claim_limited.lease_ms, q.key_concurrency;
    END IF;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    IF q.rate_limit IS NOT NULL AND v_claimed > 0 THEN
        -- Logged at the latest of its jobs' start times (see the top of this file).
        INSERT INTO taskbroker.queue_starts (queue, started_at, jobs)
        VALUES (claim_limited.queue, clock_timestamp(), v_claimed);
    END IF;
END;
$$;


CREATE OR REPLACE FUNCTION taskbroker.retry_jobs(
    queue          text        DEFAULT NULL,
    plugin         text        DEFAULT NULL,
    status         text        DEFAULT NULL,
    finished_since timestamptz DEFAULT NULL
) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_count bigint;
BEGIN
    PERFORM taskbroker.check_job_filter('retry', ARRAY['failed', 'cancelled'], retry_jobs.queue,
        retry_jobs.plugin, retry_jobs.status, retry_jobs.finished_since, true);
    WITH targets AS (
        SELECT j.id FROM taskbroker.jobs j
         WHERE j.status IN ('failed', 'cancelled')
           AND (retry_jobs.status IS NULL OR j.status = retry_jobs.status)
           AND (retry_jobs.queue IS NULL OR j.queue = retry_jobs.queue)
           AND (retry_jobs.plugin IS NULL OR j.plugin = retry_jobs.plugin)
           AND (retry_jobs.finished_since IS NULL OR j.completed_at >= retry_jobs.finished_since)
           AND taskbroker.may_change(j.submitted_by)
           AND (j.unique_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM taskbroker.jobs l
                 WHERE l.unique_key = j.unique_key AND l.status IN ('pending', 'running')))
         FOR UPDATE SKIP LOCKED)
    UPDATE taskbroker.jobs j
       SET status = 'pending', attempt = 0, run_at = now(), completed_at = NULL,
           cancel_requested_at = NULL, result = NULL, progress = NULL, progress_message = NULL
      FROM targets
     -- targets are locked and were checked under the lock: found by id alone (top of V11).
     WHERE j.id = targets.id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

INSERT INTO taskbroker.applied_migrations (version) VALUES (11);
