package io.taskbroker.cli.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.testsupport.DedicatedPostgres;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code taskbroker worker --metrics-port} as a real process on a real PostgreSQL: after N jobs of
 * each outcome, a scrape shows the counters at N, the timers with N samples and the queue gauges
 * equal to {@code taskbroker.queue_stats}; {@code /health} turns 503 when the database goes away
 * and 200 when it returns. Needs the jar, which {@code package} builds before failsafe runs.
 */
class MetricsEndpointIT {
  private static final int N = 3;
  private static final int STILL_RUNNING = 2;
  private static final int WAITING = 4;
  private static final Duration STARTUP = Duration.ofSeconds(90);
  private static final Duration SETTLE = Duration.ofSeconds(60);

  @TempDir Path temp;

  private DedicatedPostgres server;
  private Process worker;
  private Path workerErr;
  private int metricsPort;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeEach
  void launch() throws IOException {
    Path jar = jar();
    server = DedicatedPostgres.launch();
    Path plugins = temp.resolve("plugins");
    writePluginJar(plugins.resolve("outcomes.jar"));
    metricsPort = freePort();
    workerErr = temp.resolve("worker.err");
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-jar",
            jar.toString(),
            "worker",
            "--database-url",
            "postgresql://postgres@127.0.0.1:" + server.port() + "/postgres",
            "--queues",
            "default:20",
            "--plugins-dir",
            plugins.toString(),
            "--lease",
            "5s",
            "--poll-interval",
            "200ms",
            "--drain-timeout",
            "1s",
            "--metrics-port",
            Integer.toString(metricsPort),
            "--metrics-interval",
            "300ms");
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .directory(temp.toFile())
            .redirectOutput(temp.resolve("worker.out").toFile())
            .redirectError(workerErr.toFile());
    builder
        .environment()
        .keySet()
        .removeIf(name -> name.equals("DATABASE_URL") || name.startsWith("PG"));
    worker = builder.start();
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (worker != null) {
      worker.destroy();
      if (!worker.waitFor(30, TimeUnit.SECONDS)) {
        worker.destroyForcibly();
      }
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aScrapeShowsEveryOutcomeTimersAndQueueGaugesAndHealthFollowsTheDatabase() throws Exception {
    await()
        .atMost(STARTUP)
        .pollInterval(Duration.ofMillis(200))
        // Refused until the worker has bound the port.
        .ignoreExceptionsInstanceOf(IOException.class)
        .until(() -> !worker.isAlive() || get("/health").statusCode() == 200);
    assertThat(worker.isAlive()).as("worker died:\n%s", read(workerErr)).isTrue();

    try (Connection sql = connect()) {
      submit(sql, "complete", "default", N);
      submit(sql, "retry", "default", N);
      List<UUID> snoozed = submit(sql, "snooze", "default", N);
      List<UUID> cancelled = submit(sql, "block", "default", N);
      List<UUID> lost = submit(sql, "block", "default", N);
      List<UUID> running = submit(sql, "block", "default", STILL_RUNNING);
      submit(sql, "complete", "idle", WAITING); // a queue nobody serves: ready, ageing

      awaitJobs(sql, cancelled, RUNNING);
      for (UUID id : cancelled) {
        try (PreparedStatement cancel = sql.prepareStatement("SELECT taskbroker.cancel(?)")) {
          cancel.setObject(1, id);
          cancel.execute();
        }
      }
      awaitJobs(sql, lost, RUNNING);
      // As a rescue by another worker would: the job is no longer this worker's; its heartbeat
      // finds that out and drops the outcome (lost). It waits an hour before running again.
      try (PreparedStatement takeAway =
          sql.prepareStatement(
              "UPDATE taskbroker.jobs SET status = 'pending', worker_id = NULL,"
                  + " lease_expires_at = NULL, run_at = now() + interval '1 hour'"
                  + " WHERE id = ANY (?)")) {
        takeAway.setArray(1, uuids(sql, lost));
        assertThat(takeAway.executeUpdate()).isEqualTo(N);
      }
      awaitJobs(sql, running, RUNNING);
      awaitJobs(sql, snoozed, SNOOZED);

      Map<String, String> job = Map.of("plugin", "outcomes", "queue", "default");
      await()
          .atMost(SETTLE)
          .pollInterval(Duration.ofMillis(200))
          .untilAsserted(
              () -> {
                Scrape scrape = scrape();
                for (String outcome :
                    List.of("completed", "failed", "retried", "cancelled", "snoozed", "lost")) {
                  Map<String, String> tags = with(job, "outcome", outcome);
                  assertThat(scrape.value("taskbroker_jobs_finished_total", tags))
                      .as("finished, %s", outcome)
                      .isEqualTo(N);
                  assertThat(scrape.value("taskbroker_job_duration_seconds_count", tags))
                      .as("duration samples, %s", outcome)
                      .isEqualTo(N);
                  assertThat(scrape.count("taskbroker_job_duration_seconds_bucket", tags))
                      .as("duration histogram buckets, %s", outcome)
                      .isGreaterThan(10);
                }
                // Every attempt that started: retry jobs start twice.
                int started = N + 2 * N + N + N + N + STILL_RUNNING;
                assertThat(scrape.value("taskbroker_jobs_started_total", job)).isEqualTo(started);
                assertThat(scrape.value("taskbroker_job_queue_latency_seconds_count", job))
                    .isEqualTo(started);
                assertThat(scrape.sum("taskbroker_writes_rejected_total")).isZero();
                assertThat(scrape.sum("taskbroker_worker_slots_capacity")).isEqualTo(20);
                assertThat(scrape.sum("taskbroker_worker_slots_busy")).isEqualTo(STILL_RUNNING);
                assertThat(scrape.sum("taskbroker_completer_backlog")).isZero();
                assertThat(scrape.sum("taskbroker_worker_healthy")).isEqualTo(1);
                assertThat(scrape.sum("taskbroker_worker_listening")).isEqualTo(1);
              });

      // The gauges equal the view (read after the state settled; refreshed every 300 ms).
      await()
          .atMost(SETTLE)
          .pollInterval(Duration.ofMillis(200))
          .untilAsserted(
              () -> {
                Map<String, long[]> stats = queueStats(sql);
                Scrape scrape = scrape();
                assertThat(stats.keySet()).containsExactlyInAnyOrder("default", "idle");
                for (Map.Entry<String, long[]> queue : stats.entrySet()) {
                  Map<String, String> tags = Map.of("queue", queue.getKey());
                  long pending = queue.getValue()[0];
                  long scheduled = queue.getValue()[1];
                  long runningNow = queue.getValue()[2];
                  assertThat(scrape.value("taskbroker_queue_ready", tags))
                      .as("ready in %s", queue.getKey())
                      .isEqualTo(pending - scheduled);
                  assertThat(scrape.value("taskbroker_queue_scheduled", tags)).isEqualTo(scheduled);
                  assertThat(scrape.value("taskbroker_queue_running", tags)).isEqualTo(runningNow);
                  double ageSeconds = queue.getValue()[3] / 1000.0;
                  assertThat(scrape.value("taskbroker_queue_oldest_ready_age_seconds", tags))
                      .as("oldest ready age in %s", queue.getKey())
                      .isBetween(ageSeconds - 1.5, ageSeconds + 0.01);
                }
                assertThat(stats.get("default")).startsWith(2 * N, 2 * N, STILL_RUNNING);
                assertThat(stats.get("idle")).startsWith(WAITING, 0, 0);
              });
    }

    server.stop();
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(200))
        .untilAsserted(
            () -> {
              HttpResponse<String> health = get("/health");
              assertThat(health.statusCode()).isEqualTo(503);
              assertThat(health.body()).contains("database");
            });
    // Scrapes go on while the database is away: they never query it.
    assertThat(get("/metrics").statusCode()).isEqualTo(200);

    server.start();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .untilAsserted(
            () -> {
              HttpResponse<String> health = get("/health");
              assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
              assertThat(health.body()).isEqualTo("ok\n");
            });
    assertThat(get("/nothing").statusCode()).isEqualTo(404);
  }

  // ---- helpers ----

  private List<UUID> submit(Connection sql, String action, String queue, int count)
      throws SQLException {
    List<UUID> ids = new ArrayList<>();
    try (PreparedStatement submit =
        sql.prepareStatement(
            "SELECT taskbroker.submit('outcomes', jsonb_build_object('do', ?::text),"
                + " queue => ?, max_attempts => 3)")) {
      for (int i = 0; i < count; i++) {
        submit.setString(1, action);
        submit.setString(2, queue);
        try (ResultSet row = submit.executeQuery()) {
          row.next();
          ids.add(row.getObject(1, UUID.class));
        }
      }
    }
    return ids;
  }

  private static final String RUNNING = "status = 'running'";
  // A snoozed job is pending an hour ahead with its attempt given back.
  private static final String SNOOZED =
      "status = 'pending' AND attempt = 0 AND run_at > now() + interval '30 minutes'";

  /** Waits until every one of these jobs meets {@code condition} (SQL over the jobs row). */
  private void awaitJobs(Connection sql, List<UUID> ids, String condition) {
    await()
        .atMost(SETTLE)
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              try (PreparedStatement query =
                  sql.prepareStatement(
                      "SELECT count(*) FROM taskbroker.jobs WHERE id = ANY (?) AND " + condition)) {
                query.setArray(1, uuids(sql, ids));
                try (ResultSet row = query.executeQuery()) {
                  row.next();
                  return row.getInt(1) == ids.size();
                }
              }
            });
  }

  /** queue → pending, scheduled, running, oldest_pending_ms, from the view people read. */
  private static Map<String, long[]> queueStats(Connection sql) throws SQLException {
    Map<String, long[]> stats = new HashMap<>();
    try (PreparedStatement query =
            sql.prepareStatement(
                "SELECT queue, pending, scheduled, running,"
                    + " coalesce(CAST(extract(epoch FROM oldest_pending_age) * 1000 AS bigint), 0)"
                    + " FROM taskbroker.queue_stats WHERE pending + running > 0");
        ResultSet rows = query.executeQuery()) {
      while (rows.next()) {
        stats.put(
            rows.getString(1),
            new long[] {rows.getLong(2), rows.getLong(3), rows.getLong(4), rows.getLong(5)});
      }
    }
    return stats;
  }

  private static Array uuids(Connection sql, List<UUID> ids) throws SQLException {
    return sql.createArrayOf("uuid", ids.toArray());
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(
        server.jdbcUrl("postgres"), server.user(), server.password());
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + path))
            .timeout(Duration.ofSeconds(10))
            .GET()
            .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
  }

  private Scrape scrape() throws IOException, InterruptedException {
    HttpResponse<String> response = get("/metrics");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain; version=0.0.4"));
    return Scrape.parse(response.body());
  }

  private static Map<String, String> with(Map<String, String> tags, String key, String value) {
    Map<String, String> copy = new HashMap<>(tags);
    copy.put(key, value);
    return copy;
  }

  /** A jar holding {@link OutcomePlugin} and its services entry, as a plugin author ships one. */
  private static void writePluginJar(Path jar) throws IOException {
    String classFile = OutcomePlugin.class.getName().replace('.', '/') + ".class";
    Files.createDirectories(jar.getParent());
    try (OutputStream file = Files.newOutputStream(jar);
        JarOutputStream out = new JarOutputStream(file);
        InputStream bytes = OutcomePlugin.class.getClassLoader().getResourceAsStream(classFile)) {
      assertThat(bytes).as("class file %s", classFile).isNotNull();
      out.putNextEntry(new JarEntry(classFile));
      bytes.transferTo(out);
      out.closeEntry();
      out.putNextEntry(new JarEntry("META-INF/services/" + TaskPlugin.class.getName()));
      out.write((OutcomePlugin.class.getName() + "\n").getBytes(StandardCharsets.UTF_8));
      out.closeEntry();
    }
  }

  /** The jar {@code package} built; a run before it (surefire) is skipped, as in DevCommandIT. */
  private static Path jar() {
    Path target = Path.of(System.getProperty("basedir", ".")).resolve("target");
    Path jar = target.resolve("taskbroker.jar");
    Path main = target.resolve("classes/io/taskbroker/cli/Main.class");
    try {
      assumeTrue(
          Files.exists(jar)
              && Files.getLastModifiedTime(jar).compareTo(Files.getLastModifiedTime(main)) >= 0,
          "needs target/taskbroker.jar built from the current classes: runs after 'package'");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return jar;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
