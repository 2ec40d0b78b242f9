package io.taskbroker.common;

import java.time.Instant;
import java.util.UUID;

/**
 * A row of {@code taskbroker.schedules}: the definition and its state. Immutable.
 *
 * @param nextRunAt the next slot to fire; null until a worker has computed it (after a new or
 *     changed cron or zone, or a resume)
 * @param lastRunAt the last slot fired (or the moment of the last manual trigger)
 * @param lastJobId the job of the last run
 * @param lastError why no worker can compute the slots (null when it can)
 */
public record Schedule(
    ScheduleDefinition definition,
    boolean paused,
    Instant nextRunAt,
    Instant lastRunAt,
    UUID lastJobId,
    String lastError,
    Instant createdAt,
    Instant updatedAt) {

  public String name() {
    return definition.name();
  }
}
