package io.taskbroker.api.plugin;

import java.time.Duration;

/**
 * Thrown by a plugin to put the job back for later without spending an attempt (not ready yet: a
 * rate limit, a resource that is busy).
 */
public final class SnoozeJob extends RuntimeException {
  private final Duration after;

  public SnoozeJob(Duration after) {
    super("snoozed for " + after, null, false, false);
    if (after.isNegative()) {
      throw new IllegalArgumentException("snooze must not be negative: " + after);
    }
    this.after = after;
  }

  public Duration after() {
    return after;
  }
}
