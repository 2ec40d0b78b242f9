package io.taskbroker.worker.producer;

import java.util.concurrent.TimeUnit;

/**
 * The NOTIFYs a producer knows are coming because a client of its own JVM announced the commit
 * ahead of them (see {@code LocalWakeups}), so they need no claim of their own.
 *
 * <p>Why a NOTIFY arriving while some are awaited needs no claim: PostgreSQL delivers notifications
 * in commit order, so the awaited submit's own NOTIFY arrives before that of any transaction
 * committed after it. The arriving one is therefore either the awaited one, or one from a
 * transaction committed before the local submit, whose jobs the claim that submit started already
 * sees. A NOTIFY awaited for longer than {@link #TRUST_NANOS} was lost (the LISTEN connection
 * dropped) and the count is no longer trusted.
 *
 * <p>Not thread-safe: the producer guards it with its lock. Times are {@link System#nanoTime()}.
 */
final class AwaitedNotifies {
  static final long TRUST_NANOS = TimeUnit.SECONDS.toNanos(1);

  private int awaited;
  private long lastAnnouncedNanos;

  /** A local client committed jobs for the queue; their NOTIFY will follow. */
  void localSubmit(long nowNanos) {
    awaited++;
    lastAnnouncedNanos = nowNanos;
  }

  /** A NOTIFY arrived; returns true when it was announced already and needs no claim. */
  boolean arrived(long nowNanos) {
    if (awaited > 0 && nowNanos - lastAnnouncedNanos < TRUST_NANOS) {
      awaited--;
      return true;
    }
    awaited = 0;
    return false;
  }

  /** Notifications sent while LISTEN was down are gone: none is awaited any more. */
  void clear() {
    awaited = 0;
  }
}
