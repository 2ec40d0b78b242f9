package io.taskbroker.api;

import io.taskbroker.common.TaskBrokerException;
import java.util.UUID;

/**
 * A typed {@code await} found its job completed, but its result does not map to the type asked for
 * (the plugin returns something else, or the caller named the wrong type).
 */
public final class ResultMappingException extends TaskBrokerException {
  private final UUID jobId;

  public ResultMappingException(UUID jobId, Class<?> type, String reason, Throwable cause) {
    super(
        "job " + jobId + ": its result does not map to " + type.getSimpleName() + ": " + reason,
        cause);
    this.jobId = jobId;
  }

  public UUID jobId() {
    return jobId;
  }
}
