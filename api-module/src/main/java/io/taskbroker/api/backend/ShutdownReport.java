package io.taskbroker.api.backend;

import java.util.List;
import java.util.UUID;

/**
 * What a shutdown left behind.
 *
 * @param abandoned tasks still running when the drain timeout ran out: interrupted and recorded as
 *     failed (in-process backends), or handed back to pending for another worker (broker backend)
 */
public record ShutdownReport(List<UUID> abandoned) {
  public ShutdownReport {
    abandoned = List.copyOf(abandoned);
  }

  public static ShutdownReport clean() {
    return new ShutdownReport(List.of());
  }

  public boolean drained() {
    return abandoned.isEmpty();
  }
}
