package io.taskbroker.api.backend;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
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
  /**
   * @throws NullPointerException when a list, or a task id in it, is null
   * @throws IllegalArgumentException when a task is in both lists: it was either abandoned by this
   *     process or never ran in it
   */
  public ShutdownReport {
    abandoned = List.copyOf(Objects.requireNonNull(abandoned, "abandoned"));
    pending = List.copyOf(Objects.requireNonNull(pending, "pending"));
    Set<UUID> both = new HashSet<>(abandoned);
    both.retainAll(pending);
    if (!both.isEmpty()) {
      throw new IllegalArgumentException(
          "a task is either abandoned or pending, not both: " + both);
    }
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
