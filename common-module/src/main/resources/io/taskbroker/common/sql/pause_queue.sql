-- Pauses through the SQL function (it validates the name and tells the workers); true when the
-- queue was not paused before.
SELECT taskbroker.pause_queue(:name) AS changed
