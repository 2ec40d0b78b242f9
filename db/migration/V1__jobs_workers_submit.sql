-- taskbroker schema, version 1.
--
-- Plain SQL with no Flyway placeholders: `psql -f` applies every file of db/migration in
-- version order and gets the same schema the code's Flyway run gets. A landed migration is
-- never edited; changes come as new files.

CREATE SCHEMA IF NOT EXISTS taskbroker;

-- Which migrations this schema has, whoever applied them (Flyway, or psql -f by hand). Every
-- migration file ends by inserting its version, so the code can adopt a hand-made schema: it
-- tells Flyway to baseline at the highest version found here.
CREATE TABLE taskbroker.applied_migrations (
    version    integer     PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row per job. A retry is not a state: the job goes back to 'pending' with a later run_at
-- and one more entry in `errors`. A delayed job is 'pending' with a future run_at.
CREATE TABLE taskbroker.jobs (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    queue               text        NOT NULL DEFAULT 'default',
    plugin              text        NOT NULL,
    payload             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    metadata            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status              text        NOT NULL DEFAULT 'pending',
    priority            smallint    NOT NULL DEFAULT 0,
    run_at              timestamptz NOT NULL DEFAULT now(),
    attempt             integer     NOT NULL DEFAULT 0,
    max_attempts        integer     NOT NULL DEFAULT 3,
    timeout_ms          integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz,
    -- The claim: which worker holds the job (while running; afterwards, the last one that
    -- did), and until when. A lease that is not extended (the worker died, froze or lost its
    -- network) lets the rescuer take the job back.
    worker_id           text,
    heartbeat_at        timestamptz,
    lease_expires_at    timestamptz,
    progress            real,
    progress_message    text,
    result              jsonb,
    error               text,
    -- One object per failed attempt: {attempt, at, worker_id, kind, error, trace}.
    errors              jsonb       NOT NULL DEFAULT '[]'::jsonb,
    unique_key          text,
    cancel_requested_at timestamptz,

    CONSTRAINT jobs_queue_valid CHECK (queue <> '' AND length(queue) <= 128),
    CONSTRAINT jobs_plugin_valid CHECK (plugin <> '' AND length(plugin) <= 128),
    CONSTRAINT jobs_payload_is_object CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT jobs_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object'),
    CONSTRAINT jobs_errors_is_array CHECK (jsonb_typeof(errors) = 'array'),
    CONSTRAINT jobs_status_valid
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    CONSTRAINT jobs_attempt_valid CHECK (attempt >= 0 AND attempt <= max_attempts),
    CONSTRAINT jobs_max_attempts_valid CHECK (max_attempts >= 1 AND max_attempts <= 1000),
    CONSTRAINT jobs_timeout_valid CHECK (timeout_ms IS NULL OR timeout_ms > 0),
    CONSTRAINT jobs_progress_valid CHECK (progress IS NULL OR (progress >= 0 AND progress <= 1)),
    CONSTRAINT jobs_unique_key_valid CHECK (unique_key IS NULL OR unique_key <> ''),
    -- A final state always says when it was reached; nothing else has completed_at.
    CONSTRAINT jobs_finished_has_completed_at
        CHECK ((status IN ('completed', 'failed', 'cancelled')) = (completed_at IS NOT NULL)),
    -- A running job always has an owner and a lease; only a running job has a lease.
    CONSTRAINT jobs_running_has_claim
        CHECK (status <> 'running' OR (worker_id IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CONSTRAINT jobs_lease_only_when_running
        CHECK (status = 'running' OR lease_expires_at IS NULL),
    CONSTRAINT jobs_running_has_started_at CHECK (status <> 'running' OR started_at IS NOT NULL),
    CONSTRAINT jobs_result_only_when_completed CHECK (result IS NULL OR status = 'completed')
);

COMMENT ON TABLE taskbroker.jobs IS
    'One row per job: plugin + JSON payload + metadata, its status, claim, progress and outcome.';

-- The claim walks this index in order; it holds only pending rows, so it stays small however
-- many finished jobs the table keeps.
CREATE INDEX jobs_claim_idx ON taskbroker.jobs (queue, priority, run_at, id)
    WHERE status = 'pending';

-- The rescuer finds expired leases. (Fenced writes look rows up by primary key; an index on
-- worker_id would only add an insert to every claim.)
CREATE INDEX jobs_running_lease_idx ON taskbroker.jobs (lease_expires_at)
    WHERE status = 'running';

-- Pruning and "recently finished" queries.
CREATE INDEX jobs_finished_idx ON taskbroker.jobs (completed_at)
    WHERE completed_at IS NOT NULL;

-- A unique key is held while its job is live; once the job is finished the key is free again.
CREATE UNIQUE INDEX jobs_unique_key_idx ON taskbroker.jobs (unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('pending', 'running');

-- The table churns (every job is inserted, updated two or three times and later deleted):
-- vacuum it early and without throttling so dead tuples do not pile up behind the claim.
ALTER TABLE taskbroker.jobs SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.05,
    autovacuum_vacuum_cost_delay = 0,
    fillfactor = 80
);

-- One row per live worker process, so psql shows the fleet.
CREATE TABLE taskbroker.workers (
    id                text        PRIMARY KEY,
    host              text        NOT NULL,
    pid               bigint      NOT NULL,
    queues            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    plugins           text[]      NOT NULL DEFAULT '{}',
    concurrency       integer     NOT NULL,
    started_at        timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT workers_concurrency_valid CHECK (concurrency >= 1)
);

COMMENT ON TABLE taskbroker.workers IS
    'One row per live worker process: queues (name -> concurrency), plugins, heartbeat.';

-- NOTIFY channels (NOTIFY is a hint; workers and awaiters poll as well):
--   taskbroker_new_job   payload: a queue name, or '*' for several. At most one per queue per
--                        transaction (PostgreSQL folds identical notifications of one
--                        transaction), never one per row.
--   taskbroker_job_events payload: 'id:status' pairs joined by ',', for jobs that just reached
--                        a final state; split to stay under the 8000-byte payload limit.
--   taskbroker_control   payload: JSON {"action":"cancel","job_id":..,"worker_id":..}.

CREATE FUNCTION taskbroker.notify_new_jobs() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    queues text[];
BEGIN
    -- Scheduled jobs notify too: a woken producer that finds nothing runnable looks up the
    -- next run_at and sets a timer, so a delayed job does not wait for the next poll.
    SELECT array_agg(DISTINCT queue) INTO queues
      FROM new_rows
     WHERE status = 'pending';
    IF queues IS NULL THEN
        RETURN NULL;
    END IF;
    IF cardinality(queues) = 1 THEN
        PERFORM pg_notify('taskbroker_new_job', queues[1]);
    ELSE
        PERFORM pg_notify('taskbroker_new_job', '*');
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION taskbroker.notify_job_updates() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    queues text[];
    payload text;
BEGIN
    -- Only the NEW rows are read: a claim (-> running) matches nothing here; jobs back in
    -- pending (retried, snoozed, rescued, handed back) wake producers, now or later (a
    -- producer that finds nothing runnable yet sets a timer for the next run_at); jobs in a
    -- final state wake awaiters. No worker writes a finished row again, so "final in NEW"
    -- means "just finished" for every write the workers make.
    SELECT array_agg(DISTINCT queue) INTO queues FROM new_rows WHERE status = 'pending';
    IF queues IS NOT NULL THEN
        PERFORM pg_notify('taskbroker_new_job',
                          CASE WHEN cardinality(queues) = 1 THEN queues[1] ELSE '*' END);
    END IF;
    -- 'id:status' pairs, 150 to a notification (about 7 kB, under the 8000-byte limit).
    FOR payload IN
        SELECT string_agg(f.id::text || ':' || f.status, ',')
          FROM (SELECT id, status, (row_number() OVER ()) / 150 AS chunk
                  FROM new_rows
                 WHERE status IN ('completed', 'failed', 'cancelled')) f
         GROUP BY f.chunk
    LOOP
        PERFORM pg_notify('taskbroker_job_events', payload);
    END LOOP;
    RETURN NULL;
END;
$$;

-- Statement-level triggers: one notification per statement (and per transaction after
-- PostgreSQL folds duplicates), however many rows the statement touched.
CREATE TRIGGER jobs_notify_insert
    AFTER INSERT ON taskbroker.jobs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION taskbroker.notify_new_jobs();

CREATE TRIGGER jobs_notify_update
    AFTER UPDATE ON taskbroker.jobs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION taskbroker.notify_job_updates();

-- Enqueue from any language, inside the caller's transaction: the job exists iff that
-- transaction commits. `run_at` wins over `delay` when both are given.
CREATE FUNCTION taskbroker.submit(
    plugin       text,
    payload      jsonb       DEFAULT '{}'::jsonb,
    queue        text        DEFAULT 'default',
    priority     integer     DEFAULT 0,
    run_at       timestamptz DEFAULT NULL,
    delay        interval    DEFAULT NULL,
    max_attempts integer     DEFAULT 3,
    metadata     jsonb       DEFAULT '{}'::jsonb,
    unique_key   text        DEFAULT NULL,
    timeout_ms   integer     DEFAULT NULL
) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    new_id uuid;
BEGIN
    INSERT INTO taskbroker.jobs AS j
        (queue, plugin, payload, metadata, priority, run_at, max_attempts, unique_key, timeout_ms)
    VALUES (
        coalesce(submit.queue, 'default'),
        submit.plugin,
        coalesce(submit.payload, '{}'::jsonb),
        coalesce(submit.metadata, '{}'::jsonb),
        coalesce(submit.priority, 0),
        coalesce(submit.run_at, now() + coalesce(submit.delay, interval '0')),
        coalesce(submit.max_attempts, 3),
        submit.unique_key,
        submit.timeout_ms)
    RETURNING j.id INTO new_id;
    RETURN new_id;
END;
$$;

-- Cancel from any language. A pending job is cancelled at once; a running one is marked and
-- its worker told (control channel; the mark is also checked on heartbeat and by the
-- rescuer, so a lost notification or a dead worker cannot undo the cancel). Returns the
-- status after the call, or NULL when no such job exists.
CREATE FUNCTION taskbroker.cancel(job_id uuid) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    job record;
BEGIN
    SELECT j.id, j.status, j.worker_id INTO job
      FROM taskbroker.jobs j WHERE j.id = job_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF job.status = 'pending' THEN
        UPDATE taskbroker.jobs
           SET status = 'cancelled', completed_at = now(), cancel_requested_at = now()
         WHERE id = job_id;
        RETURN 'cancelled';
    ELSIF job.status = 'running' THEN
        UPDATE taskbroker.jobs
           SET cancel_requested_at = coalesce(cancel_requested_at, now())
         WHERE id = job_id;
        PERFORM pg_notify('taskbroker_control',
            json_build_object('action', 'cancel', 'job_id', job_id,
                              'worker_id', job.worker_id)::text);
        RETURN 'running';
    END IF;
    RETURN job.status;
END;
$$;

-- For people: counts per queue and status, the oldest runnable job's age, and whether any
-- live worker serves the queue and has the plugin (a pending job nobody can run shows here).
CREATE VIEW taskbroker.queue_stats AS
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

-- Pending plugins with no live worker that serves their queue and has the plugin.
CREATE VIEW taskbroker.unserved_jobs AS
SELECT j.queue, j.plugin, count(*) AS pending, min(j.created_at) AS oldest_created_at
  FROM taskbroker.jobs j
 WHERE j.status = 'pending'
   AND NOT EXISTS (
        SELECT 1 FROM taskbroker.workers w
         WHERE w.queues ? j.queue
           AND (j.plugin = ANY (w.plugins) OR '*' = ANY (w.plugins))
           AND w.last_heartbeat_at > now() - interval '1 minute')
 GROUP BY j.queue, j.plugin;

-- Finished jobs per minute over the last hour.
CREATE VIEW taskbroker.throughput AS
SELECT date_trunc('minute', j.completed_at) AS minute,
       j.queue,
       count(*) FILTER (WHERE j.status = 'completed') AS completed,
       count(*) FILTER (WHERE j.status = 'failed')    AS failed,
       count(*) FILTER (WHERE j.status = 'cancelled') AS cancelled
  FROM taskbroker.jobs j
 WHERE j.completed_at > now() - interval '1 hour'
 GROUP BY 1, 2;

INSERT INTO taskbroker.applied_migrations (version) VALUES (1);
