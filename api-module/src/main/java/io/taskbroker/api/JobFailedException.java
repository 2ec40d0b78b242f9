package io.taskbroker.api;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.TaskBrokerException;
import java.util.UUID;

/**
 * A typed {@code await} found its job finished without a result: failed (attempts spent, or the
 * plugin said not to retry) or cancelled. Carries the job as it was read.
 */
public final class JobFailedException extends TaskBrokerException {
  private final transient Job job;

  public JobFailedException(Job job) {
    super(message(job));
    this.job = job;
  }

  private static String message(Job job) {
    String which = "job " + job.id() + " (" + job.plugin() + ")";
    if (job.status() == JobStatus.CANCELLED) {
      return which + " was cancelled" + (job.error() == null ? "" : ": " + job.error());
    }
    return which
        + " failed after "
        + job.attempt()
        + (job.attempt() == 1 ? " attempt" : " attempts")
        + ": "
        + job.error();
  }

  public UUID jobId() {
    return job.id();
  }

  /** {@link JobStatus#FAILED} or {@link JobStatus#CANCELLED}. */
  public JobStatus status() {
    return job.status();
  }

  /** The job's last error text (for a cancelled job, the reason, or null). */
  public String error() {
    return job.error();
  }

  public Job job() {
    return job;
  }
}
