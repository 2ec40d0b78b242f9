package io.taskbroker.common;

import static io.taskbroker.common.JdbcHelpers.assertRefused;
import static io.taskbroker.common.JdbcHelpers.countJobs;
import static io.taskbroker.common.JdbcHelpers.markRunning;
import static io.taskbroker.common.JdbcHelpers.one;
import static io.taskbroker.common.JdbcHelpers.submit;
import static io.taskbroker.common.JdbcHelpers.update;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.testsupport.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/** {@code taskbroker.submit(...)} from plain SQL, as any language would call it. */
class SqlSubmitTest extends MigratedDatabaseTest {
  SqlSubmitTest(TestDatabase db) {
    super(db);
  }

  @Test
  void jobSubmittedInRolledBackTransactionDoesNotExist() throws SQLException {
    connection.setAutoCommit(false);
    UUID id = submit(connection, "'echo', '{\"x\": 1}'");
    assertThat(jobExists(connection, id)).as("visible inside its transaction").isTrue();

    connection.rollback();

    assertThat(jobExists(connection, id)).isFalse();
  }

  @Test
  void jobSubmittedInCommittedTransactionExistsForEveryone() throws SQLException {
    connection.setAutoCommit(false);
    UUID id = submit(connection, "'echo', '{\"x\": 1}'");
    try (Connection other = db.connect()) {
      assertThat(jobExists(other, id)).as("invisible before commit").isFalse();

      connection.commit();

      assertThat(jobExists(other, id)).isTrue();
      assertThat(one(other, String.class, "SELECT status FROM taskbroker.jobs WHERE id = ?", id))
          .isEqualTo("pending");
    }
  }

  @Test
  void submitTakesNamedArguments() throws SQLException {
    UUID id =
        submit(
            connection,
            "'echo', '{\"x\":1}', queue => 'q', priority => 5, delay => interval '1 minute',"
                + " max_attempts => 2, metadata => '{}', unique_key => 'named-args'");

    try (Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT plugin, payload::text, queue, priority, max_attempts, metadata::text,"
                    + " unique_key, status, attempt, run_at - created_at AS delay"
                    + " FROM taskbroker.jobs WHERE id = '"
                    + id
                    + "'")) {
      assertThat(row.next()).isTrue();
      assertThat(row.getString("plugin")).isEqualTo("echo");
      assertThat(row.getString("payload")).isEqualTo("{\"x\": 1}");
      assertThat(row.getString("queue")).isEqualTo("q");
      assertThat(row.getInt("priority")).isEqualTo(5);
      assertThat(row.getInt("max_attempts")).isEqualTo(2);
      assertThat(row.getString("metadata")).isEqualTo("{}");
      assertThat(row.getString("unique_key")).isEqualTo("named-args");
      assertThat(row.getString("status")).isEqualTo("pending");
      assertThat(row.getInt("attempt")).isZero();
      // created_at and the delay's now() are the same transaction timestamp.
      assertThat(row.getString("delay")).isEqualTo("00:01:00");
    }
  }

  @Test
  void runAtWinsOverDelay() throws SQLException {
    UUID id =
        submit(
            connection,
            "'echo', run_at => timestamptz '2040-02-03 04:05:06+00', delay => interval '1 hour'");

    OffsetDateTime runAt =
        one(
            connection,
            OffsetDateTime.class,
            "SELECT run_at FROM taskbroker.jobs WHERE id = ?",
            id);
    assertThat(runAt.toInstant())
        .isEqualTo(OffsetDateTime.parse("2040-02-03T04:05:06Z").toInstant());
  }

  @Test
  void payloadThatIsNotAnObjectIsRefusedAndNothingIsWritten() throws SQLException {
    long before = countJobs(connection);

    assertRefused(() -> submit(connection, "'x', '[1]'"), "23514", "jobs_payload_is_object");
    assertRefused(() -> submit(connection, "'x', '\"text\"'"), "23514", "jobs_payload_is_object");
    assertRefused(
        () -> submit(connection, "'x', metadata => '[]'"), "23514", "jobs_metadata_is_object");

    assertThat(countJobs(connection)).isEqualTo(before);
  }

  @Test
  void zeroOrNegativeMaxAttemptsIsRefusedAndNothingIsWritten() throws SQLException {
    long before = countJobs(connection);

    assertRefused(
        () -> submit(connection, "'x', max_attempts => 0"), "23514", "jobs_max_attempts_valid");
    // -1 also breaks attempt <= max_attempts, which PostgreSQL may check first.
    assertRefused(() -> submit(connection, "'x', max_attempts => -1"), "23514", null);

    assertThat(countJobs(connection)).isEqualTo(before);
  }

  @Test
  void emptyOrMissingPluginIsRefusedAndNothingIsWritten() throws SQLException {
    long before = countJobs(connection);

    assertRefused(() -> submit(connection, "''"), "23514", "jobs_plugin_valid");
    assertRefused(() -> submit(connection, "NULL"), "23502", null);
    assertRefused(() -> submit(connection, "'x', queue => ''"), "23514", "jobs_queue_valid");

    assertThat(countJobs(connection)).isEqualTo(before);
  }

  @Test
  void updateToUnknownStatusIsRefused() throws SQLException {
    UUID id = submit(connection, "'echo'");

    assertRefused(
        () -> update(connection, "UPDATE taskbroker.jobs SET status = 'nope' WHERE id = ?", id),
        "23514",
        "jobs_status_valid");

    assertThat(one(connection, String.class, "SELECT status FROM taskbroker.jobs WHERE id = ?", id))
        .isEqualTo("pending");
  }

  @Test
  void uniqueKeyIsHeldWhilePendingOrRunningAndFreeOnceFinished() throws SQLException {
    UUID first = submit(connection, "'echo', unique_key => 'report-42'");
    long before = countJobs(connection);

    assertRefused(
        () -> submit(connection, "'echo', unique_key => 'report-42'"),
        "23505",
        "jobs_unique_key_idx");

    markRunning(connection, first, "worker-a");
    assertRefused(
        () -> submit(connection, "'echo', unique_key => 'report-42'"),
        "23505",
        "jobs_unique_key_idx");
    assertThat(countJobs(connection)).isEqualTo(before);

    update(
        connection,
        "UPDATE taskbroker.jobs SET status = 'completed', completed_at = now(), worker_id = NULL,"
            + " lease_expires_at = NULL WHERE id = ?",
        first);
    UUID second = submit(connection, "'echo', unique_key => 'report-42'");

    assertThat(second).isNotEqualTo(first);
    assertThat(countJobs(connection)).isEqualTo(before + 1);
  }

  @Test
  void submitNotifiesEachQueueOncePerTransaction() throws SQLException {
    try (Connection listener = db.connect()) {
      listen(listener, "taskbroker_new_job");

      connection.setAutoCommit(false);
      submit(connection, "'echo', queue => 'sql-notify'");
      submit(connection, "'echo', queue => 'sql-notify'");
      // A scheduled job notifies too, so a producer can set a timer for its run_at.
      submit(connection, "'echo', queue => 'sql-later', delay => interval '1 hour'");
      submit(connection, "'echo', queue => 'sql-later', delay => interval '2 hours'");
      connection.commit();
      // Notifications reach a listener in commit order: once the sentinel arrives, everything the
      // transaction above sent has arrived too.
      try (Statement statement = connection.createStatement()) {
        statement.execute("SELECT pg_notify('taskbroker_new_job', 'sentinel')");
      }
      connection.commit();

      assertThat(receiveUntil(listener, "sentinel"))
          .containsExactly("sql-notify", "sql-later", "sentinel");
    }
  }

  private static boolean jobExists(Connection connection, UUID id) throws SQLException {
    return one(
        connection, Boolean.class, "SELECT count(*) = 1 FROM taskbroker.jobs WHERE id = ?", id);
  }

  static void listen(Connection listener, String channel) throws SQLException {
    try (Statement statement = listener.createStatement()) {
      statement.execute("LISTEN " + channel);
    }
  }

  /** The payloads received, in order, up to and including {@code last}; fails after 10 s. */
  static List<String> receiveUntil(Connection listener, String last) throws SQLException {
    PGConnection pg = listener.unwrap(PGConnection.class);
    List<String> payloads = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!payloads.contains(last)) {
      long remaining = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
      assertThat(System.nanoTime())
          .as("'%s' never arrived; got %s", last, payloads)
          .isLessThan(deadline);
      PGNotification[] batch = pg.getNotifications((int) remaining);
      if (batch != null) {
        for (PGNotification notification : batch) {
          payloads.add(notification.getParameter());
        }
      }
    }
    return payloads;
  }
}
