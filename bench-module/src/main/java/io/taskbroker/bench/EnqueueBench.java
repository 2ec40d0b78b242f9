package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Database;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import java.io.PrintStream;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The enqueue workloads, with no worker running. Single-row: one {@code submit} per job, each its
 * own transaction and NOTIFY, from one or more threads; next to it, as the commit rate of this
 * server, the same number of plain one-row INSERTs into the jobs table that notify nobody (status
 * {@code cancelled}, so the insert trigger stays quiet). Batched: {@code submitAll} in batches, one
 * transaction and one NOTIFY each. Each run first makes a few untimed calls (the JIT), and is
 * verified by counting its queue, then deleted.
 *
 * <p>Not thread-safe; one run at a time.
 */
final class EnqueueBench {
  private static final String WORKER_APPLICATION = "taskbroker-bench-worker";
  private static final int WARM_UP_CALLS = 500;
  // The bench's own pool; its LISTEN connection is "taskbroker-bench-listener".
  private static final String BENCH_APPLICATION = "taskbroker-bench";
  // Same table, same connection pool, one commit per row, but no pending row: no NOTIFY.
  private static final String REFERENCE_INSERT =
      "INSERT INTO taskbroker.job_queue (queue, plugin, status, completed_at)"
          + " VALUES (?, 'noop', 'cancelled', now())";

  private final BenchSettings settings;
  private final Database database;
  private final TaskBrokerClient client;
  private final BenchDatabase monitor;
  private final PrintStream log;

  EnqueueBench(
      BenchSettings settings,
      Database database,
      TaskBrokerClient client,
      BenchDatabase monitor,
      PrintStream log) {
    this.settings = settings;
    this.database = database;
    this.client = client;
    this.monitor = monitor;
    this.log = log;
  }

  /** One-row transactions from {@code threads} threads, with NOTIFY or without. */
  ObjectNode single(String queue, int threads, boolean notify)
      throws SQLException, InterruptedException {
    int jobs = settings.singleJobs();
    ObjectNode result = Json.object();
    result.put("kind", notify ? "submit" : "reference");
    result.put("notify", notify);
    result.put("threads", threads);
    result.put("jobs", jobs);
    log.printf(
        "enqueue: %,d single-row %s from %d thread(s)%n",
        jobs, notify ? "submits (NOTIFY)" : "INSERTs without NOTIFY", threads);
    NewJob job = NewJob.builder(NoopPlugin.NAME).queue(queue).build();
    Runnable one =
        notify
            ? () -> client.submit(job)
            : () -> database.jdbi().useHandle(handle -> handle.execute(REFERENCE_INSERT, queue));
    try {
      // Untimed first: the JIT compiles this JVM's submit path during the first few hundred
      // calls, and whichever variant ran first would otherwise pay for it.
      runSplit(Math.min(WARM_UP_CALLS, jobs), threads, one);
      monitor.deleteQueue(queue);
      BenchDatabase.Counters before = monitor.counters();
      List<Long> self = List.of(ProcessHandle.current().pid());
      List<Long> backends = monitor.localBackendPids(BENCH_APPLICATION);
      CpuMeter cpu = CpuMeter.start(self);
      cpu.track(backends);
      long started = System.nanoTime();
      String failure = runSplit(jobs, threads, one);
      double seconds = (System.nanoTime() - started) / 1e9;
      cpu(result, cpu, self, backends, jobs);
      BenchDatabase.Counters after = monitor.settledCounters(WORKER_APPLICATION);
      result.put("seconds", seconds);
      result.put("jobs_per_sec", jobs / seconds);
      result.put("wal_syncs_per_job", (double) (after.walSyncs() - before.walSyncs()) / jobs);
      result.put("commits_per_job", (double) (after.xactCommit() - before.xactCommit()) / jobs);
      return verify(result, queue, jobs, notify ? "pending" : "cancelled", failure);
    } finally {
      monitor.deleteQueue(queue);
    }
  }

  /** {@code submitAll} in batches of {@code batchSize}, sequentially on one thread. */
  ObjectNode batched(String queue, int batchSize) throws SQLException {
    int jobs = settings.batchJobs();
    ObjectNode result = Json.object();
    result.put("batch_size", batchSize);
    result.put("jobs", jobs);
    log.printf("enqueue: %,d jobs in batches of %,d%n", jobs, batchSize);
    NewJob job = NewJob.builder(NoopPlugin.NAME).queue(queue).build();
    try {
      // One untimed batch first, for the JIT (see single()).
      client.submitAll(Collections.nCopies(Math.min(batchSize, jobs), job));
      monitor.deleteQueue(queue);
      List<Long> self = List.of(ProcessHandle.current().pid());
      List<Long> backends = monitor.localBackendPids(BENCH_APPLICATION);
      CpuMeter cpu = CpuMeter.start(self);
      cpu.track(backends);
      long started = System.nanoTime();
      String failure = null;
      try {
        for (int done = 0; done < jobs; done += batchSize) {
          client.submitAll(Collections.nCopies(Math.min(batchSize, jobs - done), job));
        }
      } catch (RuntimeException e) {
        failure = "submitAll failed: " + e.getMessage();
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      result.put("seconds", seconds);
      result.put("jobs_per_sec", jobs / seconds);
      cpu(result, cpu, self, backends, jobs);
      return verify(result, queue, jobs, "pending", failure);
    } finally {
      monitor.deleteQueue(queue);
    }
  }

  /**
   * The CPU this JVM and its pool's backends spent per job. The pool's backends are listed before
   * the run, so the figure is right once the pool is warm (the runs before have filled it).
   */
  private static void cpu(
      ObjectNode result, CpuMeter cpu, List<Long> self, List<Long> backends, int jobs) {
    result.put("client_cpu_us_per_job", cpu.cpuSeconds(self) * 1e6 / jobs);
    if (!backends.isEmpty()) {
      result.put("server_cpu_us_per_job", cpu.cpuSeconds(backends) * 1e6 / jobs);
    }
    result.setAll(cpu.machineShares());
  }

  /** Runs {@code total} calls of {@code one} spread over {@code threads} threads. */
  private static String runSplit(int total, int threads, Runnable one) throws InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int share = total / threads + (t < total % threads ? 1 : 0);
        futures.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < share; i++) {
                    one.run();
                  }
                }));
      }
      return Senders.awaitAll(futures, "an insert");
    } finally {
      pool.shutdownNow();
    }
  }

  private ObjectNode verify(
      ObjectNode result, String queue, int jobs, String status, String failure)
      throws SQLException {
    Map<String, Long> counts = monitor.statusCounts(queue);
    if (failure == null && (counts.size() != 1 || counts.getOrDefault(status, 0L) != jobs)) {
      failure = "expected " + jobs + " " + status + " jobs, found " + counts;
    }
    result.put("ok", failure == null);
    if (failure != null) {
      result.put("failure", failure);
      result.put("jobs_per_sec", 0);
    }
    return result;
  }
}
