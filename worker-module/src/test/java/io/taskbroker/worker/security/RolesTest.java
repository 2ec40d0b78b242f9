package io.taskbroker.worker.security;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Database;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobNotFoundException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Migrations;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.plugins.PluginRegistry;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.JobFactory;
import io.taskbroker.worker.testing.LoginRoles;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The group roles of migration V2, each through a login role of its own: each can do its part and
 * nothing more, and a login granted none of them can do nothing at all.
 */
class RolesTest extends WorkerDatabaseTest {
  private static final String INSUFFICIENT_PRIVILEGE = "42501";

  private LoginRoles roles;

  @BeforeEach
  void createRoles() {
    roles = new LoginRoles(testDatabase);
  }

  @AfterEach
  void dropRoles() {
    roles.close();
  }

  private static void assertDenied(Connection connection, String sql) {
    SQLException refused = null;
    try {
      execute(connection, sql);
    } catch (SQLException e) {
      refused = e;
    }
    assertThat(refused == null).as("refused: " + sql).isFalse();
    assertThat(refused.getSQLState())
        .as(sql + ": " + refused.getMessage())
        .isEqualTo(INSUFFICIENT_PRIVILEGE);
  }

  private static void execute(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static String queryString(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      return rows.next() ? rows.getString(1) : null;
    }
  }

  @Test
  void aSubmitterRoleCanSubmitReadItsJobCancelAndAwaitButNotReadOtherPayloads() throws Exception {
    UUID someoneElses =
        jobs.insert(JobFactory.job("roles-other", "roles-other").payload(Map.of("secret", "s3")));
    String app = roles.create("submitter", "taskbroker_submitter");
    Database appDatabase = roles.open(app);
    // Migrating on start, the default, finds the schema current and changes nothing.
    assertThat(Migrations.migrate(appDatabase.dataSource())).isZero();
    try (TaskBrokerClient client =
        TaskBrokerClient.create(appDatabase, ClientConfig.builder().migrate(false).build())) {
      // Submit (the client's batched INSERT), read it back, await it while a worker runs it.
      UUID mine =
          client.submit(
              NewJob.builder("roles-sub").queue("roles-sub").payload(Map.of("x", 1)).build());
      Job read = client.get(mine).orElseThrow();
      assertThat(read.status()).isEqualTo(JobStatus.PENDING);
      assertThat(read.payload().get("x").asInt()).isEqualTo(1);
      var awaited = client.await(mine);
      workers.start("roles-sub", 1, TestPlugin.completing("roles-sub"));
      assertThat(awaited.get(10, TimeUnit.SECONDS).status()).isEqualTo(JobStatus.COMPLETED);
      assertThat(client.getAll(List.of(mine, someoneElses)))
          .extracting(Job::id)
          .containsExactly(mine);

      // Cancel its own job.
      UUID unserved = client.submit(NewJob.builder("roles-none").queue("roles-none").build());
      assertThat(client.cancel(unserved)).isEqualTo(JobStatus.CANCELLED);

      // Someone else's job is no job at all: not readable, not cancellable.
      assertThat(client.get(someoneElses)).isEmpty();
      assertThatThrownBy(() -> client.cancel(someoneElses))
          .isInstanceOf(JobNotFoundException.class);
      assertThat(jobs.status(someoneElses)).isEqualTo(JobStatus.PENDING);
    }

    try (Connection connection = roles.connect(app)) {
      // From SQL too: submit, and read its own status.
      String id =
          queryString(connection, "SELECT taskbroker.submit('roles-none', queue => 'roles-none')");
      assertThat(queryString(connection, "SELECT taskbroker.job_status('" + id + "')"))
          .isEqualTo("pending");
      // The bulk submit, recorded as this role's jobs like the single one.
      String many =
          queryString(
              connection,
              "SELECT string_agg(id::text, ',') FROM taskbroker.submit_many('roles-none',"
                  + " '[{\"n\": 1}, {\"n\": 2}]', queue => 'roles-none') AS id");
      for (String manyId : many.split(",")) {
        assertThat(queryString(connection, "SELECT taskbroker.job_status('" + manyId + "')"))
            .isEqualTo("pending");
      }
      assertThat(queryString(connection, "SELECT taskbroker.job_status('" + someoneElses + "')"))
          .isNull();
      // A plain INSERT that leaves the id to the column default (V10: the role may run it).
      execute(
          connection,
          "INSERT INTO taskbroker.jobs (plugin, queue) VALUES ('roles-plain', 'roles-none')");
      assertDenied(connection, "SELECT payload FROM taskbroker.jobs");
      assertDenied(connection, "SELECT id FROM taskbroker.jobs WHERE id = '" + someoneElses + "'");
      assertDenied(connection, "UPDATE taskbroker.jobs SET status = 'failed'");
      assertDenied(connection, "DELETE FROM taskbroker.jobs");
      assertDenied(
          connection, "INSERT INTO taskbroker.jobs (plugin, status) VALUES ('x', 'running')");
      assertDenied(
          connection,
          "INSERT INTO taskbroker.jobs (plugin, submitted_by) VALUES ('x', 'postgres')");
      assertDenied(connection, "SELECT * FROM taskbroker.workers");
      assertDenied(connection, "SELECT * FROM taskbroker.queue_stats");
    }
  }

  @Test
  void aReaderRoleCannotWrite() throws Exception {
    UUID id = jobs.insert(JobFactory.job("roles-read", "roles-read").payload(Map.of("y", 2)));
    String operator = roles.create("reader", "taskbroker_reader");
    try (Connection connection = roles.connect(operator)) {
      assertThat(
              queryString(
                  connection, "SELECT payload->>'y' FROM taskbroker.jobs WHERE id = '" + id + "'"))
          .isEqualTo("2");
      for (String view : List.of("queue_stats", "unserved_jobs", "throughput", "workers")) {
        execute(connection, "SELECT * FROM taskbroker." + view);
      }
      assertThat(queryString(connection, "SELECT taskbroker.job_status('" + id + "')"))
          .isEqualTo("pending");

      assertDenied(connection, "INSERT INTO taskbroker.jobs (plugin) VALUES ('x')");
      assertDenied(connection, "UPDATE taskbroker.jobs SET priority = 1");
      assertDenied(connection, "DELETE FROM taskbroker.jobs");
      assertDenied(connection, "SELECT id FROM taskbroker.job_queue FOR UPDATE");
      assertDenied(connection, "DELETE FROM taskbroker.workers");
      assertDenied(connection, "SELECT taskbroker.submit('x')");
      assertDenied(connection, "SELECT taskbroker.cancel('" + id + "')");
    }
    assertThat(jobs.status(id)).isEqualTo(JobStatus.PENDING);
  }

  @Test
  void aWorkerRoleRunsJobs() throws Exception {
    List<UUID> ids = jobs.insertMany("roles-work", "roles-work", 5);
    String workerLogin = roles.create("worker", "taskbroker_worker");
    Database workerDatabase = roles.open(workerLogin);
    assertThat(Migrations.migrate(workerDatabase.dataSource())).isZero();
    TestPlugin plugin = TestPlugin.completing("roles-work");
    Gate never = new Gate();
    TestPlugin waiting =
        TestPlugin.named(
            "roles-wait",
            context -> {
              never.pass();
              return null;
            });
    Worker worker =
        Worker.start(
            workerDatabase,
            TestWorkers.config("roles-work", 2).build(),
            PluginRegistry.of(List.of(plugin, waiting)));
    try {
      within(10).until(() -> jobs.all(ids, JobStatus.COMPLETED));
      // A cancel reaches its running job: the worker confirms it in the table, as this role.
      UUID cancelled = jobs.insert("roles-work", "roles-wait");
      within(10).until(() -> waiting.running() == 1);
      assertThat(jobs.cancel(cancelled)).isEqualTo("running");
      within(10).until(() -> jobs.status(cancelled) == JobStatus.CANCELLED);
    } finally {
      assertThat(worker.shutdown(Duration.ofSeconds(5)).abandoned()).isEmpty();
    }
    try (Connection connection = roles.connect(workerLogin)) {
      assertDenied(connection, "INSERT INTO taskbroker.jobs (plugin) VALUES ('x')");
      assertDenied(connection, "SELECT taskbroker.submit('x')");
      assertDenied(connection, "DROP TABLE taskbroker.workers");
    }
  }

  @Test
  void aRoleWithNoGrantsCanDoNothing() throws Exception {
    UUID id = jobs.insert("roles-none", "roles-none");
    String nobody = roles.create("nobody");
    try (Connection connection = roles.connect(nobody)) {
      for (String sql :
          List.of(
              "SELECT * FROM taskbroker.jobs",
              "SELECT * FROM taskbroker.workers",
              "SELECT * FROM taskbroker.queue_stats",
              "INSERT INTO taskbroker.jobs (plugin) VALUES ('x')",
              "UPDATE taskbroker.jobs SET status = 'failed'",
              "SELECT taskbroker.submit('x')",
              "SELECT taskbroker.cancel('" + id + "')",
              "SELECT * FROM taskbroker.get_job('" + id + "')",
              "SELECT taskbroker.job_status('" + id + "')")) {
        assertDenied(connection, sql);
      }
    }
    assertThat(jobs.status(id)).isEqualTo(JobStatus.PENDING);
  }
}
