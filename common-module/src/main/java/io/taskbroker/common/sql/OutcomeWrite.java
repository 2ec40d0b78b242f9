package io.taskbroker.common.sql;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.JobStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * One outcome to write for a job this worker holds at {@code attempt}. Build it with a named
 * factory ({@link #completed}, {@link #retry}, {@link #failed}, {@link #cancelled}, {@link
 * #snoozed}); the canonical constructor refuses combinations the completion statement would misread
 * (a result on a failure, a run time on a final state, a refund that is not a snooze).
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
    if (attempt < 1) {
      throw new IllegalArgumentException(
          "job " + jobId + ": an outcome is for a claimed attempt (1 or more), got " + attempt);
    }
    if (result != null && status != JobStatus.COMPLETED) {
      throw new IllegalArgumentException(
          "job " + jobId + ": only a completed outcome carries a result, not " + status);
    }
    if ((runAt != null || delay != null) && status != JobStatus.PENDING) {
      throw new IllegalArgumentException(
          "job " + jobId + ": only a pending outcome has a time to run again, not " + status);
    }
    if (delay != null && delay.isNegative()) {
      throw new IllegalArgumentException("job " + jobId + ": negative delay " + delay);
    }
    if (refundAttempt && status != JobStatus.PENDING) {
      throw new IllegalArgumentException(
          "job " + jobId + ": only a pending outcome (a snooze) refunds the attempt");
    }
  }

  /** The attempt succeeded with this result (null for none). */
  public static OutcomeWrite completed(UUID jobId, int attempt, JsonNode result) {
    return new OutcomeWrite(
        jobId, attempt, JobStatus.COMPLETED, result, null, null, null, null, false);
  }

  /**
   * The attempt failed and the job runs again, at {@code runAt} if given, else {@code delay} after
   * the database's now; the attempt is spent.
   */
  public static OutcomeWrite retry(
      UUID jobId, int attempt, String error, JsonNode errorEntry, Instant runAt, Duration delay) {
    return new OutcomeWrite(
        jobId, attempt, JobStatus.PENDING, null, error, errorEntry, runAt, delay, false);
  }

  /** The attempt failed and the job ends failed. */
  public static OutcomeWrite failed(UUID jobId, int attempt, String error, JsonNode errorEntry) {
    return new OutcomeWrite(
        jobId, attempt, JobStatus.FAILED, null, error, errorEntry, null, null, false);
  }

  /** The job was cancelled while it ran. */
  public static OutcomeWrite cancelled(UUID jobId, int attempt, String reason) {
    return new OutcomeWrite(
        jobId, attempt, JobStatus.CANCELLED, null, reason, null, null, null, false);
  }

  /** The job runs again {@code after} from now, with its attempt given back. */
  public static OutcomeWrite snoozed(UUID jobId, int attempt, Duration after) {
    return new OutcomeWrite(jobId, attempt, JobStatus.PENDING, null, null, null, null, after, true);
  }
}
