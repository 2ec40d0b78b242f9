package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Database;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import java.io.IOException;
import java.io.PrintStream;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The drain workload: P worker JVMs start and sit idle on a fresh bench queue; then N no-op jobs
 * are inserted in one transaction, and the clock runs from its commit until the workers have
 * written every outcome. JVM start-up and the insert are outside the timed window, as in the peers'
 * method. The result is verified in the database (exactly N jobs, all completed), and the
 * database's cost is taken from its counters around the run.
 *
 * <p>That timed drain is a phase, and a run has one or two on the same worker JVMs: {@code cold},
 * the first N jobs the fresh workers ever see (a scaled-out fleet meets these on every start, JIT
 * compilation included), then {@code warm}, N more; or only {@code warm} after an untimed warm-up
 * ({@code --warmup-jobs}). Each phase has its own jobs/s, CPU per job and database cost; the last
 * phase's figures are also the run's own, as in the one-phase report.
 *
 * <p>Not thread-safe; one run at a time.
 */
final class DrainBench {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final String WORKER_APPLICATION = "taskbroker-bench-worker";
  // A session reports its table statistics at most 10 s (PGSTAT_IDLE_INTERVAL) after going idle.
  private static final Duration STATISTICS_WAIT = Duration.ofSeconds(12);

  private final BenchSettings settings;
  private final Database database;
  private final TaskBrokerClient client;
  private final BenchDatabase monitor;
  private final PrintStream log;

  DrainBench(
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

  /** One drain of {@code settings.drainJobs()} jobs on {@code queue}; never throws on a failure. */
  ObjectNode run(String queue) throws SQLException, InterruptedException {
    int jobs = settings.drainJobs();
    ObjectNode result = Json.object();
    result.put("queue", queue);
    result.put("jobs", jobs);
    result.put("processes", settings.processes());
    result.put("concurrency", settings.concurrency());
    result.put("load_average_start", BenchEnvironment.loadAverage());
    result.put("queue_limits", BenchSettings.describeLimits(settings.drainLimits()));
    result.put("concurrency_keys", settings.concurrencyKeys());
    List<WorkerProcess> workers = new ArrayList<>();
    String workerPrefix = queue + "-w";
    try {
      if (settings.drainLimits().any()) {
        // Before the workers start, so their first claim already takes the limited path.
        client.queues().setLimits(queue, settings.drainLimits());
        log.printf(
            "drain: %s limited to %s%n",
            queue, BenchSettings.describeLimits(settings.drainLimits()));
      }
      log.printf(
          "drain: starting %d worker JVM(s) x concurrency %d on %s%n",
          settings.processes(), settings.concurrency(), queue);
      for (int i = 0; i < settings.processes(); i++) {
        workers.add(
            WorkerProcess.start(
                i, workerCommand(queue, workerPrefix + i), database.config().password(), log));
      }
      for (WorkerProcess worker : workers) {
        if (!worker.awaitReady(READY_TIMEOUT)) {
          return failed(result, "worker " + worker.pid() + " did not become ready");
        }
      }
      workers.forEach(WorkerProcess::sampleMemory);
      if (settings.warmupJobs() > 0) {
        // The JIT compiles the hot path during the first tens of thousands of jobs (several CPU
        // seconds of compiler threads): a long-running worker has that behind it.
        log.printf("drain: warming the workers up with %,d jobs%n", settings.warmupJobs());
        BenchDatabase.TableHealth beforeWarmup = monitor.jobsTableHealth();
        insertAll(queue, settings.warmupJobs());
        String failure = awaitDrained(workers, 0, settings.warmupJobs(), System.nanoTime());
        if (failure != null) {
          return failed(result, "warm-up: " + failure);
        }
        // The workers' sessions report the warm-up's updates (claim and completion, two per job)
        // up to seconds later; reported after the VACUUM below, its dead tuples would count in
        // the timed run's table health.
        monitor.awaitJobsUpdates(
            beforeWarmup.updates() + 2L * settings.warmupJobs(), STATISTICS_WAIT);
        clearQueue(queue);
      }
      result.put("warmup_jobs", settings.warmupJobs());

      ObjectNode phases = result.putObject("phases");
      Phase phase = null;
      for (String name : settings.drainPhases()) {
        if (phase != null) {
          // The workers stay up: the next phase meets the JVMs this one has warmed. Its jobs go
          // first, so that the next phase counts and verifies only its own.
          phase.settle(monitor.counters(), monitor.jobsTableHealth(), false);
          clearQueue(queue);
        }
        phase = new Phase(name);
        phases.set(name, phase.json);
        phase.measure(queue, workers);
        if (phase.failure != null) {
          break;
        }
      }

      ArrayNode processes = result.putArray("workers");
      for (WorkerProcess worker : workers) {
        processes.add(describe(worker));
      }
      for (WorkerProcess worker : workers) {
        if (!worker.stop(STOP_TIMEOUT)) {
          log.printf("drain: worker %d did not stop cleanly; killed it%n", worker.pid());
        }
      }
      // The workers have exited, so their statistics have landed; the delete below comes next.
      phase.settle(monitor.settledCounters(WORKER_APPLICATION), monitor.jobsTableHealth(), true);
      // The last phase's figures also at the top, where readers of the one-phase report look.
      result.setAll(phase.json);
      result.put("load_average_end", BenchEnvironment.loadAverage());
      if (phase.failure != null) {
        return failed(result, phase.name + " phase: " + phase.failure);
      }
      result.put("ok", true);
      return result;
    } catch (IOException e) {
      return failed(result, "cannot start a worker JVM: " + e.getMessage());
    } finally {
      for (WorkerProcess worker : workers) {
        worker.close();
      }
      long deleted = monitor.deleteQueue(queue);
      monitor.deleteQueueSettings(queue);
      monitor.deleteWorkers(workerPrefix);
      log.printf("drain: cleaned up %,d job(s) of %s%n", deleted, queue);
    }
  }

  /** Deletes the queue's drained jobs and, unless told not to, vacuums the table. */
  private void clearQueue(String queue) throws SQLException {
    monitor.deleteQueue(queue);
    if (settings.vacuum()) {
      monitor.vacuumJobs();
    }
  }

  /**
   * One timed phase on the running workers: {@code settings.drainJobs()} jobs inserted in one
   * transaction, timed from its commit until the workers have written every outcome, verified in
   * the database. Its figures go into {@link #json}; the database's cost once {@link #settle}d.
   */
  private final class Phase {
    final String name;
    final ObjectNode json = Json.object();

    /** Null when every job completed; else why not. */
    String failure;

    private BenchDatabase.TableHealth healthAtStart;
    private BenchDatabase.TableHealth healthAfterDrain;
    private BenchDatabase.Counters beforeInsert;
    private BenchDatabase.Counters afterInsert;
    private BenchDatabase.Counters afterDrain;
    private long drainUpdates;

    Phase(String name) {
      this.name = name;
    }

    void measure(String queue, List<WorkerProcess> workers) throws SQLException {
      int jobs = settings.drainJobs();
      json.put("phase", name);
      json.put("jobs", jobs);
      // The workers' counters run from their start: this phase's are the growth from here.
      long baseline = done(workers);
      long writtenBefore = workers.stream().mapToLong(worker -> worker.stat().written()).sum();
      long rejectedBefore = workers.stream().mapToLong(worker -> worker.stat().rejected()).sum();
      healthAtStart = monitor.jobsTableHealth();
      beforeInsert = monitor.counters();
      log.printf("drain: %s phase: inserting %,d jobs in one transaction%n", name, jobs);
      long insertStarted = System.nanoTime();
      insertAll(queue, jobs);
      long startMicros = BenchWorkerMain.epochMicros();
      long startNanos = System.nanoTime();
      json.put("insert_seconds", (startNanos - insertStarted) / 1e9);
      List<Long> workerPids = workers.stream().map(WorkerProcess::pid).toList();
      CpuMeter cpu = CpuMeter.start(workerPids);
      List<Map<String, Double>> threadsAtStart =
          workerPids.stream().map(CpuMeter::threadGroups).toList();
      cpu.track(monitor.localBackendPids(WORKER_APPLICATION + "%"));
      afterInsert = monitor.counters();

      failure = awaitDrained(workers, baseline, jobs, startNanos);
      List<Long> backendPids = monitor.localBackendPids(WORKER_APPLICATION + "%");
      ObjectNode cpuJson = json.putObject("cpu");
      double workerCpu = cpu.cpuSeconds(workerPids);
      cpuJson.put("worker_jvm_seconds", workerCpu);
      cpuJson.put("worker_jvm_us_per_job", workerCpu * 1e6 / jobs);
      if (!backendPids.isEmpty()) {
        double backendCpu = cpu.cpuSeconds(backendPids);
        cpuJson.put("worker_backends_seconds", backendCpu);
        cpuJson.put("worker_backends_us_per_job", backendCpu * 1e6 / jobs);
      }
      cpuJson.setAll(cpu.machineShares());
      ArrayNode threads = cpuJson.putArray("worker_threads_seconds");
      for (int i = 0; i < workerPids.size(); i++) {
        threads.add(
            CpuMeter.difference(threadsAtStart.get(i), CpuMeter.threadGroups(workerPids.get(i))));
      }
      long endMicros = 0;
      for (WorkerProcess worker : workers) {
        endMicros = Math.max(endMicros, worker.stat().lastWriteMicros());
      }
      afterDrain = monitor.counters();
      // Read once the workers' sessions have reported the drain's two updates per job, which
      // they do within about a second of their next idle poll; the cost figures are taken above.
      drainUpdates = healthAtStart.updates() + 2L * jobs;
      healthAfterDrain =
          monitor.awaitJobsUpdates(drainUpdates, failure == null ? STATISTICS_WAIT : Duration.ZERO);
      workers.forEach(WorkerProcess::sampleMemory);
      double seconds = (endMicros - startMicros) / 1e6;
      if (failure == null && seconds <= 0) {
        failure = "the workers reported no write after the commit";
      }
      json.put("seconds", seconds);
      json.put("jobs_per_sec", failure == null ? jobs / seconds : 0);

      Map<String, Long> statuses = monitor.statusCounts(queue);
      json.set("final_statuses", Json.mapper().valueToTree(statuses));
      long completed = statuses.getOrDefault("completed", 0L);
      long total = statuses.values().stream().mapToLong(Long::longValue).sum();
      if (failure == null && (completed != jobs || total != jobs)) {
        failure = "expected " + jobs + " completed jobs, found " + statuses;
      }
      long rejected =
          workers.stream().mapToLong(worker -> worker.stat().rejected()).sum() - rejectedBefore;
      long written =
          workers.stream().mapToLong(worker -> worker.stat().written()).sum() - writtenBefore;
      json.put("outcomes_written", written);
      json.put("outcomes_rejected", rejected);
      if (failure == null && rejected > 0) {
        failure = rejected + " outcome(s) were rejected by the fence";
      }
      json.setAll(monitor.statementCounts(queue));
      json.put("ok", failure == null);
      if (failure != null) {
        json.put("failure", failure);
      }
    }

    /**
     * Adds the database's cost and the table's health, read once the workers' statistics of this
     * phase have landed ({@code settled}) and just before its jobs are deleted.
     */
    void settle(
        BenchDatabase.Counters settled,
        BenchDatabase.TableHealth beforeCleanup,
        boolean workersExited) {
      json.set(
          "database", cost(beforeInsert, afterInsert, afterDrain, settled, settings.drainJobs()));
      ObjectNode health = health(healthAtStart, healthAfterDrain, drainUpdates, beforeCleanup);
      health.put("workers_at_cleanup", workersExited ? "exited" : "idle, before the next phase");
      json.set("table_health", health);
    }
  }

  private void insertAll(String queue, int jobs) {
    int keys = settings.concurrencyKeys();
    List<NewJob> pattern = new ArrayList<>();
    for (int key = 0; key < Math.max(1, keys); key++) {
      pattern.add(
          NewJob.builder(NoopPlugin.NAME)
              .queue(queue)
              .concurrencyKey(keys == 0 ? null : "k" + key)
              .build());
    }
    int batch = settings.insertBatch();
    database
        .jdbi()
        .useHandle(
            handle -> {
              handle.useTransaction(
                  transaction -> {
                    for (int done = 0; done < jobs; done += batch) {
                      int size = Math.min(batch, jobs - done);
                      List<NewJob> chunk = new ArrayList<>(size);
                      for (int i = 0; i < size; i++) {
                        chunk.add(pattern.get((done + i) % pattern.size()));
                      }
                      client.submitAll(transaction, chunk);
                    }
                    // A pooled session that reported less than a second ago holds its counts
                    // back for up to 10 s: the inserted rows would be missing from n_live_tup
                    // until then. Asked inside the transaction, the session reports when it goes
                    // idle after the commit; asked after it, the round trip fell into the timed
                    // window (a cold worker drained 300 jobs before the clock started).
                    if (monitor.reportsStatisticsOnDemand()) {
                      transaction.execute("SELECT pg_stat_force_next_flush()");
                    }
                  });
            });
  }

  /**
   * Waits until the workers have written {@code jobs} outcomes, sampling their memory as it goes.
   *
   * @return null when drained, else why not
   */
  private String awaitDrained(
      List<WorkerProcess> workers, long baseline, int jobs, long startNanos) {
    long deadline = startNanos + settings.drainTimeout().toNanos();
    long nextMemory = startNanos + settings.memoryInterval().toNanos();
    long nextProgress = startNanos + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      for (WorkerProcess worker : workers) {
        if (!worker.isAlive()) {
          return "worker " + worker.pid() + " exited during the drain";
        }
      }
      long done = done(workers) - baseline;
      if (done >= jobs) {
        return null;
      }
      long now = System.nanoTime();
      if (now >= deadline) {
        return "timed out after "
            + settings.drainTimeout()
            + " with "
            + done
            + " of "
            + jobs
            + " outcomes written";
      }
      if (now >= nextMemory) {
        workers.forEach(WorkerProcess::sampleMemory);
        nextMemory = now + settings.memoryInterval().toNanos();
      }
      if (now >= nextProgress) {
        log.printf("drain: %,d of %,d done after %.0f s%n", done, jobs, (now - startNanos) / 1e9);
        nextProgress = now + TimeUnit.SECONDS.toNanos(10);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
  }

  /** Outcomes the workers have written or had rejected so far, since they started. */
  private static long done(List<WorkerProcess> workers) {
    long done = 0;
    for (WorkerProcess worker : workers) {
      WorkerProcess.Stat stat = worker.stat();
      done += stat.written() + stat.rejected();
    }
    return done;
  }

  private List<String> workerCommand(String queue, String workerId) {
    List<String> command = new ArrayList<>();
    command.add(settings.javaCommand());
    command.addAll(settings.workerJvmOptions());
    command.add("-cp");
    command.add(settings.workerClasspath());
    command.add(BenchWorkerMain.class.getName());
    command.add("--jdbc-url=" + database.config().jdbcUrl());
    if (database.config().user() != null) {
      command.add("--user=" + database.config().user());
    }
    command.add("--queue=" + queue);
    command.add("--worker-id=" + workerId);
    command.add("--concurrency=" + settings.concurrency());
    command.add("--max-claim-batch=" + settings.maxClaimBatch());
    command.add("--completer-batch=" + settings.completerBatch());
    command.add("--pool-size=" + settings.poolSize());
    if (settings.noPrefetch()) {
      command.add("--no-prefetch");
    }
    return command;
  }

  private static ObjectNode describe(WorkerProcess worker) {
    ObjectNode json = Json.object();
    json.put("pid", worker.pid());
    List<WorkerProcess.Memory> samples = worker.memorySamples();
    json.put("memory_samples", samples.size());
    if (!samples.isEmpty()) {
      long max = samples.stream().mapToLong(WorkerProcess.Memory::rssKb).max().orElse(-1);
      json.put("rss_first_kb", samples.get(0).rssKb());
      json.put("rss_last_kb", samples.get(samples.size() - 1).rssKb());
      json.put("rss_max_kb", max);
      json.put("rss_hwm_kb", samples.get(samples.size() - 1).hwmKb());
    }
    WorkerProcess.Stat stat = worker.stat();
    json.put("heap_used_max_bytes", worker.maxHeapUsed());
    json.put("heap_committed_bytes", stat.heapCommitted());
    json.put("heap_after_gc_first_bytes", worker.firstHeapAfterGc());
    json.put("heap_after_gc_last_bytes", stat.heapAfterGc());
    json.put("heap_after_gc_max_bytes", worker.maxHeapAfterGc());
    json.put("jobs_held_at_end", stat.held());
    json.put("log_warnings", worker.warnings());
    return json;
  }

  /**
   * The jobs table's health around the drain: at the start (after any warm-up and VACUUM), right
   * after the drain once its updates are counted, and once the workers have exited, just before
   * this run's jobs are deleted.
   */
  private static ObjectNode health(
      BenchDatabase.TableHealth atStart,
      BenchDatabase.TableHealth afterDrain,
      long drainUpdates,
      BenchDatabase.TableHealth beforeCleanup) {
    ObjectNode json = Json.object();
    json.put("table", "taskbroker.job_queue");
    json.put("claim_index", "taskbroker.jobs_claim_idx");
    json.set("at_start", atStart.toJson());
    json.set("after_drain", afterDrain.toJson());
    json.put("after_drain_counts_every_update", afterDrain.updates() >= drainUpdates);
    json.set("before_cleanup", beforeCleanup.toJson());
    json.put("autovacuums_during_run", beforeCleanup.autovacuumCount() - atStart.autovacuumCount());
    json.put(
        "note",
        "pg_stat_user_tables and pg_relation_size of the whole table (every queue, not only the"
            + " bench's); after_drain is read once the statistics count the drain's two updates"
            + " per job (the workers' sessions report them up to seconds late), before_cleanup"
            + " after the workers have exited; n_dead_tup is PostgreSQL's running estimate");
    return json;
  }

  /** The database's cost: the whole lifecycle (insert, claim, complete) and the drain alone. */
  private static ObjectNode cost(
      BenchDatabase.Counters beforeInsert,
      BenchDatabase.Counters afterInsert,
      BenchDatabase.Counters afterDrain,
      BenchDatabase.Counters settled,
      int jobs) {
    ObjectNode json = Json.object();
    long commits = settled.xactCommit() - beforeInsert.xactCommit();
    json.put("commits", commits);
    json.put("commits_per_job", (double) commits / jobs);
    long writeTransactions = afterDrain.nextXid() - afterInsert.nextXid();
    json.put("write_transactions_during_drain", writeTransactions);
    json.put("write_transactions_per_job", (double) writeTransactions / jobs);
    long walLifecycle = afterDrain.walLsn() - beforeInsert.walLsn();
    long walDrain = afterDrain.walLsn() - afterInsert.walLsn();
    json.put("wal_bytes", walLifecycle);
    json.put("wal_bytes_per_job", (double) walLifecycle / jobs);
    json.put("wal_bytes_insert_per_job", (double) (walLifecycle - walDrain) / jobs);
    json.put("wal_bytes_drain_per_job", (double) walDrain / jobs);
    if (settled.walSyncs() >= 0) {
      json.put("wal_syncs", settled.walSyncs() - beforeInsert.walSyncs());
      json.put("wal_syncs_per_job", (double) (settled.walSyncs() - beforeInsert.walSyncs()) / jobs);
    }
    json.put(
        "note",
        "commits: pg_stat_database.xact_commit of this database (includes read-only claims and"
            + " the workers' heartbeats); WAL bytes, write transactions and WAL syncs are"
            + " cluster-wide, so other databases' activity adds to them: measure on an idle"
            + " server");
    return json;
  }

  private static ObjectNode failed(ObjectNode result, String why) {
    result.put("ok", false);
    result.put("failure", why);
    return result;
  }
}
