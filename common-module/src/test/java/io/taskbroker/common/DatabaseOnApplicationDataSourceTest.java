package io.taskbroker.common;

import static io.taskbroker.common.JdbcHelpers.one;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A {@link Database} on a pool the application owns, as an embedding application would. */
@WithPostgres
class DatabaseOnApplicationDataSourceTest {
  private final TestDatabase db;

  DatabaseOnApplicationDataSourceTest(TestDatabase db) {
    this.db = db;
  }

  @BeforeAll
  static void migrate(TestDatabase db) {
    Migrations.migrate(db.dataSource());
  }

  @Test
  void databaseOnAnApplicationDataSourceSubmitsAndListens() throws SQLException {
    try (HikariDataSource applicationPool = applicationPool(4, true)) {
      String queue = "app-" + UUID.randomUUID();
      try (Database database = Database.using(applicationPool);
          Connection listener = database.openDedicatedConnection()) {
        SqlSubmitTest.listen(listener, "taskbroker_new_job");
        JobRepository jobs = new JobRepository(database);

        UUID id =
            jobs.insert(
                    List.of(NewJob.builder("echo").queue(queue).payload(Map.of("x", 1)).build()))
                .get(0);

        assertThat(SqlSubmitTest.receiveUntil(listener, queue)).contains(queue);
        assertThat(
                new WorkerRepository(database)
                    .claim("app-worker", queue, null, 10, Duration.ofMinutes(1)))
            .extracting(Job::id)
            .containsExactly(id);

        // The application's own transaction, as with a pool of taskbroker's own.
        try (Connection connection = applicationPool.getConnection()) {
          connection.setAutoCommit(false);
          UUID rolledBack =
              jobs.insert(connection, List.of(NewJob.builder("echo").queue(queue).build())).get(0);
          connection.rollback();
          assertThat(jobs.get(rolledBack)).isEmpty();
        }

        assertThat(applicationPool.getHikariPoolMXBean().getActiveConnections())
            .as("the LISTEN connection is one of the pool's, held")
            .isEqualTo(1);
        assertThat(database.config().jdbcUrl())
            .as("a key of its own for in-process wake-ups")
            .isNotEqualTo(Database.using(applicationPool).config().jdbcUrl());
      }

      assertThat(applicationPool.isClosed()).as("closing the Database").isFalse();
      assertThat(applicationPool.getHikariPoolMXBean().getActiveConnections())
          .as("the LISTEN connection went back")
          .isZero();
      try (Connection connection = applicationPool.getConnection()) {
        assertThat(one(connection, Integer.class, "SELECT 1")).isEqualTo(1);
      }
    }
  }

  @Test
  void givenAListenConfigItListensOutsideTheApplicationsPool() throws SQLException {
    DatabaseConfig listenOn =
        DatabaseConfig.builder()
            .jdbcUrl(db.jdbcUrl())
            .user(db.user())
            .password(db.password().isEmpty() ? null : db.password())
            .build();
    try (HikariDataSource applicationPool = applicationPool(1, true);
        Database database = Database.using(applicationPool, listenOn);
        Connection listener = database.openDedicatedConnection()) {
      SqlSubmitTest.listen(listener, "taskbroker_new_job");
      String queue = "outside-" + UUID.randomUUID();

      new JobRepository(database).insert(List.of(NewJob.builder("echo").queue(queue).build()));

      assertThat(SqlSubmitTest.receiveUntil(listener, queue)).contains(queue);
      assertThat(applicationPool.getHikariPoolMXBean().getActiveConnections()).isZero();
      assertThat(database.config()).isSameAs(listenOn);
    }
  }

  @Test
  void aDataSourceWithoutAutoCommitIsRefusedAtOnce() {
    try (HikariDataSource applicationPool = applicationPool(2, false)) {
      // Otherwise every statement of taskbroker's would be rolled back when the pool takes its
      // connection back: submitted jobs would vanish without an error.
      assertThatThrownBy(() -> Database.using(applicationPool))
          .isInstanceOf(DatabaseException.class)
          .hasMessageContaining("auto-commit");
    }
  }

  private HikariDataSource applicationPool(int size, boolean autoCommit) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.jdbcUrl());
    config.setUsername(db.user());
    if (!db.password().isEmpty()) {
      config.setPassword(db.password());
    }
    config.setMaximumPoolSize(size);
    config.setAutoCommit(autoCommit);
    config.setPoolName("application");
    return new HikariDataSource(config);
  }
}
