-- How many jobs a bulk action on this filter would touch, counted up to :cap (the confirmation
-- says "more than" beyond it): bounded like every dashboard read.
SELECT count(*) AS n
  FROM (SELECT 1
          FROM taskbroker.jobs j
         WHERE j.status = ANY (CAST(:statuses AS text[]))
           AND (CAST(:queue AS text) IS NULL OR j.queue = CAST(:queue AS text))
           AND (CAST(:plugin AS text) IS NULL OR j.plugin = CAST(:plugin AS text))
         LIMIT :cap) c
