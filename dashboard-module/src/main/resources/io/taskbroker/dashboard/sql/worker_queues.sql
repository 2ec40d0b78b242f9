-- Queues some live worker serves: they belong on the overview even when empty.
SELECT DISTINCT jsonb_object_keys(w.queues) AS queue FROM taskbroker.workers w
