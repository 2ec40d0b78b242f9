package io.taskbroker.common;

/** A configuration value is wrong; the message names it and what was expected. */
public final class InvalidConfigException extends TaskBrokerException {
  public InvalidConfigException(String message) {
    super(message);
  }
}
