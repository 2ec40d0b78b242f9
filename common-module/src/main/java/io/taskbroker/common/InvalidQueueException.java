package io.taskbroker.common;

/**
 * A queue setting is wrong: the message begins with the setting's name ({@code global_concurrency},
 * {@code rate_period}, {@code queue}, ...) and says what was expected. Nothing was written.
 */
public final class InvalidQueueException extends TaskBrokerException {
  private final String field;

  public InvalidQueueException(String field, String message) {
    super(field + ": " + message);
    this.field = field;
  }

  public InvalidQueueException(String field, String message, Throwable cause) {
    super(field + ": " + message, cause);
    this.field = field;
  }

  /** The setting that is wrong, as the SQL functions name it. */
  public String field() {
    return field;
  }
}
