#!/usr/bin/env bash
# The dashboard's page timings with 10 million jobs in the table (the README's "Cost at 10 million
# jobs"). Not part of the suite: it takes minutes and a PostgreSQL with room for ~5 GB.
#
#   docs/measure-dashboard-10m.sh            # makes the database (once), then measures
#   KEEP=1 docs/measure-dashboard-10m.sh     # reuse the database made by an earlier run
#
# Needs psql, curl and the built CLI (./mvnw -q package -DskipTests). PGHOST/PGPORT/PGUSER default
# to 127.0.0.1:5432 postgres. Prints, per URL, the median and the first (cold) time of 7 requests.
set -euo pipefail
cd "$(dirname "$0")/.."
JAR="${JAR:-cli-module/target/taskbroker.jar}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
DB="${DB:-tb_dashboard_10m}"
URL="postgresql://${PGUSER}@${PGHOST}:${PGPORT}/${DB}"
PORT="${PORT:-18089}"

if [ -z "${KEEP:-}" ]; then
  psql -qX -d postgres -c "drop database if exists ${DB} with (force)" -c "create database ${DB}"
  java -jar "$JAR" migrate --database-url "$URL" >/dev/null
  # 10M finished jobs over the last 30 days: 3 queues, 5 plugins, 1 % failed, 0.5 % cancelled;
  # and a live backlog of 5,000 pending jobs, half of them scheduled an hour ahead.
  psql -qX -v ON_ERROR_STOP=1 -d "$DB" <<'SQL'
INSERT INTO taskbroker.job_queue (id, queue, plugin, payload, status, attempt, max_attempts,
                             created_at, run_at, started_at, completed_at, error)
SELECT gen_random_uuid(), 'q' || (g % 3), 'plugin' || (g % 5), jsonb_build_object('n', g),
       CASE WHEN g % 100 = 0 THEN 'failed' WHEN g % 200 = 1 THEN 'cancelled' ELSE 'completed' END,
       1, 3, t, t, t + interval '10 ms', t + interval '10 ms' + (g % 500) * interval '1 ms',
       CASE WHEN g % 100 = 0 THEN 'boom: timeout talking to service ' || (g % 7) END
  FROM generate_series(1, 10000000) g,
       LATERAL (SELECT now() - interval '30 days' * (1 - g / 10000000.0) AS t) tt;
INSERT INTO taskbroker.job_queue (queue, plugin, payload, status, run_at)
SELECT 'q' || (g % 3), 'plugin1', '{}', 'pending', now() + (g % 2) * interval '1 hour'
  FROM generate_series(1, 5000) g;
VACUUM ANALYZE taskbroker.job_queue;
SQL
fi

LOG="$(mktemp)"
java -jar "$JAR" dashboard --database-url "$URL" --port "$PORT" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:${PORT}/api/queues" >/dev/null 2>&1 && break
  sleep 0.1
done

ID=$(psql -qAtX -d "$DB" -c "select id from taskbroker.jobs where status = 'failed' limit 1")
DAY_FROM=$(psql -qAtX -d "$DB" -c "select to_char(now() - interval '25 days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
DAY_TO=$(psql -qAtX -d "$DB" -c "select to_char(now() - interval '24 days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
PATHS=(
  "/api/queues"
  "/api/stats/series"
  "/api/workers"
  "/api/schedules"
  "/api/jobs"
  "/api/jobs?status=failed"
  "/api/jobs?status=cancelled&queue=q1"
  "/api/jobs?queue=q2&plugin=plugin3"
  "/api/jobs?q=service%203"
  "/api/jobs?status=completed&from=${DAY_FROM}&to=${DAY_TO}"
  "/api/jobs/${ID}"
  "/api/jobs/bulk/count?status=failed&queue=q1"
)
printf '%-70s %10s %10s\n' "request" "median ms" "first ms"
for path in "${PATHS[@]}"; do
  times=()
  for _ in 1 2 3 4 5 6 7; do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:${PORT}${path}")")
  done
  first="${times[0]}"
  median=$(printf '%s\n' "${times[@]:1}" | sort -n | awk '{a[NR]=$1} END {print (a[int((NR+1)/2)] + a[int(NR/2)+1]) / 2}')
  awk -v p="$path" -v m="$median" -v f="$first" 'BEGIN { printf "%-70s %10.1f %10.1f\n", p, m * 1000, f * 1000 }'
done
