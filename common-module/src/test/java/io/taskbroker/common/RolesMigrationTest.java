package io.taskbroker.common;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.testsupport.PostgresServer;
import io.taskbroker.testsupport.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Migration V2 (roles) on a database that already holds jobs, and run by an owner that may not
 * create roles. The group roles belong to the whole cluster: other test databases share them.
 */
class RolesMigrationTest {
  private static final Path V1 = Path.of("..", "db", "migration", "V1__jobs_workers_submit.sql");

  @Test
  void v2AppliesToADatabaseAtV1WithRowsAndKeepsThem() throws Exception {
    try (TestDatabase db = PostgresServer.get().createDatabase()) {
      String oldJob;
      try (Connection connection = db.connect();
          Statement statement = connection.createStatement()) {
        statement.execute(Files.readString(V1, StandardCharsets.UTF_8));
        oldJob = queryString(statement, "SELECT taskbroker.submit('echo', '{\"x\": 1}')");
      }

      assertThat(Migrations.migrate(db.dataSource())).isPositive();

      try (Connection connection = db.connect();
          Statement statement = connection.createStatement()) {
        assertThat(
                queryString(
                    statement,
                    "SELECT status || ' ' || coalesce(submitted_by, 'nobody')"
                        + " FROM taskbroker.jobs WHERE id = '"
                        + oldJob
                        + "'"))
            .isEqualTo("pending nobody");
        String newJob = queryString(statement, "SELECT taskbroker.submit('echo')");
        assertThat(
                queryString(
                    statement,
                    "SELECT submitted_by FROM taskbroker.jobs WHERE id = '" + newJob + "'"))
            .isEqualTo(db.user());
        assertThat(
                queryString(
                    statement,
                    "SELECT count(*) FROM pg_roles WHERE rolname IN"
                        + " ('taskbroker_submitter', 'taskbroker_worker', 'taskbroker_reader')"))
            .isEqualTo("3");
        assertThat(queryString(statement, "SELECT max(version) FROM taskbroker.applied_migrations"))
            .isNotEqualTo("1");
      }
    }
  }

  @Test
  void anOwnerWithoutCreateRoleMigratesAndGrantsToTheExistingRoles() throws Exception {
    String owner = "tb_owner_" + UUID.randomUUID().toString().substring(0, 8);
    try (TestDatabase db = PostgresServer.get().createDatabase()) {
      // The roles exist in the cluster (another database created them, or a superuser did).
      Migrations.migrate(db.dataSource());
      try (TestDatabase fresh = PostgresServer.get().createDatabase()) {
        try (Connection admin = fresh.connect();
            Statement statement = admin.createStatement()) {
          statement.execute("CREATE ROLE " + owner + " LOGIN NOCREATEROLE PASSWORD 'pw'");
          statement.execute("GRANT CREATE ON DATABASE \"" + fresh.name() + "\" TO " + owner);
        }
        PGSimpleDataSource asOwner = new PGSimpleDataSource();
        asOwner.setURL(fresh.jdbcUrl());
        asOwner.setUser(owner);
        asOwner.setPassword("pw");

        assertThat(Migrations.migrate(asOwner)).isPositive();

        try (Connection connection = asOwner.getConnection();
            Statement statement = connection.createStatement()) {
          assertThat(
                  queryString(
                      statement,
                      "SELECT has_function_privilege('taskbroker_submitter',"
                          + " 'taskbroker.get_job(uuid)', 'EXECUTE')"
                          + " AND has_table_privilege('taskbroker_worker', 'taskbroker.jobs',"
                          + " 'UPDATE')"
                          + " AND has_table_privilege('taskbroker_reader',"
                          + " 'taskbroker.queue_stats', 'SELECT')"
                          + " AND NOT has_table_privilege('taskbroker_submitter',"
                          + " 'taskbroker.jobs', 'SELECT')"
                          + " AND NOT has_function_privilege('public',"
                          + " 'taskbroker.submit(text, jsonb, text, integer, timestamptz,"
                          // V5: the concurrency key is an 11th argument.
                          + " interval, integer, jsonb, text, integer, text)', 'EXECUTE')"))
              .isEqualTo("t");
        }
      } finally {
        try (Connection admin = db.connect();
            Statement statement = admin.createStatement()) {
          statement.execute("DROP ROLE IF EXISTS " + owner);
        }
      }
    }
  }

  private static String queryString(Statement statement, String sql) throws SQLException {
    try (ResultSet rows = statement.executeQuery(sql)) {
      return rows.next() ? rows.getString(1) : null;
    }
  }
}
