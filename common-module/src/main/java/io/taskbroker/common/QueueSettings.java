package io.taskbroker.common;

import java.time.Instant;

/**
 * One row of {@code taskbroker.queues}: whether the queue is paused, and its limits. A queue
 * without a row has no settings ({@link #unset(String)}). Immutable.
 *
 * @param pausedAt when it was paused; null when it is not
 * @param updatedAt when the row last changed; null for a queue without a row
 */
public record QueueSettings(
    String name, boolean paused, Instant pausedAt, QueueLimits limits, Instant updatedAt) {
  public QueueSettings {
    if (name == null || name.isEmpty()) {
      throw new InvalidQueueException("queue", "a queue needs a name");
    }
    limits = limits == null ? QueueLimits.none() : limits;
  }

  /** The settings of a queue without a row: running, no limits. */
  public static QueueSettings unset(String name) {
    return new QueueSettings(name, false, null, QueueLimits.none(), null);
  }

  /** Whether a worker claims through the limited claim (some limit is set). */
  public boolean limited() {
    return limits.any();
  }
}
