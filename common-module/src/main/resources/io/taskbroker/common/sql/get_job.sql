-- Through the SECURITY DEFINER function, not the table: a submitter login, which may not read
-- the table, gets the jobs it submitted; a role that may read the table gets any job.
SELECT * FROM taskbroker.get_job(:id)
