package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Database;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.io.PrintStream;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Whether taskbroker stays fast as the jobs table ages: with a history of finished jobs kept and
 * autovacuum on, jobs arrive at a fixed rate for a long time and every interval reports the
 * submit-to-start latency of the jobs that started in it next to the table's size, its indexes'
 * sizes and its live and dead tuples.
 *
 * <p>The arrival is open loop, as in {@link LatencyBench}: job {@code i} is due at {@code start + i
 * / rate} whatever happens, and its latency counts from that intended time, so a stall of the
 * senders, the database or the worker shows in full (no coordinated omission). The worker runs in
 * this JVM, so the intended time ({@link System#nanoTime()}) and the plugin's start share a clock.
 *
 * <p>The history lives in the queue {@value #HISTORY_QUEUE}, outside the run's own queues, and is
 * kept after the run, so a large history is built once and reused. The soak's worker keeps finished
 * jobs (no pruning) so the history stays as built. Not thread-safe; one run at a time.
 */
final class SoakBench {
  static final String HISTORY_QUEUE = "bench-history";
  static final long HISTORY_BATCH = 1_000_000;
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final int WARM_UP_JOBS = 200;

  private final BenchSettings settings;
  private final SoakSettings soak;
  private final Database database;
  private final TaskBrokerClient client;
  private final BenchDatabase monitor;
  private final PrintStream log;

  SoakBench(
      BenchSettings settings,
      Database database,
      TaskBrokerClient client,
      BenchDatabase monitor,
      PrintStream log) {
    this.settings = settings;
    this.soak = settings.soak();
    this.database = database;
    this.client = client;
    this.monitor = monitor;
    this.log = log;
  }

  /** Builds the history if needed, then soaks {@code queue} at the fixed rate. */
  ObjectNode run(String queue) throws SQLException, InterruptedException {
    ObjectNode result = Json.object();
    result.put("queue", queue);
    result.put("rate_per_sec", settings.rate());
    result.put("duration_ms", soak.duration().toMillis());
    result.put("report_every_ms", soak.reportEvery().toMillis());
    result.put("senders", settings.rateSenders());
    result.put("worker_concurrency", settings.latencyConcurrency());
    result.set("history", ensureHistory(monitor, soak.historyRows(), log));
    SoakPlugin plugin = new SoakPlugin();
    String workerId = queue + "-w";
    WorkerConfig config =
        WorkerConfig.builder()
            .workerId(workerId)
            .queue(queue, settings.latencyConcurrency())
            // The pruner deletes finished jobs of every queue: it would eat the history.
            .retention(null)
            .build();
    Worker worker = Worker.start(database, config, PluginRegistry.of(List.of(plugin)));
    try {
      String failure = warmUp(plugin, worker, queue);
      if (failure == null) {
        failure = soak(plugin, worker, queue, result);
      }
      result.put("ok", failure == null);
      if (failure != null) {
        result.put("failure", failure);
      }
      return result;
    } finally {
      worker.shutdown(Duration.ofSeconds(10));
      log.printf("soak: deleting the soak's jobs (the history stays)%n");
      monitor.deleteQueue(queue);
      monitor.deleteWorkers(workerId);
    }
  }

  /**
   * Makes the table hold at least {@code rows} finished jobs: counts those of every queue and
   * inserts the missing ones into {@value #HISTORY_QUEUE}, {@value #HISTORY_BATCH} per statement
   * (each its own transaction), then vacuums and analyzes the table so the soak starts from a
   * steady state rather than from an insert-only burst autovacuum has yet to see.
   */
  static ObjectNode ensureHistory(BenchDatabase monitor, long rows, PrintStream log)
      throws SQLException {
    ObjectNode history = Json.object();
    history.put("queue", HISTORY_QUEUE);
    history.put("requested_rows", rows);
    if (rows == 0) {
      history.put("inserted_rows", 0);
      return history;
    }
    long existing = monitor.finishedJobs();
    history.put("finished_rows_before", existing);
    if (existing >= rows) {
      log.printf(
          "soak: the table already holds %,d finished jobs; no history inserted%n", existing);
      history.put("inserted_rows", 0);
      return history;
    }
    long insertStart = System.nanoTime();
    long inserted = 0;
    for (long from = existing + 1; from <= rows; from += HISTORY_BATCH) {
      long to = Math.min(rows, from + HISTORY_BATCH - 1);
      inserted += monitor.insertFinishedJobs(HISTORY_QUEUE, NoopPlugin.NAME, from, to, rows);
      log.printf("soak: history %,d of %,d finished jobs inserted%n", inserted, rows - existing);
    }
    history.put("inserted_rows", inserted);
    history.put("insert_seconds", seconds(System.nanoTime() - insertStart));
    long vacuumStart = System.nanoTime();
    monitor.vacuumJobs();
    history.put("vacuum_seconds", seconds(System.nanoTime() - vacuumStart));
    log.printf("soak: history inserted and vacuumed%n");
    return history;
  }

  /** Runs a few jobs untimed so the first interval does not measure the JIT; null when done. */
  private String warmUp(SoakPlugin plugin, Worker worker, String queue)
      throws InterruptedException {
    log.printf("soak: warming up (%d jobs)%n", WARM_UP_JOBS);
    List<NewJob> jobs = new ArrayList<>();
    for (int i = 0; i < WARM_UP_JOBS; i++) {
      jobs.add(job(queue, 0));
    }
    client.submitAll(jobs);
    if (!awaitStarted(plugin, WARM_UP_JOBS)) {
      return "warm-up: "
          + (WARM_UP_JOBS - plugin.started())
          + " of "
          + WARM_UP_JOBS
          + " jobs did not start within "
          + START_TIMEOUT;
    }
    // The first interval counts completions from here: let the warm-up's outcomes land first.
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (worker.completedWrites() < WARM_UP_JOBS && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    plugin.takeInterval();
    return null;
  }

  /** The soak itself; fills {@code result} and returns null, or the failure. */
  private String soak(SoakPlugin plugin, Worker worker, String queue, ObjectNode result)
      throws SQLException, InterruptedException {
    double rate = settings.rate();
    long durationNanos = soak.duration().toNanos();
    long everyNanos = soak.reportEvery().toNanos();
    long jobs = Math.max(1, (long) Math.floor(rate * durationNanos / 1e9));
    log.printf(
        "soak: %,d jobs at %.0f/s for %.0f s from %d sender(s), reporting every %.1f s%n",
        jobs,
        rate,
        soak.duration().toMillis() / 1000.0,
        settings.rateSenders(),
        soak.reportEvery().toMillis() / 1000.0);
    long startedBefore = plugin.started();
    long completedBefore = worker.completedWrites();
    BenchDatabase.TableHealth atStart = monitor.jobsTableHealth();
    result.set("table_at_start", atStart.toJson());
    LongAdder submitted = new LongAdder();
    Recorder lag = new Recorder(SoakPlugin.HIGHEST_NANOS, 3);
    AtomicLong next = new AtomicLong();
    long base = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
    long end = base + durationNanos;
    ExecutorService senders = Executors.newFixedThreadPool(settings.rateSenders());
    List<Future<?>> futures = new ArrayList<>();
    ArrayNode intervals = result.putArray("intervals");
    Histogram overall = new Histogram(SoakPlugin.HIGHEST_NANOS, 3);
    String failure = null;
    try {
      for (int s = 0; s < settings.rateSenders(); s++) {
        futures.add(
            senders.submit(
                () -> {
                  for (long i = next.getAndIncrement(); i < jobs; i = next.getAndIncrement()) {
                    long intended = base + (long) (i * 1e9 / rate);
                    NewJob job = job(queue, intended);
                    long wait;
                    while ((wait = intended - System.nanoTime()) > 0) {
                      LockSupport.parkNanos(wait);
                      if (Thread.currentThread().isInterrupted()) {
                        // The soak was cut short (another sender failed): stop, do not spin.
                        return null;
                      }
                    }
                    lag.recordValue(
                        Math.max(
                            0, Math.min(System.nanoTime() - intended, SoakPlugin.HIGHEST_NANOS)));
                    client.submit(job);
                    submitted.increment();
                  }
                  return null;
                }));
      }
      long previousSubmitted = 0;
      long previousStarted = 0;
      long previousCompleted = 0;
      for (int index = 1; ; index++) {
        long boundary = Math.min(base + index * everyNanos, end);
        long wait;
        while ((wait = boundary - System.nanoTime()) > 0) {
          LockSupport.parkNanos(wait);
        }
        boolean last = boundary == end;
        if (last) {
          // The last interval closes once every submitted job started, so that the jobs due
          // in its final moments count in it rather than nowhere.
          failure = Senders.awaitAll(futures, "a submit");
          long total = submitted.sum();
          if (!awaitStarted(plugin, startedBefore + total) && failure == null) {
            failure =
                (startedBefore + total - plugin.started())
                    + " of "
                    + total
                    + " jobs did not start within "
                    + START_TIMEOUT
                    + " after the last submit";
          }
        }
        Histogram latency = plugin.takeInterval();
        overall.add(latency);
        long submittedNow = submitted.sum();
        long startedNow = plugin.started() - startedBefore;
        long completedNow = worker.completedWrites() - completedBefore;
        BenchDatabase.TableHealth health = monitor.jobsTableHealth();
        ObjectNode row =
            interval(
                index,
                System.nanoTime() - base,
                submittedNow - previousSubmitted,
                startedNow - previousStarted,
                completedNow - previousCompleted,
                submittedNow - startedNow,
                latency,
                health,
                atStart);
        intervals.add(row);
        log.println(describe(row));
        previousSubmitted = submittedNow;
        previousStarted = startedNow;
        previousCompleted = completedNow;
        if (last) {
          break;
        }
        if (futures.stream().anyMatch(Future::isDone) && next.get() < jobs) {
          // A sender stopped before its share was sent: a submit failed.
          failure = Senders.awaitAll(futures, "a submit");
          break;
        }
      }
      long elapsed = System.nanoTime() - base;
      result.put("jobs_submitted", submitted.sum());
      result.put("achieved_submit_rate_per_sec", submitted.sum() / (elapsed / 1e9));
      result.set("latency", summary(overall));
      result.set("sender_lag", summary(lag.getIntervalHistogram()));
      result.set("summary", summarise(intervals, atStart));
      return failure;
    } finally {
      senders.shutdownNow();
    }
  }

  private static boolean awaitStarted(SoakPlugin plugin, long count) throws InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (plugin.started() < count) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    }
    return true;
  }

  private static NewJob job(String queue, long intendedNanos) {
    return NewJob.builder(SoakPlugin.NAME)
        .queue(queue)
        .payload(Map.of(SoakPlugin.INTENDED_NANOS, intendedNanos))
        .build();
  }

  private static ObjectNode interval(
      int index,
      long elapsedNanos,
      long submitted,
      long started,
      long completed,
      long backlog,
      Histogram latency,
      BenchDatabase.TableHealth health,
      BenchDatabase.TableHealth atStart) {
    ObjectNode row = Json.object();
    row.put("interval", index);
    row.put("elapsed_s", seconds(elapsedNanos));
    row.put("submitted", submitted);
    row.put("started", started);
    row.put("completed", completed);
    row.put("backlog", backlog);
    row.set("latency", summary(latency));
    row.put("table_bytes", health.tableBytes());
    row.put("indexes_bytes", health.indexesBytes());
    row.put("claim_index_bytes", health.claimIndexBytes());
    row.put("history_bytes", health.historyBytes());
    row.put("n_live_tup", health.liveTuples());
    row.put("n_dead_tup", health.deadTuples());
    row.put("autovacuums", health.autovacuumCount() - atStart.autovacuumCount());
    return row;
  }

  /** One interval as the line printed while the soak runs. */
  static String describe(ObjectNode row) {
    ObjectNode latency = (ObjectNode) row.path("latency");
    return String.format(
        Locale.ROOT,
        "soak %7.1fs: submitted %,d, started %,d, completed %,d, backlog %,d;"
            + " submit->start ms p50 %s p95 %s p99 %s max %s; table %s, indexes %s,"
            + " claim index %s; history %s; live %,d, dead %,d tuples; autovacuums %d",
        row.path("elapsed_s").asDouble(),
        row.path("submitted").asLong(),
        row.path("started").asLong(),
        row.path("completed").asLong(),
        row.path("backlog").asLong(),
        millis(latency, "p50_ms"),
        millis(latency, "p95_ms"),
        millis(latency, "p99_ms"),
        millis(latency, "max_ms"),
        megabytes(row.path("table_bytes").asLong()),
        megabytes(row.path("indexes_bytes").asLong()),
        megabytes(row.path("claim_index_bytes").asLong()),
        megabytes(row.path("history_bytes").asLong()),
        row.path("n_live_tup").asLong(),
        row.path("n_dead_tup").asLong(),
        row.path("autovacuums").asLong());
  }

  /** First against last interval, and the most dead tuples any interval saw. */
  private static ObjectNode summarise(ArrayNode intervals, BenchDatabase.TableHealth atStart) {
    ObjectNode summary = Json.object();
    summary.put("intervals", intervals.size());
    if (intervals.isEmpty()) {
      return summary;
    }
    ObjectNode first = (ObjectNode) intervals.get(0);
    ObjectNode last = (ObjectNode) intervals.get(intervals.size() - 1);
    for (String field :
        List.of("table_bytes", "indexes_bytes", "claim_index_bytes", "history_bytes")) {
      summary.put(field + "_at_start", atStart.toJson().path(field).asLong());
    }
    summary.put("n_dead_tup_at_start", atStart.deadTuples());
    for (String moment : List.of("first", "last")) {
      ObjectNode row = moment.equals("first") ? first : last;
      ObjectNode figures = summary.putObject(moment);
      figures.set("p99_ms", row.at("/latency/p99_ms"));
      for (String field :
          List.of(
              "table_bytes", "indexes_bytes", "claim_index_bytes", "history_bytes", "n_dead_tup")) {
        figures.set(field, row.path(field));
      }
    }
    long maxDead = 0;
    for (int i = 0; i < intervals.size(); i++) {
      maxDead = Math.max(maxDead, intervals.get(i).path("n_dead_tup").asLong());
    }
    summary.put("max_n_dead_tup", maxDead);
    summary.put("autovacuums", last.path("autovacuums").asLong());
    return summary;
  }

  /** Count and percentiles in milliseconds, p95 included. */
  static ObjectNode summary(Histogram histogram) {
    ObjectNode json = Json.object();
    json.put("count", histogram.getTotalCount());
    if (histogram.getTotalCount() == 0) {
      return json;
    }
    json.put("mean_ms", toMillis(histogram.getMean()));
    for (double percentile : new double[] {50, 95, 99, 99.9}) {
      String name = percentile == 99.9 ? "p999_ms" : "p" + (int) percentile + "_ms";
      json.put(name, toMillis(histogram.getValueAtPercentile(percentile)));
    }
    json.put("max_ms", toMillis(histogram.getMaxValue()));
    return json;
  }

  private static String millis(ObjectNode latency, String field) {
    return latency.has(field)
        ? String.format(Locale.ROOT, "%.2f", latency.path(field).asDouble())
        : "-";
  }

  /** kB under a megabyte (the claim index of a drained queue is a few pages), else MB. */
  static String megabytes(long bytes) {
    if (bytes < 0) {
      return "-";
    }
    return bytes < 1048576
        ? String.format(Locale.ROOT, "%.0f kB", bytes / 1024.0)
        : String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0);
  }

  private static double toMillis(double nanos) {
    return Math.round(nanos / 1_000.0) / 1_000.0;
  }

  private static double seconds(long nanos) {
    return Math.round(nanos / 1e6) / 1e3;
  }
}
