package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.cli.Cli.ManualStop;
import io.taskbroker.cli.Cli.Result;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code taskbroker worker} and {@code migrate} on a database of their own, which starts without
 * the schema: the commands apply it themselves.
 */
@WithPostgres
class WorkerCommandTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void migrateAppliesTheSchemaThenFindsItCurrent(TestDatabase database) {
    Cli cli = Cli.against(database);

    Result first = cli.run("migrate");
    Result second = cli.run("migrate");

    assertThat(first.exitCode()).as(first.toString()).isZero();
    assertThat(first.out().strip())
        .matches(
            "schema taskbroker is at version \\d+ \\((applied \\d+ migrations?|already up to date)\\)");
    assertThat(second.out().strip())
        .matches("schema taskbroker is at version \\d+ \\(already up to date\\)");
  }

  @Test
  void workerRunsJobsThenDrainsAndHandsBackOnStop(TestDatabase database) throws Exception {
    ManualStop stop = new ManualStop();
    Cli cli = Cli.against(database);
    String queue = "wq";
    CompletableFuture<Result> running =
        CompletableFuture.supplyAsync(
            () ->
                cli.withStop(stop)
                    .run(
                        "worker",
                        "--queues",
                        queue + ":2",
                        "--poll-interval",
                        "100ms",
                        "--drain-timeout",
                        "300ms",
                        "--retention",
                        "none"));
    await().atMost(WAIT).until(() -> workerRows(database, queue) == 1 || running.isDone());
    assertThat(running).as("the worker command ended early").isNotDone();

    Result echo = cli.run("submit", "echo", "--queue", queue, "--payload", "{\"y\":2}", "--wait");
    assertThat(echo.exitCode()).as(echo.toString()).isZero();
    assertThat(echo.out()).contains("{\"y\":2}");

    // A job still running at stop: the drain times out and the job goes back to pending.
    UUID slow =
        UUID.fromString(
            cli.run("submit", "echo", "--queue", queue, "--payload", "{\"sleep_ms\":60000}")
                .out()
                .strip());
    await().atMost(WAIT).until(() -> status(cli, slow).equals("running"));

    stop.requestStop();
    Result result = running.get(WAIT.toSeconds(), TimeUnit.SECONDS);

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(stop.hasStopped()).isTrue();
    assertThat(status(cli, slow)).isEqualTo("pending");
    assertThat(workerRows(database, queue)).isZero();
  }

  @Test
  void missingPluginsDirIsAClearError(TestDatabase database, @TempDir Path temp) {
    Path missing = temp.resolve("nope");

    Result result = Cli.against(database).run("worker", "--plugins-dir", missing.toString());

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.errLines())
        .containsExactly("error: plugins directory " + missing + " does not exist");
  }

  private static String status(Cli cli, UUID id) {
    Result result = cli.run("job", id.toString(), "--json");
    JsonNode job = Json.parse(result.out());
    return job.get("status").asText();
  }

  private static long workerRows(TestDatabase database, String queue) {
    // "??" is JDBC's escape for the jsonb operator "?" (does the object have this key).
    try (Connection connection = database.connect();
        PreparedStatement statement =
            connection.prepareStatement(
                "SELECT count(*) FROM taskbroker.workers WHERE queues ?? ?")) {
      statement.setString(1, queue);
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getLong(1);
      }
    } catch (SQLException e) {
      // Until the worker command has migrated, the table is not there.
      return 0;
    }
  }
}
