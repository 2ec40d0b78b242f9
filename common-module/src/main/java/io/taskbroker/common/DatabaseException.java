package io.taskbroker.common;

/**
 * The database could not do what was asked. {@link #isConnectionLoss()} tells a lost connection or
 * a server shutting down (worth retrying after a reconnect) from a real error.
 */
public final class DatabaseException extends TaskBrokerException {
  private final String sqlState;

  public DatabaseException(String message, String sqlState, Throwable cause) {
    super(message, cause);
    this.sqlState = sqlState;
  }

  /** The SQLSTATE of the underlying error, or null when there was none. */
  public String sqlState() {
    return sqlState;
  }

  public boolean isConnectionLoss() {
    return SqlStates.isConnectionLoss(sqlState);
  }

  /** A lost race (deadlock, serialization failure): the same statement may simply be retried. */
  public boolean isTransient() {
    return SqlStates.isTransient(sqlState);
  }
}
