package io.taskbroker.common;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the versioned migrations of {@code db/migration} (packaged in this jar) with Flyway. Safe
 * to run from many processes at once: a session advisory lock serialises them, and each finds the
 * schema current after the first. Stateless and thread-safe.
 */
public final class Migrations {
  private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
  public static final String SCHEMA = "taskbroker";
  // Arbitrary but fixed: "taskbroker migrate" as a 64-bit key.
  private static final long MIGRATION_LOCK_KEY = 0x7461736b6d696772L;

  private Migrations() {}

  /**
   * Brings the schema up to date.
   *
   * @return how many migrations this call applied (0 when the schema was current)
   */
  public static int migrate(DataSource dataSource) {
    // Flyway locks too, but only once its history table exists; two first-time starts could
    // both try to create it. Our own lock on a separate session closes that window.
    try (Connection lock = dataSource.getConnection()) {
      lock.setAutoCommit(true);
      try (PreparedStatement statement = lock.prepareStatement("SELECT pg_advisory_lock(?)")) {
        statement.setLong(1, MIGRATION_LOCK_KEY);
        statement.execute();
      }
      try {
        var flyway =
            Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                .schemas(SCHEMA)
                .createSchemas(true)
                .table("flyway_schema_history")
                .loggers("slf4j");
        Integer handApplied = handAppliedVersion(lock);
        if (handApplied != null) {
          LOG.info(
              "Schema {} was created without Flyway (psql -f?) up to version {}; adopting it",
              SCHEMA,
              handApplied);
          flyway.baselineOnMigrate(true).baselineVersion(Integer.toString(handApplied));
        }
        MigrateResult result = flyway.load().migrate();
        if (result.migrationsExecuted > 0) {
          LOG.info(
              "Applied {} migration(s); schema {} is now at version {}",
              result.migrationsExecuted,
              SCHEMA,
              result.targetSchemaVersion);
        }
        return result.migrationsExecuted;
      } finally {
        try (PreparedStatement statement = lock.prepareStatement("SELECT pg_advisory_unlock(?)")) {
          statement.setLong(1, MIGRATION_LOCK_KEY);
          statement.execute();
        }
      }
    } catch (SQLException e) {
      throw new DatabaseException(
          "cannot migrate schema " + SCHEMA + ": " + e.getMessage(), e.getSQLState(), e);
    } catch (FlywayException e) {
      throw new DatabaseException(
          "cannot migrate schema " + SCHEMA + ": " + e.getMessage(), SqlStates.of(e), e);
    }
  }

  /**
   * The highest version recorded in {@code applied_migrations} when the schema exists but Flyway's
   * history does not (the migrations were applied by hand); otherwise null.
   */
  private static Integer handAppliedVersion(Connection connection) throws SQLException {
    String sql =
        "SELECT (SELECT max(version) FROM taskbroker.applied_migrations)"
            + " WHERE to_regclass('taskbroker.applied_migrations') IS NOT NULL"
            + "   AND to_regclass('taskbroker.flyway_schema_history') IS NULL";
    if (!tableExists(connection, "taskbroker.applied_migrations")) {
      return null;
    }
    try (PreparedStatement statement = connection.prepareStatement(sql);
        var rows = statement.executeQuery()) {
      if (rows.next()) {
        int version = rows.getInt(1);
        return rows.wasNull() ? null : version;
      }
      return null;
    }
  }

  private static boolean tableExists(Connection connection, String name) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      statement.setString(1, name);
      try (var rows = statement.executeQuery()) {
        return rows.next() && rows.getBoolean(1);
      }
    }
  }
}
