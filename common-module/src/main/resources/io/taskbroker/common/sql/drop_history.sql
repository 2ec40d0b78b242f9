-- Retention of the history (V12): drops the daily partitions that end more than :older_than_ms
-- ago; returns how many it dropped.
SELECT taskbroker.drop_history_before(now() - :older_than_ms * interval '1 millisecond')
