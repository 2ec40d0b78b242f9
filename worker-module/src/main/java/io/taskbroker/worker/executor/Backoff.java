package io.taskbroker.worker.executor;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with jitter: attempt n waits {@code base * 2^(n-1)}, capped at {@code max},
 * then scaled by a random factor in [0.75, 1.25) so a burst of failures does not retry in lockstep.
 * Immutable and thread-safe.
 */
public record Backoff(Duration base, Duration max, DoubleSupplier random) {
  public static Backoff of(Duration base, Duration max) {
    return new Backoff(base, max, Math::random);
  }

  /** The delay before the attempt after {@code attempt} (which just failed, counting from 1). */
  public Duration delayAfter(int attempt) {
    int exponent = Math.max(0, Math.min(attempt - 1, 30));
    double millis = Math.min((double) max.toMillis(), base.toMillis() * Math.pow(2, exponent));
    double jittered = millis * (0.75 + 0.5 * random.getAsDouble());
    return Duration.ofMillis(Math.round(Math.min(jittered, max.toMillis())));
  }
}
