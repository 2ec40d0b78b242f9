-- Records why no worker can compute the slots of this schedule, while its cron and zone are still the
-- ones refused; the scheduler then leaves it alone until an upsert changes it.
SELECT taskbroker.mark_schedule_invalid(:name, :cron, :time_zone, :error) AS marked
