package io.taskbroker.common.sql;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.JobStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * One outcome to write for a job this worker holds at {@code attempt}.
 *
 * @param status the status to write: {@code PENDING} (retry or snooze), {@code COMPLETED}, {@code
 *     FAILED} or {@code CANCELLED}
 * @param errorEntry appended to the job's attempt history, or null
 * @param runAt for PENDING: when to run again (wins over {@code delay}), or null
 * @param delay for PENDING: how long after the database's now() to run again, or null
 * @param refundAttempt for PENDING: give the attempt back (snooze, not a failure)
 */
public record OutcomeWrite(
    UUID jobId,
    int attempt,
    JobStatus status,
    JsonNode result,
    String error,
    JsonNode errorEntry,
    Instant runAt,
    Duration delay,
    boolean refundAttempt) {

  public OutcomeWrite {
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(status, "status");
    if (status == JobStatus.RUNNING) {
      throw new IllegalArgumentException("an outcome cannot leave a job running");
    }
  }
}
