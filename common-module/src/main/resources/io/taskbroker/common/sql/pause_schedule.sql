-- Pauses a schedule; false when there is none of that name.
SELECT taskbroker.pause_schedule(:name) AS found
