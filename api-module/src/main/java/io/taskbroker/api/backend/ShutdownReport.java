package io.taskbroker.api.backend;

import java.util.List;
import java.util.UUID;

/**
 * What a shutdown left behind. Immutable.
 *
 * @param abandoned tasks still running when the drain timeout ran out: interrupted and recorded as
 *     failed (in-process backends), or handed back to pending for another worker (broker backend,
 *     and a worker)
 * @param pending tasks (broker backend only) that never got to run in this process before the drain
 *     timeout ran out: still pending in the queue (or running under another worker process), safe
 *     for any worker to run later; nothing was lost
 */
public record ShutdownReport(List<UUID> abandoned, List<UUID> pending) {
  public ShutdownReport {
    abandoned = List.copyOf(abandoned);
    pending = List.copyOf(pending);
  }

  /** A report with only abandoned tasks (what a worker and the in-process backends leave). */
  public ShutdownReport(List<UUID> abandoned) {
    this(abandoned, List.of());
  }

  public static ShutdownReport clean() {
    return new ShutdownReport(List.of(), List.of());
  }

  /** True when nothing was left: every task finished within the drain timeout. */
  public boolean drained() {
    return abandoned.isEmpty() && pending.isEmpty();
  }
}
