-- taskbroker schema, version 13: the lookups by id read job_queue first, the history only for
-- what job_queue does not hold.
--
-- Plain SQL with no Flyway placeholders (applies with psql -f too); changes no table, and one
-- index of the history (at the end).
--
-- Since V12 these functions read the taskbroker.jobs view, which probes job_queue's primary key
-- and one per history partition. The awaiter's poll and the client's get ask mostly for live or
-- just-finished jobs, which are all in job_queue; each call still planned and probed every
-- partition: get_job took 1.4 ms per call in one session on a history of nine days (10 million
-- jobs), against 0.14 ms on V2's single table. Each function now reads job_queue, and the
-- history only for ids it did not find there: 0.06 ms per call for a job in job_queue, and for
-- one in the history 1.2-2.6 ms for a session's first five calls, then 0.06-0.11 ms once the
-- plan is cached. The functions are STABLE, so both reads see one snapshot, in which a job is
-- in exactly one of the two tables: a move at that moment cannot hide it from both.

CREATE OR REPLACE FUNCTION taskbroker.get_job(job_id uuid) RETURNS SETOF taskbroker.job_queue
    ROWS 1
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
        SELECT j.* FROM taskbroker.job_queue j
         WHERE j.id = get_job.job_id AND taskbroker.may_see(j.submitted_by);
    IF NOT FOUND THEN
        RETURN QUERY
            SELECT h.* FROM taskbroker.job_history h
             WHERE h.id = get_job.job_id AND taskbroker.may_see(h.submitted_by);
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION taskbroker.get_jobs(job_ids uuid[]) RETURNS SETOF taskbroker.job_queue
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_found bigint;
BEGIN
    RETURN QUERY
        SELECT j.* FROM taskbroker.job_queue j
         WHERE j.id = ANY (get_jobs.job_ids) AND taskbroker.may_see(j.submitted_by);
    GET DIAGNOSTICS v_found = ROW_COUNT;
    IF v_found < cardinality(get_jobs.job_ids) THEN
        RETURN QUERY
            SELECT h.* FROM taskbroker.job_history h
             WHERE h.id = ANY (get_jobs.job_ids) AND taskbroker.may_see(h.submitted_by);
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION taskbroker.job_status(job_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN coalesce(
        (SELECT j.status FROM taskbroker.job_queue j
          WHERE j.id = job_status.job_id AND taskbroker.may_see(j.submitted_by)),
        (SELECT h.status FROM taskbroker.job_history h
          WHERE h.id = job_status.job_id AND taskbroker.may_see(h.submitted_by)));
END;
$$;

CREATE OR REPLACE FUNCTION taskbroker.job_statuses(job_ids uuid[])
    RETURNS TABLE (id uuid, status text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_found bigint;
BEGIN
    RETURN QUERY
        SELECT j.id, j.status FROM taskbroker.job_queue j
         WHERE j.id = ANY (job_statuses.job_ids) AND taskbroker.may_see(j.submitted_by);
    GET DIAGNOSTICS v_found = ROW_COUNT;
    IF v_found < cardinality(job_statuses.job_ids) THEN
        RETURN QUERY
            SELECT h.id, h.status FROM taskbroker.job_history h
             WHERE h.id = ANY (job_statuses.job_ids) AND taskbroker.may_see(h.submitted_by);
    END IF;
END;
$$;

-- The history's rows arrive in about completed_at order (the mover takes the oldest first), so a
-- block range index answers "finished in the last hour" as well as the B-tree did, for a few
-- pages instead of an entry per row written by every move. The per-queue B-tree stays.
DROP INDEX taskbroker.job_history_finished_idx;
CREATE INDEX job_history_finished_idx ON taskbroker.job_history USING brin (completed_at);

INSERT INTO taskbroker.applied_migrations (version) VALUES (13);
