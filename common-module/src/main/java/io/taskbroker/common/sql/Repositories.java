package io.taskbroker.common.sql;

import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.SqlStates;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * What the repositories share: running plain JDBC on a pooled connection, and error translation.
 */
final class Repositories {
  private Repositories() {}

  /** Work on one connection; {@link SQLException}s become {@link DatabaseException}s. */
  interface ConnectionWork<T> {
    T run(Connection connection) throws SQLException;
  }

  /**
   * Runs {@code work} on a connection from the pool (auto-commit on) and returns it to the pool.
   */
  static <T> T withConnection(DataSource dataSource, ConnectionWork<T> work) {
    try (Connection connection = dataSource.getConnection()) {
      return work.run(connection);
    } catch (SQLException e) {
      throw translate(e);
    }
  }

  /** Our exception for a failed statement, keeping the SQLSTATE and naming a lost connection. */
  static DatabaseException translate(Exception e) {
    String state = SqlStates.of(e);
    if (state == null && SqlStates.isConnectionLoss(e)) {
      state = "08000";
    }
    String prefix = SqlStates.isConnectionLoss(state) ? "lost the database connection: " : "";
    return new DatabaseException(prefix + JobRepository.message(e), state, e);
  }
}
