-- One bulk action (retry_jobs, cancel_jobs or delete_jobs, chosen by the caller from a fixed set,
-- never from input) with its filter; the count of jobs it touched. finished_since travels as
-- epoch milliseconds.
SELECT taskbroker.<action>(
           queue => CAST(:queue AS text), plugin => CAST(:plugin AS text),
           status => CAST(:status AS text),
           finished_since => to_timestamp(CAST(:finished_since_ms AS bigint) / 1000.0)<every>)
       AS touched
