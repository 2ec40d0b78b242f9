-- V7: what the dashboard's pages read on a big jobs table, without scanning it.
--
-- The jobs page lists newest first with keyset paging on (created_at, id). Without an index that
-- order sorts the whole table (10 million rows: seconds); with it a page reads its rows and stops.
-- created_at never changes, so this index costs one entry per row version, like the others.
CREATE INDEX jobs_created_idx ON taskbroker.jobs (created_at, id);

-- "What failed, and why": failed and cancelled jobs, newest first, without walking every completed
-- job in between. Partial, so pending and running rows (the hot path) never enter it; only a row
-- that ends failed or cancelled does.
CREATE INDEX jobs_failed_created_idx ON taskbroker.jobs (created_at, id)
    WHERE status IN ('failed', 'cancelled');

INSERT INTO taskbroker.applied_migrations (version) VALUES (7);
