-- The awaiter's poll, through the SECURITY DEFINER function (see get_job.sql): statuses only.
SELECT id, status FROM taskbroker.job_statuses(CAST(:ids AS uuid[]))
