package io.taskbroker.common.sql;

import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.SqlStates;
import org.jdbi.v3.core.JdbiException;

/** Turns Jdbi's exceptions into ours, keeping the SQLSTATE. */
final class Repositories {
  private Repositories() {}

  static DatabaseException translate(JdbiException e) {
    String state = SqlStates.of(e);
    if (state == null && SqlStates.isConnectionLoss(e)) {
      state = "08000";
    }
    String prefix = SqlStates.isConnectionLoss(state) ? "lost the database connection: " : "";
    return new DatabaseException(prefix + JobRepository.message(e), state, e);
  }
}
