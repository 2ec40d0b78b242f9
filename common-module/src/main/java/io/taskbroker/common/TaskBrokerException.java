package io.taskbroker.common;

/**
 * The root of every exception taskbroker throws on purpose. Its leaves carry context (a job id, a
 * plugin name) so a message can be shown to a user as it is.
 */
public abstract class TaskBrokerException extends RuntimeException {
  protected TaskBrokerException(String message) {
    super(message);
  }

  protected TaskBrokerException(String message, Throwable cause) {
    super(message, cause);
  }
}
