#!/usr/bin/env bash
# The database's share of a drain, without a worker: 20,000 pending jobs (one INSERT), then one
# psql session claims them LIMIT B at a time with the worker's claim shape and completes each
# batch, every statement its own transaction. Prints the session's backend CPU per job (from
# /proc, so run it on the database's host). IDS=v7 (the default: the column default since V10)
# or IDS=v4 (random ids, as SQL made them before V10).
#
#   RESULT sql-drain-loop ids=v7 batch=256 backend_cpu_us_per_job=70
#
# Needs psql, a PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 postgres) and the built
# CLI (./mvnw -q package -DskipTests). Usage: bench-module/scripts/sql-drain-loop.sh [BATCH]
set -euo pipefail
cd "$(dirname "$0")/../.."
BATCH="${1:-256}"
JOBS=20000
IDS="${IDS:-v7}"
JAR="${JAR:-cli-module/target/taskbroker.jar}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
DB="${DB:-bench_taskbroker_sql_loop}"
HZ=$(getconf CLK_TCK)

psql -qX -d postgres -c "drop database if exists ${DB} with (force)" -c "create database ${DB}" >/dev/null
java -jar "$JAR" migrate --database-url "postgresql://${PGUSER}@${PGHOST}:${PGPORT}/${DB}" >/dev/null
case "$IDS" in
  v7) ID_COLUMN="" ID_VALUE="" ;;
  v4) ID_COLUMN="id, " ID_VALUE="gen_random_uuid(), " ;;
  *) echo "IDS must be v7 or v4" >&2; exit 2 ;;
esac
psql -qX -d "$DB" -c "insert into taskbroker.job_queue (${ID_COLUMN}plugin, payload)
  select ${ID_VALUE}'echo', jsonb_build_object('i', g) from generate_series(1, ${JOBS}) g" \
  -c "vacuum analyze taskbroker.job_queue" >/dev/null

SCRIPT="$(mktemp)"
trap 'rm -f "$SCRIPT"' EXIT
{
  echo "select pg_backend_pid() as pid \\gset"
  echo "\\setenv PID :pid"
  echo "\\! sed 's/^.*) //' /proc/\$PID/stat | awk '{print \$12 + \$13}' > ${SCRIPT}.cpu0"
  for _ in $(seq 1 $((JOBS / BATCH + 1))); do
    cat <<SQL
with picked as (
    select id from taskbroker.job_queue
     where status = 'pending' and queue = 'default' and run_at <= now() and attempt < max_attempts
     order by priority, run_at, id limit ${BATCH} for update skip locked)
update taskbroker.job_queue j
   set status = 'running', attempt = j.attempt + 1, worker_id = 'loop', started_at = now(),
       heartbeat_at = now(), lease_expires_at = now() + interval '60 s'
  from picked where j.id = picked.id;
update taskbroker.job_queue
   set status = 'completed', completed_at = now(), result = '{}', progress = 1,
       lease_expires_at = null
 where status = 'running' and worker_id = 'loop';
SQL
  done
  echo "\\! sed 's/^.*) //' /proc/\$PID/stat | awk '{print \$12 + \$13}' > ${SCRIPT}.cpu1"
} >"$SCRIPT"
psql -qX -v ON_ERROR_STOP=1 -d "$DB" -f "$SCRIPT" >/dev/null
DONE=$(psql -qAtX -d "$DB" -c "select count(*) from taskbroker.job_queue where status = 'completed'")
if [ "$DONE" != "$JOBS" ]; then
  echo "only ${DONE} of ${JOBS} jobs completed" >&2
  exit 1
fi
awk -v a="$(cat "${SCRIPT}.cpu0")" -v b="$(cat "${SCRIPT}.cpu1")" -v hz="$HZ" -v n="$JOBS" \
  -v ids="$IDS" -v batch="$BATCH" 'BEGIN {
  printf "RESULT sql-drain-loop ids=%s batch=%d backend_cpu_us_per_job=%.0f\n", ids, batch, (b - a) * 1e6 / hz / n
}'
rm -f "${SCRIPT}.cpu0" "${SCRIPT}.cpu1"
