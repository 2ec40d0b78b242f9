package io.taskbroker.common;

import java.util.EnumSet;
import java.util.Locale;

/** The five states of a job. A retry is not a state: it is {@link #PENDING} with a later run_at. */
public enum JobStatus {
  PENDING,
  RUNNING,
  COMPLETED,
  FAILED,
  CANCELLED;

  /** The value stored in {@code taskbroker.jobs.status}. */
  public String dbValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether the job has reached its one final state and will never change again. */
  public boolean isFinal() {
    return this == COMPLETED || this == FAILED || this == CANCELLED;
  }

  /** The three final states, in a new set the caller may change. */
  public static EnumSet<JobStatus> finalStates() {
    return EnumSet.of(COMPLETED, FAILED, CANCELLED);
  }

  /**
   * Parses a status as written in the table or by a user ({@code "completed"}).
   *
   * @throws InvalidJobException naming the bad value and the allowed ones
   */
  public static JobStatus parse(String value) {
    if (value != null) {
      for (JobStatus status : values()) {
        if (status.dbValue().equalsIgnoreCase(value.trim())) {
          return status;
        }
      }
    }
    throw new InvalidJobException(
        "unknown job status '"
            + value
            + "' (expected one of pending, running, completed, failed, cancelled)");
  }
}
