package io.taskbroker.common;

import static io.taskbroker.common.JdbcHelpers.assertRefused;
import static io.taskbroker.common.JdbcHelpers.markRunning;
import static io.taskbroker.common.JdbcHelpers.one;
import static io.taskbroker.common.JdbcHelpers.submit;
import static io.taskbroker.common.JdbcHelpers.update;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.testsupport.TestDatabase;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The invariants the jobs table keeps itself, whoever writes to it. */
class JobsTableConstraintsTest extends MigratedDatabaseTest {
  private static final Instant RUN_AT = Instant.parse("2031-03-04T05:06:07.123Z");

  JobsTableConstraintsTest(TestDatabase db) {
    super(db);
  }

  @Test
  void finalStatusWithoutCompletedAtIsRefused() throws SQLException {
    UUID id = submit(connection, "'echo'");

    for (String status : new String[] {"completed", "failed", "cancelled"}) {
      assertRefused(
          () ->
              update(connection, "UPDATE taskbroker.jobs SET status = ? WHERE id = ?", status, id),
          "23514",
          "jobs_finished_has_completed_at");
    }
  }

  @Test
  void unfinishedJobWithCompletedAtIsRefused() throws SQLException {
    UUID id = submit(connection, "'echo'");

    assertRefused(
        () ->
            update(connection, "UPDATE taskbroker.jobs SET completed_at = now() WHERE id = ?", id),
        "23514",
        "jobs_finished_has_completed_at");
  }

  @Test
  void runningWithoutWorkerIdIsRefused() throws SQLException {
    UUID id = submit(connection, "'echo'");

    assertRefused(
        () ->
            update(
                connection,
                "UPDATE taskbroker.jobs SET status = 'running', started_at = now(),"
                    + " lease_expires_at = now() + interval '1 minute' WHERE id = ?",
                id),
        "23514",
        "jobs_running_has_claim");
  }

  @Test
  void runningWithoutStartedAtIsRefused() throws SQLException {
    UUID id = submit(connection, "'echo'");

    assertRefused(
        () ->
            update(
                connection,
                "UPDATE taskbroker.jobs SET status = 'running', worker_id = 'w',"
                    + " lease_expires_at = now() + interval '1 minute' WHERE id = ?",
                id),
        "23514",
        "jobs_running_has_started_at");
  }

  @Test
  void finishedJobThatKeepsItsLeaseIsRefused() throws SQLException {
    UUID id = submit(connection, "'echo'");
    markRunning(connection, id, "worker-a");

    assertRefused(
        () ->
            update(
                connection,
                "UPDATE taskbroker.jobs SET status = 'completed', completed_at = now()"
                    + " WHERE id = ?",
                id),
        "23514",
        "jobs_lease_only_when_running");
  }

  @Test
  void resultOnAJobThatDidNotCompleteIsRefused() throws SQLException {
    UUID id = submit(connection, "'echo'");

    assertRefused(
        () -> update(connection, "UPDATE taskbroker.jobs SET result = '{}' WHERE id = ?", id),
        "23514",
        "jobs_result_only_when_completed");
  }

  @Test
  void attemptBeyondMaxAttemptsAndProgressOutOfRangeAreRefused() throws SQLException {
    UUID id = submit(connection, "'echo', max_attempts => 1");

    assertRefused(
        () -> update(connection, "UPDATE taskbroker.jobs SET attempt = 2 WHERE id = ?", id),
        "23514",
        "jobs_attempt_valid");
    assertRefused(
        () -> update(connection, "UPDATE taskbroker.jobs SET progress = 1.5 WHERE id = ?", id),
        "23514",
        "jobs_progress_valid");
  }

  @Test
  void timestampsAreTheSameInstantInANonUtcSessionTimeZone() throws SQLException {
    try (Statement statement = connection.createStatement()) {
      // UTC+13:45 in March: any code that drops the offset is off by hours, not seconds.
      statement.execute("SET TIME ZONE 'Pacific/Chatham'");
    }
    UUID id = submit(connection, "'echo', run_at => timestamptz '2031-03-04 05:06:07.123+00'");

    assertThat(
            one(
                connection,
                String.class,
                "SELECT run_at::text FROM taskbroker.jobs WHERE id = ?",
                id))
        .isEqualTo("2031-03-04 18:51:07.123+13:45");
    assertThat(
            one(
                    connection,
                    OffsetDateTime.class,
                    "SELECT run_at FROM taskbroker.jobs WHERE id = ?",
                    id)
                .toInstant())
        .isEqualTo(RUN_AT);
  }

  @Test
  void repositoryReadsInstantsRightWhenTheSessionIsNotUtc() throws SQLException {
    UUID id = submit(connection, "'echo', run_at => timestamptz '2031-03-04 05:06:07.123+00'");
    DatabaseConfig config =
        DatabaseConfig.builder()
            .jdbcUrl(db.jdbcUrl())
            .user(db.user())
            .password(db.password().isEmpty() ? null : db.password())
            .poolSize(1)
            .build();

    try (Database database = Database.connect(config)) {
      Job job =
          database
              .jdbi()
              .withHandle(
                  handle -> {
                    handle.execute("SET TIME ZONE 'Pacific/Chatham'");
                    return new JobRepository(database).get(handle, id).orElseThrow();
                  });

      assertThat(job.runAt()).isEqualTo(RUN_AT);
      assertThat(job.createdAt()).isCloseTo(Instant.now(), within(1, ChronoUnit.MINUTES));
      assertThat(job.startedAt()).isNull();
      assertThat(job.completedAt()).isNull();
    }
  }
}
