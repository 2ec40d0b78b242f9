package io.taskbroker.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.postgresql.util.PSQLException;

/** Small plain-JDBC helpers for schema tests. */
final class JdbcHelpers {
  private JdbcHelpers() {}

  /** Runs one query that returns one value. */
  static <T> T one(Connection connection, Class<T> type, String sql, Object... params)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        statement.setObject(i + 1, params[i]);
      }
      try (ResultSet rows = statement.executeQuery()) {
        assertThat(rows.next()).as("a row from %s", sql).isTrue();
        T value = rows.getObject(1, type);
        assertThat(rows.next()).as("only one row from %s", sql).isFalse();
        return value;
      }
    }
  }

  static long countJobs(Connection connection) throws SQLException {
    return one(connection, Long.class, "SELECT count(*) FROM taskbroker.jobs");
  }

  static int update(Connection connection, String sql, Object... params) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        statement.setObject(i + 1, params[i]);
      }
      return statement.executeUpdate();
    }
  }

  static UUID submit(Connection connection, String sqlArguments) throws SQLException {
    return one(connection, UUID.class, "SELECT taskbroker.submit(" + sqlArguments + ")");
  }

  /** Asserts the call fails with this SQLSTATE and, when not null, names this constraint. */
  static void assertRefused(ThrowingCallable call, String sqlState, String constraint) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            PSQLException.class,
            error -> {
              assertThat(error.getSQLState()).as(error.getMessage()).isEqualTo(sqlState);
              if (constraint != null) {
                assertThat(error.getServerErrorMessage().getConstraint()).isEqualTo(constraint);
              }
            });
  }

  /** Moves a pending job to running the way a worker's claim does. */
  static void markRunning(Connection connection, UUID id, String workerId) throws SQLException {
    int updated =
        update(
            connection,
            "UPDATE taskbroker.jobs SET status = 'running', attempt = attempt + 1,"
                + " worker_id = ?, started_at = now(), heartbeat_at = now(),"
                + " lease_expires_at = now() + interval '5 minutes' WHERE id = ?",
            workerId,
            id);
    assertThat(updated).isEqualTo(1);
  }
}
