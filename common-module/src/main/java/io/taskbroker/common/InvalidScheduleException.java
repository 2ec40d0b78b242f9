package io.taskbroker.common;

/**
 * A schedule definition is wrong: the message begins with the field's name ({@code cron}, {@code
 * time_zone}, {@code catch_up}, ...) and says what was expected. Nothing was written.
 */
public final class InvalidScheduleException extends TaskBrokerException {
  private final String field;

  public InvalidScheduleException(String field, String message) {
    super(field + ": " + message);
    this.field = field;
  }

  public InvalidScheduleException(String field, String message, Throwable cause) {
    super(field + ": " + message, cause);
    this.field = field;
  }

  /** The field that is wrong, as the SQL functions name it ({@code time_zone}, not timeZone). */
  public String field() {
    return field;
  }
}
