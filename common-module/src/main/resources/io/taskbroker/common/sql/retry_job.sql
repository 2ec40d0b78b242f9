-- Redrive of one failed or cancelled job through the SQL function (SECURITY DEFINER: a submitter
-- retries the jobs it submitted). The status after the call; NULL: no such job of the caller's.
SELECT taskbroker.retry(:id) AS status
