package io.taskbroker.common;

/** Bad input for a job (not a JSON object, empty plugin, negative max attempts, ...). */
public final class InvalidJobException extends TaskBrokerException {
  public InvalidJobException(String message) {
    super(message);
  }

  public InvalidJobException(String message, Throwable cause) {
    super(message, cause);
  }
}
