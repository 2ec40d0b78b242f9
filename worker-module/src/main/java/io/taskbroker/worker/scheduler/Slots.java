package io.taskbroker.worker.scheduler;

import io.taskbroker.common.InvalidScheduleException;
import io.taskbroker.common.ScheduleDefinition;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Optional;

/**
 * The slots of one schedule: the instants it fires at, whole seconds. Every worker computes the
 * same slots from the same cron and zone (they are a function of the definition alone, never of
 * when a worker looked), which is what lets the database dedupe them by (schedule, slot). Immutable
 * and thread-safe.
 */
public sealed interface Slots permits CronSlots, IntervalSlots {

  /** The first slot strictly after {@code after}; empty when the schedule never fires again. */
  Optional<Instant> next(Instant after);

  /**
   * Parses a stored cron (or interval) in a time zone.
   *
   * @throws InvalidScheduleException naming {@code cron} or {@code time_zone}
   */
  static Slots parse(String cron, String timeZone) {
    String normalized = ScheduleDefinition.normalizeCron(cron);
    if (ScheduleDefinition.isInterval(normalized)) {
      return IntervalSlots.parse(normalized);
    }
    ZoneId zone;
    try {
      zone = ZoneId.of(timeZone);
    } catch (DateTimeException e) {
      throw new InvalidScheduleException(
          "time_zone", "unknown time zone '" + timeZone + "' (java.time has no such zone)", e);
    }
    return CronSlots.parse(normalized, zone);
  }
}
