-- Sets every limit of a queue through the SQL function (it validates each and tells the
-- workers); NULL clears one. The period travels as milliseconds.
SELECT taskbroker.set_queue_limits(
           name => :name,
           global_concurrency => CAST(:global_concurrency AS integer),
           rate_limit => CAST(:rate_limit AS integer),
           rate_period => CAST(:rate_period_ms AS bigint) * interval '1 millisecond',
           key_concurrency => CAST(:key_concurrency AS integer)) IS NULL AS done
