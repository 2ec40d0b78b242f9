-- A control notification is only a hint (any role that can connect may send one): the worker
-- acts on a cancel only for the jobs this finds, those still running under it whose cancel
-- was requested in the table. One primary-key probe per id, batched for bursts.
SELECT id
  FROM taskbroker.job_queue
 WHERE id = ANY (CAST(:ids AS uuid[]))
   AND status = 'running'
   AND worker_id = :worker_id
   AND cancel_requested_at IS NOT NULL
