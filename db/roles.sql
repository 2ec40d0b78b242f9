-- taskbroker roles, for when the user that runs the migrations may not create roles.
--
-- Migration V2 creates the group roles itself when its user has CREATEROLE; without it, it
-- skips them with a NOTICE and grants nothing. Then run this once per database, as a
-- superuser (or a role with CREATEROLE that the schema owner has granted itself to), after the
-- migrations:
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f db/roles.sql
--
-- Roles are cluster-wide: the CREATE ROLE runs once per cluster, the grants in every database
-- that holds a taskbroker schema. Re-running it is harmless.

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
                WHEN duplicate_object OR unique_violation THEN
                    NULL;
            END;
        END IF;
    END LOOP;
END
$roles$;

SELECT taskbroker.grant_roles();
