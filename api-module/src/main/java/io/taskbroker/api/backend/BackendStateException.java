package io.taskbroker.api.backend;

import io.taskbroker.common.TaskBrokerException;

/** The backend cannot take the call in its current state (it was shut down). */
public final class BackendStateException extends TaskBrokerException {
  public BackendStateException(String message) {
    super(message);
  }
}
