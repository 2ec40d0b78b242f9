package io.taskbroker.worker.testing;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A clock a test moves by hand (after db-scheduler's SettableClock): give it to a worker's config
 * and the worker's own timestamps (attempt history, listener durations) follow it. Thread-safe.
 */
public final class MutableClock implements InstantSource {
  private final AtomicReference<Instant> now;

  public MutableClock(Instant start) {
    this.now = new AtomicReference<>(start);
  }

  /** A clock that starts at the current time (truncated to millis, as the database keeps it). */
  public static MutableClock startingNow() {
    return new MutableClock(Instant.ofEpochMilli(System.currentTimeMillis()));
  }

  @Override
  public Instant instant() {
    return now.get();
  }

  /** Moves the clock forward (or back, with a negative duration); returns the new time. */
  public Instant tick(Duration by) {
    return now.updateAndGet(instant -> instant.plus(by));
  }

  public void set(Instant instant) {
    now.set(instant);
  }
}
