package io.taskbroker.worker.it;

import io.taskbroker.common.Migrations;
import io.taskbroker.testsupport.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The test's side of the database: the taskbroker schema, the tables the test plugins record into,
 * and small plain-JDBC queries. Queries share one connection (tests poll often, and a new backend
 * per poll costs CPU the workers need); a broken connection is replaced on the next call, so the
 * test survives a PostgreSQL restart. Thread-safe: calls are serialised.
 */
final class ItDatabase implements AutoCloseable {
  /** What a row of {@code it_executions} says. */
  record Execution(UUID jobId, String worker, int attempt, Instant at) {}

  @FunctionalInterface
  interface RowMapper<T> {
    T map(ResultSet row) throws SQLException;
  }

  private final String jdbcUrl;
  private final String user;
  private final String password;
  private Connection shared; // guarded by this

  ItDatabase(String jdbcUrl, String user, String password) {
    this.jdbcUrl = jdbcUrl;
    this.user = user;
    this.password = password;
  }

  static ItDatabase of(TestDatabase database) {
    return new ItDatabase(database.jdbcUrl(), database.user(), database.password());
  }

  /** Default options for workers on this database. */
  WorkerOptions workerOptions() {
    return WorkerOptions.of(jdbcUrl, user, password);
  }

  /** Migrates the taskbroker schema and creates the tables the test plugins record into. */
  ItDatabase prepare() {
    PGSimpleDataSource dataSource = new PGSimpleDataSource();
    dataSource.setURL(jdbcUrl);
    dataSource.setUser(user);
    if (password != null && !password.isEmpty()) {
      dataSource.setPassword(password);
    }
    Migrations.migrate(dataSource);
    execute(
        "CREATE TABLE IF NOT EXISTS it_executions ("
            + " exec_id uuid UNIQUE,"
            + " job_id uuid NOT NULL,"
            + " worker text NOT NULL,"
            + " attempt int NOT NULL,"
            + " at timestamptz NOT NULL DEFAULT clock_timestamp())");
    execute("CREATE INDEX IF NOT EXISTS it_executions_job ON it_executions (job_id)");
    // Executions that finished their work and returned a result (plugins that record it).
    execute(
        "CREATE TABLE IF NOT EXISTS it_finished ("
            + " exec_id uuid UNIQUE,"
            + " job_id uuid NOT NULL,"
            + " worker text NOT NULL,"
            + " attempt int NOT NULL,"
            + " at timestamptz NOT NULL DEFAULT clock_timestamp())");
    execute("CREATE INDEX IF NOT EXISTS it_finished_job ON it_finished (job_id)");
    // The ids of jobs a test submitted in bulk (INSERT ... SELECT taskbroker.submit(...)).
    execute("CREATE TABLE IF NOT EXISTS it_submitted (id uuid PRIMARY KEY)");
    execute(
        "CREATE TABLE IF NOT EXISTS it_cancel_seen ("
            + " job_id uuid PRIMARY KEY,"
            + " worker text NOT NULL,"
            + " at timestamptz NOT NULL DEFAULT clock_timestamp())");
    return this;
  }

  Connection connect() throws SQLException {
    Properties properties = new Properties();
    properties.setProperty("user", user);
    if (password != null && !password.isEmpty()) {
      properties.setProperty("password", password);
    }
    properties.setProperty("ApplicationName", "it-test");
    properties.setProperty("connectTimeout", "5");
    return DriverManager.getConnection(jdbcUrl, properties);
  }

  void execute(String sql, Object... parameters) {
    run(
        sql,
        connection -> {
          try (PreparedStatement statement = prepared(connection, sql, parameters)) {
            statement.execute();
          }
          return null;
        });
  }

  <T> List<T> query(String sql, RowMapper<T> mapper, Object... parameters) {
    return run(
        sql,
        connection -> {
          try (PreparedStatement statement = prepared(connection, sql, parameters);
              ResultSet rows = statement.executeQuery()) {
            List<T> result = new ArrayList<>();
            while (rows.next()) {
              result.add(mapper.map(rows));
            }
            return result;
          }
        });
  }

  private interface Work<T> {
    T run(Connection connection) throws SQLException;
  }

  /**
   * Runs on the shared connection (auto-commit); drops it when it fails so the next call
   * reconnects.
   */
  private synchronized <T> T run(String sql, Work<T> work) {
    try {
      if (shared == null || shared.isClosed()) {
        shared = connect();
      }
      return work.run(shared);
    } catch (SQLException e) {
      closeShared();
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  private void closeShared() {
    if (shared != null) {
      try {
        shared.close();
      } catch (SQLException e) {
        // Broken already.
      }
      shared = null;
    }
  }

  /** The first column of the only row. */
  <T> T one(String sql, Class<T> type, Object... parameters) {
    List<T> rows = query(sql, row -> row.getObject(1, type), parameters);
    if (rows.size() != 1) {
      throw new IllegalStateException("expected one row from " + sql + ", got " + rows.size());
    }
    return rows.get(0);
  }

  long count(String sql, Object... parameters) {
    return one(sql, Long.class, parameters);
  }

  String text(String sql, Object... parameters) {
    return one(sql, String.class, parameters);
  }

  Instant instant(String sql, Object... parameters) {
    return one(sql, OffsetDateTime.class, parameters).toInstant();
  }

  /** The database's clock now: the tests compare it with timestamps the database wrote. */
  Instant now() {
    return instant("SELECT clock_timestamp()");
  }

  long executions() {
    return count("SELECT count(*) FROM it_executions");
  }

  List<Execution> executionsOf(UUID jobId) {
    return query(
        "SELECT job_id, worker, attempt, at FROM it_executions WHERE job_id = ? ORDER BY at",
        ItDatabase::execution,
        jobId);
  }

  String status(UUID jobId) {
    return text("SELECT status FROM taskbroker.jobs WHERE id = ?", jobId);
  }

  /** The whole job row as JSON text, to compare before and after. */
  String jobRow(UUID jobId) {
    return text("SELECT row_to_json(j)::text FROM taskbroker.jobs j WHERE id = ?", jobId);
  }

  long countStatus(String status) {
    return count("SELECT count(*) FROM taskbroker.jobs WHERE status = ?", status);
  }

  /** Submits one job through the SQL function and returns its id. */
  UUID submit(String plugin, String payloadJson) {
    return one("SELECT taskbroker.submit(?, CAST(? AS jsonb))", UUID.class, plugin, payloadJson);
  }

  private static Execution execution(ResultSet row) throws SQLException {
    return new Execution(
        row.getObject("job_id", UUID.class),
        row.getString("worker"),
        row.getInt("attempt"),
        row.getObject("at", OffsetDateTime.class).toInstant());
  }

  private static PreparedStatement prepared(Connection connection, String sql, Object... parameters)
      throws SQLException {
    PreparedStatement statement = connection.prepareStatement(sql, Statement.NO_GENERATED_KEYS);
    for (int i = 0; i < parameters.length; i++) {
      statement.setObject(i + 1, parameters[i]);
    }
    return statement;
  }

  /** Closes the shared connection. */
  @Override
  public synchronized void close() {
    closeShared();
  }
}
