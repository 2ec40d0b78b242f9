#!/usr/bin/env bash
# The drain as ../shared/peers-bench measures the peers, for taskbroker as users start it:
# one `taskbroker worker --concurrency C` process is started and left idle (cold: no warm-up);
# N no-op jobs are inserted with one SQL statement (taskbroker.submit_many, or with SUBMIT=rows
# one taskbroker.submit() per row of a generate_series); the clock runs from that commit until no
# job is pending or running, polled every 10 ms (the server's clock at both ends). Prints one line:
#
#   RESULT taskbroker drain jobs=N concurrency=C submit=M plugin=P seconds=S jobs_per_s=R worker_cpu_us_per_job=W
#          pg_cpu_us_per_job=P commits_per_job=K
#
# Needs psql and a PostgreSQL to talk to (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 postgres),
# and the built CLI (./mvnw -q package -DskipTests). Linux (/proc) for the CPU figures.
# Usage: bench-module/scripts/peer-drain.sh [JOBS] [CONCURRENCY] [extra `taskbroker worker` flags]
# DB=name picks the database (default bench_taskbroker_drain, dropped and made afresh); with
# KEEP_DB=1 it is reused as it is, e.g. one holding 10 million finished jobs (the drained jobs stay).
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS="${1:-20000}"
CONCURRENCY="${2:-8}"
shift 2 || true
JAR="${JAR:-cli-module/target/taskbroker.jar}"
SUBMIT="${SUBMIT:-many}"
# The bundled example plugin 'noop' returns nothing, like the peers' no-op task; PLUGIN=echo runs
# jobs that return their payload, which the completion then stores as the result.
PLUGIN="${PLUGIN:-noop}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
DB="${DB:-bench_taskbroker_drain}"
URL="postgresql://${PGUSER}@${PGHOST}:${PGPORT}/${DB}"
HZ=$(getconf CLK_TCK)

if [ -z "${KEEP_DB:-}" ]; then
  psql -qX -d postgres -c "drop database if exists ${DB} with (force)" -c "create database ${DB}" >/dev/null
fi
java -jar "$JAR" migrate --database-url "$URL" >/dev/null

STARTED=$(psql -qAtX -d "$DB" -c "select clock_timestamp()")
LOG="$(mktemp)"
java -jar "$JAR" worker --database-url "$URL" --concurrency "$CONCURRENCY" --retention none "$@" \
  >"$LOG" 2>&1 &
WORKER=$!
cleanup() {
  kill "$WORKER" 2>/dev/null || true
  wait "$WORKER" 2>/dev/null || true
  rm -f "$LOG"
}
trap cleanup EXIT

for _ in $(seq 1 600); do
  if [ "$(psql -qAtX -d "$DB" -c "select count(*) from taskbroker.workers where started_at > '${STARTED}'" 2>/dev/null)" = "1" ]; then
    break
  fi
  if ! kill -0 "$WORKER" 2>/dev/null; then
    echo "worker exited:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.1
done

cpu_of() { # utime+stime ticks of the given pids
  local total=0 pid fields
  for pid in "$@"; do
    if [ -r "/proc/$pid/stat" ]; then
      fields=$(sed 's/^.*) //' "/proc/$pid/stat")
      total=$((total + $(echo "$fields" | awk '{print $12 + $13}')))
    fi
  done
  echo "$total"
}
BACKENDS=$(psql -qAtX -d "$DB" -c \
  "select pid from pg_stat_activity where datname = '${DB}' and application_name like 'taskbroker-worker%'")
# shellcheck disable=SC2086
W0=$(cpu_of "$WORKER"); P0=$(cpu_of $BACKENDS)
C0=$(psql -qAtX -d "$DB" -c "select xact_commit from pg_stat_database where datname = '${DB}'")

if [ "$SUBMIT" = "rows" ]; then
  INSERT="select count(taskbroker.submit('${PLUGIN}', jsonb_build_object('i', g))) from generate_series(1, ${JOBS}) g"
else
  INSERT="select count(*) from taskbroker.submit_many('${PLUGIN}', (select jsonb_agg(jsonb_build_object('i', g)) from generate_series(1, ${JOBS}) g))"
fi
# One psql session, each statement its own transaction: a poll must not hold a snapshot open
# for the whole drain (a loop inside one DO block would, and every claim would then walk the
# dead index entries of all the jobs claimed before it).
coproc PSQL { psql -qAtX -v ON_ERROR_STOP=1 -d "$DB"; }
ask() {
  echo "$1" >&"${PSQL[1]}"
  read -r answer <&"${PSQL[0]}"
  echo "$answer"
}
DONE0=$(ask "select count(*) from taskbroker.jobs where status = 'completed';")
ask "${INSERT};" >/dev/null
T0=$(ask "select extract(epoch from clock_timestamp());")
# One exists per status, so that each is answered by that status's partial index: with
# status in (...) the planner scans the whole table, which at 10 million kept jobs is 3 GB a poll.
BUSY="select exists (select 1 from taskbroker.jobs where status = 'pending')
           or exists (select 1 from taskbroker.jobs where status = 'running');"
while [ "$(ask "$BUSY")" = "t" ]; do
  sleep 0.01
done
T1=$(ask "select extract(epoch from clock_timestamp());")
SECONDS_TAKEN=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.3f", b - a }')
echo '\q' >&"${PSQL[1]}"
# shellcheck disable=SC2086
W1=$(cpu_of "$WORKER"); P1=$(cpu_of $BACKENDS)
C1=$(psql -qAtX -d "$DB" -c "select xact_commit from pg_stat_database where datname = '${DB}'")
DONE=$(($(psql -qAtX -d "$DB" -c "select count(*) from taskbroker.jobs where status = 'completed'") - DONE0))
if [ "$DONE" != "$JOBS" ]; then
  echo "only ${DONE} of ${JOBS} jobs completed" >&2
  exit 1
fi
awk -v n="$JOBS" -v c="$CONCURRENCY" -v s="$SECONDS_TAKEN" -v w=$((W1 - W0)) -v p=$((P1 - P0)) \
  -v k=$((C1 - C0)) -v hz="$HZ" -v submit="$SUBMIT" -v plugin="$PLUGIN" 'BEGIN {
  printf "RESULT taskbroker drain jobs=%d concurrency=%d submit=%s plugin=%s seconds=%.3f jobs_per_s=%.0f", n, c, submit, plugin, s, n / s;
  printf " worker_cpu_us_per_job=%.1f pg_cpu_us_per_job=%.1f commits_per_job=%.3f\n", w * 1e6 / hz / n, p * 1e6 / hz / n, k / n
}'
