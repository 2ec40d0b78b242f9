-- taskbroker schema, version 2: least-privilege roles.
--
-- Three NOLOGIN group roles that an administrator grants to login roles
-- (GRANT taskbroker_submitter TO app_user;). The schema owner is whoever runs the migrations:
-- it owns every object and the SECURITY DEFINER functions run as it, so make it a dedicated
-- login without superuser (see README, "Security").
--   taskbroker_submitter  submit, read, await and cancel the jobs it submitted, by id
--   taskbroker_worker     what a worker JVM does: claim, heartbeat, complete, rescue, prune
--   taskbroker_reader     read every table and view (operators, dashboards); no writes
--
-- Roles belong to the cluster, grants to one database. Creating the roles needs CREATEROLE:
-- when the migrating user lacks it, this migration skips them with a NOTICE and still applies
-- everything else; a superuser then runs db/roles.sql in this database, which creates the roles
-- and calls taskbroker.grant_roles(). Re-running either is harmless.
--
-- A migration that adds or recreates a table, view or function ends with
-- SELECT taskbroker.grant_roles(); (after replacing that function to cover the new object, if
-- it is not covered by a schema-wide grant below). A dropped and recreated view loses its grants.

-- Who submitted a job: the login (session user) of the connection that inserted it. A
-- submitter reads and cancels only its own jobs; ids are no secret (the events channel names
-- every finished job to anyone who LISTENs). Jobs from before this migration have NULL: only
-- roles that can read the table see them. Set per row by the default, so a submitter cannot
-- choose it (it has no INSERT privilege on the column).
ALTER TABLE taskbroker.jobs ADD COLUMN submitted_by text;
ALTER TABLE taskbroker.jobs ALTER COLUMN submitted_by SET DEFAULT session_user;

DO $roles$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY
        ARRAY['taskbroker_submitter', 'taskbroker_worker', 'taskbroker_reader']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
            EXCEPTION
                WHEN insufficient_privilege THEN
                    RAISE NOTICE 'taskbroker: cannot create role % (no CREATEROLE); run db/roles.sql as a superuser in this database',
                        role_name;
                -- Another database of this cluster migrating at the same moment created it.
                WHEN duplicate_object OR unique_violation THEN
                    NULL;
            END;
        END IF;
    END LOOP;
END
$roles$;

-- Submit, with the owner's rights: a submitter needs no privilege on the table. Fixed
-- search_path and qualified names, so a caller's objects cannot stand in for ours.
ALTER FUNCTION taskbroker.submit(text, jsonb, text, integer, timestamptz, interval, integer,
                                 jsonb, text, integer)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- Whether the calling login may see this job: it submitted it, or it may read the whole table
-- anyway (owner, worker, reader; a superuser). session_user, not current_user: inside these
-- SECURITY DEFINER functions current_user is the owner. No SET clause, so the planner inlines
-- it into its callers (which fix the search_path); nobody else may execute it.
CREATE FUNCTION taskbroker.may_see(submitted_by text) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT may_see.submitted_by = pg_catalog.text(session_user)
        OR pg_catalog.has_table_privilege(session_user, 'taskbroker.jobs', 'SELECT')
$$;

-- The readers are PL/pgSQL, not SQL functions: PL/pgSQL keeps its query plans across calls, a
-- SQL function returning a set plans anew on every call. Measured with pgbench on a 20,000-job
-- table: get_job 0.14 ms per call against 0.25 ms as a SQL function (a plain SELECT by id as
-- the owner: 0.08 ms).

-- One job by id, every column, if the caller may see it (the client's get and await).
CREATE FUNCTION taskbroker.get_job(job_id uuid) RETURNS SETOF taskbroker.jobs ROWS 1
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
        SELECT j.* FROM taskbroker.jobs j
         WHERE j.id = get_job.job_id AND taskbroker.may_see(j.submitted_by);
END;
$$;

-- Several jobs by id, in one statement, those the caller may see.
CREATE FUNCTION taskbroker.get_jobs(job_ids uuid[]) RETURNS SETOF taskbroker.jobs
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
        SELECT j.* FROM taskbroker.jobs j
         WHERE j.id = ANY (get_jobs.job_ids) AND taskbroker.may_see(j.submitted_by);
END;
$$;

-- One job's status (NULL: no such job, or not the caller's): for psql and other languages.
CREATE FUNCTION taskbroker.job_status(job_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT j.status FROM taskbroker.jobs j
             WHERE j.id = job_status.job_id AND taskbroker.may_see(j.submitted_by));
END;
$$;

-- The statuses of several jobs (the awaiter's poll), without their payloads.
CREATE FUNCTION taskbroker.job_statuses(job_ids uuid[]) RETURNS TABLE (id uuid, status text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
        SELECT j.id, j.status FROM taskbroker.jobs j
         WHERE j.id = ANY (job_statuses.job_ids) AND taskbroker.may_see(j.submitted_by);
END;
$$;

-- Cancel, with the owner's rights, of a job the caller submitted (or any job, for a role that
-- may change the table). Someone else's job looks like no job at all: NULL. Otherwise as in V1:
-- a pending job is cancelled at once; a running one is marked, and its worker told. The mark is
-- the truth: a worker acts on a control notification only after reading the mark back.
CREATE OR REPLACE FUNCTION taskbroker.cancel(job_id uuid) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    job record;
BEGIN
    SELECT j.id, j.status, j.worker_id, j.submitted_by INTO job
      FROM taskbroker.jobs j WHERE j.id = cancel.job_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF job.submitted_by IS DISTINCT FROM session_user::text
       AND NOT has_table_privilege(session_user, 'taskbroker.jobs', 'UPDATE') THEN
        RETURN NULL;
    END IF;
    IF job.status = 'pending' THEN
        UPDATE taskbroker.jobs
           SET status = 'cancelled', completed_at = now(), cancel_requested_at = now()
         WHERE id = cancel.job_id;
        RETURN 'cancelled';
    ELSIF job.status = 'running' THEN
        UPDATE taskbroker.jobs
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

-- Every grant of the roles, in one place: V2 calls it, db/roles.sql calls it after creating
-- the roles, a later migration calls it after adding objects. Idempotent; skips a role that
-- does not exist. Run by the schema owner (or a superuser).
CREATE FUNCTION taskbroker.grant_roles() RETURNS void
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

INSERT INTO taskbroker.applied_migrations (version) VALUES (2);
