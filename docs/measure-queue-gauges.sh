#!/bin/bash
# The queue gauges' query with a thousand and with ten million finished jobs in the table.
set -euo pipefail
DB=tb_metrics14_measure
BASE=postgresql://postgres@127.0.0.1:5432
WT=/work/wt-metrics14
psql -q $BASE/postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
for f in $(ls $WT/db/migration/V*.sql | sort -V); do psql -q -v ON_ERROR_STOP=1 $BASE/$DB -f $f >/dev/null; done
sed '/^--/d' $WT/metrics-module/src/main/resources/io/taskbroker/metrics/internal/queue_gauges.sql > gauges.sql
echo "SELECT * FROM taskbroker.queue_stats;" > view.sql
psql -q $BASE/$DB <<'SQL'
INSERT INTO taskbroker.job_queue (queue, plugin, status, attempt, started_at, completed_at)
  SELECT 'q' || (i % 4), 'p', 'completed', 1, now(), now() FROM generate_series(1, 1000) i;
INSERT INTO taskbroker.job_queue (queue, plugin) SELECT 'q' || (i % 4), 'p' FROM generate_series(1, 100) i;
INSERT INTO taskbroker.job_queue (queue, plugin, status, attempt, worker_id, started_at, lease_expires_at)
  SELECT 'q' || (i % 4), 'p', 'running', 1, 'w', now(), now() + interval '1 day' FROM generate_series(1, 40) i;
VACUUM ANALYZE taskbroker.job_queue;
SQL
echo "== 1,000 finished rows"
pgbench -n -f gauges.sql -t 2000 $BASE/$DB 2>/dev/null | grep -E 'latency average|tps'
pgbench -n -f view.sql -t 200 $BASE/$DB 2>/dev/null | grep -E 'latency average'| sed 's/^/queue_stats view: /'
psql -q $BASE/$DB -c "EXPLAIN (ANALYZE, BUFFERS) $(cat gauges.sql)" | grep -E 'Scan|Buffers|Execution'
echo "== inserting 10,000,000 finished rows"
time psql -q $BASE/$DB -c "INSERT INTO taskbroker.job_queue (queue, plugin, status, attempt, started_at, completed_at)
  SELECT 'q' || (i % 4), 'p', 'completed', 1, now(), now() FROM generate_series(1, 10000000) i"
echo "== 10,000,000 finished rows, before any VACUUM/ANALYZE"
pgbench -n -f gauges.sql -t 2000 $BASE/$DB 2>/dev/null | grep -E 'latency average|tps'
time psql -q $BASE/$DB -c "VACUUM ANALYZE taskbroker.job_queue"
echo "== 10,000,000 finished rows, after VACUUM ANALYZE"
pgbench -n -f gauges.sql -t 2000 $BASE/$DB 2>/dev/null | grep -E 'latency average|tps'
pgbench -n -f view.sql -t 3 $BASE/$DB 2>/dev/null | grep -E 'latency average' | sed 's/^/queue_stats view: /'
psql -q $BASE/$DB -c "EXPLAIN (ANALYZE, BUFFERS) $(cat gauges.sql)" | grep -E 'Scan|Buffers|Execution'
psql -q $BASE/$DB -Atc "SELECT pg_size_pretty(pg_total_relation_size('taskbroker.job_queue'))"
psql -q $BASE/postgres -c "DROP DATABASE $DB"
