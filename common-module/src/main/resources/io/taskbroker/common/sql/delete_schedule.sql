-- Deletes a schedule and its run records (its jobs stay); false when there was none.
SELECT taskbroker.delete_schedule(:name) AS found
