-- Through the SECURITY DEFINER function (see get_job.sql): the jobs the caller may see.
SELECT * FROM taskbroker.get_jobs(CAST(:ids AS uuid[]))
