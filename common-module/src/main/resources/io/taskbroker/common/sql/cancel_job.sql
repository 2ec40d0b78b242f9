-- A SECURITY DEFINER function: a submitter cancels the jobs it submitted without UPDATE on the
-- table; someone else's job is NULL (as if there were none).
SELECT taskbroker.cancel(:id) AS status
