-- Fires the slots of one schedule and moves its next_run_at, compare-and-set on the due slot the
-- worker read (see taskbroker.fire_schedule in V4). Slots travel as epoch seconds (they are whole
-- seconds), run_at and the due and next slots as epoch milliseconds.
SELECT f.fired_slot, f.fired_job_id, f.fired_outcome
  FROM taskbroker.fire_schedule(
           :name,
           to_timestamp(CAST(:due_ms AS bigint) / 1000.0),
           ARRAY(SELECT to_timestamp(x) FROM unnest(CAST(:slot_s AS bigint[])) x),
           ARRAY(SELECT to_timestamp(x / 1000.0) FROM unnest(CAST(:run_at_ms AS bigint[])) x),
           to_timestamp(CAST(:next_ms AS bigint) / 1000.0)) f
