package io.taskbroker.common;

/** A job with the same unique key is still pending or running; nothing was written. */
public final class DuplicateJobException extends TaskBrokerException {
  private final String uniqueKey;

  public DuplicateJobException(String uniqueKey, Throwable cause) {
    super("a job with unique key '" + uniqueKey + "' is already pending or running", cause);
    this.uniqueKey = uniqueKey;
  }

  public String uniqueKey() {
    return uniqueKey;
  }
}
