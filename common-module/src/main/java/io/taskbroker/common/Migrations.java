package io.taskbroker.common;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the versioned migrations of {@code db/migration} with Flyway. Safe to run from many
 * processes at once: a session advisory lock serialises them, and each finds the schema current
 * after the first. Stateless and thread-safe.
 *
 * <p>taskbroker is a guest in the application's database and on its classpath. The jar carries the
 * migrations under {@value #LOCATION}, not under Flyway's (and Spring Boot's) default {@code
 * db/migration}, and Flyway here reads only that location, keeps its history in {@value
 * #SCHEMA}.{@value #HISTORY_TABLE}, and reads no callbacks, configuration files or environment
 * variables: an application's own migrations, {@code flyway.conf} or SQL callbacks are never read,
 * and its own Flyway never sees taskbroker's migrations.
 *
 * <p>Two older layouts are adopted without re-running anything: a history in {@code
 * taskbroker.flyway_schema_history} (where earlier versions kept it, under Flyway's default name)
 * is renamed, and a schema applied by hand with {@code psql -f} is baselined at the highest version
 * in {@code taskbroker.applied_migrations}.
 */
public final class Migrations {
  private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
  public static final String SCHEMA = "taskbroker";

  /** Flyway's history table, in {@link #SCHEMA}. */
  public static final String HISTORY_TABLE = "taskbroker_schema_history";

  /** Where the jar carries the migrations: a classpath folder of taskbroker's own. */
  public static final String LOCATION = "io/taskbroker/db/migration";

  // The name earlier versions gave the history table (Flyway's default), in the same schema.
  private static final String OLD_HISTORY_TABLE = "flyway_schema_history";

  // Arbitrary but fixed: "taskbroker migrate" as a 64-bit key.
  private static final long MIGRATION_LOCK_KEY = 0x7461736b6d696772L;

  private Migrations() {}

  /**
   * Brings the schema up to date. Takes up to three connections of {@code dataSource} at once (one
   * holds the lock, Flyway uses the others).
   *
   * @return how many migrations this call applied (0 when the schema was current)
   */
  public static int migrate(DataSource dataSource) {
    // Flyway locks too, but only once its history table exists; two first-time starts could
    // both try to create it. Our own lock on a separate session closes that window, and makes
    // the adoption of an old history table happen once.
    try (Connection lock = dataSource.getConnection()) {
      lock.setAutoCommit(true);
      try (PreparedStatement statement = lock.prepareStatement("SELECT pg_advisory_lock(?)")) {
        statement.setLong(1, MIGRATION_LOCK_KEY);
        statement.execute();
      }
      try {
        adoptOldHistoryTable(lock);
        FluentConfiguration flyway = configuration(dataSource);
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
   * Every option that decides what Flyway reads is set here rather than left to a default, so
   * nothing of the application's classpath or environment reaches our migration run.
   */
  private static FluentConfiguration configuration(DataSource dataSource) {
    // Our own class loader, not the thread's context loader: the location is in our jar, and a
    // plugin's or the application's loader must not contribute resources to it.
    return Flyway.configure(Migrations.class.getClassLoader())
        .dataSource(dataSource)
        .locations("classpath:" + LOCATION)
        // Missing migrations are a packaging bug; without this Flyway would report "up to date".
        .failOnMissingLocations(true)
        // SQL callbacks (beforeMigrate.sql, ...) are looked for in the locations and in the
        // callback locations; taskbroker has none, and must never run an application's.
        .callbackLocations("classpath:" + LOCATION)
        .skipDefaultCallbacks(true)
        .schemas(SCHEMA)
        .defaultSchema(SCHEMA)
        .createSchemas(true)
        .table(HISTORY_TABLE)
        // The files are plain SQL that psql -f applies as they are; Flyway must run the same text.
        .placeholderReplacement(false)
        .encoding(StandardCharsets.UTF_8)
        .outOfOrder(false)
        .cleanDisabled(true)
        .loggers("slf4j");
  }

  /**
   * Renames the history table of earlier versions to {@link #HISTORY_TABLE}, with its index and
   * key, when only the old one exists. Runs under the migration lock, so exactly one process does
   * it; in one transaction, so a crash leaves either layout whole.
   */
  private static void adoptOldHistoryTable(Connection connection) throws SQLException {
    if (!tableExists(connection, SCHEMA + "." + OLD_HISTORY_TABLE)
        || tableExists(connection, SCHEMA + "." + HISTORY_TABLE)) {
      return;
    }
    connection.setAutoCommit(false);
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "ALTER TABLE taskbroker.flyway_schema_history RENAME TO taskbroker_schema_history");
      // Cosmetic, but an adopted schema then looks like a fresh one to \d and to diffs.
      statement.execute(
          "ALTER INDEX IF EXISTS taskbroker.flyway_schema_history_s_idx"
              + " RENAME TO taskbroker_schema_history_s_idx");
      if (constraintExists(connection, "flyway_schema_history_pk")) {
        statement.execute(
            "ALTER TABLE taskbroker.taskbroker_schema_history"
                + " RENAME CONSTRAINT flyway_schema_history_pk TO taskbroker_schema_history_pk");
      }
      connection.commit();
    } catch (SQLException | RuntimeException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(true);
    }
    LOG.info(
        "Adopted the migration history of an earlier taskbroker: renamed {}.{} to {}.{}",
        SCHEMA,
        OLD_HISTORY_TABLE,
        SCHEMA,
        HISTORY_TABLE);
  }

  /**
   * The highest version recorded in {@code applied_migrations} when the schema exists but Flyway's
   * history does not (the migrations were applied by hand); otherwise null.
   */
  private static Integer handAppliedVersion(Connection connection) throws SQLException {
    if (!tableExists(connection, SCHEMA + ".applied_migrations")
        || tableExists(connection, SCHEMA + "." + HISTORY_TABLE)) {
      return null;
    }
    try (PreparedStatement statement =
            connection.prepareStatement("SELECT max(version) FROM taskbroker.applied_migrations");
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

  private static boolean constraintExists(Connection connection, String name) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint c"
                + " JOIN pg_namespace n ON n.oid = c.connamespace"
                + " WHERE n.nspname = 'taskbroker' AND c.conname = ?)")) {
      statement.setString(1, name);
      try (var rows = statement.executeQuery()) {
        return rows.next() && rows.getBoolean(1);
      }
    }
  }
}
