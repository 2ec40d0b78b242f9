package io.taskbroker.worker.scheduler;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Database;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.plugins.PluginRegistry;
import io.taskbroker.worker.testing.LoginRoles;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The V4 grants: a submitter manages schedules through the functions only; a worker login runs a
 * schedule (fire_schedule inserts its jobs) though it still cannot insert a job itself.
 */
class ScheduleRolesTest extends WorkerDatabaseTest {
  private LoginRoles roles;

  @BeforeEach
  void createRoles() {
    roles = new LoginRoles(testDatabase);
  }

  @AfterEach
  void dropRoles() {
    roles.close();
  }

  private static String sqlState(Connection connection, String sql) {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
      return null;
    } catch (SQLException e) {
      return e.getSQLState();
    }
  }

  @Test
  void aSubmitterManagesSchedulesThroughTheFunctionsOnly() throws Exception {
    String app = roles.create("schedule_app", "taskbroker_submitter");
    try (Connection connection = roles.connect(app)) {
      assertThat(sqlState(connection, "SELECT taskbroker.upsert_schedule('app', '* * * * *', 'p')"))
          .isNull();
      assertThat(sqlState(connection, "SELECT taskbroker.pause_schedule('app')")).isNull();
      assertThat(sqlState(connection, "SELECT taskbroker.trigger_schedule('app')")).isNull();
      assertThat(sqlState(connection, "SELECT name FROM taskbroker.schedules")).isNull();
      assertThat(sqlState(connection, "UPDATE taskbroker.schedules SET paused = false"))
          .isEqualTo("42501");
      assertThat(
              sqlState(
                  connection,
                  "SELECT * FROM taskbroker.fire_schedule('app', NULL, '{}', '{}', now())"))
          .isEqualTo("42501");
      assertThat(sqlState(connection, "SELECT taskbroker.delete_schedule('app')")).isNull();
    }
  }

  @Test
  void aWorkerLoginFiresSlotsButCannotInsertJobs() throws Exception {
    String workerLogin = roles.create("schedule_worker", "taskbroker_worker");
    Database workerDatabase = roles.open(workerLogin);
    TestPlugin plugin = TestPlugin.completing("role-scheduled");
    Worker worker =
        Worker.start(
            workerDatabase,
            TestWorkers.config("role-scheduled", 1)
                .schedule(
                    ScheduleDefinition.builder("role-scheduled", "every 1 second", "role-scheduled")
                        .queue("role-scheduled")
                        .build())
                .schedulerInterval(Duration.ofMillis(100))
                .build(),
            PluginRegistry.of(List.of(plugin)));
    try {
      within(15).until(() -> plugin.finishedExecutions() >= 2);
    } finally {
      worker.shutdown(Duration.ofSeconds(5));
      workerDatabase.close();
    }
    try (Connection connection = roles.connect(workerLogin)) {
      assertThat(sqlState(connection, "INSERT INTO taskbroker.jobs (plugin) VALUES ('x')"))
          .isEqualTo("42501");
    }
  }
}
