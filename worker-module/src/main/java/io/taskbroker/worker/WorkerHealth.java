package io.taskbroker.worker;

import java.util.List;
import java.util.Optional;

/**
 * A worker's health: {@link Status#HEALTHY}, {@link Status#UNHEALTHY} while a unit keeps failing or
 * has stalled, {@link Status#FAILED} once a unit died of an {@code Error} (the worker then stops
 * itself: no new claims, unfinished jobs leave it with their attempt spent), or {@link
 * Status#STOPPED} after a shutdown.
 *
 * @param failedUnit the unit whose Error stopped the worker, when it failed
 * @param failure that Error, when it failed
 */
public record WorkerHealth(
    Status status,
    List<UnitHealth> units,
    Optional<String> failedUnit,
    Optional<Throwable> failure) {

  public WorkerHealth {
    units = List.copyOf(units);
  }

  public enum Status {
    HEALTHY,
    UNHEALTHY,
    FAILED,
    STOPPED;

    /** The value of {@code taskbroker.workers.status} (a stopped worker has no row). */
    public String dbValue() {
      return this == STOPPED ? "healthy" : name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public boolean isHealthy() {
    return status == Status.HEALTHY;
  }
}
