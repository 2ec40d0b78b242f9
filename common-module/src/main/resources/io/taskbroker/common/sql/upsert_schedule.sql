-- Creates or changes a schedule through the SQL function, which validates every field (a bad one
-- raises 22023 naming it) and returns created, updated or unchanged. Durations travel as
-- milliseconds.
SELECT taskbroker.upsert_schedule(
           name => :name, cron => :cron, plugin => :plugin,
           payload => CAST(:payload AS jsonb), queue => :queue, time_zone => :time_zone,
           priority => :priority, max_attempts => :max_attempts,
           timeout_ms => CAST(:timeout_ms AS integer), metadata => CAST(:metadata AS jsonb),
           catch_up => :catch_up,
           catch_up_window => CAST(:catch_up_window_ms AS bigint) * interval '1 millisecond',
           overlap => :overlap,
           jitter => CAST(:jitter_ms AS bigint) * interval '1 millisecond') AS result
