package io.taskbroker.worker.it;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;

/**
 * Records what the test plugins do into {@code it_executions}, {@code it_finished} and {@code
 * it_cancel_seen}, over plain JDBC connections of its own: the tests count executions independently
 * of taskbroker's own bookkeeping, so a bug there cannot hide itself.
 *
 * <p>Runs inside a worker process. Each execution carries a random id and is inserted with {@code
 * ON CONFLICT DO NOTHING}: when the server goes away (the PostgreSQL restart test) a write is
 * retried on a new connection until it lands, and an insert that committed just before its
 * connection broke is not counted twice. Thread-safe: a small pool of idle connections.
 */
final class ExecutionRecorder implements AutoCloseable {
  private static final long GIVE_UP_NANOS = TimeUnit.SECONDS.toNanos(120);

  private final String jdbcUrl;
  private final Properties properties = new Properties();
  private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();

  ExecutionRecorder(String jdbcUrl, String user, String password) {
    this.jdbcUrl = jdbcUrl;
    properties.setProperty("user", user);
    if (password != null && !password.isEmpty()) {
      properties.setProperty("password", password);
    }
    properties.setProperty("ApplicationName", "it-recorder");
    properties.setProperty("connectTimeout", "5");
    properties.setProperty("socketTimeout", "30");
    // These rows are the test's evidence, not the system under test: no need to wait for the WAL
    // flush of each. Workers die in these tests, PostgreSQL only ever stops cleanly (a clean stop
    // writes every committed row), so nothing recorded is lost.
    properties.setProperty("options", "-c synchronous_commit=off");
  }

  /** One execution of a job has begun on this worker. */
  void execution(UUID jobId, String workerId, int attempt) throws InterruptedException {
    UUID executionId = UUID.randomUUID();
    write(
        "INSERT INTO it_executions (exec_id, job_id, worker, attempt) VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (exec_id) DO NOTHING",
        statement -> {
          statement.setObject(1, executionId);
          statement.setObject(2, jobId);
          statement.setString(3, workerId);
          statement.setInt(4, attempt);
        });
  }

  /**
   * One execution of a job has finished its work and is about to return its result (which the
   * worker may or may not then get written: it can be killed in between).
   */
  void finished(UUID jobId, String workerId, int attempt) throws InterruptedException {
    UUID executionId = UUID.randomUUID();
    write(
        "INSERT INTO it_finished (exec_id, job_id, worker, attempt) VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (exec_id) DO NOTHING",
        statement -> {
          statement.setObject(1, executionId);
          statement.setObject(2, jobId);
          statement.setString(3, workerId);
          statement.setInt(4, attempt);
        });
  }

  /** A cancellable plugin saw its cancellation. */
  void cancelSeen(UUID jobId, String workerId) throws InterruptedException {
    write(
        "INSERT INTO it_cancel_seen (job_id, worker) VALUES (?, ?) ON CONFLICT (job_id) DO NOTHING",
        statement -> {
          statement.setObject(1, jobId);
          statement.setString(2, workerId);
        });
  }

  private interface Binder {
    void bind(PreparedStatement statement) throws SQLException;
  }

  private void write(String sql, Binder binder) throws InterruptedException {
    long deadline = System.nanoTime() + GIVE_UP_NANOS;
    long backoffMillis = 50;
    while (true) {
      if (Thread.interrupted()) {
        throw new InterruptedException("interrupted before its execution was recorded");
      }
      Connection connection = null;
      try {
        connection = borrow();
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
          binder.bind(statement);
          statement.executeUpdate();
        }
        idle.push(connection);
        return;
      } catch (SQLException e) {
        closeQuietly(connection);
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not record for 120 s: " + e.getMessage(), e);
        }
        // The server is away (restart test): wait a little and try again on a new connection.
        // This is the simulated workload inside a worker process, not a test waiting.
        TimeUnit.MILLISECONDS.sleep(backoffMillis);
        backoffMillis = Math.min(500, backoffMillis * 2);
      }
    }
  }

  private Connection borrow() throws SQLException {
    Connection connection = idle.poll();
    return connection != null ? connection : DriverManager.getConnection(jdbcUrl, properties);
  }

  private static void closeQuietly(Connection connection) {
    if (connection == null) {
      return;
    }
    try {
      connection.close();
    } catch (SQLException e) {
      // Broken already; nothing to keep.
    }
  }

  @Override
  public void close() {
    Connection connection;
    while ((connection = idle.poll()) != null) {
      closeQuietly(connection);
    }
  }
}
