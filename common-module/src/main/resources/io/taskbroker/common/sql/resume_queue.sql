-- Resumes through the SQL function (it tells the workers); true when the queue was paused.
SELECT taskbroker.resume_queue(:name) AS changed
