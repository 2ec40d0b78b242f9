package io.taskbroker.common;

import java.util.UUID;

/** No job has this id (it never existed, or was pruned). */
public final class JobNotFoundException extends TaskBrokerException {
  private final UUID jobId;

  public JobNotFoundException(UUID jobId) {
    super("no job with id " + jobId);
    this.jobId = jobId;
  }

  public UUID jobId() {
    return jobId;
  }
}
