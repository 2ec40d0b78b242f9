-- taskbroker schema, version 5: queue controls and flow limits.
--
-- Plain SQL with no Flyway placeholders (applies with psql -f too), and safe on a database that
-- already has rows.
--
-- How the pieces fit:
--   * taskbroker.queues holds one row per queue that has settings: paused, and the limits. A
--     queue without a row (or a row with every limit NULL) has none, and its claim is the plain
--     claim_jobs.sql, as fast as before, which only adds a primary-key probe here: it claims
--     nothing from a queue that is paused or has a limit (a worker whose cached settings are
--     stale then finds nothing, never too much; it learns the settings on the control
--     notification or within a second).
--   * A limited queue is claimed through taskbroker.claim_limited, which serialises the claims of
--     that one queue on its row (SELECT ... FOR UPDATE), then, each in a statement of its own and
--     so with a snapshot taken after the previous claimer committed, counts the queue's running
--     jobs (jobs_running_key_idx), the starts of the rate window (queue_starts) and the running
--     jobs per key, and claims at most what every limit leaves. The numbers are exact whatever
--     the number of workers: two claims of one limited queue never overlap.
--   * The rate window counts a log of starts (taskbroker.queue_starts: one row per claim, with
--     how many jobs it started), not jobs' started_at: a retried or rescued job's started_at is
--     overwritten by its next attempt, and a pruned job takes its start with it. The log is
--     pruned by the claim itself, past the longer of the period and a minute (so raising a
--     period up to a minute keeps counting the starts before the change).
--   * Times in a limited claim are clock_timestamp(), not now() (the transaction's start, taken
--     before the wait for the lock): the window is counted at a time read after the lock, a job's
--     started_at is read while the claim writes it (after every count, so after the finish of
--     any job whose slot it takes), and the log entry after the claim (at or after its jobs'
--     started_at). Times then grow in the order the claims ran, and the limits hold for the
--     jobs' started_at and completed_at as psql shows them, not only for the counts.
--   * Pausing, resuming and changing limits notify taskbroker_control with
--     {"action":"queue","queue":...}: workers re-read the row at once. The claims enforce the
--     row themselves, so a lost notification only costs up to a second of extra empty claims.

CREATE TABLE taskbroker.queues (
    name               text        PRIMARY KEY,
    paused             boolean     NOT NULL DEFAULT false,
    paused_at          timestamptz,
    -- At most this many jobs of the queue running at once, across the whole fleet.
    global_concurrency integer,
    -- At most rate_limit starts in any window of rate_period (sliding).
    rate_limit         integer,
    rate_period        interval,
    -- At most this many running jobs per concurrency_key (jobs without a key: no such limit).
    key_concurrency    integer,
    updated_at         timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT queues_name_valid CHECK (name <> '' AND length(name) <= 128),
    CONSTRAINT queues_paused_at_when_paused CHECK (paused = (paused_at IS NOT NULL)),
    CONSTRAINT queues_global_concurrency_valid
        CHECK (global_concurrency IS NULL OR global_concurrency >= 1),
    CONSTRAINT queues_rate_limit_valid CHECK (rate_limit IS NULL OR rate_limit >= 1),
    CONSTRAINT queues_rate_period_valid
        CHECK ((rate_limit IS NULL) = (rate_period IS NULL)
               AND (rate_period IS NULL
                    OR (rate_period > interval '0' AND rate_period <= interval '1 day'))),
    CONSTRAINT queues_key_concurrency_valid
        CHECK (key_concurrency IS NULL OR key_concurrency >= 1)
);

COMMENT ON TABLE taskbroker.queues IS
    'Per-queue settings: paused, global_concurrency, rate_limit per rate_period, key_concurrency.'
    ' A queue without a row has no limits. Change it with taskbroker.pause_queue, resume_queue,'
    ' set_queue_limits.';

-- The rate window's log: one row per limited claim that started jobs (see the top).
CREATE TABLE taskbroker.queue_starts (
    queue      text        NOT NULL,
    started_at timestamptz NOT NULL,
    jobs       integer     NOT NULL,
    CONSTRAINT queue_starts_jobs_valid CHECK (jobs >= 1)
);

CREATE INDEX queue_starts_queue_idx ON taskbroker.queue_starts (queue, started_at);

-- Jobs of one key run at most key_concurrency at a time (a queue setting). Optional.
ALTER TABLE taskbroker.jobs ADD COLUMN concurrency_key text;
ALTER TABLE taskbroker.jobs ADD CONSTRAINT jobs_concurrency_key_valid
    CHECK (concurrency_key IS NULL OR (concurrency_key <> '' AND length(concurrency_key) <= 256));

-- The limited claim counts the running jobs of a queue, and of a key, here. It holds only
-- running rows (a fleet's slots' worth), so it stays small; the price is one small index entry
-- per claimed job on every queue, limited or not.
CREATE INDEX jobs_running_key_idx ON taskbroker.jobs (queue, concurrency_key)
    WHERE status = 'running';

-- Redrive without a scan: finished jobs by queue and end time (bulk retry, cancel, delete).
CREATE INDEX jobs_queue_finished_idx ON taskbroker.jobs (queue, completed_at)
    WHERE completed_at IS NOT NULL;

-- Submit, as in version 1 and 2, with the concurrency key as a last optional argument (existing
-- calls keep working). A function's arguments cannot change in place: dropped and created again,
-- SECURITY DEFINER as before; grant_roles below grants it again.
DROP FUNCTION taskbroker.submit(text, jsonb, text, integer, timestamptz, interval, integer,
                                jsonb, text, integer);
CREATE FUNCTION taskbroker.submit(
    plugin          text,
    payload         jsonb       DEFAULT '{}'::jsonb,
    queue           text        DEFAULT 'default',
    priority        integer     DEFAULT 0,
    run_at          timestamptz DEFAULT NULL,
    delay           interval    DEFAULT NULL,
    max_attempts    integer     DEFAULT 3,
    metadata        jsonb       DEFAULT '{}'::jsonb,
    unique_key      text        DEFAULT NULL,
    timeout_ms      integer     DEFAULT NULL,
    concurrency_key text        DEFAULT NULL
) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id uuid;
BEGIN
    INSERT INTO taskbroker.jobs AS j
        (queue, plugin, payload, metadata, priority, run_at, max_attempts, unique_key, timeout_ms,
         concurrency_key)
    VALUES (
        coalesce(submit.queue, 'default'),
        submit.plugin,
        coalesce(submit.payload, '{}'::jsonb),
        coalesce(submit.metadata, '{}'::jsonb),
        coalesce(submit.priority, 0),
        coalesce(submit.run_at, now() + coalesce(submit.delay, interval '0')),
        coalesce(submit.max_attempts, 3),
        submit.unique_key,
        submit.timeout_ms,
        submit.concurrency_key)
    RETURNING j.id INTO new_id;
    RETURN new_id;
END;
$$;

-- Tells the workers that a queue's settings changed: they re-read its row.
CREATE FUNCTION taskbroker.notify_queue_changed(queue text) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.pg_notify('taskbroker_control',
        pg_catalog.json_build_object('action', 'queue', 'queue', notify_queue_changed.queue)::text)
$$;

CREATE FUNCTION taskbroker.check_queue_name(queue text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF check_queue_name.queue IS NULL OR check_queue_name.queue = ''
       OR length(check_queue_name.queue) > 128 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('queue: must be a name of 1 to 128 characters, got %L',
                             check_queue_name.queue);
    END IF;
END;
$$;

-- Pauses a queue: no worker claims from it (running jobs finish; new ones wait as pending). A
-- queue may be paused before it has jobs. Returns true when it was not paused before.
CREATE FUNCTION taskbroker.pause_queue(name text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_changed boolean;
BEGIN
    PERFORM taskbroker.check_queue_name(pause_queue.name);
    INSERT INTO taskbroker.queues AS q (name, paused, paused_at)
    VALUES (pause_queue.name, true, now())
    ON CONFLICT (name) DO UPDATE SET paused = true, paused_at = now(), updated_at = now()
        WHERE NOT q.paused
    RETURNING true INTO v_changed;
    PERFORM taskbroker.notify_queue_changed(pause_queue.name);
    RETURN coalesce(v_changed, false);
END;
$$;

-- Resumes a paused queue. Returns true when it was paused; false when it was not (or has no
-- settings at all).
CREATE FUNCTION taskbroker.resume_queue(name text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM taskbroker.check_queue_name(resume_queue.name);
    UPDATE taskbroker.queues q SET paused = false, paused_at = NULL, updated_at = now()
     WHERE q.name = resume_queue.name AND q.paused;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM taskbroker.notify_queue_changed(resume_queue.name);
    RETURN true;
END;
$$;

-- Sets every limit of a queue at once; NULL clears that one. A rate_limit without a period
-- counts per second; a period without a rate_limit is refused. Bad values raise
-- invalid_parameter_value (22023) naming the argument, and nothing is written. Lowering a limit
-- below what runs now stops no job: no new one starts until the running ones are under it.
CREATE FUNCTION taskbroker.set_queue_limits(
    name               text,
    global_concurrency integer  DEFAULT NULL,
    rate_limit         integer  DEFAULT NULL,
    rate_period        interval DEFAULT NULL,
    key_concurrency    integer  DEFAULT NULL
) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_period interval := set_queue_limits.rate_period;
BEGIN
    PERFORM taskbroker.check_queue_name(set_queue_limits.name);
    IF set_queue_limits.global_concurrency IS NOT NULL
       AND set_queue_limits.global_concurrency < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('global_concurrency: must be at least 1 (NULL for no limit; pause'
                             ' the queue to stop it), got %s', set_queue_limits.global_concurrency);
    END IF;
    IF set_queue_limits.rate_limit IS NOT NULL AND set_queue_limits.rate_limit < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('rate_limit: must be at least 1 (NULL for no limit), got %s',
                             set_queue_limits.rate_limit);
    END IF;
    IF v_period IS NOT NULL AND set_queue_limits.rate_limit IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('rate_period: %s given without a rate_limit', v_period);
    END IF;
    IF v_period IS NOT NULL AND (v_period <= interval '0' OR v_period > interval '1 day') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('rate_period: must be longer than 0 and at most 1 day, got %s',
                             v_period);
    END IF;
    IF set_queue_limits.rate_limit IS NOT NULL AND v_period IS NULL THEN
        v_period := interval '1 second';
    END IF;
    IF set_queue_limits.key_concurrency IS NOT NULL AND set_queue_limits.key_concurrency < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('key_concurrency: must be at least 1 (NULL for no limit), got %s',
                             set_queue_limits.key_concurrency);
    END IF;
    INSERT INTO taskbroker.queues AS q
        (name, global_concurrency, rate_limit, rate_period, key_concurrency)
    VALUES (set_queue_limits.name, set_queue_limits.global_concurrency,
            set_queue_limits.rate_limit, v_period, set_queue_limits.key_concurrency)
    ON CONFLICT (name) DO UPDATE
        SET global_concurrency = EXCLUDED.global_concurrency,
            rate_limit = EXCLUDED.rate_limit,
            rate_period = EXCLUDED.rate_period,
            key_concurrency = EXCLUDED.key_concurrency,
            updated_at = now();
    PERFORM taskbroker.notify_queue_changed(set_queue_limits.name);
END;
$$;

-- The claim of a queue with settings (the producer uses it when its cached settings show a
-- limit; with none it uses claim_jobs.sql). Claims of one queue are serialised on its row; each
-- count below is its own statement, so it sees every claim that ran before this one. Returns the
-- claimed rows, like claim_jobs.sql. The claim statements are EXECUTEd, so planned on every call:
-- a cached generic plan chosen while the queue was small is what claim_jobs.sql avoids too.
CREATE FUNCTION taskbroker.claim_limited(
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
    SELECT * INTO q FROM taskbroker.queues s WHERE s.name = claim_limited.queue FOR UPDATE;
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

-- Whether the calling login may change this job: it submitted it, or it may update the table.
CREATE FUNCTION taskbroker.may_change(submitted_by text) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT may_change.submitted_by = pg_catalog.text(session_user)
        OR pg_catalog.has_table_privilege(session_user, 'taskbroker.jobs', 'UPDATE')
$$;

-- Redrive: a failed or cancelled job goes back to pending, runnable now, with a fresh attempt
-- budget (attempt 0 of max_attempts). Its history stays: errors (one entry per failed attempt),
-- the last error, started_at and the last worker are kept until its next run writes them.
-- Returns the status after the call: 'pending' when retried, the unchanged status of a job that
-- is pending, running or completed, NULL when there is no such job (or it is not the caller's).
-- A job whose unique key a live job holds now cannot come back: unique_violation (23505).
CREATE FUNCTION taskbroker.retry(job_id uuid) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    job record;
BEGIN
    SELECT j.id, j.status, j.submitted_by INTO job
      FROM taskbroker.jobs j WHERE j.id = retry.job_id FOR UPDATE;
    IF NOT FOUND OR NOT taskbroker.may_change(job.submitted_by) THEN
        RETURN NULL;
    END IF;
    IF job.status NOT IN ('failed', 'cancelled') THEN
        RETURN job.status;
    END IF;
    UPDATE taskbroker.jobs j
       SET status = 'pending', attempt = 0, run_at = now(), completed_at = NULL,
           cancel_requested_at = NULL, result = NULL, progress = NULL, progress_message = NULL
     WHERE j.id = retry.job_id;
    RETURN 'pending';
END;
$$;

-- The bulk functions' filter: NULL matches anything. Raises for a status the action cannot
-- take, and (unless every_job) for a filter with no criterion at all.
CREATE FUNCTION taskbroker.check_job_filter(
    action text, allowed text[], queue text, plugin text, status text,
    finished_since timestamptz, every_job boolean
) RETURNS void
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF check_job_filter.status IS NOT NULL
       AND NOT (check_job_filter.status = ANY (check_job_filter.allowed)) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('status: %s_jobs takes %s jobs, not %L', check_job_filter.action,
                             array_to_string(check_job_filter.allowed, ', '),
                             check_job_filter.status);
    END IF;
    IF check_job_filter.queue IS NULL AND check_job_filter.plugin IS NULL
       AND check_job_filter.status IS NULL AND check_job_filter.finished_since IS NULL
       AND NOT coalesce(check_job_filter.every_job, false) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s_jobs: no filter given (queue, plugin, status, finished_since);'
                             ' pass every_job => true to %s every job', check_job_filter.action,
                             check_job_filter.action);
    END IF;
END;
$$;

-- Bulk redrive: retry every failed or cancelled job matching the filter (NULL: any), like
-- taskbroker.retry. A job whose unique key a live job holds is left as it is. Returns how many
-- jobs it put back. A filter of all NULLs retries every failed and cancelled job the caller may
-- change (redrive after an outage is the common case, so no flag is needed).
CREATE FUNCTION taskbroker.retry_jobs(
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
     WHERE j.id = targets.id AND j.status IN ('failed', 'cancelled');
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

-- Bulk cancel, like taskbroker.cancel for each matching pending or running job: pending ones end
-- cancelled at once, running ones are marked and their workers told. Returns how many jobs it
-- cancelled or marked. A filter of all NULLs is refused unless every_job => true.
CREATE FUNCTION taskbroker.cancel_jobs(
    queue          text        DEFAULT NULL,
    plugin         text        DEFAULT NULL,
    status         text        DEFAULT NULL,
    finished_since timestamptz DEFAULT NULL,
    every_job      boolean     DEFAULT false
) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_pending bigint;
    v_running bigint;
BEGIN
    PERFORM taskbroker.check_job_filter('cancel', ARRAY['pending', 'running'], cancel_jobs.queue,
        cancel_jobs.plugin, cancel_jobs.status, cancel_jobs.finished_since, cancel_jobs.every_job);
    IF cancel_jobs.finished_since IS NOT NULL THEN
        -- Pending and running jobs have not finished: nothing matches.
        RETURN 0;
    END IF;
    UPDATE taskbroker.jobs j
       SET status = 'cancelled', completed_at = now(), cancel_requested_at = now()
     WHERE j.status = 'pending'
       AND (cancel_jobs.status IS NULL OR cancel_jobs.status = 'pending')
       AND (cancel_jobs.queue IS NULL OR j.queue = cancel_jobs.queue)
       AND (cancel_jobs.plugin IS NULL OR j.plugin = cancel_jobs.plugin)
       AND taskbroker.may_change(j.submitted_by);
    GET DIAGNOSTICS v_pending = ROW_COUNT;
    WITH marked AS (
        UPDATE taskbroker.jobs j
           SET cancel_requested_at = coalesce(j.cancel_requested_at, now())
         WHERE j.status = 'running'
           AND (cancel_jobs.status IS NULL OR cancel_jobs.status = 'running')
           AND (cancel_jobs.queue IS NULL OR j.queue = cancel_jobs.queue)
           AND (cancel_jobs.plugin IS NULL OR j.plugin = cancel_jobs.plugin)
           AND taskbroker.may_change(j.submitted_by)
        RETURNING j.id, j.worker_id)
    SELECT count(pg_notify('taskbroker_control',
               json_build_object('action', 'cancel', 'job_id', m.id,
                                 'worker_id', m.worker_id)::text))
      INTO v_running FROM marked m;
    RETURN v_pending + v_running;
END;
$$;

-- Bulk delete of matching jobs that are not running (cancel those first: a running job's
-- worker still writes to it). Returns how many it deleted. A filter of all NULLs is refused
-- unless every_job => true.
CREATE FUNCTION taskbroker.delete_jobs(
    queue          text        DEFAULT NULL,
    plugin         text        DEFAULT NULL,
    status         text        DEFAULT NULL,
    finished_since timestamptz DEFAULT NULL,
    every_job      boolean     DEFAULT false
) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_count bigint;
BEGIN
    PERFORM taskbroker.check_job_filter('delete',
        ARRAY['pending', 'completed', 'failed', 'cancelled'], delete_jobs.queue,
        delete_jobs.plugin, delete_jobs.status, delete_jobs.finished_since, delete_jobs.every_job);
    DELETE FROM taskbroker.jobs j
     WHERE j.status <> 'running'
       AND (delete_jobs.status IS NULL OR j.status = delete_jobs.status)
       AND (delete_jobs.queue IS NULL OR j.queue = delete_jobs.queue)
       AND (delete_jobs.plugin IS NULL OR j.plugin = delete_jobs.plugin)
       AND (delete_jobs.finished_since IS NULL OR j.completed_at >= delete_jobs.finished_since)
       AND taskbroker.may_change(j.submitted_by);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

-- The roles (V4's function, with the V5 grants added in marked blocks; the submit grant names
-- its new signature).
CREATE OR REPLACE FUNCTION taskbroker.grant_roles() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- Nothing for PUBLIC: a role granted none of ours can do nothing here (functions are
    -- executable by PUBLIC by default; tables are not readable, but say so).
    REVOKE ALL ON ALL TABLES IN SCHEMA taskbroker FROM PUBLIC;
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA taskbroker FROM PUBLIC;
    REVOKE ALL ON SCHEMA taskbroker FROM PUBLIC;

    -- Every role may read which migrations ran: a client or worker that migrates on start then
    -- finds the schema current and goes on (and fails clearly if it is not, since only the
    -- owner may change it). Flyway's history exists here only when Flyway applies this.
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_submitter') THEN
        GRANT SELECT ON taskbroker.applied_migrations TO taskbroker_submitter;
        IF to_regclass('taskbroker.taskbroker_schema_history') IS NOT NULL THEN
            GRANT SELECT ON taskbroker.taskbroker_schema_history TO taskbroker_submitter;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_worker') THEN
        GRANT SELECT ON taskbroker.applied_migrations TO taskbroker_worker;
        IF to_regclass('taskbroker.taskbroker_schema_history') IS NOT NULL THEN
            GRANT SELECT ON taskbroker.taskbroker_schema_history TO taskbroker_worker;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_submitter') THEN
        GRANT USAGE ON SCHEMA taskbroker TO taskbroker_submitter;
        -- The Java client's batched submit is a plain INSERT of these columns (no RETURNING:
        -- the client makes the ids), the fastest path; status, claim, result and submitted_by
        -- keep their defaults. No SELECT, UPDATE or DELETE on the table.
        GRANT INSERT (id, queue, plugin, payload, metadata, priority, run_at, max_attempts,
                      unique_key, timeout_ms)
            ON taskbroker.jobs TO taskbroker_submitter;
        -- BEGIN queue controls grants (V5): the batched submit also writes the key.
        GRANT INSERT (concurrency_key) ON taskbroker.jobs TO taskbroker_submitter;
        -- END queue controls grants
        GRANT EXECUTE ON FUNCTION
            -- V5: submit has the concurrency key as an 11th argument.
            taskbroker.submit(text, jsonb, text, integer, timestamptz, interval, integer, jsonb,
                              text, integer, text),
            taskbroker.cancel(uuid),
            taskbroker.get_job(uuid), taskbroker.get_jobs(uuid[]),
            taskbroker.job_status(uuid), taskbroker.job_statuses(uuid[])
            TO taskbroker_submitter;
        -- V4: an application manages its recurring schedules through the functions (they run
        -- with the owner's rights and validate every field), and reads them; it cannot write
        -- the tables, nor fire a slot (only the scheduler does).
        GRANT SELECT ON taskbroker.schedules TO taskbroker_submitter;
        GRANT EXECUTE ON FUNCTION
            taskbroker.upsert_schedule(text, text, text, jsonb, text, text, integer, integer,
                                       integer, jsonb, text, interval, text, interval),
            taskbroker.pause_schedule(text), taskbroker.resume_schedule(text),
            taskbroker.delete_schedule(text), taskbroker.trigger_schedule(text)
            TO taskbroker_submitter;
        -- BEGIN queue controls grants (V5): an application reads the queues' settings,
        -- pauses, resumes and limits them, and retries, cancels and deletes its own jobs (the
        -- functions only touch jobs the caller submitted unless it may update the table).
        GRANT SELECT ON taskbroker.queues TO taskbroker_submitter;
        GRANT EXECUTE ON FUNCTION
            taskbroker.pause_queue(text), taskbroker.resume_queue(text),
            taskbroker.set_queue_limits(text, integer, integer, interval, integer),
            taskbroker.retry(uuid),
            taskbroker.retry_jobs(text, text, text, timestamptz),
            taskbroker.cancel_jobs(text, text, text, timestamptz, boolean),
            taskbroker.delete_jobs(text, text, text, timestamptz, boolean)
            TO taskbroker_submitter;
        -- END queue controls grants
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_worker') THEN
        GRANT USAGE ON SCHEMA taskbroker TO taskbroker_worker;
        -- Claim, heartbeat, complete, rescue and hand back (UPDATE; SELECT for FOR UPDATE and
        -- RETURNING), prune (DELETE). Workers do not insert jobs.
        GRANT SELECT, UPDATE, DELETE ON taskbroker.jobs TO taskbroker_worker;
        GRANT SELECT, INSERT, UPDATE, DELETE ON taskbroker.workers TO taskbroker_worker;
        GRANT EXECUTE ON FUNCTION
            taskbroker.cancel(uuid),
            taskbroker.get_job(uuid), taskbroker.get_jobs(uuid[]),
            taskbroker.job_status(uuid), taskbroker.job_statuses(uuid[])
            TO taskbroker_worker;
        -- V4: the scheduler reads the due schedules and fires their slots through
        -- fire_schedule (which inserts the jobs with the owner's rights: a worker still has no
        -- INSERT on jobs); a worker upserts the schedules declared in its code at start.
        GRANT SELECT ON taskbroker.schedules, taskbroker.schedule_runs TO taskbroker_worker;
        GRANT EXECUTE ON FUNCTION
            taskbroker.upsert_schedule(text, text, text, jsonb, text, text, integer, integer,
                                       integer, jsonb, text, interval, text, interval),
            taskbroker.pause_schedule(text), taskbroker.resume_schedule(text),
            taskbroker.delete_schedule(text), taskbroker.trigger_schedule(text),
            taskbroker.fire_schedule(text, timestamptz, timestamptz[], timestamptz[],
                                     timestamptz),
            taskbroker.mark_schedule_invalid(text, text, text, text)
            TO taskbroker_worker;
        -- BEGIN queue controls grants (V5): the plain claim reads the queue's row (paused or
        -- limited: it claims nothing), the limited claim is the owner's function (it writes
        -- the starts log, which a worker cannot touch otherwise).
        GRANT SELECT ON taskbroker.queues TO taskbroker_worker;
        GRANT EXECUTE ON FUNCTION
            taskbroker.claim_limited(text, text, text[], integer, bigint),
            taskbroker.pause_queue(text), taskbroker.resume_queue(text),
            taskbroker.set_queue_limits(text, integer, integer, interval, integer),
            taskbroker.retry(uuid),
            taskbroker.retry_jobs(text, text, text, timestamptz),
            taskbroker.cancel_jobs(text, text, text, timestamptz, boolean),
            taskbroker.delete_jobs(text, text, text, timestamptz, boolean)
            TO taskbroker_worker;
        -- END queue controls grants
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_reader') THEN
        GRANT USAGE ON SCHEMA taskbroker TO taskbroker_reader;
        -- Every table and view, including those later migrations create (as this owner).
        GRANT SELECT ON ALL TABLES IN SCHEMA taskbroker TO taskbroker_reader;
        -- For the schema owner's future objects, whoever runs this (the owner, or a superuser).
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA taskbroker'
                       ' GRANT SELECT ON TABLES TO taskbroker_reader',
                       (SELECT n.nspowner::regrole FROM pg_namespace n
                         WHERE n.nspname = 'taskbroker'));
        GRANT EXECUTE ON FUNCTION
            taskbroker.get_job(uuid), taskbroker.get_jobs(uuid[]),
            taskbroker.job_status(uuid), taskbroker.job_statuses(uuid[])
            TO taskbroker_reader;
    END IF;
END;
$$;

SELECT taskbroker.grant_roles();

INSERT INTO taskbroker.applied_migrations (version) VALUES (5);
