package io.taskbroker.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import picocli.CommandLine;

/**
 * Runs {@code taskbroker bench} end to end with tiny sizes against a real database, with a real
 * worker JVM for the drain, and checks what it reports.
 */
@WithPostgres
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BenchCommandTest {
  private static final int DRAIN_JOBS = 500;

  private TestDatabase database;
  private int exitCode;
  private JsonNode report;
  private String errors;

  @BeforeAll
  void runTinyBench(TestDatabase database) throws Exception {
    this.database = database;
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    exitCode =
        new CommandLine(new BenchCommand())
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err))
            .execute(
                "--database-url=" + libpqUrl(database),
                "--json",
                "--jobs=" + DRAIN_JOBS,
                "--warmup-jobs=200",
                "--processes=1",
                "--concurrency=32",
                "--worker-jvm-options=-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
                "--memory-interval=200ms",
                "--enqueue-single-jobs=40",
                "--enqueue-threads=1,2",
                "--enqueue-batch-jobs=2000",
                "--enqueue-batch-sizes=500,2000",
                "--latency-samples=100",
                "--latency-gap=5ms",
                "--rate=100/s",
                "--rate-duration=1s");
    errors = err.toString();
    System.out.println(errors);
    report = out.toString().isBlank() ? Json.object() : Json.parse(out.toString());
  }

  @Test
  void benchSucceedsAndPrintsJson() {
    assertThat(exitCode).as("exit code; stderr:%n%s", errors).isZero();
    assertThat(report.path("ok").asBoolean()).as(report.toPrettyString()).isTrue();
    assertThat(report.path("failures")).isEmpty();
  }

  @Test
  void reportsServerSettingsAndMachine() {
    JsonNode settings = report.path("server").path("settings");
    for (String name :
        new String[] {
          "shared_buffers", "synchronous_commit", "fsync", "wal_sync_method", "max_connections"
        }) {
      assertThat(settings.path(name).asText()).as(name).isNotEmpty();
    }
    assertThat(report.at("/server/version").asText()).startsWith("PostgreSQL");
    assertThat(report.at("/environment/cpus").asInt()).isPositive();
    assertThat(report.at("/environment/jvm").asText()).isNotEmpty();
  }

  @Test
  void drainCompletesEveryJobAndReportsItsCost() {
    JsonNode run = report.at("/drain/runs/0");
    assertThat(run.path("ok").asBoolean()).as(run.toPrettyString()).isTrue();
    assertThat(run.at("/final_statuses/completed").asLong()).isEqualTo(DRAIN_JOBS);
    assertThat(run.path("warmup_jobs").asInt()).isEqualTo(200);
    assertThat(run.path("outcomes_written").asLong()).isEqualTo(DRAIN_JOBS);
    assertThat(run.path("jobs_per_sec").asDouble()).isPositive();
    assertThat(report.at("/drain/jobs_per_sec/median").asDouble()).isPositive();
    assertThat(run.path("claim_transactions").asLong()).isBetween(1L, (long) DRAIN_JOBS);
    assertThat(run.path("completion_transactions").asLong()).isBetween(1L, (long) DRAIN_JOBS);
    JsonNode cost = run.path("database");
    assertThat(cost.path("commits_per_job").asDouble()).isPositive();
    assertThat(cost.path("wal_bytes_per_job").asDouble()).isPositive();
    assertThat(run.at("/cpu/worker_jvm_us_per_job").asDouble()).isPositive();
  }

  @Test
  void drainReportsTheJobsTableHealthAfterTheDrainAndBeforeCleanup() {
    JsonNode health = report.at("/drain/runs/0/table_health");
    assertThat(health.path("table").asText()).isEqualTo("taskbroker.job_queue");
    for (String moment : new String[] {"at_start", "after_drain", "before_cleanup"}) {
      JsonNode snapshot = health.path(moment);
      assertThat(snapshot.path("n_live_tup").isIntegralNumber()).as(moment).isTrue();
      assertThat(snapshot.path("n_dead_tup").asLong()).as(moment).isNotNegative();
      // The VACUUM before the run may truncate the emptied table to nothing; indexes keep pages.
      assertThat(snapshot.path("table_bytes").asLong()).as(moment).isNotNegative();
      assertThat(snapshot.path("claim_index_bytes").asLong()).as(moment).isPositive();
      assertThat(snapshot.path("indexes_bytes").asLong())
          .as(moment)
          .isGreaterThanOrEqualTo(snapshot.path("claim_index_bytes").asLong());
      assertThat(snapshot.path("autovacuum_count").isIntegralNumber()).as(moment).isTrue();
      JsonNode last = snapshot.path("last_autovacuum");
      assertThat(last.isNull() || Instant.parse(last.asText()) != null).as(moment).isTrue();
    }
    JsonNode afterDrain = health.path("after_drain");
    JsonNode beforeCleanup = health.path("before_cleanup");
    assertThat(afterDrain.path("table_bytes").asLong()).isPositive();
    assertThat(beforeCleanup.path("table_bytes").asLong()).isPositive();
    assertThat(Instant.parse(afterDrain.path("at").asText()))
        .isBefore(Instant.parse(beforeCleanup.path("at").asText()));
    // Claim and completion: two updates per job, reported by the workers' sessions.
    assertThat(health.path("after_drain_counts_every_update").asBoolean()).isTrue();
    assertThat(afterDrain.path("n_tup_upd").asLong() - health.at("/at_start/n_tup_upd").asLong())
        .isGreaterThanOrEqualTo(2L * DRAIN_JOBS);
    // The warm-up's jobs were deleted and vacuumed away; the drained ones are all still there.
    assertThat(afterDrain.path("n_live_tup").asLong()).isEqualTo(DRAIN_JOBS);
    assertThat(beforeCleanup.path("n_live_tup").asLong()).isEqualTo(DRAIN_JOBS);
    long autovacuums = health.path("autovacuums_during_run").asLong();
    assertThat(autovacuums)
        .isEqualTo(
            beforeCleanup.path("autovacuum_count").asLong()
                - health.at("/at_start/autovacuum_count").asLong())
        .isNotNegative();
    if (autovacuums == 0) {
      // Claiming and completing each leave a dead version behind (neither update is HOT: both
      // change indexed columns), and nothing vacuumed them.
      assertThat(beforeCleanup.path("n_dead_tup").asLong()).isGreaterThanOrEqualTo(DRAIN_JOBS);
    }
    assertThat(report.at("/drain/dead_tuples_before_cleanup/n").asInt()).isEqualTo(1);
    assertThat(report.at("/drain/claim_index_bytes_before_cleanup/median").asDouble()).isPositive();
  }

  @Test
  void drainReportsTheWorkersMemory() {
    JsonNode worker = report.at("/drain/runs/0/workers/0");
    assertThat(worker.path("pid").asLong()).isPositive();
    assertThat(worker.path("memory_samples").asInt()).isGreaterThanOrEqualTo(2);
    assertThat(worker.path("heap_used_max_bytes").asLong()).isPositive();
    assertThat(worker.path("jobs_held_at_end").asInt()).isZero();
    if (System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
      assertThat(worker.path("rss_max_kb").asLong()).isPositive();
      assertThat(worker.path("rss_hwm_kb").asLong())
          .isGreaterThanOrEqualTo(worker.path("rss_max_kb").asLong());
    }
  }

  @Test
  void enqueueReportsSingleAndBatchedRates() {
    JsonNode single = report.at("/enqueue/single");
    // Threads 1 and 2, each with NOTIFY and as the plain-INSERT reference.
    assertThat(single).hasSize(4);
    for (JsonNode variant : single) {
      assertThat(variant.at("/jobs_per_sec/median").asDouble()).as(variant.toString()).isPositive();
      assertThat(variant.at("/runs/0/ok").asBoolean()).isTrue();
    }
    JsonNode batched = report.at("/enqueue/batched");
    assertThat(batched).hasSize(2);
    for (JsonNode variant : batched) {
      assertThat(variant.at("/jobs_per_sec/median").asDouble()).as(variant.toString()).isPositive();
    }
  }

  @Test
  void latencyPercentilesAreOrdered() {
    for (String phase : new String[] {"idle", "open_loop"}) {
      JsonNode figures = report.at("/latency/" + phase);
      double p50 = figures.at("/p50_ms/median").asDouble();
      double p90 = figures.at("/p90_ms/median").asDouble();
      double p99 = figures.at("/p99_ms/median").asDouble();
      double max = figures.at("/max_ms/median").asDouble();
      assertThat(p50).as(phase + " p50").isPositive();
      assertThat(p50).isLessThanOrEqualTo(p90);
      assertThat(p90).isLessThanOrEqualTo(p99);
      assertThat(p99).isLessThanOrEqualTo(max);
    }
    assertThat(report.at("/latency/runs/0/idle/count").asLong()).isEqualTo(100);
    // The breakdown after the submit, from the claim's started_at.
    assertThat(report.at("/latency/runs/0/idle/after_submit_until_claim_began/count").asLong())
        .isEqualTo(100);
    assertThat(report.at("/latency/runs/0/idle/claim_began_until_plugin_start/count").asLong())
        .isEqualTo(100);
    assertThat(report.at("/latency/runs/0/idle_notify/count").asLong())
        .as("the same samples again, woken by the NOTIFY alone")
        .isEqualTo(100);
    assertThat(
            report.at("/latency/runs/0/idle_notify/after_submit_until_claim_began/count").asLong())
        .isEqualTo(100);
    assertThat(report.at("/latency/runs/0/open_loop/count").asLong()).isEqualTo(100);
  }

  @Test
  void leavesNoBenchJobsOrWorkersBehind() throws Exception {
    try (Connection connection = database.connect();
        Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT (SELECT count(*) FROM taskbroker.jobs WHERE queue LIKE 'bench-%'),"
                    + " (SELECT count(*) FROM taskbroker.workers WHERE id LIKE 'bench-%')")) {
      rs.next();
      assertThat(rs.getLong(1)).isZero();
      assertThat(rs.getLong(2)).isZero();
    }
  }

  @Test
  void tableShowsEveryWorkloadAndTheVerdict() {
    String table = BenchReport.table(report);
    assertThat(table)
        .contains("drain 1x32")
        .contains("enqueue single-row, 1 thread, submit+NOTIFY")
        .contains("enqueue batched, submitAll x 2,000")
        .contains("idle, gap U(0, 5 ms), woken in-process")
        .contains("idle, gap U(0, 5 ms), woken by NOTIFY")
        .contains("open loop 100/s")
        .contains("jobs table right after the drain: ")
        .contains("jobs table once the workers exited, before cleanup: 500 live, ")
        .contains("claim index ")
        .contains("synchronous_commit=")
        .contains("result: OK");
  }

  @Test
  void durationsAndRatesParseAsDocumented() {
    BenchCommand.DurationConverter durations = new BenchCommand.DurationConverter();
    assertThat(durations.convert("250ms")).isEqualTo(java.time.Duration.ofMillis(250));
    assertThat(durations.convert("1.5s")).isEqualTo(java.time.Duration.ofMillis(1500));
    assertThat(durations.convert("2m")).isEqualTo(java.time.Duration.ofMinutes(2));
    assertThat(durations.convert("PT10S")).isEqualTo(java.time.Duration.ofSeconds(10));
    assertThat(BenchCommand.parseRate("500/s")).isEqualTo(500.0);
    assertThat(BenchCommand.parseRate("0")).isZero();
  }

  @Test
  void unknownWorkloadIsAUsageErrorWithoutTouchingTheDatabase() {
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new BenchCommand())
            .setErr(new PrintWriter(err))
            .execute("--database-url=postgresql://nobody@127.0.0.1:1/none", "--workload=sprint");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("unknown workload 'sprint'");
  }

  /** The test database as a libpq URI with its credentials, as a user would pass it. */
  private static String libpqUrl(TestDatabase database) {
    String rest = database.jdbcUrl().substring("jdbc:postgresql://".length());
    String credentials = URLEncoder.encode(database.user(), StandardCharsets.UTF_8);
    if (!database.password().isEmpty()) {
      credentials += ":" + URLEncoder.encode(database.password(), StandardCharsets.UTF_8);
    }
    return "postgresql://" + credentials + "@" + rest;
  }
}
