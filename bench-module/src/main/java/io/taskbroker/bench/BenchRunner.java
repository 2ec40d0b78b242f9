package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Database;
import io.taskbroker.common.Json;
import io.taskbroker.common.Migrations;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Runs the selected workloads against one database and gathers the report. Works only in queues
 * named {@code bench-<random>-…}, deletes their jobs after each run, and (from a shutdown hook)
 * when the process is interrupted. Not thread-safe; one run per instance.
 */
final class BenchRunner {
  private final BenchSettings settings;
  private final Database database;
  private final PrintStream log;
  private final String baseQueue =
      "bench-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000000, 0x7fffffff));

  BenchRunner(BenchSettings settings, Database database, PrintStream log) {
    this.settings = settings;
    this.database = database;
    this.log = log;
  }

  /** Migrates, runs every selected workload {@code repeat} times, and returns the report. */
  ObjectNode run() throws SQLException, InterruptedException {
    Migrations.migrate(database.dataSource());
    TaskBrokerClient client =
        TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build());
    Thread cleanup = new Thread(this::cleanUpAfterInterrupt, "bench-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try (BenchDatabase monitor = new BenchDatabase(database.openDedicatedConnection())) {
      ObjectNode report = Json.object();
      report.put("started_at", Instant.now().toString());
      report.put("queue_prefix", baseQueue);
      report.put("database", database.config().describe());
      report.set("server", monitor.describeServer());
      report.set("environment", BenchEnvironment.describe());
      report.set("settings", settings.toJson());
      List<String> failures = new ArrayList<>();
      if (settings.runs("drain")) {
        report.set("drain", drain(client, monitor, failures));
      }
      if (settings.runs("enqueue")) {
        report.set("enqueue", enqueue(client, monitor, failures));
      }
      if (settings.runs("latency")) {
        report.set("latency", latency(client, monitor, failures));
      }
      if (settings.runs("soak")) {
        prepare(monitor);
        ObjectNode soak =
            new SoakBench(settings, database, client, monitor, log).run(baseQueue + "-soak");
        noteFailure(failures, "soak", soak);
        report.set("soak", soak);
      }
      report.put("finished_at", Instant.now().toString());
      report.put("ok", failures.isEmpty());
      report.set("failures", Json.mapper().valueToTree(failures));
      return report;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException e) {
        // The JVM is already shutting down; the hook does the cleanup.
      }
    }
  }

  private ObjectNode drain(TaskBrokerClient client, BenchDatabase monitor, List<String> failures)
      throws SQLException, InterruptedException {
    DrainBench bench = new DrainBench(settings, database, client, monitor, log);
    ArrayNode runs = Json.mapper().createArrayNode();
    for (int repetition = 1; repetition <= settings.repeat(); repetition++) {
      prepare(monitor);
      ObjectNode run = bench.run(baseQueue + "-drain-" + repetition);
      runs.add(run);
      noteFailure(failures, "drain", run);
      List<String> figures = new ArrayList<>();
      run.path("phases")
          .properties()
          .forEach(
              phase ->
                  figures.add(
                      String.format(
                          "%s %,.0f jobs/s",
                          phase.getKey(), phase.getValue().path("jobs_per_sec").asDouble())));
      log.printf(
          "drain: %s%n",
          run.path("ok").asBoolean()
              ? String.join(", ", figures)
              : "FAILED: " + run.path("failure").asText());
    }
    List<ObjectNode> list = objects(runs);
    ObjectNode section = Json.object();
    section.put("ok", list.stream().allMatch(run -> run.path("ok").asBoolean()));
    section.set("jobs_per_sec", Aggregate.of(list, "/jobs_per_sec"));
    section.set("seconds", Aggregate.of(list, "/seconds"));
    section.set("commits_per_job", Aggregate.of(list, "/database/commits_per_job"));
    section.set("wal_bytes_per_job", Aggregate.of(list, "/database/wal_bytes_per_job"));
    section.set("wal_syncs_per_job", Aggregate.of(list, "/database/wal_syncs_per_job"));
    section.set("rss_max_kb", Aggregate.of(list, "/workers/0/rss_max_kb"));
    section.set(
        "dead_tuples_after_drain", Aggregate.of(list, "/table_health/after_drain/n_dead_tup"));
    section.set(
        "dead_tuples_before_cleanup",
        Aggregate.of(list, "/table_health/before_cleanup/n_dead_tup"));
    section.set(
        "claim_index_bytes_before_cleanup",
        Aggregate.of(list, "/table_health/before_cleanup/claim_index_bytes"));
    section.set(
        "autovacuums_during_run", Aggregate.of(list, "/table_health/autovacuums_during_run"));
    // Each phase's own figures; the ones above are the last phase's, as in the one-phase report.
    ObjectNode phases = section.putObject("phases");
    for (String phase : settings.drainPhases()) {
      String prefix = "/phases/" + phase;
      ObjectNode figures = phases.putObject(phase);
      figures.set("jobs_per_sec", Aggregate.of(list, prefix + "/jobs_per_sec"));
      figures.set("seconds", Aggregate.of(list, prefix + "/seconds"));
      figures.set("commits_per_job", Aggregate.of(list, prefix + "/database/commits_per_job"));
      figures.set("wal_bytes_per_job", Aggregate.of(list, prefix + "/database/wal_bytes_per_job"));
      figures.set("wal_syncs_per_job", Aggregate.of(list, prefix + "/database/wal_syncs_per_job"));
      figures.set(
          "worker_jvm_us_per_job", Aggregate.of(list, prefix + "/cpu/worker_jvm_us_per_job"));
      figures.set(
          "worker_backends_us_per_job",
          Aggregate.of(list, prefix + "/cpu/worker_backends_us_per_job"));
    }
    section.set("runs", runs);
    return section;
  }

  private ObjectNode enqueue(TaskBrokerClient client, BenchDatabase monitor, List<String> failures)
      throws SQLException, InterruptedException {
    EnqueueBench bench = new EnqueueBench(settings, database, client, monitor, log);
    ArrayNode single = Json.mapper().createArrayNode();
    List<ObjectNode> variants = new ArrayList<>();
    for (int threads : settings.singleThreads()) {
      for (boolean notify : settings.commitReference() ? List.of(true, false) : List.of(true)) {
        ObjectNode variant = Json.object();
        variant.put("threads", threads);
        variant.put("notify", notify);
        variant.putArray("runs");
        single.add(variant);
        variants.add(variant);
      }
    }
    ArrayNode batched = Json.mapper().createArrayNode();
    for (int size : settings.batchSizes()) {
      ObjectNode variant = Json.object();
      variant.put("batch_size", size);
      variant.putArray("runs");
      batched.add(variant);
    }
    for (int repetition = 1; repetition <= settings.repeat(); repetition++) {
      prepare(monitor);
      for (ObjectNode variant : variants) {
        int threads = variant.path("threads").asInt();
        boolean notify = variant.path("notify").asBoolean();
        String queue =
            baseQueue
                + "-enqueue-"
                + (notify ? "submit" : "reference")
                + threads
                + "-"
                + repetition;
        ObjectNode run = bench.single(queue, threads, notify);
        ((ArrayNode) variant.get("runs")).add(run);
        noteFailure(failures, "enqueue single", run);
      }
      for (int i = 0; i < batched.size(); i++) {
        ObjectNode variant = (ObjectNode) batched.get(i);
        int size = variant.path("batch_size").asInt();
        ObjectNode run =
            bench.batched(baseQueue + "-enqueue-batch" + size + "-" + repetition, size);
        ((ArrayNode) variant.get("runs")).add(run);
        noteFailure(failures, "enqueue batched", run);
      }
    }
    boolean ok = true;
    for (ArrayNode group : List.of(single, batched)) {
      for (int i = 0; i < group.size(); i++) {
        ObjectNode variant = (ObjectNode) group.get(i);
        List<ObjectNode> runs = objects((ArrayNode) variant.get("runs"));
        variant.set("jobs_per_sec", Aggregate.of(runs, "/jobs_per_sec"));
        if (variant.has("threads")) {
          variant.set("wal_syncs_per_job", Aggregate.of(runs, "/wal_syncs_per_job"));
        }
        ok &= runs.stream().allMatch(run -> run.path("ok").asBoolean());
      }
    }
    ObjectNode section = Json.object();
    section.put("ok", ok);
    section.set("single", single);
    section.set("batched", batched);
    return section;
  }

  private ObjectNode latency(TaskBrokerClient client, BenchDatabase monitor, List<String> failures)
      throws SQLException, InterruptedException {
    LatencyBench bench = new LatencyBench(settings, database, client, monitor, log);
    ArrayNode runs = Json.mapper().createArrayNode();
    for (int repetition = 1; repetition <= settings.repeat(); repetition++) {
      prepare(monitor);
      ObjectNode run = bench.run(baseQueue + "-latency-" + repetition);
      runs.add(run);
      noteFailure(failures, "latency", run);
    }
    List<ObjectNode> list = objects(runs);
    ObjectNode section = Json.object();
    section.put("ok", list.stream().allMatch(run -> run.path("ok").asBoolean()));
    for (String phase : List.of("idle", "idle_notify", "open_loop")) {
      if (list.stream().noneMatch(run -> run.has(phase))) {
        continue;
      }
      ObjectNode figures = section.putObject(phase);
      for (String figure : List.of("p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms")) {
        figures.set(figure, Aggregate.of(list, "/" + phase + "/" + figure));
      }
    }
    section.set("runs", runs);
    return section;
  }

  /** Starts each run from a vacuumed table, without the previous run's dead rows. */
  private void prepare(BenchDatabase monitor) throws SQLException {
    if (settings.vacuum()) {
      monitor.vacuumJobs();
    }
  }

  private static void noteFailure(List<String> failures, String workload, ObjectNode run) {
    if (!run.path("ok").asBoolean()) {
      failures.add(workload + ": " + run.path("failure").asText("failed"));
    }
  }

  private static List<ObjectNode> objects(ArrayNode array) {
    List<ObjectNode> list = new ArrayList<>();
    array.forEach(node -> list.add((ObjectNode) node));
    return list;
  }

  /** Deletes the bench's jobs when the run is interrupted (Ctrl-C) before its own cleanup. */
  private void cleanUpAfterInterrupt() {
    try (Connection connection = database.openDedicatedConnection();
        PreparedStatement jobs =
            connection.prepareStatement(
                "WITH live AS (DELETE FROM taskbroker.job_queue WHERE queue LIKE ?)"
                    + " DELETE FROM taskbroker.job_history WHERE queue LIKE ?");
        PreparedStatement workers =
            connection.prepareStatement("DELETE FROM taskbroker.workers WHERE id LIKE ?");
        PreparedStatement queues =
            connection.prepareStatement("DELETE FROM taskbroker.queues WHERE name LIKE ?")) {
      jobs.setString(1, baseQueue + "-%");
      jobs.setString(2, baseQueue + "-%");
      jobs.execute();
      workers.setString(1, baseQueue + "-%");
      workers.execute();
      queues.setString(1, baseQueue + "-%");
      queues.execute();
      log.println("bench: interrupted; deleted the jobs of " + baseQueue + "-*");
    } catch (SQLException | RuntimeException e) {
      log.println("bench: interrupted; could not delete the jobs of " + baseQueue + "-*: " + e);
    }
  }
}
