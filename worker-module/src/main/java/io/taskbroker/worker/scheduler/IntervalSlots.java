package io.taskbroker.worker.scheduler;

import io.taskbroker.common.InvalidScheduleException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * {@code every N seconds|minutes|hours}: the multiples of the interval since the epoch, in UTC (so
 * {@code every 5 minutes} fires at :00, :05, ... and every worker agrees). Time zones and DST do
 * not move them: an interval is elapsed time.
 */
record IntervalSlots(Duration step) implements Slots {

  static IntervalSlots parse(String interval) {
    String[] words = interval.split(" ");
    long count = words.length == 3 ? Long.parseLong(words[1]) : 1;
    String unit = words[words.length - 1];
    Duration step;
    if (unit.startsWith("second")) {
      step = Duration.ofSeconds(count);
    } else if (unit.startsWith("minute")) {
      step = Duration.ofMinutes(count);
    } else if (unit.startsWith("hour")) {
      step = Duration.ofHours(count);
    } else {
      throw new InvalidScheduleException("cron", "unknown interval unit in '" + interval + "'");
    }
    return new IntervalSlots(step);
  }

  @Override
  public Optional<Instant> next(Instant after) {
    long seconds = step.getSeconds();
    long floor = Math.floorDiv(after.getEpochSecond(), seconds) * seconds;
    return Optional.of(Instant.ofEpochSecond(floor + seconds));
  }
}
