package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.taskbroker.cli.Cli.ManualStop;
import io.taskbroker.cli.Cli.Result;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code taskbroker dashboard} and {@code worker --dashboard-port} as a user types them: the server
 * answers with the token's rules until the stop signal, then its port is closed; a bad setting is a
 * usage error before anything listens.
 */
@WithPostgres
class DashboardCommandTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String TOKEN = "cli-operator-token-0123";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void withoutATokenANonLoopbackAddressIsAUsageError(TestDatabase database) {
    Result result =
        migrated(database).run("dashboard", "--port", "0", "--dashboard-host", "0.0.0.0");

    assertThat(result.exitCode()).as(result.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(result.err()).contains("not a loopback address").doesNotContain("\tat ");
  }

  @Test
  void aTooShortTokenIsAUsageError(TestDatabase database) {
    Result result = migrated(database).run("dashboard", "--port", "0", "--token", "s3cr3t-tok");

    assertThat(result.exitCode()).as(result.toString()).isEqualTo(ExitCodes.USAGE);
    assertThat(result.err()).contains("at least 16 characters").doesNotContain("s3cr3t-tok");
  }

  @Test
  void theDashboardServesTheApiWithItsTokenUntilStopped(TestDatabase database) throws Exception {
    int port = freePort();
    ManualStop stop = new ManualStop();
    Cli cli = migrated(database);
    CompletableFuture<Result> running =
        CompletableFuture.supplyAsync(
            () -> cli.withStop(stop).run("dashboard", "--port", "" + port, "--token", TOKEN));
    awaitListening(port, running);

    assertThat(get(port, "/api/me", null).statusCode()).isEqualTo(401);
    HttpResponse<String> me = get(port, "/api/me", TOKEN);
    assertThat(me.statusCode()).isEqualTo(200);
    assertThat(me.body()).contains("\"role\":\"operator\"");
    // An action through the command's server reaches the database (bearer calls need no CSRF).
    assertThat(post(port, "/api/queues/from-cli/pause", TOKEN).statusCode()).isEqualTo(200);
    assertThat(paused(database, "from-cli")).isTrue();

    stop.requestStop();
    Result result = running.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out()).contains("Dashboard on http://127.0.0.1:" + port + "/");
    assertThat(stop.hasStopped()).isTrue();
    assertThatThrownBy(() -> get(port, "/api/me", TOKEN)).isInstanceOf(IOException.class);
  }

  @Test
  void theWorkerServesTheDashboardBesideItsJobs(TestDatabase database) throws Exception {
    int port = freePort();
    ManualStop stop = new ManualStop();
    Cli cli = Cli.against(database);
    CompletableFuture<Result> running =
        CompletableFuture.supplyAsync(
            () ->
                cli.withStop(stop)
                    .run(
                        "worker",
                        "--queues",
                        "dq:1",
                        "--drain-timeout",
                        "300ms",
                        "--dashboard-port",
                        "" + port));
    awaitListening(port, running);
    // Loopback without a token: reads need nothing, and the worker itself is in the fleet.
    await()
        .atMost(WAIT)
        .untilAsserted(() -> assertThat(get(port, "/api/workers", null).body()).contains("dq"));

    stop.requestStop();
    Result result = running.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThatThrownBy(() -> get(port, "/api/me", null)).isInstanceOf(IOException.class);
  }

  /** The dashboard does not migrate (reading should not need DDL rights): the user runs it. */
  private static Cli migrated(TestDatabase database) {
    Cli cli = Cli.against(database);
    Result migrate = cli.run("migrate");
    assertThat(migrate.exitCode()).as(migrate.toString()).isZero();
    return cli;
  }

  private static void awaitListening(int port, CompletableFuture<Result> running) {
    await()
        .atMost(WAIT)
        .ignoreExceptionsInstanceOf(IOException.class)
        .until(() -> running.isDone() || get(port, "/api/me", TOKEN).statusCode() > 0);
    assertThat(running).as("the command ended early: %s", running.getNow(null)).isNotDone();
  }

  /** A port free a moment ago (the command binds it next; nothing else here takes ports). */
  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static HttpResponse<String> get(int port, String path, String token)
      throws IOException, InterruptedException {
    return send(HttpRequest.newBuilder(uri(port, path)).GET(), token);
  }

  private static HttpResponse<String> post(int port, String path, String token)
      throws IOException, InterruptedException {
    return send(
        HttpRequest.newBuilder(uri(port, path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{}")),
        token);
  }

  private static HttpResponse<String> send(HttpRequest.Builder request, String token)
      throws IOException, InterruptedException {
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(
        request.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static URI uri(int port, String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  private static boolean paused(TestDatabase database, String queue) throws SQLException {
    try (Connection connection = database.connect();
        PreparedStatement select =
            connection.prepareStatement("SELECT paused FROM taskbroker.queues WHERE name = ?")) {
      select.setString(1, queue);
      try (ResultSet rows = select.executeQuery()) {
        return rows.next() && rows.getBoolean(1);
      }
    }
  }
}
