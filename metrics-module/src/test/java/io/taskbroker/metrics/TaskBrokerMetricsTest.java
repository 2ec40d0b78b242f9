package io.taskbroker.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Migrations;
import io.taskbroker.common.NewJob;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The meters on a real database and an in-process worker: the submitted counter from a client, the
 * rescued and rejected-write counters, the slot gauges, and the queue gauges against {@code
 * taskbroker.queue_stats}. (The counters of every outcome in a real worker process: {@code
 * MetricsEndpointIT} in cli-module.)
 */
@WithPostgres
class TaskBrokerMetricsTest {
  private static TestDatabase testDatabase;
  private static Database database;

  @BeforeAll
  static void open(TestDatabase db) {
    testDatabase = db;
    database =
        Database.connect(
            DatabaseConfig.builder()
                .jdbcUrl(db.jdbcUrl())
                .user(db.user())
                .password(db.password().isEmpty() ? null : db.password())
                .poolSize(6)
                .build());
    Migrations.migrate(database.dataSource());
  }

  @AfterAll
  static void close() {
    database.close();
  }

  @Test
  void submittedCountsEveryJobAClientSubmitsByQueueAndPlugin() throws SQLException {
    MeterRegistry registry = new SimpleMeterRegistry();
    try (TaskBrokerMetrics metrics = TaskBrokerMetrics.bind(registry);
        TaskBrokerClient client =
            TaskBrokerClient.create(
                database,
                ClientConfig.builder().migrate(false).listener(metrics.listener()).build())) {
      client.submitAll(
          List.of(
              NewJob.builder("a").queue("submits").build(),
              NewJob.builder("a").queue("submits").build(),
              NewJob.builder("b").queue("submits").build()));
      try (Connection connection = database.dataSource().getConnection()) {
        client.submit(connection, NewJob.builder("a").queue("submits").build());
      }

      assertThat(submitted(registry, "submits", "a")).isEqualTo(3);
      assertThat(submitted(registry, "submits", "b")).isEqualTo(1);
    }
  }

  @Test
  void rescuesRejectedWritesAndSlotsAreCounted() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    TaskPlugin waiting =
        new TaskPlugin() {
          @Override
          public String name() {
            return "waiting";
          }

          @Override
          public JsonNode execute(TaskContext context) throws InterruptedException {
            started.countDown();
            release.await();
            return context.payload();
          }
        };
    MeterRegistry registry = new SimpleMeterRegistry();
    // A dead worker's job, for this worker's rescuer.
    UUID orphan =
        insertReturningId(
            "INSERT INTO taskbroker.jobs (queue, plugin, status, attempt, worker_id, started_at,"
                + " lease_expires_at) VALUES ('orphans', 'waiting', 'running', 1, 'dead',"
                + " now() - interval '1 hour', now() - interval '1 minute') RETURNING id");
    try (TaskBrokerMetrics metrics = TaskBrokerMetrics.bind(registry, database);
        TaskBrokerClient client =
            TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build())) {
      Worker worker =
          Worker.start(
              database,
              WorkerConfig.builder()
                  .queues(Map.of("meters", 4))
                  .lease(Duration.ofMinutes(2))
                  // Heartbeats far apart: the outcome, not a heartbeat, finds the job gone.
                  .heartbeatInterval(Duration.ofMinutes(1))
                  .rescueInterval(Duration.ofMinutes(1))
                  .listener(metrics.listener())
                  .build(),
              PluginRegistry.of(List.of(waiting)));
      try {
        metrics.bindWorker(worker);
        assertThat(registry.get("taskbroker.worker.slots.capacity").gauge().value()).isEqualTo(4);
        UUID hijacked = client.submit(NewJob.builder("waiting").queue("meters").build());
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(registry.get("taskbroker.worker.slots.busy").gauge().value()).isEqualTo(1);

        assertThat(worker.rescueNow()).isPositive();
        assertThat(registry.get("taskbroker.jobs.rescued").counter().count()).isPositive();
        assertThat(jobStatus(orphan)).isEqualTo("pending");

        // Someone else holds the job now: this worker's outcome is refused by the fence.
        execute(
            "UPDATE taskbroker.jobs SET worker_id = 'someone-else', attempt = attempt + 1,"
                + " lease_expires_at = now() + interval '1 minute' WHERE id = '"
                + hijacked
                + "'");
        release.countDown();
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> registry.find("taskbroker.writes.rejected").counter() != null);
        assertThat(
                registry
                    .get("taskbroker.writes.rejected")
                    .tags("queue", "meters", "plugin", "waiting")
                    .counter()
                    .count())
            .isEqualTo(1);
        assertThat(
                registry
                    .get("taskbroker.jobs.finished")
                    .tags("queue", "meters", "plugin", "waiting", "outcome", "lost")
                    .counter()
                    .count())
            .isEqualTo(1);
        assertThat(registry.get("taskbroker.job.duration").tags("outcome", "lost").timer().count())
            .isEqualTo(1);
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> registry.get("taskbroker.worker.slots.busy").gauge().value() == 0);
      } finally {
        worker.shutdown(Duration.ofSeconds(5));
      }
    }
    // Closing the metrics removed the gauges it bound.
    assertThat(registry.find("taskbroker.worker.slots.capacity").gauges()).isEmpty();
    assertThat(registry.find("taskbroker.queue.ready").gauges()).isEmpty();
  }

  @Test
  void queueGaugesEqualTheQueueStatsViewAndFallToZero() throws SQLException {
    execute(
        "INSERT INTO taskbroker.jobs (queue, plugin, run_at)"
            + " SELECT 'gauges', 'p', now() - interval '90 seconds' FROM generate_series(1, 3)");
    execute(
        "INSERT INTO taskbroker.jobs (queue, plugin, run_at)"
            + " SELECT 'gauges', 'p', now() + interval '1 hour' FROM generate_series(1, 2)");
    execute(
        "INSERT INTO taskbroker.jobs (queue, plugin, status, attempt, worker_id, started_at,"
            + " lease_expires_at) SELECT 'gauges-running', 'p', 'running', 1, 'w', now(),"
            + " now() + interval '1 hour' FROM generate_series(1, 4)");
    execute(
        "INSERT INTO taskbroker.jobs (queue, plugin, status, attempt, started_at, completed_at)"
            + " SELECT 'gauges', 'p', 'completed', 1, now(), now() FROM generate_series(1, 5)");
    MeterRegistry registry = new SimpleMeterRegistry();
    try (TaskBrokerMetrics metrics =
        TaskBrokerMetrics.bind(
            registry,
            database,
            MetricsConfig.builder().queueStatsInterval(Duration.ofHours(1)).build())) {
      metrics.refreshQueueGauges();
      assertThat(metrics.queueGaugesReadAt()).isNotNull();

      for (String queue : List.of("gauges", "gauges-running")) {
        long[] stats = queueStats(queue);
        assertThat(gauge(registry, "taskbroker.queue.ready", queue)).isEqualTo(stats[0] - stats[1]);
        assertThat(gauge(registry, "taskbroker.queue.scheduled", queue)).isEqualTo(stats[1]);
        assertThat(gauge(registry, "taskbroker.queue.running", queue)).isEqualTo(stats[2]);
      }
      assertThat(gauge(registry, "taskbroker.queue.ready", "gauges")).isEqualTo(3);
      assertThat(gauge(registry, "taskbroker.queue.scheduled", "gauges")).isEqualTo(2);
      assertThat(gauge(registry, "taskbroker.queue.running", "gauges-running")).isEqualTo(4);
      assertThat(gauge(registry, "taskbroker.queue.oldest_ready_age", "gauges"))
          .isBetween(89.0, 120.0);

      execute("DELETE FROM taskbroker.jobs WHERE queue IN ('gauges', 'gauges-running')");
      metrics.refreshQueueGauges();
      assertThat(gauge(registry, "taskbroker.queue.ready", "gauges")).isZero();
      assertThat(gauge(registry, "taskbroker.queue.scheduled", "gauges")).isZero();
      assertThat(gauge(registry, "taskbroker.queue.running", "gauges-running")).isZero();
      assertThat(gauge(registry, "taskbroker.queue.oldest_ready_age", "gauges")).isZero();
    }
  }

  // ---- helpers ----

  private static double submitted(MeterRegistry registry, String queue, String plugin) {
    return registry
        .get("taskbroker.jobs.submitted")
        .tags("queue", queue, "plugin", plugin)
        .counter()
        .count();
  }

  private static double gauge(MeterRegistry registry, String name, String queue) {
    return registry.get(name).tag("queue", queue).gauge().value();
  }

  /** pending, scheduled, running of the view people read. */
  private static long[] queueStats(String queue) throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        PreparedStatement query =
            connection.prepareStatement(
                "SELECT pending, scheduled, running FROM taskbroker.queue_stats WHERE queue = ?")) {
      query.setString(1, queue);
      try (ResultSet row = query.executeQuery()) {
        assertThat(row.next()).as("queue %s in queue_stats", queue).isTrue();
        return new long[] {row.getLong(1), row.getLong(2), row.getLong(3)};
      }
    }
  }

  private static String jobStatus(UUID id) throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        PreparedStatement query =
            connection.prepareStatement("SELECT status FROM taskbroker.jobs WHERE id = ?")) {
      query.setObject(1, id);
      try (ResultSet row = query.executeQuery()) {
        row.next();
        return row.getString(1);
      }
    }
  }

  private static UUID insertReturningId(String sql) throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        PreparedStatement insert = connection.prepareStatement(sql);
        ResultSet row = insert.executeQuery()) {
      row.next();
      return row.getObject(1, UUID.class);
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.execute();
    }
  }
}
