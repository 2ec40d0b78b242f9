-- V10: ids made in SQL are time-ordered (UUID version 7), as the Java client's have been.
--
-- Until now a job inserted from SQL (taskbroker.submit, submit_many, a plain INSERT) got a
-- random version-4 id. Jobs submitted together share one run_at, so the claim, which takes
-- them in (priority, run_at, id) order, took them in random id order: each claimed batch hit
-- as many heap pages as jobs, and each of the claim's and the completion's new index entries
-- landed on a random leaf of the primary key. With version-7 ids the batch sits on a few
-- adjacent pages and the new entries on the rightmost leaves. Measured on 20,000 jobs drained
-- 256 at a time in one session: 125-135 µs of backend CPU per job with random ids, 68-73 with
-- these (docs/benchmarks.md). Ids already stored keep their value.
--
-- Layout (RFC 9562): 48 bits of Unix time in milliseconds, the version nibble 7, 74 random
-- bits with the variant bits 10. The random half comes from gen_random_uuid(): its variant
-- bits are already 10, and its version nibble 0100 becomes 0111 by setting two bits (bits 52
-- and 53 of the bytea, counted from the least significant bit of the first byte). Within one
-- millisecond the order is random; across milliseconds it follows the clock.
CREATE FUNCTION taskbroker.uuid_v7() RETURNS uuid
    LANGUAGE sql VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(
               set_bit(set_bit(
                   overlay(uuid_send(gen_random_uuid())
                           PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp())
                                                            * 1000)::bigint) FROM 3)
                           FROM 1 FOR 6),
                   52, 1), 53, 1),
               'hex')::uuid
$$;

COMMENT ON FUNCTION taskbroker.uuid_v7() IS
    'A new time-ordered id (UUID version 7): the default of taskbroker.jobs.id.';

ALTER TABLE taskbroker.jobs ALTER COLUMN id SET DEFAULT taskbroker.uuid_v7();

-- submit_many makes its ids before it inserts (so they come back in the array's order): as in
-- V6, with the new ids.
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

-- A column default runs with the rights of the role that inserts, so every role that may
-- insert jobs (a submitter's plain INSERT, taskbroker.submit) needs the id function. The grants
-- of V6 stay where they are: grant_roles() becomes "V6's grants, then these", instead of a
-- fourth copy of the whole list.
ALTER FUNCTION taskbroker.grant_roles() RENAME TO grant_roles_v6;

CREATE FUNCTION taskbroker.grant_roles() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM taskbroker.grant_roles_v6();
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_submitter') THEN
        GRANT EXECUTE ON FUNCTION taskbroker.uuid_v7() TO taskbroker_submitter;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_worker') THEN
        GRANT EXECUTE ON FUNCTION taskbroker.uuid_v7() TO taskbroker_worker;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskbroker_reader') THEN
        GRANT EXECUTE ON FUNCTION taskbroker.uuid_v7() TO taskbroker_reader;
    END IF;
END;
$$;

COMMENT ON FUNCTION taskbroker.grant_roles() IS
    'Grants the taskbroker roles that exist what they may do; run again after creating one.';

SELECT taskbroker.grant_roles();

INSERT INTO taskbroker.applied_migrations (version) VALUES (10);
