package io.taskbroker.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import picocli.CommandLine;

/**
 * The drain's default run: one timed phase on the fresh worker JVMs (cold), then as many jobs again
 * on the same JVMs (warm), each verified and with its own throughput and CPU per job. Runs {@code
 * taskbroker bench} end to end with a real worker JVM against a real database.
 */
@WithPostgres
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DrainPhasesTest {
  private static final int JOBS = 300;

  private int exitCode;
  private JsonNode report;
  private String errors;

  @BeforeAll
  void runColdAndWarmDrain(TestDatabase database) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    exitCode =
        new CommandLine(new BenchCommand())
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err))
            .execute(
                "--database-url=" + libpqUrl(database),
                "--json",
                "--workload=drain",
                "--jobs=" + JOBS,
                "--concurrency=16",
                "--worker-jvm-options=-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
                "--memory-interval=200ms");
    errors = err.toString();
    System.out.println(errors);
    report = out.toString().isBlank() ? Json.object() : Json.parse(out.toString());
  }

  @Test
  void defaultDrainTimesColdThenWarmWorkers() {
    assertThat(exitCode).as("exit code; stderr:%n%s", errors).isZero();
    JsonNode run = report.at("/drain/runs/0");
    assertThat(run.path("ok").asBoolean()).as(run.toPrettyString()).isTrue();
    assertThat(report.at("/settings/drain_phases"))
        .extracting(JsonNode::asText)
        .containsExactly("cold", "warm");
    assertThat(run.path("warmup_jobs").asInt()).isZero();
    assertThat(run.path("phases").fieldNames()).toIterable().containsExactly("cold", "warm");
  }

  @Test
  void eachPhaseVerifiesItsJobsAndReportsThroughputAndCpuOnBothSides() {
    for (String name : List.of("cold", "warm")) {
      JsonNode phase = report.at("/drain/runs/0/phases/" + name);
      assertThat(phase.path("ok").asBoolean()).as(name + ": " + phase).isTrue();
      assertThat(phase.path("jobs").asInt()).as(name).isEqualTo(JOBS);
      // Each phase's jobs were deleted before the next one: a phase counts only its own.
      assertThat(phase.at("/final_statuses/completed").asLong()).as(name).isEqualTo(JOBS);
      assertThat(phase.path("outcomes_written").asLong()).as(name).isEqualTo(JOBS);
      assertThat(phase.path("jobs_per_sec").asDouble()).as(name).isPositive();
      assertThat(phase.path("seconds").asDouble()).as(name).isPositive();
      assertThat(phase.at("/cpu/worker_jvm_us_per_job").asDouble()).as(name).isPositive();
      // The test database is local, so the workers' backends are measured too.
      assertThat(phase.at("/cpu/worker_backends_us_per_job").asDouble()).as(name).isPositive();
      assertThat(phase.at("/database/commits_per_job").asDouble()).as(name).isPositive();
      assertThat(phase.at("/table_health/after_drain/n_live_tup").asLong())
          .as(name)
          .isEqualTo(JOBS);
      JsonNode figures = report.at("/drain/phases/" + name);
      assertThat(figures.at("/jobs_per_sec/median").asDouble()).as(name).isPositive();
      assertThat(figures.at("/worker_jvm_us_per_job/median").asDouble()).as(name).isPositive();
      assertThat(figures.at("/worker_backends_us_per_job/median").asDouble()).as(name).isPositive();
    }
    assertThat(report.at("/drain/runs/0/phases/cold/table_health/workers_at_cleanup").asText())
        .startsWith("idle");
    assertThat(report.at("/drain/runs/0/phases/warm/table_health/workers_at_cleanup").asText())
        .isEqualTo("exited");
  }

  @Test
  void theRunsOwnFiguresAreTheWarmPhases() {
    JsonNode run = report.at("/drain/runs/0");
    JsonNode warm = run.at("/phases/warm");
    assertThat(run.path("jobs_per_sec").asDouble()).isEqualTo(warm.path("jobs_per_sec").asDouble());
    assertThat(run.at("/cpu/worker_jvm_us_per_job").asDouble())
        .isEqualTo(warm.at("/cpu/worker_jvm_us_per_job").asDouble());
    assertThat(report.at("/drain/jobs_per_sec/median").asDouble())
        .isEqualTo(report.at("/drain/phases/warm/jobs_per_sec/median").asDouble());
  }

  @Test
  void tableLabelsBothPhasesWithTheirCpuPerJob() {
    String table = BenchReport.table(report);
    assertThat(table).containsPattern("drain 1x16 \\(JVMs x concurrency\\), cold +300 ");
    assertThat(table).containsPattern("drain 1x16 \\(JVMs x concurrency\\), warm +300 ");
    assertThat(table).contains("drain run 1 cold CPU per job: worker JVM ");
    assertThat(table).contains("drain run 1 warm CPU per job: worker JVM ");
    assertThat(table).contains("the next jobs in the same worker JVMs, after the cold phase");
  }

  @Test
  void aColdPhaseCannotFollowAWarmUp() {
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new BenchCommand())
            .setOut(new PrintWriter(new StringWriter()))
            .setErr(new PrintWriter(err))
            .execute("--phases=cold,warm", "--warmup-jobs=100");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("excludes --warmup-jobs 100");
  }

  @Test
  void aWarmOnlyRunNeedsAWarmUp() {
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new BenchCommand())
            .setOut(new PrintWriter(new StringWriter()))
            .setErr(new PrintWriter(err))
            .execute("--phases=warm");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--phases warm needs --warmup-jobs N > 0");
  }

  @Test
  void aWarmUpAloneMeansOneWarmPhaseAsBefore() {
    BenchCommand command = new BenchCommand();
    new CommandLine(command).parseArgs("--warmup-jobs=100");
    assertThat(command.settings().drainPhases()).containsExactly("warm");
  }

  @Test
  void phasesRunInTheirOrderOnly() {
    BenchCommand command = new BenchCommand();
    new CommandLine(command).parseArgs("--phases=warm,cold");
    assertThatThrownBy(command::settings)
        .hasMessageContaining("--phases takes cold,warm, cold or warm, got 'warm,cold'");
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
