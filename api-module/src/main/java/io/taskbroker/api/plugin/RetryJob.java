package io.taskbroker.api.plugin;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * Thrown by a plugin to fail this attempt and run again at a chosen time (instead of the default
 * backoff). Still spends the attempt: when none are left the job fails.
 */
public final class RetryJob extends RuntimeException {
  private final Instant at;
  private final Duration after;

  private RetryJob(String reason, Instant at, Duration after) {
    super(reason, null, false, false);
    this.at = at;
    this.after = after;
  }

  public static RetryJob at(Instant at, String reason) {
    return new RetryJob(reason, Objects.requireNonNull(at, "at"), null);
  }

  public static RetryJob after(Duration after, String reason) {
    if (after.isNegative()) {
      throw new IllegalArgumentException("retry delay must not be negative: " + after);
    }
    return new RetryJob(reason, null, after);
  }

  /** When to run again, or null when {@link #after()} is set. */
  public Instant at() {
    return at;
  }

  /** How long from now to run again, or null when {@link #at()} is set. */
  public Duration after() {
    return after;
  }
}
