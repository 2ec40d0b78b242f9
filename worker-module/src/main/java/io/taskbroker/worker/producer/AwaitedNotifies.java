package io.taskbroker.worker.producer;

import java.util.concurrent.TimeUnit;

/**
 * Matches the NOTIFYs of a queue with the submits a client of this JVM announced ahead of them (see
 * {@code LocalWakeups}), so that a NOTIFY whose jobs a local wake-up's claim already sees costs no
 * second claim.
 *
 * <p>Why skipping is safe: PostgreSQL delivers notifications in commit order, and a local wake-up
 * claims after its submit committed. A NOTIFY is skipped only while a wake-up is unmatched, that
 * is, while its own NOTIFY has not been seen; the NOTIFY arriving then is that one, or one of a
 * transaction committed earlier, whose jobs that claim sees too. The two can arrive in either
 * order: a NOTIFY that comes first is kept as a credit, and the wake-up that follows uses it up
 * instead of waiting for another. Credits and unmatched wake-ups older than {@link #TRUST_NANOS}
 * are dropped (a notification lost with the LISTEN connection, or one nobody announced), which only
 * ever means one claim more, never one less.
 *
 * <p>Not thread-safe: the producer guards it with its lock. Times are {@link System#nanoTime()}.
 */
final class AwaitedNotifies {
  static final long TRUST_NANOS = TimeUnit.SECONDS.toNanos(1);

  private int awaited;
  private long lastAwaitedNanos;
  private int credits;
  private long lastCreditNanos;

  /** A local client committed jobs for the queue (the caller claims for them now). */
  void localSubmit(long nowNanos) {
    if (credits > 0 && nowNanos - lastCreditNanos < TRUST_NANOS) {
      credits--;
      return;
    }
    credits = 0;
    if (nowNanos - lastAwaitedNanos >= TRUST_NANOS) {
      awaited = 0;
    }
    awaited++;
    lastAwaitedNanos = nowNanos;
  }

  /** A NOTIFY arrived; returns true when a local wake-up's claim covers it and it needs none. */
  boolean arrived(long nowNanos) {
    if (awaited > 0 && nowNanos - lastAwaitedNanos < TRUST_NANOS) {
      awaited--;
      return true;
    }
    awaited = 0;
    if (nowNanos - lastCreditNanos >= TRUST_NANOS) {
      credits = 0;
    }
    credits++;
    lastCreditNanos = nowNanos;
    return false;
  }

  /** Notifications sent while LISTEN was down are gone: nothing is awaited or credited any more. */
  void clear() {
    awaited = 0;
    credits = 0;
  }
}
