-- V6: bulk enqueue from SQL in one statement.
--
-- taskbroker.submit() inserts one row per call: from SQL, `SELECT taskbroker.submit(...) FROM
-- generate_series(...)` runs an INSERT (and the insert trigger) per row, about ten times the
-- cost per row of one INSERT ... SELECT. submit_many takes the payloads as one JSON array and
-- inserts them all in one statement (one trigger run, one NOTIFY), returning their ids in the
-- array's order.

CREATE FUNCTION taskbroker.submit_many(
    plugin          text,
    payloads        jsonb,
    queue           text        DEFAULT 'default',
    priority        integer     DEFAULT 0,
    run_at          timestamptz DEFAULT NULL,
    delay           interval    DEFAULT NULL,
    max_attempts    integer     DEFAULT 3,
    metadata        jsonb       DEFAULT '{}'::jsonb,
    timeout_ms      integer     DEFAULT NULL,
    concurrency_key text        DEFAULT NULL
) RETURNS SETOF uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad record;
BEGIN
    -- Checked up front so the error names the argument (the table's CHECKs would name a
    -- constraint instead). Nothing is written when any check fails.
    IF payloads IS NULL OR jsonb_typeof(payloads) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('payloads: must be a JSON array of objects, got %s',
                             coalesce(jsonb_typeof(payloads), 'null'));
    END IF;
    SELECT e.n, jsonb_typeof(e.payload) AS type INTO bad
      FROM jsonb_array_elements(payloads) WITH ORDINALITY AS e(payload, n)
     WHERE jsonb_typeof(e.payload) <> 'object'
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('payloads[%s]: must be a JSON object, got %s', bad.n - 1, bad.type);
    END IF;
    IF metadata IS NOT NULL AND jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('metadata: must be a JSON object, got %s', jsonb_typeof(metadata));
    END IF;

    -- The ids are made first, so they come back in the array's order whatever order the
    -- INSERT writes the rows in.
    RETURN QUERY
    WITH input AS MATERIALIZED (
        SELECT gen_random_uuid() AS id, e.payload, e.n
          FROM jsonb_array_elements(payloads) WITH ORDINALITY AS e(payload, n)),
    inserted AS (
        INSERT INTO taskbroker.jobs
            (id, queue, plugin, payload, metadata, priority, run_at, max_attempts, timeout_ms,
             concurrency_key)
        SELECT input.id,
               coalesce(submit_many.queue, 'default'),
               submit_many.plugin,
               input.payload,
               coalesce(submit_many.metadata, '{}'::jsonb),
               coalesce(submit_many.priority, 0),
               coalesce(submit_many.run_at, now() + coalesce(submit_many.delay, interval '0')),
               coalesce(submit_many.max_attempts, 3),
               submit_many.timeout_ms,
               submit_many.concurrency_key
          FROM input)
    SELECT input.id FROM input ORDER BY input.n;
END;
$$;

COMMENT ON FUNCTION taskbroker.submit_many(text, jsonb, text, integer, timestamptz, interval,
                                           integer, jsonb, integer, text) IS
    'Submits one job per object of the JSON array payloads, all with the same plugin and options, '
    'in one statement; returns their ids in the array''s order.';

-- grant_roles: V5's, plus the bulk submit for submitters.
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
        -- BEGIN bulk submit grants (V6)
        GRANT EXECUTE ON FUNCTION
            taskbroker.submit_many(text, jsonb, text, integer, timestamptz, interval, integer,
                                   jsonb, integer, text)
            TO taskbroker_submitter;
        -- END bulk submit grants
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

INSERT INTO taskbroker.applied_migrations (version) VALUES (6);
