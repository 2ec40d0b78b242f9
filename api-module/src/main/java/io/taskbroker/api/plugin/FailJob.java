package io.taskbroker.api.plugin;

/** Thrown by a plugin to fail the job now, without retrying, whatever attempts are left. */
public final class FailJob extends RuntimeException {
  public FailJob(String reason) {
    super(reason, null, false, false);
  }

  public FailJob(String reason, Throwable cause) {
    super(reason, cause, false, true);
  }
}
