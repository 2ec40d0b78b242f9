-- One run of a schedule now, outside its slots; NULL when there is no such schedule.
SELECT taskbroker.trigger_schedule(:name) AS job_id
