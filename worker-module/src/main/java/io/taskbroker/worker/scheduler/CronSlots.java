package io.taskbroker.worker.scheduler;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinition;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.taskbroker.common.InvalidScheduleException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.Optional;

/**
 * Cron fields read as local times in a zone, the way a person reads a crontab.
 *
 * <p>cron-utils walks the fields; it is only ever asked in UTC, as a calendar of local times with
 * no DST, because its answers on a {@code ZonedDateTime} across a change are not what a person
 * expects (measured with 9.2.1: {@code 30 2 * * *} in Europe/Berlin skips 2026-03-29 altogether,
 * and runs 02:30 on 2026-10-25 twice, in CEST and again in CET). This class maps each local time to
 * an instant itself:
 *
 * <ul>
 *   <li>a local time in a gap (02:30 on the spring-forward night in Europe/Berlin) does not exist:
 *       it runs once, shifted by the length of the gap (03:30 CEST), as {@code java.time} resolves
 *       it; a slot that lands on one already there (02:00 shifted is 03:00) is one slot;
 *   <li>a local time in an overlap (02:30 on the autumn night occurs twice) runs once, at its first
 *       occurrence (the earlier offset), so an hourly schedule has no run in the repeated hour.
 * </ul>
 *
 * Five fields are Unix cron (minute precision; day-of-week 0-7, Sunday 0 or 7); six add a leading
 * seconds field.
 */
final class CronSlots implements Slots {
  // No DST change takes so many matching local times to cross; a cron that keeps missing is bad.
  private static final int MAX_STEPS = 10_000;

  private static final CronParser UNIX =
      new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
  private static final CronParser WITH_SECONDS = new CronParser(withSeconds());

  private final String cron;
  private final ZoneId zone;
  private final ZoneRules rules;
  private final ExecutionTime execution;

  private CronSlots(String cron, ZoneId zone, ExecutionTime execution) {
    this.cron = cron;
    this.zone = zone;
    this.rules = zone.getRules();
    this.execution = execution;
  }

  /** Unix cron with a leading seconds field (the same field rules as {@link CronType#UNIX}). */
  private static CronDefinition withSeconds() {
    return CronDefinitionBuilder.defineCron()
        .withSeconds()
        .withStrictRange()
        .and()
        .withMinutes()
        .withStrictRange()
        .and()
        .withHours()
        .withStrictRange()
        .and()
        .withDayOfMonth()
        .supportsQuestionMark()
        .withStrictRange()
        .and()
        .withMonth()
        .withStrictRange()
        .and()
        .withDayOfWeek()
        .withValidRange(0, 7)
        .withMondayDoWValue(1)
        .withIntMapping(7, 0)
        .supportsQuestionMark()
        .withStrictRange()
        .and()
        .matchDayOfWeekAndDayOfMonth()
        .instance();
  }

  static CronSlots parse(String cron, ZoneId zone) {
    int fields = cron.split(" ").length;
    CronParser parser = fields == 6 ? WITH_SECONDS : UNIX;
    Cron parsed;
    try {
      parsed = parser.parse(cron).validate();
    } catch (IllegalArgumentException e) {
      throw new InvalidScheduleException(
          "cron", "'" + cron + "' is not a valid cron expression: " + e.getMessage(), e);
    }
    return new CronSlots(cron, zone, ExecutionTime.forCron(parsed));
  }

  @Override
  public Optional<Instant> next(Instant after) {
    LocalDateTime local = LocalDateTime.ofInstant(after, zone);
    LocalDateTime cursor = local;
    // Just after a spring-forward gap, a local time of the gap (resolved later by the gap's
    // length) may resolve after `after` although it is before `local`: start that much earlier.
    ZoneOffsetTransition previous = rules.previousTransition(after.plusNanos(1));
    if (previous != null
        && previous.isGap()
        && local.isBefore(previous.getDateTimeAfter().plus(previous.getDuration()))) {
      cursor = local.minus(previous.getDuration());
    }
    Instant best = null;
    for (int step = 0; step < MAX_STEPS; step++) {
      Optional<LocalDateTime> candidate = nextLocal(cursor);
      if (candidate.isEmpty()) {
        return Optional.ofNullable(best);
      }
      LocalDateTime time = candidate.get();
      Instant resolved = ZonedDateTime.ofLocal(time, zone, null).toInstant();
      ZoneOffsetTransition transition = rules.getTransition(time);
      boolean inGap = transition != null && transition.isGap();
      if (resolved.isAfter(after)) {
        if (best == null || resolved.isBefore(best)) {
          best = resolved;
        }
        if (!inGap) {
          // A real local time: every later one resolves later, and a later gap time too.
          return Optional.of(best);
        }
        // Later times of this gap resolve later still; a real time just after it may resolve
        // earlier (02:50 shifted is 03:50, but 03:10 is 03:10): go on from the gap's end.
        cursor = transition.getDateTimeAfter().minusSeconds(1);
      } else if (transition != null && transition.isOverlap()) {
        // A repeated local time resolves to its first occurrence, already past: the rest of the
        // repeated hour is too. Go on from its end.
        cursor = transition.getDateTimeBefore().minusSeconds(1);
      } else {
        cursor = time;
      }
    }
    throw new IllegalStateException(
        "cron '" + cron + "' in " + zone + ": no slot after " + after + " within " + MAX_STEPS);
  }

  /** The next local time strictly after {@code after} that the fields match. */
  private Optional<LocalDateTime> nextLocal(LocalDateTime after) {
    return execution
        .nextExecution(after.atZone(ZoneOffset.UTC))
        .map(ZonedDateTime::toLocalDateTime);
  }

  @Override
  public String toString() {
    return cron + " (" + zone + ")";
  }
}
