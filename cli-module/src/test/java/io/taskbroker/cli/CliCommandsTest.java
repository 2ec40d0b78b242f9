package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.cli.Cli.Result;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Json;
import io.taskbroker.common.Migrations;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginLoader;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The commands against a real database, with one worker (the example plugins, queue {@code
 * default}) running in this JVM. Tests that must not be run by it use queues no worker serves.
 */
@WithPostgres
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliCommandsTest {
  private static final Duration JOB_WAIT = Duration.ofSeconds(30);

  private final TestDatabase testDatabase;
  private final Cli cli;
  private Database database;
  private Worker worker;

  CliCommandsTest(TestDatabase testDatabase) {
    this.testDatabase = testDatabase;
    this.cli = Cli.against(testDatabase);
  }

  @BeforeAll
  void startWorker() {
    database =
        Database.connect(DatabaseConfig.builder().url(Cli.url(testDatabase)).poolSize(8).build());
    Migrations.migrate(database.dataSource());
    worker =
        Worker.start(
            database,
            WorkerConfig.builder()
                .queue("default", 4)
                .pollInterval(Duration.ofMillis(200))
                .retention(null)
                .build(),
            PluginRegistry.of(PluginLoader.load(null)));
  }

  @AfterAll
  void stopWorker() {
    if (worker != null) {
      worker.shutdown(Duration.ofSeconds(5));
    }
    if (database != null) {
      database.close();
    }
  }

  @Test
  void submitWaitPrintsTheSuccessView() {
    Result result = cli.run("submit", "echo", "--payload", "{\"x\":1}", "--wait");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out().strip()).isEqualTo("{\"status\":\"success\",\"data\":{\"x\":1}}");
  }

  @Test
  void databaseUrlFlagWinsOverTheEnvironment() {
    Result result =
        cli.withEnv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/x")
            .run(
                "submit",
                "echo",
                "--payload",
                "{\"flag\":true}",
                "--database-url",
                Cli.url(testDatabase),
                "--wait");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out()).contains("\"flag\":true");
  }

  @Test
  void submitWithoutWaitPrintsTheIdOfAPendingJob() {
    Result result =
        cli.run(
            "submit",
            "echo",
            "--queue",
            "parked",
            "--priority",
            "-3",
            "--delay",
            "1h",
            "--max-attempts",
            "7",
            "--metadata",
            "{\"who\":\"test\"}",
            "--unique-key",
            "k-" + UUID.randomUUID(),
            "--timeout",
            "90s");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    JsonNode job = jobJson(UUID.fromString(result.out().strip()));
    assertThat(job.get("status").asText()).isEqualTo("pending");
    assertThat(job.get("queue").asText()).isEqualTo("parked");
    assertThat(job.get("priority").asInt()).isEqualTo(-3);
    assertThat(job.get("max_attempts").asInt()).isEqualTo(7);
    assertThat(job.get("timeout_ms").asInt()).isEqualTo(90_000);
    assertThat(job.get("metadata").get("who").asText()).isEqualTo("test");
  }

  @Test
  void invalidPayloadWritesNothing() throws SQLException {
    long before = countJobs();

    Result notJson = cli.run("submit", "echo", "--payload", "{\"x\":");
    Result notObject = cli.run("submit", "echo", "--payload", "[1]");

    assertThat(notJson.exitCode()).isNotZero();
    assertThat(notJson.errLines()).singleElement().asString().contains("payload is not valid JSON");
    assertThat(notObject.exitCode()).isNotZero();
    assertThat(notObject.errLines())
        .containsExactly("error: payload must be a JSON object, got array");
    assertThat(countJobs()).isEqualTo(before);
  }

  @Test
  void failingPluginRecordsItsErrorInTheJob() {
    Result submit =
        cli.run(
            "submit", "echo", "--payload", "{\"fail\":\"boom\"}", "--max-attempts", "1", "--wait");

    assertThat(submit.exitCode()).as(submit.toString()).isEqualTo(1);
    assertThat(submit.out().strip())
        .isEqualTo("{\"status\":\"error\",\"error\":\"java.lang.RuntimeException: boom\"}");

    String id = submit.submittedId();
    Result details = cli.run("job", id);
    assertThat(details.exitCode()).isZero();
    assertThat(details.out())
        .contains("status:       failed")
        .contains("attempt:      1 of 1")
        .contains("error:        java.lang.RuntimeException: boom")
        .contains("failed attempts:")
        .containsPattern(
            "(?m)^\\s+1\\s+.*error\\s+" + worker.id() + "\\s+java.lang.RuntimeException: boom");

    JsonNode json = jobJson(UUID.fromString(id));
    assertThat(json.get("error").asText()).isEqualTo("java.lang.RuntimeException: boom");
    assertThat(json.get("errors")).hasSize(1);
    assertThat(json.get("errors").get(0).get("attempt").asInt()).isEqualTo(1);
  }

  @Test
  void timeoutFromTheCommandLineStopsALongJob() {
    Result result =
        cli.run(
            "submit",
            "echo",
            "--payload",
            "{\"sleep_ms\":60000}",
            "--timeout",
            "300ms",
            "--max-attempts",
            "1",
            "--wait");

    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.out()).contains("\"status\":\"error\"").contains("timed out after");
  }

  @Test
  void waitTimeoutLeavesTheJobRunningAndSaysSo() {
    Result result =
        cli.run("submit", "nosuch", "--queue", "parked", "--wait", "--wait-timeout", "200ms");

    assertThat(result.exitCode()).as(result.toString()).isEqualTo(4);
    assertThat(result.out().strip()).isEqualTo("{\"status\":\"pending\"}");
    assertThat(result.err()).contains("is still pending after 200ms");
  }

  @Test
  void transcriptionReportsProgressAndReturnsTheTranscript() {
    Result submit =
        cli.run(
            "submit",
            "transcribe",
            "--payload",
            "{\"file_path\":\"/media/talk.mp3\",\"segments\":3,\"segment_ms\":10}",
            "--wait");

    assertThat(submit.exitCode()).as(submit.toString()).isZero();
    JsonNode view = Json.parse(submit.out());
    assertThat(view.get("status").asText()).isEqualTo("success");
    assertThat(view.get("data").get("file_name").asText()).isEqualTo("talk.mp3");
    assertThat(view.get("data").get("language").asText()).isEqualTo("en");
    assertThat(view.get("data").get("segments")).hasSize(3);
    assertThat(view.get("data").get("segments").get(2).get("end").asDouble()).isEqualTo(7.5);

    Result details = cli.run("job", submit.submittedId());
    assertThat(details.out())
        .contains("status:       completed")
        .contains("progress:     100%")
        .containsPattern("(?m)^payload: +\\{.*\"file_path\":\"/media/talk.mp3\"")
        .contains("result:       {");
  }

  @Test
  void transcriptionWithoutFilePathFailsWithoutRetry() {
    Result submit =
        cli.run("submit", "transcribe", "--payload", "{\"file_name\":\"x.mp3\"}", "--wait");

    assertThat(submit.exitCode()).isEqualTo(1);
    assertThat(submit.out()).contains("transcribe needs a \\\"file_path\\\" in the payload");
    JsonNode job = jobJson(UUID.fromString(submit.submittedId()));
    assertThat(job.get("attempt").asInt()).isEqualTo(1);
    assertThat(job.get("max_attempts").asInt()).isEqualTo(3);
  }

  @Test
  void unknownPluginStaysPendingAndStatsShowsItUnserved() {
    Result submit = cli.run("submit", "nosuch", "--payload", "{}");
    UUID id = UUID.fromString(submit.out().strip());

    Result stats = cli.run("stats");

    assertThat(stats.exitCode()).as(stats.toString()).isZero();
    assertThat(stats.out())
        .contains("QUEUES")
        .containsPattern("(?m)^default\\s+\\d+")
        .contains("WORKERS")
        .contains(worker.id())
        .contains("echo,noop,transcribe")
        .contains("UNSERVED")
        .containsPattern("(?m)^default\\s+nosuch\\s+\\d+");
    assertThat(jobJson(id).get("status").asText()).isEqualTo("pending");

    JsonNode json = Json.parse(cli.run("stats", "--json").out());
    assertThat(json.get("unserved").findValuesAsText("plugin")).contains("nosuch");
    assertThat(json.get("workers").findValuesAsText("id")).contains(worker.id());
    assertThat(json.get("queues").findValuesAsText("queue")).contains("default");
  }

  @Test
  void jobsListsAsTableAndJsonWithFilters() {
    String queue = "listing-" + UUID.randomUUID();
    String first = cli.run("submit", "echo", "--queue", queue).out().strip();
    String second =
        cli.run("submit", "transcribe", "--queue", queue, "--payload", "{\"file_path\":\"a\"}")
            .out()
            .strip();

    Result table = cli.run("jobs", "--queue", queue);
    assertThat(table.exitCode()).isZero();
    List<String> lines = table.out().lines().toList();
    assertThat(lines.get(0))
        .matches("ID\\s+PLUGIN\\s+QUEUE\\s+STATUS\\s+ATTEMPT\\s+CREATED\\s+FINISHED");
    assertThat(lines).hasSize(3);
    // Newest first.
    assertThat(lines.get(1))
        .startsWith(second)
        .contains("transcribe")
        .contains("pending")
        .contains("0/3");
    assertThat(lines.get(2)).startsWith(first).contains("echo");

    JsonNode json = Json.parse(cli.run("jobs", "--queue", queue, "--json").out());
    assertThat(json.findValuesAsText("id")).containsExactly(second, first);
    assertThat(json.get(0).get("payload").get("file_path").asText()).isEqualTo("a");

    assertThat(cli.run("jobs", "--queue", queue, "--plugin", "echo").out())
        .contains(first)
        .doesNotContain(second);
    Result limited = cli.run("jobs", "--queue", queue, "--limit", "1", "--offset", "1");
    assertThat(limited.out()).contains(first).doesNotContain(second);
    assertThat(limited.err()).contains("--offset 2");
    assertThat(cli.run("jobs", "--queue", queue, "--status", "completed,failed").out().strip())
        .isEqualTo("no jobs found");
    assertThat(cli.run("jobs", "--status", "done").errLines())
        .singleElement()
        .asString()
        .contains("unknown job status 'done'");
  }

  @Test
  void cancelPendingJobPrintsCancelled() {
    String id = cli.run("submit", "echo", "--queue", "parked").out().strip();

    Result cancel = cli.run("cancel", id);

    assertThat(cancel.exitCode()).isZero();
    assertThat(cancel.out().strip()).isEqualTo("cancelled");
    assertThat(jobJson(UUID.fromString(id)).get("status").asText()).isEqualTo("cancelled");
    assertThat(cli.run("cancel", id).out().strip()).isEqualTo("cancelled");
  }

  @Test
  void cancelRunningJobStopsThePlugin() {
    UUID id =
        UUID.fromString(
            cli.run("submit", "echo", "--payload", "{\"sleep_ms\":60000}").out().strip());
    await()
        .atMost(JOB_WAIT)
        .until(() -> jobJson(id).get("status").asText(), status -> status.equals("running"));

    Result cancel = cli.run("cancel", id.toString());

    assertThat(cancel.out().strip()).isEqualTo("running");
    assertThat(cancel.err()).contains("cancel requested");
    await()
        .atMost(JOB_WAIT)
        .until(() -> jobJson(id).get("status").asText(), status -> status.equals("cancelled"));
  }

  @Test
  void unknownJobIdIsOneClearLine() {
    UUID missing = UUID.randomUUID();

    Result job = cli.run("job", missing.toString());
    Result cancel = cli.run("cancel", missing.toString());

    assertThat(job.exitCode()).isEqualTo(1);
    assertThat(job.errLines()).containsExactly("error: no job with id " + missing);
    assertThat(cancel.exitCode()).isEqualTo(1);
    assertThat(cancel.errLines()).containsExactly("error: no job with id " + missing);
  }

  @Test
  void pruneDeletesOnlyFinishedJobsOlderThanTheAge() throws SQLException {
    String old = cli.run("submit", "echo", "--queue", "parked").out().strip();
    String recent = cli.run("submit", "echo", "--queue", "parked").out().strip();
    String pending = cli.run("submit", "echo", "--queue", "parked").out().strip();
    cli.run("cancel", old);
    cli.run("cancel", recent);
    try (Connection connection = testDatabase.connect();
        PreparedStatement statement =
            connection.prepareStatement(
                "UPDATE taskbroker.jobs SET completed_at = now() - interval '2 days'"
                    + " WHERE id = CAST(? AS uuid)")) {
      statement.setString(1, old);
      assertThat(statement.executeUpdate()).isEqualTo(1);
    }

    Result prune = cli.run("prune", "--older-than", "1d", "--status", "cancelled");

    assertThat(prune.exitCode()).as(prune.toString()).isZero();
    assertThat(prune.out().strip()).isEqualTo("deleted 1 job");
    assertThat(cli.run("job", old).errLines()).containsExactly("error: no job with id " + old);
    assertThat(cli.run("job", recent).exitCode()).isZero();
    assertThat(cli.run("job", pending).exitCode()).isZero();
    assertThat(cli.run("prune", "--older-than", "1d", "--status", "pending").errLines())
        .singleElement()
        .asString()
        .contains("pending is not final");
    assertThat(cli.run("prune").errLines())
        .singleElement()
        .asString()
        .contains("Missing required option: '--older-than=DURATION'");
  }

  @Test
  void migrateOnACurrentSchemaSaysSo() {
    Result result = cli.run("migrate");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out().strip())
        .matches("schema taskbroker is at version \\d+ \\(already up to date\\)");
  }

  /**
   * What a terminal acts on: ESC (clear the screen, an OSC title), BEL, backspace, CR, a C1 CSI, a
   * bidi override. In a plugin, queue, error, progress message, payload and a worker row.
   */
  private static final String ESCAPES = "\u001b[2J\u001b]0;owned\u0007\b\r\u009b31m\u202eevil";

  @Test
  void terminalEscapesInJobFieldsArePrintedVisibly() throws SQLException {
    String queue = "q" + ESCAPES + UUID.randomUUID();
    UUID id = UUID.randomUUID();
    try (Connection connection = testDatabase.connect();
        PreparedStatement job =
            connection.prepareStatement(
                "INSERT INTO taskbroker.jobs (id, queue, plugin, payload, metadata, status,"
                    + " attempt, completed_at, error, errors, progress, progress_message)"
                    + " VALUES (?, ?, ?, jsonb_build_object(?::text, ?::text),"
                    + " jsonb_build_object('m', ?::text), 'failed', 1, now(), ?,"
                    + " jsonb_build_array(jsonb_build_object('attempt', 1, 'kind', ?::text,"
                    + " 'worker_id', ?::text, 'error', ?::text)), 0.5, ?)");
        PreparedStatement workerRow =
            connection.prepareStatement(
                "INSERT INTO taskbroker.workers (id, host, pid, queues, plugins, concurrency)"
                    + " VALUES (?, ?, 1, jsonb_build_object(?::text, 1), ARRAY[?], 1)")) {
      int i = 1;
      job.setObject(i++, id);
      job.setString(i++, queue);
      job.setString(i++, "plugin" + ESCAPES);
      job.setString(i++, "key" + ESCAPES);
      job.setString(i++, "value" + ESCAPES);
      job.setString(i++, "meta" + ESCAPES);
      job.setString(i++, "error" + ESCAPES + "\nsecond line");
      job.setString(i++, "kind" + ESCAPES);
      job.setString(i++, "worker" + ESCAPES);
      job.setString(i++, "attempt error" + ESCAPES);
      job.setString(i++, "progress" + ESCAPES);
      assertThat(job.executeUpdate()).isEqualTo(1);
      workerRow.setString(1, "w" + ESCAPES + UUID.randomUUID());
      workerRow.setString(2, "host" + ESCAPES);
      workerRow.setString(3, queue);
      workerRow.setString(4, "plugin" + ESCAPES);
      assertThat(workerRow.executeUpdate()).isEqualTo(1);
    }

    List<Result> results =
        List.of(
            cli.run("jobs", "--queue", queue),
            cli.run("jobs", "--queue", queue, "--json"),
            cli.run("job", id.toString()),
            cli.run("job", id.toString(), "--json"),
            cli.run("stats"),
            cli.run("stats", "--json"),
            cli.run(
                "submit", "plugin" + ESCAPES, "--queue", queue, "--wait-timeout", "1ms", "--wait"),
            cli.run("job", "--bogus" + ESCAPES, "x"));

    for (Result result : results) {
      assertThat(unsafeCharacters(result.out() + result.err())).as(result.toString()).isEmpty();
    }
    assertThat(results.get(0).exitCode()).as(results.get(0).toString()).isZero();
    assertThat(results.get(0).out()).contains("plugin\\e[2J\\e]0;owned\\x07\\x08");
    assertThat(results.get(2).out())
        .contains("\\u009b31m\\u202eevil")
        .contains("error:        error\\e[2J");
    assertThat(results.get(4).out()).contains("host\\e[2J");
    // The JSON is escaped for the terminal and still says exactly what is stored.
    JsonNode json = Json.parse(results.get(3).out());
    assertThat(json.get("plugin").asText()).isEqualTo("plugin" + ESCAPES);
    assertThat(json.get("progress_message").asText()).isEqualTo("progress" + ESCAPES);
  }

  /** Characters a terminal would act on; line feeds between lines are fine. */
  private static List<String> unsafeCharacters(String text) {
    return text.chars()
        .filter(
            c ->
                (c < 0x20 && c != '\n')
                    || (c >= 0x7f && c <= 0x9f)
                    || c == 0x061c
                    || c == 0x200e
                    || c == 0x200f
                    || (c >= 0x202a && c <= 0x202e)
                    || (c >= 0x2066 && c <= 0x2069))
        .mapToObj(c -> String.format("U+%04X", c))
        .toList();
  }

  @Test
  void aDatabaseFailureIsNotReportedAsAUsageError() throws SQLException {
    // 21 million characters: past what the JSON codec reads by default.
    String queue = "huge-" + UUID.randomUUID();
    UUID id = UUID.randomUUID();
    try (Connection connection = testDatabase.connect();
        PreparedStatement statement =
            connection.prepareStatement(
                "INSERT INTO taskbroker.jobs (id, queue, plugin, status, attempt, completed_at,"
                    + " error, errors)"
                    + " VALUES (?, ?, 'echo', 'failed', 1, now(), repeat('e', 21000000),"
                    + " jsonb_build_array(jsonb_build_object('attempt', 1,"
                    + " 'error', repeat('e', 21000000))))")) {
      statement.setObject(1, id);
      statement.setString(2, queue);
      assertThat(statement.executeUpdate()).isEqualTo(1);
    }
    String template1 = Cli.url(testDatabase).replace(testDatabase.name(), "template1");

    List<Result> results =
        List.of(
            cli.run("jobs", "--queue", queue),
            cli.run("job", id.toString()),
            cli.run("jobs", "--database-url", template1));

    for (Result result : results) {
      assertThat(result.exitCode()).as(result.toString()).isNotEqualTo(2);
      assertThat(result.err()).as(result.toString()).doesNotContain("\tat ");
      if (result.exitCode() != 0) {
        // Then it is the database's failure, said as such on one line.
        assertThat(result.exitCode()).as(result.toString()).isEqualTo(5);
        assertThat(result.errLines()).as(result.toString()).singleElement().asString();
      } else {
        // Decoded after all: shown cut to a readable size.
        assertThat(result.out().lines()).allSatisfy(line -> assertThat(line).hasSizeLessThan(5000));
      }
    }
    assertThat(results.get(2).exitCode()).isEqualTo(5);
    assertThat(results.get(2).err()).contains("taskbroker migrate");
  }

  private JsonNode jobJson(UUID id) {
    Result result = cli.run("job", id.toString(), "--json");
    assertThat(result.exitCode()).as(result.toString()).isZero();
    return Json.parse(result.out());
  }

  private long countJobs() throws SQLException {
    try (Connection connection = testDatabase.connect();
        PreparedStatement statement =
            connection.prepareStatement("SELECT count(*) FROM taskbroker.jobs");
        ResultSet rows = statement.executeQuery()) {
      rows.next();
      return rows.getLong(1);
    }
  }
}
