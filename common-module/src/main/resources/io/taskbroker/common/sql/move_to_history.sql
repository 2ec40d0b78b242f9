-- One batch of the history mover (V12): jobs finished more than :after_ms ago leave job_queue
-- for the partitioned history, oldest first, in one statement; returns how many moved.
SELECT taskbroker.move_to_history(now() - :after_ms * interval '1 millisecond', :limit)
