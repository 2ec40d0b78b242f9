-- Newest first. Every filter is optional (NULL or an empty array means "any"); keyset paging
-- with :after_id continues after the last row of the previous page. A listing without bodies
-- (JobRepository) names its columns in place of the star.
SELECT /*columns*/ *
  FROM taskbroker.jobs j
 WHERE (cardinality(CAST(:statuses AS text[])) = 0 OR j.status = ANY (CAST(:statuses AS text[])))
   AND (CAST(:queue AS text) IS NULL OR j.queue = :queue)
   AND (CAST(:plugin AS text) IS NULL OR j.plugin = :plugin)
   AND (CAST(:after_id AS uuid) IS NULL
        OR (j.created_at, j.id) < (SELECT a.created_at, a.id FROM taskbroker.jobs a
                                    WHERE a.id = CAST(:after_id AS uuid)))
 ORDER BY j.created_at DESC, j.id DESC
 LIMIT :limit OFFSET :offset
