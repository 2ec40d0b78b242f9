package io.taskbroker.common;

import java.sql.SQLException;

/** Classifies {@link SQLException}s by SQLSTATE. Stateless and thread-safe. */
public final class SqlStates {
  public static final String UNIQUE_VIOLATION = "23505";
  public static final String CHECK_VIOLATION = "23514";
  public static final String NOT_NULL_VIOLATION = "23502";
  public static final String INVALID_TEXT_REPRESENTATION = "22P02";
  public static final String NUMERIC_VALUE_OUT_OF_RANGE = "22003";
  public static final String INVALID_JSON_TEXT = "22032";
  public static final String DEADLOCK_DETECTED = "40P01";
  public static final String SERIALIZATION_FAILURE = "40001";

  private SqlStates() {}

  /**
   * Whether the state means the connection is gone or going: class 08 (connection exception),
   * 57P01..57P03 (admin shutdown, crash shutdown, cannot connect now) and 53300 (too many
   * connections). Such errors are retried after a reconnect; anything else is a real error.
   */
  public static boolean isConnectionLoss(String sqlState) {
    if (sqlState == null) {
      return false;
    }
    return sqlState.startsWith("08")
        || sqlState.equals("57P01")
        || sqlState.equals("57P02")
        || sqlState.equals("57P03")
        || sqlState.equals("53300");
  }

  /** Whether the statement lost a race (deadlock, serialization) and may simply be run again. */
  public static boolean isTransient(String sqlState) {
    return DEADLOCK_DETECTED.equals(sqlState) || SERIALIZATION_FAILURE.equals(sqlState);
  }

  /** Walks the cause chain for the first SQLException and returns its state, or null. */
  public static String of(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql && sql.getSQLState() != null) {
        return sql.getSQLState();
      }
    }
    return null;
  }

  /** Whether anything in the cause chain is a connection loss. */
  public static boolean isConnectionLoss(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql && isConnectionLoss(sql.getSQLState())) {
        return true;
      }
      // Hikari's "no connection available in time" carries no state of its own.
      if (t instanceof java.sql.SQLTransientConnectionException
          || t instanceof java.sql.SQLNonTransientConnectionException) {
        return true;
      }
      if (t instanceof DatabaseException db && db.isConnectionLoss()) {
        return true;
      }
    }
    return false;
  }
}
