-- taskbroker schema, version 12: a small hot table and a partitioned history.
--
-- Plain SQL with no Flyway placeholders (applies with psql -f too).
--
-- Until V12 every job stayed in one table for as long as it was kept. Beside 10 million finished
-- jobs the drain ran 14-28 % slower than on an empty table (docs/benchmarks.md): hot rows shared
-- pages, buffers and statistics with cold ones, and the pruner's DELETEs were the only way out.
-- Now:
--   taskbroker.job_queue    the table that was taskbroker.jobs, renamed: pending and running
--                           jobs, and finished ones until the worker's history mover takes them
--                           (WorkerConfig.historyAfter, a minute by default). Every claim, lease,
--                           completion, rescue, cancel and queue limit reads and writes only this.
--   taskbroker.job_history  finished jobs, PARTITION BY RANGE (completed_at), one partition per
--                           UTC day (job_history_YYYYMMDD), made on demand by the mover.
--                           Retention drops whole partitions: no DELETE storm, no dead tuples.
--   taskbroker.jobs         a view, job_queue UNION ALL job_history, the same columns in the same
--                           order: the name psql users and saved queries read, whatever a job's
--                           age. Lookups by id probe job_queue's primary key and each history
--                           partition's. INSERT, UPDATE and DELETE through it still work
--                           (INSTEAD OF triggers, row by row, slower than the functions); FOR
--                           UPDATE and INSERT ... ON CONFLICT do not (write job_queue for those).
-- A job is in exactly one of the two tables at every instant: the move is one statement, a DELETE
-- whose rows an INSERT writes, in one transaction. Ids never change.

ALTER TABLE taskbroker.jobs RENAME TO job_queue;

COMMENT ON TABLE taskbroker.job_queue IS
    'Live jobs (pending, running) and recently finished ones; the history mover takes the rest.';

CREATE TABLE taskbroker.job_history (
    LIKE taskbroker.job_queue INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    CONSTRAINT job_history_finished
        CHECK (status IN ('completed', 'failed', 'cancelled') AND completed_at IS NOT NULL),
    -- A partitioned table's unique keys include its partition key. The id is unique still: a
    -- job is written to the history only by the move that deletes it from job_queue.
    PRIMARY KEY (id, completed_at)
) PARTITION BY RANGE (completed_at);

COMMENT ON TABLE taskbroker.job_history IS
    'Finished jobs moved out of job_queue, one partition per UTC day of completed_at.';

-- The hot table's read paths that reach the history: the dashboard's pages by creation time and
-- its failed-jobs page (V7), per-queue and time-window counts and prunes (V5, V1).
CREATE INDEX job_history_created_idx ON taskbroker.job_history (created_at, id);
CREATE INDEX job_history_failed_created_idx ON taskbroker.job_history (created_at, id)
    WHERE status = 'failed';
CREATE INDEX job_history_queue_finished_idx ON taskbroker.job_history (queue, completed_at);
CREATE INDEX job_history_finished_idx ON taskbroker.job_history (completed_at);

-- The one name to read. Simple enough (UNION ALL of two tables, no expressions) that the planner
-- flattens it: conditions reach each table's indexes, ORDER BY ... LIMIT merges index scans, and
-- job_history's CHECK excludes it from a query for pending or running jobs.
CREATE VIEW taskbroker.jobs AS
SELECT * FROM taskbroker.job_queue
UNION ALL
SELECT * FROM taskbroker.job_history;

COMMENT ON VIEW taskbroker.jobs IS
    'Every job, live or finished, whatever its age: job_queue UNION ALL job_history.';

-- An INSERT through the view gets the table's defaults (a view has none of its own).
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) AS expr
          FROM pg_attribute a
          JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = 'taskbroker.job_queue'::regclass AND NOT a.attisdropped
         ORDER BY a.attnum
    LOOP
        EXECUTE format('ALTER VIEW taskbroker.jobs ALTER COLUMN %I SET DEFAULT %s',
                       col.attname, col.expr);
    END LOOP;
END;
$$;

-- Writes through the view, for applications and scripts that wrote taskbroker.jobs before V12.
-- They run as the owner: the view's own privileges (granted as the table's were) decide who may.
CREATE FUNCTION taskbroker.jobs_view_write() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO taskbroker.job_queue SELECT NEW.*;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM taskbroker.job_queue j WHERE j.id = OLD.id;
        IF NOT FOUND THEN
            DELETE FROM taskbroker.job_history h
             WHERE h.id = OLD.id AND h.completed_at = OLD.completed_at;
        END IF;
        RETURN OLD;
    END IF;
    -- UPDATE: in place (so job_queue's triggers see an update), except that a history row made
    -- live again returns to job_queue.
    UPDATE taskbroker.job_queue j
       SET (id, queue, plugin, payload, metadata, status, priority, run_at, attempt, max_attempts,
            timeout_ms, created_at, started_at, completed_at, worker_id, heartbeat_at,
            lease_expires_at, progress, progress_message, result, error, errors, unique_key,
            cancel_requested_at, submitted_by, concurrency_key) = ROW(NEW.*)
     WHERE j.id = OLD.id;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    DELETE FROM taskbroker.job_history h
     WHERE h.id = OLD.id AND h.completed_at = OLD.completed_at;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF NEW.status IN ('completed', 'failed', 'cancelled') THEN
        INSERT INTO taskbroker.job_history SELECT NEW.*;
    ELSE
        INSERT INTO taskbroker.job_queue SELECT NEW.*;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER jobs_view_write INSTEAD OF INSERT OR UPDATE OR DELETE ON taskbroker.jobs
    FOR EACH ROW EXECUTE FUNCTION taskbroker.jobs_view_write();

-- The history's partition for one UTC day, made if missing. Under a transaction-scoped advisory
-- lock, so that two movers do not race to make the same one; lock_timeout bounds the wait for
-- the parent's lock behind a long reader of the history (the mover retries on its next pass).
CREATE FUNCTION taskbroker.history_partition(day date) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '2s' AS $$
DECLARE
    v_name text := 'job_history_' || to_char(history_partition.day, 'YYYYMMDD');
BEGIN
    IF to_regclass('taskbroker.' || v_name) IS NOT NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('taskbroker.job_history'));
    BEGIN
        EXECUTE format('CREATE TABLE taskbroker.%I PARTITION OF taskbroker.job_history'
                       ' FOR VALUES FROM (%L) TO (%L)', v_name,
                       history_partition.day::timestamp AT TIME ZONE 'UTC',
                       (history_partition.day + 1)::timestamp AT TIME ZONE 'UTC');
    EXCEPTION WHEN duplicate_table THEN
        -- Made by another mover between the look and the lock.
        NULL;
    END;
END;
$$;

-- One batch of the history mover: up to max_rows jobs that finished before finished_before,
-- oldest first, leave job_queue for job_history. Rows another session holds (a retry, another
-- mover) are skipped. Returns how many moved.
CREATE FUNCTION taskbroker.move_to_history(finished_before timestamptz, max_rows integer)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_ids uuid[];
    v_day date;
    v_moved integer;
BEGIN
    SELECT array_agg(m.id) INTO v_ids FROM (
        SELECT j.id, j.completed_at FROM taskbroker.job_queue j
         WHERE j.completed_at < move_to_history.finished_before
         ORDER BY j.completed_at
         LIMIT move_to_history.max_rows
         FOR UPDATE SKIP LOCKED) m;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    FOR v_day IN
        SELECT DISTINCT (j.completed_at AT TIME ZONE 'UTC')::date FROM taskbroker.job_queue j
         WHERE j.id = ANY (v_ids)
    LOOP
        PERFORM taskbroker.history_partition(v_day);
    END LOOP;
    WITH moved AS (
        DELETE FROM taskbroker.job_queue j WHERE j.id = ANY (v_ids) RETURNING j.*)
    INSERT INTO taskbroker.job_history SELECT * FROM moved;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    RETURN v_moved;
END;
$$;

-- Retention: drops the history's daily partitions that end at or before the cutoff, so a job is
-- kept for its retention and less than a day more. Returns how many partitions it dropped.
-- Dropping takes the parent's lock briefly; lock_timeout keeps it from queueing readers behind
-- a long one for more than that (the pruner retries on its next pass).
CREATE FUNCTION taskbroker.drop_history_before(cutoff timestamptz) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '2s' AS $$
DECLARE
    part record;
    v_dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'taskbroker.job_history'::regclass
           AND c.relname ~ '^job_history_[0-9]{8}$'
           AND (to_date(substr(c.relname, 13), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
               <= drop_history_before.cutoff
         ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE taskbroker.%I', part.relname);
        v_dropped := v_dropped + 1;
    END LOOP;
    RETURN v_dropped;
END;
$$;

-- A finished job in the history goes back to job_queue as it is (retry, and bulk retry, then
-- make it pending there). Returns how many rows moved.
CREATE FUNCTION taskbroker.restore_from_history(job_ids uuid[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_moved integer;
BEGIN
    WITH moved AS (
        DELETE FROM taskbroker.job_history h WHERE h.id = ANY (restore_from_history.job_ids)
        RETURNING h.*)
    INSERT INTO taskbroker.job_queue SELECT * FROM moved;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    RETURN v_moved;
END;
$$;

-- Writes go to job_queue; everything else is V5's submit.
CREATE OR REPLACE FUNCTION taskbroker.submit(
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
    INSERT INTO taskbroker.job_queue AS j
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

-- Writes go to job_queue; everything else is V10's submit_many.
CREATE OR REPLACE FUNCTION taskbroker.submit_many(
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

    RETURN QUERY
    WITH input AS MATERIALIZED (
        SELECT taskbroker.uuid_v7() AS id, e.payload, e.n
          FROM jsonb_array_elements(payloads) WITH ORDINALITY AS e(payload, n)),
    inserted AS (
        INSERT INTO taskbroker.job_queue
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

-- Reads and writes job_queue only; everything else is V11's claim_limited.
CREATE OR REPLACE FUNCTION taskbroker.claim_limited(
    queue     text,
    worker_id text,
    plugins   text[],
    max_jobs  integer,
    lease_ms  bigint
) RETURNS SETOF taskbroker.job_queue
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
        SELECT count(*) INTO v_count FROM taskbroker.job_queue r
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
                 SELECT c.id FROM taskbroker.job_queue c
                  WHERE c.status = ''pending'' AND c.queue = $1 AND c.run_at <= now()
                    AND c.attempt < c.max_attempts
                    AND ($2 IS NULL OR c.plugin = ANY ($2))
                  ORDER BY c.priority, c.run_at, c.id
                  LIMIT $3
                  FOR UPDATE SKIP LOCKED)
             UPDATE taskbroker.job_queue j
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
                 SELECT r.concurrency_key AS key, count(*) AS n FROM taskbroker.job_queue r
                  WHERE r.queue = $1 AND r.status = ''running'' AND r.concurrency_key IS NOT NULL
                  GROUP BY r.concurrency_key),
             candidates AS (
                 SELECT c.id, c.concurrency_key, c.priority, c.run_at FROM taskbroker.job_queue c
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
                     SELECT c.status FROM taskbroker.job_queue c WHERE c.id = p.id FOR UPDATE) l)
             UPDATE taskbroker.job_queue j
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

-- Pending and running jobs are all in job_queue; everything else is V5's cancel_jobs.
CREATE OR REPLACE FUNCTION taskbroker.cancel_jobs(
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
    UPDATE taskbroker.job_queue j
       SET status = 'cancelled', completed_at = now(), cancel_requested_at = now()
     WHERE j.status = 'pending'
       AND (cancel_jobs.status IS NULL OR cancel_jobs.status = 'pending')
       AND (cancel_jobs.queue IS NULL OR j.queue = cancel_jobs.queue)
       AND (cancel_jobs.plugin IS NULL OR j.plugin = cancel_jobs.plugin)
       AND taskbroker.may_change(j.submitted_by);
    GET DIAGNOSTICS v_pending = ROW_COUNT;
    WITH marked AS (
        UPDATE taskbroker.job_queue j
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

-- Writes go to job_queue, with a time-ordered id (V10); everything else is V4's.
CREATE OR REPLACE FUNCTION taskbroker.trigger_schedule(name text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    s taskbroker.schedules;
    v_job uuid := taskbroker.uuid_v7();
    v_now timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO s FROM taskbroker.schedules sc WHERE sc.name = trigger_schedule.name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO taskbroker.job_queue
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

-- The previous run is live only if it is in job_queue; its job goes there, with a
-- time-ordered id (V10). Everything else is V4's fire_schedule.
CREATE OR REPLACE FUNCTION taskbroker.fire_schedule(
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
            SELECT j.status INTO v_previous FROM taskbroker.job_queue j WHERE j.id = s.last_job_id;
            IF v_previous IN ('pending', 'running') THEN
                IF s.overlap = 'skip' THEN
                    v_outcome := 'skipped_overlap';
                ELSE
                    PERFORM taskbroker.cancel(s.last_job_id);
                END IF;
            END IF;
        END IF;
        v_job := CASE WHEN v_outcome = 'enqueued' THEN taskbroker.uuid_v7() END;
        INSERT INTO taskbroker.schedule_runs (schedule, slot, job_id, outcome)
        VALUES (s.name, v_slot, v_job, v_outcome)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            -- Fired before (by a worker whose clock ran ahead, or before a redefinition).
            CONTINUE;
        END IF;
        IF v_job IS NOT NULL THEN
            INSERT INTO taskbroker.job_queue
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

-- A bulk action's filter (NULL: any), for a row of either table; inlined where it is used.
CREATE FUNCTION taskbroker.matches_job_filter(
    job_status text, job_queue text, job_plugin text, job_completed_at timestamptz,
    status text, queue text, plugin text, finished_since timestamptz
) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT (matches_job_filter.status IS NULL OR job_status = matches_job_filter.status)
       AND (matches_job_filter.queue IS NULL OR job_queue = matches_job_filter.queue)
       AND (matches_job_filter.plugin IS NULL OR job_plugin = matches_job_filter.plugin)
       AND (matches_job_filter.finished_since IS NULL
            OR job_completed_at >= matches_job_filter.finished_since)
$$;

-- A job in the history has finished: there is nothing to cancel, and its status is the answer.
-- job_queue is looked at first: a job the mover holds is waited for, and then found in the
-- history.
CREATE OR REPLACE FUNCTION taskbroker.cancel(job_id uuid) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    job record;
BEGIN
    SELECT j.id, j.status, j.worker_id, j.submitted_by INTO job
      FROM taskbroker.job_queue j WHERE j.id = cancel.job_id FOR UPDATE;
    IF NOT FOUND THEN
        SELECT h.id, h.status, h.worker_id, h.submitted_by INTO job
          FROM taskbroker.job_history h WHERE h.id = cancel.job_id;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    IF job.submitted_by IS DISTINCT FROM session_user::text
       AND NOT has_table_privilege(session_user, 'taskbroker.jobs', 'UPDATE') THEN
        RETURN NULL;
    END IF;
    IF job.status = 'pending' THEN
        UPDATE taskbroker.job_queue
           SET status = 'cancelled', completed_at = now(), cancel_requested_at = now()
         WHERE id = cancel.job_id;
        RETURN 'cancelled';
    ELSIF job.status = 'running' THEN
        UPDATE taskbroker.job_queue
           SET cancel_requested_at = coalesce(cancel_requested_at, now())
         WHERE id = cancel.job_id;
        PERFORM pg_notify('taskbroker_control',
            json_build_object('action', 'cancel', 'job_id', cancel.job_id,
                              'worker_id', job.worker_id)::text);
        RETURN 'running';
    END IF;
    RETURN job.status;
END;
$$;

-- A failed or cancelled job in the history goes back to job_queue first, then as in V5. job_queue
-- is looked at first: a job the mover holds is waited for, and then found in the history.
CREATE OR REPLACE FUNCTION taskbroker.retry(job_id uuid) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    job record;
BEGIN
    SELECT j.id, j.status, j.submitted_by INTO job
      FROM taskbroker.job_queue j WHERE j.id = retry.job_id FOR UPDATE;
    IF NOT FOUND THEN
        SELECT h.id, h.status, h.submitted_by INTO job
          FROM taskbroker.job_history h WHERE h.id = retry.job_id;
        IF NOT FOUND OR NOT taskbroker.may_change(job.submitted_by) THEN
            RETURN NULL;
        END IF;
        IF job.status NOT IN ('failed', 'cancelled') THEN
            RETURN job.status;
        END IF;
        PERFORM taskbroker.restore_from_history(ARRAY[retry.job_id]);
        SELECT j.id, j.status, j.submitted_by INTO job
          FROM taskbroker.job_queue j WHERE j.id = retry.job_id FOR UPDATE;
        IF NOT FOUND THEN
            -- Deleted meanwhile.
            RETURN NULL;
        END IF;
    END IF;
    IF NOT taskbroker.may_change(job.submitted_by) THEN
        RETURN NULL;
    END IF;
    IF job.status NOT IN ('failed', 'cancelled') THEN
        RETURN job.status;
    END IF;
    UPDATE taskbroker.job_queue j
       SET status = 'pending', attempt = 0, run_at = now(), completed_at = NULL,
           cancel_requested_at = NULL, result = NULL, progress = NULL, progress_message = NULL
     WHERE j.id = retry.job_id;
    RETURN 'pending';
END;
$$;

-- Matching jobs in the history go back to job_queue first, then every match there is retried as
-- in V11. A job whose unique key a live job holds stays where it is.
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
        SELECT h.id, h.completed_at FROM taskbroker.job_history h
         WHERE h.status IN ('failed', 'cancelled')
           AND taskbroker.matches_job_filter(h.status, h.queue, h.plugin, h.completed_at,
                   retry_jobs.status, retry_jobs.queue, retry_jobs.plugin,
                   retry_jobs.finished_since)
           AND taskbroker.may_change(h.submitted_by)
           AND (h.unique_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM taskbroker.job_queue l
                 WHERE l.unique_key = h.unique_key AND l.status IN ('pending', 'running')))
         FOR UPDATE SKIP LOCKED),
    moved AS (
        DELETE FROM taskbroker.job_history h USING targets
         WHERE h.id = targets.id AND h.completed_at = targets.completed_at
        RETURNING h.*)
    INSERT INTO taskbroker.job_queue SELECT * FROM moved;
    WITH targets AS (
        SELECT j.id FROM taskbroker.job_queue j
         WHERE j.status IN ('failed', 'cancelled')
           AND taskbroker.matches_job_filter(j.status, j.queue, j.plugin, j.completed_at,
                   retry_jobs.status, retry_jobs.queue, retry_jobs.plugin,
                   retry_jobs.finished_since)
           AND taskbroker.may_change(j.submitted_by)
           AND (j.unique_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM taskbroker.job_queue l
                 WHERE l.unique_key = j.unique_key AND l.status IN ('pending', 'running')))
         FOR UPDATE SKIP LOCKED)
    UPDATE taskbroker.job_queue j
       SET status = 'pending', attempt = 0, run_at = now(), completed_at = NULL,
           cancel_requested_at = NULL, result = NULL, progress = NULL, progress_message = NULL
      FROM targets
     WHERE j.id = targets.id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

-- Deletes from both tables; running jobs are never deleted (cancel them).
CREATE OR REPLACE FUNCTION taskbroker.delete_jobs(
    queue          text        DEFAULT NULL,
    plugin         text        DEFAULT NULL,
    status         text        DEFAULT NULL,
    finished_since timestamptz DEFAULT NULL,
    every_job      boolean     DEFAULT false
) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_live bigint;
    v_history bigint := 0;
BEGIN
    PERFORM taskbroker.check_job_filter('delete',
        ARRAY['pending', 'completed', 'failed', 'cancelled'], delete_jobs.queue,
        delete_jobs.plugin, delete_jobs.status, delete_jobs.finished_since, delete_jobs.every_job);
    DELETE FROM taskbroker.job_queue j
     WHERE j.status <> 'running'
       AND taskbroker.matches_job_filter(j.status, j.queue, j.plugin, j.completed_at,
               delete_jobs.status, delete_jobs.queue, delete_jobs.plugin,
               delete_jobs.finished_since)
       AND taskbroker.may_change(j.submitted_by);
    GET DIAGNOSTICS v_live = ROW_COUNT;
    IF delete_jobs.status IS DISTINCT FROM 'pending' THEN
        DELETE FROM taskbroker.job_history h
         WHERE taskbroker.matches_job_filter(h.status, h.queue, h.plugin, h.completed_at,
                   delete_jobs.status, delete_jobs.queue, delete_jobs.plugin,
                   delete_jobs.finished_since)
           AND taskbroker.may_change(h.submitted_by);
        GET DIAGNOSTICS v_history = ROW_COUNT;
    END IF;
    RETURN v_live + v_history;
END;
$$;

-- The views that count finished jobs read both tables again (after the rename they read
-- job_queue alone); unserved_jobs counts pending jobs, which job_queue holds, and stays.
CREATE OR REPLACE VIEW taskbroker.queue_stats AS
SELECT j.queue,
       count(*) FILTER (WHERE j.status = 'pending')                      AS pending,
       count(*) FILTER (WHERE j.status = 'pending' AND j.run_at > now()) AS scheduled,
       count(*) FILTER (WHERE j.status = 'running')                      AS running,
       count(*) FILTER (WHERE j.status = 'completed')                    AS completed,
       count(*) FILTER (WHERE j.status = 'failed')                       AS failed,
       count(*) FILTER (WHERE j.status = 'cancelled')                    AS cancelled,
       now() - min(j.run_at) FILTER (WHERE j.status = 'pending' AND j.run_at <= now())
                                                                         AS oldest_pending_age
  FROM taskbroker.jobs j
 GROUP BY j.queue;

CREATE OR REPLACE VIEW taskbroker.throughput AS
SELECT date_trunc('minute', j.completed_at) AS minute,
       j.queue,
       count(*) FILTER (WHERE j.status = 'completed') AS completed,
       count(*) FILTER (WHERE j.status = 'failed')    AS failed,
       count(*) FILTER (WHERE j.status = 'cancelled') AS cancelled
  FROM taskbroker.jobs j
 WHERE j.completed_at > now() - interval '1 hour'
 GROUP BY 1, 2;

-- V10's grants (those on taskbroker.jobs now land on the view), then the tables' own: the client
-- inserts into job_queue and the worker writes it; the worker moves, prunes and drops history.
ALTER FUNCTION taskbroker.grant_roles() RENAME TO grant_roles_v10;

CREATE FUNCTION taskbroker.grant_roles() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM taskbroker.grant_roles_v10();
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_submitter') THEN
        GRANT INSERT (id, queue, plugin, payload, metadata, priority, run_at, max_attempts,
                      unique_key, timeout_ms, concurrency_key)
            ON taskbroker.job_queue TO taskbroker_submitter;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_worker') THEN
        GRANT SELECT, UPDATE, DELETE ON taskbroker.job_queue TO taskbroker_worker;
        GRANT SELECT, DELETE ON taskbroker.job_history TO taskbroker_worker;
        GRANT EXECUTE ON FUNCTION
            taskbroker.move_to_history(timestamptz, integer),
            taskbroker.drop_history_before(timestamptz)
            TO taskbroker_worker;
    END IF;
END;
$$;

COMMENT ON FUNCTION taskbroker.grant_roles() IS
    'Grants the taskbroker roles that exist what they may do; run again after creating one.';

SELECT taskbroker.grant_roles();

INSERT INTO taskbroker.applied_migrations (version) VALUES (12);
