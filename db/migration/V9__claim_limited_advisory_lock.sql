-- taskbroker schema, version 9: the limited claim serialises on an advisory lock, not a row lock.
--
-- Plain SQL with no Flyway placeholders (applies with psql -f too); changes no table.
--
-- V5's taskbroker.claim_limited serialised the claims of one queue with SELECT ... FOR UPDATE on
-- the queue's row in taskbroker.queues: a lock-only tuple write (xmax set, page dirtied, WAL
-- written) on every claim. Here the claims of one queue take a transaction-level advisory lock
-- on (hashtext('taskbroker.claim_limited'), hashtext(queue)) instead: held in the lock manager only, no write, released at commit like the
-- row lock (after the commit is visible), so the next claimer's statements still see every
-- earlier claim and the limits stay exact. Two queues whose names hash alike only share the lock
-- (their claims take turns), which costs time, never correctness. The two-key form keeps clear of
-- an application's one-key advisory locks. The settings row is read after the lock, so a claim
-- uses the settings that were committed before it ran. Everything else is V5's body unchanged.

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
        -- queue are serialised already); the UPDATE re-checks each is still pending.
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
                  LIMIT $3)
             UPDATE taskbroker.jobs j
                SET status = ''running'', attempt = j.attempt + 1, worker_id = $4,
                    started_at = clock_timestamp(), heartbeat_at = now(),
                    lease_expires_at = now() + $5 * interval ''1 millisecond'',
                    progress = NULL, progress_message = NULL
               FROM picked
              WHERE j.id = picked.id AND j.status = ''pending''
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

INSERT INTO taskbroker.applied_migrations (version) VALUES (9);
