package io.taskbroker.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import picocli.CommandLine;

/**
 * {@code taskbroker bench --workload soak}, six seconds of it against a real database: the history
 * it builds (once), and its interval rows.
 */
@WithPostgres
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SoakBenchTest {
  private static final int HISTORY_ROWS = 2000;
  private static final int RATE = 50;

  private TestDatabase database;
  private int exitCode;
  private JsonNode report;
  private String errors;

  @BeforeAll
  void runShortSoak(TestDatabase database) {
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
                "--workload=soak",
                "--soak-duration=6s",
                "--report-every=2s",
                "--history-rows=" + HISTORY_ROWS,
                "--rate=" + RATE);
    errors = err.toString();
    System.out.println(errors);
    report = out.toString().isBlank() ? Json.object() : Json.parse(out.toString());
  }

  @Test
  void soakSucceedsAndIsTheOnlyWorkload() {
    assertThat(exitCode).as("exit code; stderr:%n%s", errors).isZero();
    assertThat(report.path("ok").asBoolean()).as(report.toPrettyString()).isTrue();
    assertThat(report.at("/settings/workloads")).hasSize(1);
    assertThat(report.at("/settings/workloads/0").asText()).isEqualTo("soak");
    assertThat(report.has("drain")).isFalse();
    assertThat(report.at("/settings/soak/history_rows").asLong()).isEqualTo(HISTORY_ROWS);
  }

  @Test
  void historyIsInsertedAsFinishedJobsOfThePastWeek() throws Exception {
    assertThat(report.at("/soak/history/inserted_rows").asLong()).isEqualTo(HISTORY_ROWS);
    try (Connection connection = database.connect();
        Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT count(*), count(*) FILTER (WHERE status = 'completed'),"
                    + " min(created_at) > now() - interval '7 days 1 minute',"
                    + " max(completed_at) <= now(), bool_and(completed_at >= started_at"
                    + "   AND started_at >= created_at)"
                    + " FROM taskbroker.jobs WHERE queue = '"
                    + SoakBench.HISTORY_QUEUE
                    + "'")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(HISTORY_ROWS);
      assertThat(rs.getLong(2)).isEqualTo(HISTORY_ROWS);
      assertThat(rs.getBoolean(3)).as("created within the past week").isTrue();
      assertThat(rs.getBoolean(4)).as("completed in the past").isTrue();
      assertThat(rs.getBoolean(5)).as("created <= started <= completed").isTrue();
    }
    // The soak's own jobs are gone; the history stayed.
    try (Connection connection = database.connect();
        Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT count(*) FROM taskbroker.jobs WHERE queue <> '"
                    + SoakBench.HISTORY_QUEUE
                    + "'")) {
      rs.next();
      assertThat(rs.getLong(1)).isZero();
    }
  }

  @Test
  void historyIsNotInsertedAgainWhenTheTableHoldsEnoughFinishedJobs() throws Exception {
    ByteArrayOutputStream logged = new ByteArrayOutputStream();
    try (BenchDatabase monitor = new BenchDatabase(database.connect())) {
      JsonNode again =
          SoakBench.ensureHistory(
              monitor, HISTORY_ROWS, new PrintStream(logged, true, StandardCharsets.UTF_8));
      assertThat(again.path("inserted_rows").asLong()).isZero();
      assertThat(again.path("finished_rows_before").asLong()).isEqualTo(HISTORY_ROWS);
      assertThat(monitor.finishedJobs()).isEqualTo(HISTORY_ROWS);
    }
  }

  @Test
  void everyIntervalReportsLatencyAndTableHealth() {
    JsonNode intervals = report.at("/soak/intervals");
    assertThat(intervals.size()).as(report.at("/soak").toPrettyString()).isGreaterThanOrEqualTo(2);
    long submitted = 0;
    long started = 0;
    double previousElapsed = 0;
    for (JsonNode row : intervals) {
      String name = "interval " + row.path("interval").asInt();
      assertThat(row.path("elapsed_s").asDouble()).as(name).isGreaterThan(previousElapsed);
      previousElapsed = row.path("elapsed_s").asDouble();
      // 2 s at 50/s: 100 due in each interval.
      assertThat(row.path("submitted").asLong()).as(name).isBetween(50L, 150L);
      assertThat(row.path("started").asLong()).as(name).isPositive();
      submitted += row.path("submitted").asLong();
      started += row.path("started").asLong();
      JsonNode latency = row.path("latency");
      // The count of starts and the latencies are read a moment apart: a job may fall between.
      assertThat(latency.path("count").asLong())
          .as(name)
          .isBetween(row.path("started").asLong() - 2, row.path("started").asLong() + 2);
      double p50 = latency.path("p50_ms").asDouble();
      assertThat(p50).as(name + " p50").isPositive();
      assertThat(latency.path("p95_ms").asDouble()).as(name).isGreaterThanOrEqualTo(p50);
      assertThat(latency.path("p99_ms").asDouble())
          .as(name)
          .isGreaterThanOrEqualTo(latency.path("p95_ms").asDouble());
      assertThat(latency.path("max_ms").asDouble())
          .as(name)
          .isGreaterThanOrEqualTo(latency.path("p99_ms").asDouble());
      assertThat(row.path("table_bytes").asLong()).as(name).isPositive();
      assertThat(row.path("claim_index_bytes").asLong()).as(name).isPositive();
      assertThat(row.path("indexes_bytes").asLong())
          .as(name)
          .isGreaterThan(row.path("claim_index_bytes").asLong());
      // The history went straight to job_history (as the worker's mover puts it there): the
      // hot table holds the soak's own jobs only.
      assertThat(row.path("history_bytes").asLong()).as(name).isPositive();
      assertThat(row.path("n_live_tup").asLong()).as(name).isLessThan(HISTORY_ROWS);
      assertThat(row.path("n_dead_tup").asLong()).as(name).isNotNegative();
      assertThat(row.path("autovacuums").asLong()).as(name).isNotNegative();
    }
    // 6 s at 50/s; the last interval closes once every job started.
    assertThat(submitted)
        .isEqualTo(6L * RATE)
        .isEqualTo(report.at("/soak/jobs_submitted").asLong());
    assertThat(started).isEqualTo(submitted);
    assertThat(intervals.get(intervals.size() - 1).path("backlog").asLong()).isZero();
    assertThat(report.at("/soak/latency/count").asLong()).isEqualTo(submitted);
    JsonNode summary = report.at("/soak/summary");
    assertThat(summary.path("intervals").asInt()).isEqualTo(intervals.size());
    assertThat(summary.at("/last/p99_ms").asDouble()).isPositive();
    assertThat(summary.at("/first/table_bytes").asLong()).isPositive();
  }

  @Test
  void tableShowsTheIntervalsAndTheComparison() {
    String table = BenchReport.table(report);
    assertThat(table).contains("soak at 50/s for 6 s", "first -> last interval: p99");
    assertThat(table.lines().filter(line -> line.startsWith("  soak ")).count())
        .isEqualTo(report.at("/soak/intervals").size());
  }

  @Test
  void soakWithoutARateIsAUsageError() {
    StringWriter err = new StringWriter();
    int exit =
        new CommandLine(new BenchCommand())
            .setOut(new PrintWriter(new StringWriter()))
            .setErr(new PrintWriter(err))
            .execute("--workload=soak", "--rate=0");
    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).startsWith("taskbroker bench: --workload soak needs a --rate");
  }

  private static String libpqUrl(TestDatabase database) {
    String rest = database.jdbcUrl().substring("jdbc:postgresql://".length());
    String credentials = URLEncoder.encode(database.user(), StandardCharsets.UTF_8);
    if (!database.password().isEmpty()) {
      credentials += ":" + URLEncoder.encode(database.password(), StandardCharsets.UTF_8);
    }
    return "postgresql://" + credentials + "@" + rest;
  }
}
