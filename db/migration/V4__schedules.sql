-- taskbroker schema, version 4: recurring schedules.
--
-- Plain SQL with no Flyway placeholders (applies with psql -f too), and safe on a database that
-- already has rows (it only adds objects).
--
-- How the pieces fit:
--   * taskbroker.schedules holds one row per schedule: its cron or interval, IANA time zone, job
--     template and policies, and next_run_at, the next slot not yet fired. SQL cannot evaluate a
--     cron expression, so every function that changes when a schedule fires (a new or changed
--     cron or zone, a resume) sets next_run_at NULL: "a worker computes it on its next tick".
--   * Each worker's scheduler ticks (about once a second), reads the due rows, computes their
--     slots in Java (cron-utils, java.time zone rules) and fires them through
--     taskbroker.fire_schedule, which locks the row (SKIP LOCKED), checks that next_run_at is
--     still the one the worker read (compare-and-set), inserts one schedule_runs row per slot
--     (primary key (schedule, slot), ON CONFLICT DO NOTHING) and the slot's job, in the same
--     transaction. Exactly one job per (schedule, slot) is the database's doing, with any number
--     of workers, skewed clocks and no leader: the loser of a race inserts nothing.
--   * The hot path of jobs pays nothing for this: no index on jobs' metadata; the uniqueness
--     lives in the small schedule_runs table, whose rows are kept for at least a day (and the
--     catch-up window) behind the newest fired slot, then deleted by fire_schedule itself.

CREATE TABLE taskbroker.schedules (
    name            text        PRIMARY KEY,
    -- Five fields (minute hour day-of-month month day-of-week), six with a leading seconds
    -- field, or an interval: 'every 30 seconds', 'every 5 minutes', 'every hour'. Stored with
    -- its whitespace collapsed.
    cron            text        NOT NULL,
    time_zone       text        NOT NULL DEFAULT 'UTC',
    -- The job template.
    plugin          text        NOT NULL,
    queue           text        NOT NULL DEFAULT 'default',
    payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    priority        smallint    NOT NULL DEFAULT 0,
    max_attempts    integer     NOT NULL DEFAULT 3,
    timeout_ms      integer,
    -- After a time with no worker: 'none' skips the missed slots, 'latest' runs the most recent
    -- one, 'all' runs every missed slot of the last catch_up_window. A slot at most 10 seconds
    -- late is on time, whatever the policy.
    catch_up        text        NOT NULL DEFAULT 'none',
    catch_up_window interval    NOT NULL DEFAULT interval '1 hour',
    -- When the previous run is still pending or running: 'allow' a second one, 'skip' this
    -- slot, or 'cancel_previous' and run this one.
    overlap         text        NOT NULL DEFAULT 'allow',
    -- A job's run_at is its slot plus a random delay up to this; the slot stays the slot.
    jitter          interval    NOT NULL DEFAULT interval '0',
    paused          boolean     NOT NULL DEFAULT false,
    -- The next slot to fire; NULL: a worker computes it from now on its next tick.
    next_run_at     timestamptz,
    -- The last slot fired, and its job (a skipped slot leaves last_job_id as it was).
    last_run_at     timestamptz,
    last_job_id     uuid,
    -- Why no worker can compute this schedule's slots (a cron or zone the database's check let
    -- through but Java refuses, a cron that never fires). The scheduler leaves such a row alone
    -- until upsert_schedule changes it.
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT schedules_name_valid CHECK (btrim(name) <> '' AND length(name) <= 128),
    CONSTRAINT schedules_cron_valid CHECK (btrim(cron) <> '' AND length(cron) <= 256),
    CONSTRAINT schedules_plugin_valid CHECK (plugin <> '' AND length(plugin) <= 128),
    CONSTRAINT schedules_queue_valid CHECK (queue <> '' AND length(queue) <= 128),
    CONSTRAINT schedules_payload_is_object CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT schedules_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object'),
    CONSTRAINT schedules_max_attempts_valid CHECK (max_attempts >= 1 AND max_attempts <= 1000),
    CONSTRAINT schedules_timeout_valid CHECK (timeout_ms IS NULL OR timeout_ms > 0),
    CONSTRAINT schedules_catch_up_valid CHECK (catch_up IN ('none', 'latest', 'all')),
    CONSTRAINT schedules_catch_up_window_valid
        CHECK (catch_up_window >= interval '0' AND catch_up_window <= interval '31 days'),
    CONSTRAINT schedules_overlap_valid CHECK (overlap IN ('allow', 'skip', 'cancel_previous')),
    CONSTRAINT schedules_jitter_valid CHECK (jitter >= interval '0' AND jitter <= interval '1 day')
);

COMMENT ON TABLE taskbroker.schedules IS
    'Recurring schedules: cron or interval, IANA time zone, job template, catch-up and overlap'
    ' policies. Manage them with taskbroker.upsert_schedule, pause_schedule, resume_schedule,'
    ' delete_schedule, trigger_schedule.';

-- The scheduler's tick: the unpaused rows that are due (or need their next slot computed).
CREATE INDEX schedules_due_idx ON taskbroker.schedules (next_run_at) WHERE NOT paused;

-- One row per fired slot: the database's guarantee of one job per (schedule, slot). outcome:
-- 'enqueued' (job_id is its job), 'skipped_overlap' (the previous run was still live, overlap
-- 'skip'), 'manual' (trigger_schedule; slot is the moment of the call). No foreign key to the
-- job: jobs are pruned on their own retention.
CREATE TABLE taskbroker.schedule_runs (
    schedule   text        NOT NULL
               REFERENCES taskbroker.schedules (name) ON DELETE CASCADE ON UPDATE CASCADE,
    slot       timestamptz NOT NULL,
    job_id     uuid,
    outcome    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, slot),
    CONSTRAINT schedule_runs_outcome_valid
        CHECK (outcome IN ('enqueued', 'skipped_overlap', 'manual')),
    CONSTRAINT schedule_runs_job_when_enqueued
        CHECK ((outcome = 'skipped_overlap') = (job_id IS NULL))
);

COMMENT ON TABLE taskbroker.schedule_runs IS
    'One row per fired schedule slot (primary key: one job per schedule and slot); kept a day'
    ' (or the catch-up window) behind the newest slot.';

-- A slot as it appears in a job's metadata.slot: ISO 8601 in UTC, whole seconds unless the
-- instant has a fraction (the same text as Java's Instant.toString for the slots a worker makes).
CREATE FUNCTION taskbroker.schedule_slot_text(slot timestamptz) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT to_char(slot AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN extract(microseconds FROM slot)::bigint % 1000000 = 0 THEN ''
                ELSE rtrim(to_char(slot AT TIME ZONE 'UTC', '.US'), '0') END
        || 'Z'
$$;

-- Creates or changes a schedule, validating every field first: a bad one raises
-- invalid_parameter_value (22023) with a message that begins with the field's name, and
-- nothing is written. Returns 'created', 'updated' or 'unchanged' (an identical definition
-- writes nothing, so workers may upsert their declared schedules at every start). A changed
-- cron or time zone makes the next slot NULL (a worker computes it from now); a changed
-- template or policy keeps it. Pausing is not part of the definition: an upsert never resumes
-- a paused schedule. The cron is checked for its shape here (an interval, or 5 or 6 fields of
-- cron characters); the worker checks it fully and records what it refuses in last_error.
CREATE FUNCTION taskbroker.upsert_schedule(
    name            text,
    cron            text,
    plugin          text,
    payload         jsonb    DEFAULT '{}'::jsonb,
    queue           text     DEFAULT 'default',
    time_zone       text     DEFAULT 'UTC',
    priority        integer  DEFAULT 0,
    max_attempts    integer  DEFAULT 3,
    timeout_ms      integer  DEFAULT NULL,
    metadata        jsonb    DEFAULT '{}'::jsonb,
    catch_up        text     DEFAULT 'none',
    catch_up_window interval DEFAULT interval '1 hour',
    overlap         text     DEFAULT 'allow',
    jitter          interval DEFAULT interval '0'
) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_cron text := btrim(regexp_replace(coalesce(upsert_schedule.cron, ''), '\s+', ' ', 'g'));
    v_zone text := coalesce(upsert_schedule.time_zone, 'UTC');
    v_fields text[];
    v_index integer;
    v_inserted boolean;
BEGIN
    IF upsert_schedule.name IS NULL OR btrim(upsert_schedule.name) = ''
       OR length(upsert_schedule.name) > 128 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('name: a schedule needs a name of 1 to 128 characters, got %L',
                             upsert_schedule.name);
    END IF;
    IF v_cron = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('cron: schedule %L needs a cron expression or an interval'
                             ' (''*/5 * * * *'', ''every 30 seconds'')', upsert_schedule.name);
    END IF;
    IF length(v_cron) > 256 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('cron: longer than 256 characters in schedule %L',
                             upsert_schedule.name);
    END IF;
    IF lower(v_cron) ~ '^every\M' THEN
        IF lower(v_cron) !~ '^every( [1-9][0-9]{0,6})? (second|minute|hour)s?$' THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('cron: invalid interval %L: expected ''every N seconds'','
                                 ' ''every N minutes'' or ''every N hours'' (N from 1 to'
                                 ' 9999999)', v_cron);
        END IF;
        v_cron := lower(v_cron);
    ELSE
        v_fields := string_to_array(v_cron, ' ');
        IF cardinality(v_fields) NOT IN (5, 6) THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('cron: %L has %s fields; expected 5 (minute hour day-of-month'
                                 ' month day-of-week), 6 with a leading seconds field, or an'
                                 ' interval like ''every 5 minutes''',
                                 v_cron, cardinality(v_fields));
        END IF;
        FOR v_index IN 1 .. cardinality(v_fields) LOOP
            IF v_fields[v_index] !~ '^[0-9A-Za-z*/,?#-]+$' THEN
                RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                    MESSAGE = format('cron: field %s (%L) of %L has a character no cron field'
                                     ' allows', v_index, v_fields[v_index], v_cron);
            END IF;
        END LOOP;
    END IF;
    -- IANA names only (pg_timezone_names lists the server's tz database); AT TIME ZONE alone
    -- would also take POSIX strings such as 'XYZ+3' that no worker's java.time accepts.
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = v_zone) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('time_zone: unknown time zone %L; expected an IANA name such as'
                             ' ''UTC'' or ''Europe/Berlin''', v_zone);
    END IF;
    IF upsert_schedule.plugin IS NULL OR upsert_schedule.plugin = ''
       OR length(upsert_schedule.plugin) > 128 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('plugin: a schedule needs a plugin name of 1 to 128 characters,'
                             ' got %L', upsert_schedule.plugin);
    END IF;
    IF upsert_schedule.queue IS NULL OR upsert_schedule.queue = ''
       OR length(upsert_schedule.queue) > 128 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('queue: must be a name of 1 to 128 characters, got %L',
                             upsert_schedule.queue);
    END IF;
    IF jsonb_typeof(coalesce(upsert_schedule.payload, '{}'::jsonb)) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'payload: must be a JSON object';
    END IF;
    IF jsonb_typeof(coalesce(upsert_schedule.metadata, '{}'::jsonb)) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'metadata: must be a JSON object';
    END IF;
    IF coalesce(upsert_schedule.priority, 0) NOT BETWEEN -32768 AND 32767 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('priority: must be between -32768 and 32767, got %s',
                             upsert_schedule.priority);
    END IF;
    IF coalesce(upsert_schedule.max_attempts, 3) NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('max_attempts: must be between 1 and 1000, got %s',
                             upsert_schedule.max_attempts);
    END IF;
    IF upsert_schedule.timeout_ms IS NOT NULL AND upsert_schedule.timeout_ms <= 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('timeout_ms: must be positive, got %s', upsert_schedule.timeout_ms);
    END IF;
    IF coalesce(upsert_schedule.catch_up, 'none') NOT IN ('none', 'latest', 'all') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('catch_up: must be ''none'', ''latest'' or ''all'', got %L',
                             upsert_schedule.catch_up);
    END IF;
    IF coalesce(upsert_schedule.catch_up_window, interval '1 hour') < interval '0'
       OR coalesce(upsert_schedule.catch_up_window, interval '1 hour') > interval '31 days' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('catch_up_window: must be between 0 and 31 days, got %s',
                             upsert_schedule.catch_up_window);
    END IF;
    IF coalesce(upsert_schedule.overlap, 'allow') NOT IN ('allow', 'skip', 'cancel_previous') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('overlap: must be ''allow'', ''skip'' or ''cancel_previous'','
                             ' got %L', upsert_schedule.overlap);
    END IF;
    IF coalesce(upsert_schedule.jitter, interval '0') < interval '0'
       OR coalesce(upsert_schedule.jitter, interval '0') > interval '1 day' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('jitter: must be between 0 and 1 day, got %s',
                             upsert_schedule.jitter);
    END IF;

    INSERT INTO taskbroker.schedules AS s
        (name, cron, time_zone, plugin, queue, payload, metadata, priority, max_attempts,
         timeout_ms, catch_up, catch_up_window, overlap, jitter)
    VALUES (upsert_schedule.name, v_cron, v_zone, upsert_schedule.plugin, upsert_schedule.queue,
            coalesce(upsert_schedule.payload, '{}'::jsonb),
            coalesce(upsert_schedule.metadata, '{}'::jsonb),
            coalesce(upsert_schedule.priority, 0), coalesce(upsert_schedule.max_attempts, 3),
            upsert_schedule.timeout_ms, coalesce(upsert_schedule.catch_up, 'none'),
            coalesce(upsert_schedule.catch_up_window, interval '1 hour'),
            coalesce(upsert_schedule.overlap, 'allow'),
            coalesce(upsert_schedule.jitter, interval '0'))
    ON CONFLICT (name) DO UPDATE
        SET cron = EXCLUDED.cron,
            time_zone = EXCLUDED.time_zone,
            plugin = EXCLUDED.plugin,
            queue = EXCLUDED.queue,
            payload = EXCLUDED.payload,
            metadata = EXCLUDED.metadata,
            priority = EXCLUDED.priority,
            max_attempts = EXCLUDED.max_attempts,
            timeout_ms = EXCLUDED.timeout_ms,
            catch_up = EXCLUDED.catch_up,
            catch_up_window = EXCLUDED.catch_up_window,
            overlap = EXCLUDED.overlap,
            jitter = EXCLUDED.jitter,
            next_run_at = CASE WHEN (s.cron, s.time_zone) = (EXCLUDED.cron, EXCLUDED.time_zone)
                               THEN s.next_run_at END,
            last_error = NULL,
            updated_at = now()
        WHERE (s.cron, s.time_zone, s.plugin, s.queue, s.payload, s.metadata, s.priority,
               s.max_attempts, s.timeout_ms, s.catch_up, s.catch_up_window, s.overlap, s.jitter)
              IS DISTINCT FROM
              (EXCLUDED.cron, EXCLUDED.time_zone, EXCLUDED.plugin, EXCLUDED.queue,
               EXCLUDED.payload, EXCLUDED.metadata, EXCLUDED.priority, EXCLUDED.max_attempts,
               EXCLUDED.timeout_ms, EXCLUDED.catch_up, EXCLUDED.catch_up_window,
               EXCLUDED.overlap, EXCLUDED.jitter)
    RETURNING (s.xmax = 0) INTO v_inserted;
    IF v_inserted IS NULL THEN
        RETURN 'unchanged';
    END IF;
    RETURN CASE WHEN v_inserted THEN 'created' ELSE 'updated' END;
END;
$$;

-- Pauses a schedule: no slot fires until it is resumed (jobs already enqueued stay). Returns
-- whether such a schedule exists.
CREATE FUNCTION taskbroker.pause_schedule(name text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    UPDATE taskbroker.schedules s SET paused = true, updated_at = now()
     WHERE s.name = pause_schedule.name AND NOT s.paused;
    RETURN EXISTS (SELECT 1 FROM taskbroker.schedules s WHERE s.name = pause_schedule.name);
END;
$$;

-- Resumes a paused schedule from now on: the slots of the pause are not caught up (next_run_at
-- NULL: the next worker tick computes the next slot after its now). Returns whether such a
-- schedule exists.
CREATE FUNCTION taskbroker.resume_schedule(name text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    UPDATE taskbroker.schedules s SET paused = false, next_run_at = NULL, updated_at = now()
     WHERE s.name = resume_schedule.name AND s.paused;
    RETURN EXISTS (SELECT 1 FROM taskbroker.schedules s WHERE s.name = resume_schedule.name);
END;
$$;

-- Deletes a schedule and its run records; its jobs stay. Returns whether it existed.
CREATE FUNCTION taskbroker.delete_schedule(name text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    DELETE FROM taskbroker.schedules s WHERE s.name = delete_schedule.name;
    RETURN FOUND;
END;
$$;

-- One run now, outside the slots, paused or not, whatever the overlap policy (someone asked
-- for it): a job from the template with metadata {schedule, slot: now, trigger: 'manual'}.
-- Returns its id; NULL when there is no such schedule.
CREATE FUNCTION taskbroker.trigger_schedule(name text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    s taskbroker.schedules;
    v_job uuid := gen_random_uuid();
    v_now timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO s FROM taskbroker.schedules sc WHERE sc.name = trigger_schedule.name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO taskbroker.jobs
        (id, queue, plugin, payload, metadata, priority, run_at, max_attempts, timeout_ms)
    VALUES (v_job, s.queue, s.plugin, s.payload,
            s.metadata || jsonb_build_object('schedule', s.name,
                                             'slot', taskbroker.schedule_slot_text(v_now),
                                             'trigger', 'manual'),
            s.priority, v_now, s.max_attempts, s.timeout_ms);
    INSERT INTO taskbroker.schedule_runs (schedule, slot, job_id, outcome)
    VALUES (s.name, v_now, v_job, 'manual')
    ON CONFLICT DO NOTHING;
    UPDATE taskbroker.schedules sc SET last_job_id = v_job, last_run_at = v_now
     WHERE sc.name = s.name;
    RETURN v_job;
END;
$$;

-- The scheduler's write, for one schedule: fires the given slots (ascending; their jobs' run_at
-- alongside, slot plus jitter) and moves next_run_at from `due` to `next_slot`, in one
-- transaction. Nothing happens (no rows) unless the schedule is unpaused and its next_run_at is
-- still `due` (compare-and-set; SKIP LOCKED: a worker firing it right now owns it). Each slot
-- gets its schedule_runs row first; a slot already there is left alone, so a slot never gets a
-- second job whoever fires it. Overlap: when the last job is still pending or running, 'skip'
-- records the slot as skipped_overlap and 'cancel_previous' cancels that job (taskbroker.cancel)
-- before enqueuing. Returns each slot fired with its job and outcome. With no slots it only sets
-- next_run_at (the first computation after an upsert or resume: due is then NULL).
CREATE FUNCTION taskbroker.fire_schedule(
    schedule  text,
    due       timestamptz,
    slots     timestamptz[],
    run_ats   timestamptz[],
    next_slot timestamptz
) RETURNS TABLE (fired_slot timestamptz, fired_job_id uuid, fired_outcome text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    s taskbroker.schedules;
    v_index integer;
    v_slot timestamptz;
    v_job uuid;
    v_outcome text;
    v_previous text;
    v_last_slot timestamptz;
BEGIN
    SELECT * INTO s FROM taskbroker.schedules sc
     WHERE sc.name = fire_schedule.schedule
       AND NOT sc.paused
       AND sc.next_run_at IS NOT DISTINCT FROM fire_schedule.due
     FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF cardinality(fire_schedule.slots) IS DISTINCT FROM cardinality(fire_schedule.run_ats) THEN
        RAISE EXCEPTION 'fire_schedule: % slots but % run_ats',
            cardinality(fire_schedule.slots), cardinality(fire_schedule.run_ats);
    END IF;
    FOR v_index IN 1 .. coalesce(cardinality(fire_schedule.slots), 0) LOOP
        v_slot := fire_schedule.slots[v_index];
        v_outcome := 'enqueued';
        IF s.overlap <> 'allow' AND s.last_job_id IS NOT NULL THEN
            SELECT j.status INTO v_previous FROM taskbroker.jobs j WHERE j.id = s.last_job_id;
            IF v_previous IN ('pending', 'running') THEN
                IF s.overlap = 'skip' THEN
                    v_outcome := 'skipped_overlap';
                ELSE
                    PERFORM taskbroker.cancel(s.last_job_id);
                END IF;
            END IF;
        END IF;
        v_job := CASE WHEN v_outcome = 'enqueued' THEN gen_random_uuid() END;
        INSERT INTO taskbroker.schedule_runs (schedule, slot, job_id, outcome)
        VALUES (s.name, v_slot, v_job, v_outcome)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            -- Fired before (by a worker whose clock ran ahead, or before a redefinition).
            CONTINUE;
        END IF;
        IF v_job IS NOT NULL THEN
            INSERT INTO taskbroker.jobs
                (id, queue, plugin, payload, metadata, priority, run_at, max_attempts,
                 timeout_ms)
            VALUES (v_job, s.queue, s.plugin, s.payload,
                    s.metadata || jsonb_build_object('schedule', s.name,
                                                     'slot',
                                                     taskbroker.schedule_slot_text(v_slot)),
                    s.priority, coalesce(fire_schedule.run_ats[v_index], v_slot),
                    s.max_attempts, s.timeout_ms);
            s.last_job_id := v_job;
        END IF;
        v_last_slot := v_slot;
        fired_slot := v_slot;
        fired_job_id := v_job;
        fired_outcome := v_outcome;
        RETURN NEXT;
    END LOOP;
    UPDATE taskbroker.schedules sc
       SET next_run_at = fire_schedule.next_slot,
           last_run_at = coalesce(v_last_slot, sc.last_run_at),
           last_job_id = s.last_job_id
     WHERE sc.name = s.name;
    -- Retention: a slot this far behind the newest one can never be computed again (next_run_at
    -- only moves forward, and a redefinition restarts from now), so its row guards nothing.
    IF v_last_slot IS NOT NULL THEN
        DELETE FROM taskbroker.schedule_runs r
         WHERE r.schedule = s.name
           AND r.slot < v_last_slot - greatest(s.catch_up_window, interval '1 day');
    END IF;
END;
$$;

-- The scheduler cannot compute this schedule's slots (a cron or zone Java refuses, a cron that
-- never fires): say why in last_error, and the scheduler leaves the row alone until an upsert
-- changes it. Only while the definition is still the one that was refused.
CREATE FUNCTION taskbroker.mark_schedule_invalid(
    schedule text, cron text, time_zone text, error text
) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    UPDATE taskbroker.schedules sc SET last_error = mark_schedule_invalid.error
     WHERE sc.name = mark_schedule_invalid.schedule
       AND sc.cron = mark_schedule_invalid.cron
       AND sc.time_zone = mark_schedule_invalid.time_zone
       AND sc.last_error IS DISTINCT FROM mark_schedule_invalid.error;
    RETURN FOUND;
END;
$$;

-- The roles, now also covering the schedules (V2's function, with the V4 grants added):
-- submitters manage schedules through the functions and read them; workers read them and fire
-- their slots; readers read both tables (schema-wide SELECT).
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
        GRANT EXECUTE ON FUNCTION
            taskbroker.submit(text, jsonb, text, integer, timestamptz, interval, integer, jsonb,
                              text, integer),
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

INSERT INTO taskbroker.applied_migrations (version) VALUES (4);
