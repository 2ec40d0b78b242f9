package io.taskbroker.worker.security;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Database;
import io.taskbroker.common.JobFilter;
import io.taskbroker.common.JobNotFoundException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.plugins.PluginRegistry;
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
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The V5 queue controls under the V2 roles, each through a login of its own: a reader changes
 * nothing, a submitter redrives only its own jobs, and a worker claims from a limited queue.
 */
class QueueControlsRolesTest extends WorkerDatabaseTest {
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

  private static String queryString(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      return rows.next() ? rows.getString(1) : null;
    }
  }

  private static void assertDenied(Connection connection, String sql) {
    SQLException refused = null;
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      refused = e;
    }
    assertThat((Object) refused).as("refused: " + sql).isNotNull();
    assertThat(refused.getSQLState())
        .as(sql + ": " + refused.getMessage())
        .isEqualTo(INSUFFICIENT_PRIVILEGE);
  }

  private static String queuesTable() {
    return jobs.jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery(
                        "SELECT coalesce(string_agg(row_to_json(q)::text, '|' ORDER BY q.name),"
                            + " '') FROM taskbroker.queues q")
                    .mapTo(String.class)
                    .one());
  }

  /** A job submitted through SQL as {@code connection}'s login, then failed by the owner. */
  private static UUID failedJobOf(Connection connection, String queue) throws SQLException {
    UUID id =
        UUID.fromString(
            queryString(
                connection, "SELECT taskbroker.submit('roles-p', queue => '" + queue + "')"));
    jobs.finish(id, JobStatus.FAILED, Duration.ofMinutes(1));
    return id;
  }

  @Test
  void aReaderCanReadTheSettingsButNotPauseLimitOrRedrive() throws Exception {
    jobs.execute("SELECT taskbroker.set_queue_limits('roles-rq', global_concurrency => 2)");
    UUID failed = jobs.insert("roles-rq", "roles-p");
    jobs.finish(failed, JobStatus.FAILED, Duration.ofMinutes(1));
    String before = queuesTable();
    String reader = roles.create("reader", "taskbroker_reader");
    try (Connection connection = roles.connect(reader)) {
      assertThat(
              queryString(
                  connection,
                  "SELECT global_concurrency FROM taskbroker.queues WHERE name = 'roles-rq'"))
          .isEqualTo("2");
      assertDenied(connection, "SELECT taskbroker.pause_queue('roles-rq')");
      assertDenied(connection, "SELECT taskbroker.resume_queue('roles-rq')");
      assertDenied(connection, "SELECT taskbroker.set_queue_limits('roles-rq', 100)");
      assertDenied(connection, "SELECT taskbroker.retry('" + failed + "')");
      assertDenied(connection, "SELECT taskbroker.retry_jobs(queue => 'roles-rq')");
      assertDenied(connection, "SELECT taskbroker.cancel_jobs(every_job => true)");
      assertDenied(connection, "SELECT taskbroker.delete_jobs(every_job => true)");
      assertDenied(
          connection, "SELECT * FROM taskbroker.claim_limited('roles-rq', 'r', NULL, 1, 1000)");
      assertDenied(connection, "UPDATE taskbroker.queues SET paused = true");
    }
    assertThat(queuesTable()).isEqualTo(before);
    assertThat(jobs.status(failed)).isEqualTo(JobStatus.FAILED);
  }

  @Test
  void aSubmitterRetriesCancelsAndDeletesOnlyItsOwnJobs() throws Exception {
    String alice = roles.create("alice", "taskbroker_submitter");
    String bob = roles.create("bob", "taskbroker_submitter");
    UUID alices;
    UUID alicesSecond;
    UUID bobs;
    try (Connection a = roles.connect(alice);
        Connection b = roles.connect(bob)) {
      alices = failedJobOf(a, "roles-sq");
      alicesSecond = failedJobOf(a, "roles-sq");
      bobs = failedJobOf(b, "roles-sq");
      UUID owners = jobs.insert("roles-sq", "roles-p");
      jobs.finish(owners, JobStatus.FAILED, Duration.ofMinutes(1));

      // Someone else's job is no job: retry says NULL and leaves it failed.
      assertThat(queryString(a, "SELECT taskbroker.retry('" + bobs + "')")).isNull();
      assertThat(jobs.status(bobs)).isEqualTo(JobStatus.FAILED);
      assertThat(queryString(a, "SELECT taskbroker.retry('" + alices + "')")).isEqualTo("pending");
      // The bulk redrive counts and touches only alice's remaining failure.
      assertThat(queryString(a, "SELECT taskbroker.retry_jobs(queue => 'roles-sq')"))
          .isEqualTo("1");
      assertThat(jobs.status(alicesSecond)).isEqualTo(JobStatus.PENDING);
      assertThat(jobs.status(bobs)).isEqualTo(JobStatus.FAILED);
      assertThat(jobs.status(owners)).isEqualTo(JobStatus.FAILED);
      // Bob's bulk cancel and delete do not reach alice's pending jobs.
      assertThat(queryString(b, "SELECT taskbroker.cancel_jobs(every_job => true)")).isEqualTo("0");
      assertThat(queryString(b, "SELECT taskbroker.delete_jobs(every_job => true)")).isEqualTo("1");
      assertThat(jobs.status(alices)).isEqualTo(JobStatus.PENDING);
      assertThat(jobs.status(owners)).isEqualTo(JobStatus.FAILED);
    }
    // Through the Java client too: bob's deleted job and the owner's are not found.
    Database aliceDatabase = roles.open(alice);
    try (TaskBrokerClient client =
        TaskBrokerClient.create(aliceDatabase, ClientConfig.builder().migrate(false).build())) {
      assertThatThrownBy(() -> client.retry(bobs)).isInstanceOf(JobNotFoundException.class);
      assertThat(client.cancelAll(JobFilter.builder().queue("roles-sq").build())).isEqualTo(2);
      assertThat(jobs.status(alices)).isEqualTo(JobStatus.CANCELLED);
      // A submitter may pause and limit queues (the application's own operations).
      assertThat(client.queues().pause("roles-sq")).isTrue();
      client.queues().setLimits("roles-sq", QueueLimits.builder().globalConcurrency(4).build());
      assertThat(client.queues().get("roles-sq").orElseThrow().limits().globalConcurrency())
          .isEqualTo(4);
    }
  }

  @Test
  void inTheHistoryRolesSeeAndChangeWhatTheyDidBefore() throws Exception {
    String alice = roles.create("alice", "taskbroker_submitter");
    String bob = roles.create("bob", "taskbroker_submitter");
    String workerLogin = roles.create("worker", "taskbroker_worker");
    String reader = roles.create("reader", "taskbroker_reader");
    try (Connection a = roles.connect(alice);
        Connection b = roles.connect(bob);
        Connection w = roles.connect(workerLogin);
        Connection r = roles.connect(reader)) {
      UUID alices = failedJobOf(a, "roles-hq");
      UUID bobs = failedJobOf(b, "roles-hq");
      // The worker role runs the mover (V12), as a worker process does.
      assertThat(queryString(w, "SELECT taskbroker.move_to_history(now(), 100)")).isEqualTo("2");
      assertThat(queryString(w, "SELECT taskbroker.drop_history_before(now() - interval '7 days')"))
          .isEqualTo("0");
      assertThat(
              jobs.queryLong(
                  "SELECT count(*) FROM taskbroker.job_history WHERE id IN (?, ?)", alices, bobs))
          .isEqualTo(2);
      // A reader sees both through the view; a submitter reads only through the functions.
      assertThat(queryString(r, "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'roles-hq'"))
          .isEqualTo("2");
      assertDenied(a, "SELECT count(*) FROM taskbroker.job_history");
      assertDenied(a, "SELECT taskbroker.move_to_history(now(), 100)");
      assertThat(queryString(a, "SELECT status FROM taskbroker.get_job('" + alices + "')"))
          .isEqualTo("failed");
      assertThat(queryString(a, "SELECT status FROM taskbroker.get_job('" + bobs + "')")).isNull();
      assertThat(queryString(a, "SELECT taskbroker.retry('" + bobs + "')")).isNull();
      assertThat(queryString(a, "SELECT taskbroker.retry('" + alices + "')")).isEqualTo("pending");
      assertThat(jobs.queryLong("SELECT count(*) FROM taskbroker.job_queue WHERE id = ?", alices))
          .isEqualTo(1);
      assertThat(queryString(a, "SELECT taskbroker.delete_jobs(every_job => true)")).isEqualTo("1");
      assertThat(jobs.status(bobs)).isEqualTo(JobStatus.FAILED);
      assertThat(queryString(b, "SELECT taskbroker.delete_jobs(every_job => true)")).isEqualTo("1");
      assertThat(jobs.queryLong("SELECT count(*) FROM taskbroker.jobs WHERE id = ?", bobs))
          .isZero();
    }
  }

  @Test
  void aWorkerRoleClaimsFromALimitedQueueWithinItsLimit() throws Exception {
    jobs.execute("SELECT taskbroker.set_queue_limits('roles-wq', global_concurrency => 2)");
    jobs.insertMany("roles-wq", "roles-wp", 5);
    String workerLogin = roles.create("worker", "taskbroker_worker");
    try (Connection connection = roles.connect(workerLogin)) {
      // The limited claim, as the worker role: two of five, the limit.
      assertThat(
              queryString(
                  connection,
                  "SELECT count(*) FROM taskbroker.claim_limited('roles-wq', 'roles-w1', NULL,"
                      + " 10, 60000)"))
          .isEqualTo("2");
      assertThat(
              queryString(
                  connection,
                  "SELECT count(*) FROM taskbroker.claim_limited('roles-wq', 'roles-w1', NULL,"
                      + " 10, 60000)"))
          .as("the limit is full")
          .isEqualTo("0");
      // A worker may not write the settings table or the starts log directly.
      assertDenied(connection, "UPDATE taskbroker.queues SET global_concurrency = 100");
      assertDenied(connection, "DELETE FROM taskbroker.queue_starts");
    }
    jobs.execute(
        "UPDATE taskbroker.jobs SET status = 'pending', attempt = 0, worker_id = NULL,"
            + " lease_expires_at = NULL WHERE queue = 'roles-wq'");

    // A real worker as that role drains the limited queue.
    Database workerDatabase = roles.open(workerLogin);
    TestPlugin plugin = TestPlugin.completing("roles-wp");
    Worker worker =
        Worker.start(
            workerDatabase,
            TestWorkers.config("roles-wq", 4).build(),
            PluginRegistry.of(List.of(plugin)));
    try {
      within(15).until(() -> jobs.count("roles-wq", JobStatus.COMPLETED) == 5);
      assertThat(plugin.maxRunning()).isLessThanOrEqualTo(2);
    } finally {
      assertThat(worker.shutdown(Duration.ofSeconds(5)).abandoned()).isEmpty();
    }
  }
}
