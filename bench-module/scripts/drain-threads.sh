#!/usr/bin/env bash
# Where a cold worker's CPU goes during one drain: starts `taskbroker worker --concurrency C` on a
# fresh database, waits until it has registered, inserts N no-op jobs in one statement, waits until
# none is pending or running, and prints the CPU time and context switches of each group of the
# worker JVM's threads over that window (threads named alike, digits dropped, are one group), most
# CPU first. Linux only (/proc). Needs psql and the built CLI (./mvnw -q package -DskipTests).
# Usage: bench-module/scripts/drain-threads.sh [JOBS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/../.."
JOBS="${1:-20000}"
CONCURRENCY="${2:-8}"
JAR="${JAR:-cli-module/target/taskbroker.jar}"
PLUGIN="${PLUGIN:-noop}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
DB="${DB:-bench_taskbroker_threads}"
URL="postgresql://${PGUSER}@${PGHOST}:${PGPORT}/${DB}"
HZ=$(getconf CLK_TCK)

psql -qX -d postgres -c "set client_min_messages = warning" -c "drop database if exists ${DB} with (force)" \
  -c "create database ${DB}" >/dev/null
java -jar "$JAR" migrate --database-url "$URL" >/dev/null 2>&1
LOG="$(mktemp)"
BEFORE="$(mktemp)"
AFTER="$(mktemp)"
java -jar "$JAR" worker --database-url "$URL" --concurrency "$CONCURRENCY" --retention none \
  >"$LOG" 2>&1 &
WORKER=$!
cleanup() {
  kill "$WORKER" 2>/dev/null || true
  wait "$WORKER" 2>/dev/null || true
  rm -f "$LOG" "$BEFORE" "$AFTER"
}
trap cleanup EXIT
for _ in $(seq 1 600); do
  [ "$(psql -qAtX -d "$DB" -c "select count(*) from taskbroker.workers" 2>/dev/null)" = "1" ] && break
  kill -0 "$WORKER" 2>/dev/null || { echo "worker exited:" >&2; cat "$LOG" >&2; exit 1; }
  sleep 0.1
done

# One line per thread: tid, cpu ticks (utime+stime), context switches, name.
threads() {
  local task name ticks switches
  for task in /proc/"$WORKER"/task/*; do
    name=$(cat "$task/comm" 2>/dev/null) || continue
    ticks=$(sed 's/^.*) //' "$task/stat" | awk '{print $12 + $13}')
    switches=$(awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {s += $2} END {print s}' "$task/status")
    echo "${task##*/} $ticks $switches $name"
  done
}
threads >"$BEFORE"
psql -qAtX -d "$DB" -c "select count(*) from taskbroker.submit_many('${PLUGIN}',
  (select jsonb_agg(jsonb_build_object('i', g)) from generate_series(1, ${JOBS}) g))" >/dev/null
until [ "$(psql -qAtX -d "$DB" -c \
  "select count(*) from taskbroker.jobs where status in ('pending', 'running')")" = "0" ]; do
  sleep 0.05
done
threads >"$AFTER"

awk -v hz="$HZ" -v n="$JOBS" '
  NR == FNR { ticks[$1] = $2; switches[$1] = $3; next }
  {
    name = $4; for (i = 5; i <= NF; i++) name = name " " $i
    sub(/[0-9]+$/, "", name)
    cpu[name] += $2 - ticks[$1]; sw[name] += $3 - switches[$1]; count[name]++
    total += $2 - ticks[$1]
  }
  END {
    printf "%9s %11s %9s %8s  %s\n", "cpu_ms", "us_per_job", "switches", "threads", "group"
    for (g in cpu) if (cpu[g] > 0 || sw[g] > 0)
      printf "%9.0f %11.1f %9d %8d  %s\n", cpu[g] * 1000 / hz, cpu[g] * 1e6 / hz / n, sw[g], count[g], g | "sort -k1 -nr"
    close("sort -k1 -nr")
    printf "%9.0f %11.1f %9s %8s  %s\n", total * 1000 / hz, total * 1e6 / hz / n, "", "", "all"
  }' "$BEFORE" "$AFTER"
