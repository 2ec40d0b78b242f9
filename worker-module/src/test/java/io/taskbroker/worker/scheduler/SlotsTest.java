package io.taskbroker.worker.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.common.InvalidScheduleException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The slots a person expects, walked across the DST changes of Europe/Berlin (last Sundays of March
 * and October, at 02:00/03:00 local) and America/New_York (second Sunday of March, first of
 * November, at 02:00 local), and through leap days.
 */
class SlotsTest {
  private static final String BERLIN = "Europe/Berlin";
  private static final String NEW_YORK = "America/New_York";

  /** The slots from (exclusive) {@code from} up to (inclusive) {@code until}. */
  private static List<Instant> walk(Slots slots, Instant from, Instant until) {
    List<Instant> found = new ArrayList<>();
    Instant cursor = from;
    while (true) {
      Instant next = slots.next(cursor).orElseThrow();
      if (next.isAfter(until)) {
        return found;
      }
      assertThat(next).as("slots strictly increase").isAfter(cursor);
      found.add(next);
      cursor = next;
    }
  }

  private static Instant utc(String text) {
    return Instant.parse(text);
  }

  /** Local wall-clock text in the zone, with the offset, for readable assertions. */
  private static List<String> local(List<Instant> instants, String zone) {
    return instants.stream()
        .map(i -> ZonedDateTime.ofInstant(i, ZoneId.of(zone)).toOffsetDateTime().toString())
        .toList();
  }

  @Test
  void aDailyRunInTheSpringGapRunsOnceShiftedByTheGap() {
    Slots slots = Slots.parse("30 2 * * *", BERLIN);
    List<Instant> runs = walk(slots, utc("2026-03-27T12:00:00Z"), utc("2026-03-31T12:00:00Z"));
    assertThat(local(runs, BERLIN))
        .containsExactly(
            "2026-03-28T02:30+01:00",
            // 02:30 does not exist on the 29th: once, at 03:30 CEST.
            "2026-03-29T03:30+02:00",
            "2026-03-30T02:30+02:00",
            "2026-03-31T02:30+02:00");
    // Asked at 03:10 CEST, just after the change (a schedule upserted then): the shifted 02:30
    // is still ahead.
    assertThat(slots.next(utc("2026-03-29T01:10:00Z"))).contains(utc("2026-03-29T01:30:00Z"));
  }

  @Test
  void aDailyRunInTheRepeatedAutumnHourRunsOnceAtItsFirstOccurrence() {
    Slots slots = Slots.parse("30 2 * * *", BERLIN);
    List<Instant> runs = walk(slots, utc("2026-10-23T12:00:00Z"), utc("2026-10-27T12:00:00Z"));
    assertThat(local(runs, BERLIN))
        .containsExactly(
            "2026-10-24T02:30+02:00",
            "2026-10-25T02:30+02:00",
            "2026-10-26T02:30+01:00",
            "2026-10-27T02:30+01:00");
  }

  @Test
  void hourlyRunsAcrossBerlinsSpringChangeHaveNoDuplicateAndNoHole() {
    Slots slots = Slots.parse("0 * * * *", BERLIN);
    List<Instant> runs = walk(slots, utc("2026-03-28T22:30:00Z"), utc("2026-03-29T02:30:00Z"));
    assertThat(local(runs, BERLIN))
        .containsExactly(
            "2026-03-29T00:00+01:00",
            "2026-03-29T01:00+01:00",
            // 02:00 is 03:00 CEST: one slot, not two.
            "2026-03-29T03:00+02:00",
            "2026-03-29T04:00+02:00");
  }

  @Test
  void hourlyRunsAcrossBerlinsAutumnChangeRunTheRepeatedHourOnce() {
    Slots slots = Slots.parse("0 * * * *", BERLIN);
    List<Instant> runs = walk(slots, utc("2026-10-24T21:30:00Z"), utc("2026-10-25T03:30:00Z"));
    assertThat(local(runs, BERLIN))
        .containsExactly(
            "2026-10-25T00:00+02:00",
            "2026-10-25T01:00+02:00",
            "2026-10-25T02:00+02:00",
            // 02:00 CET is 02:00 again: it ran at its first occurrence.
            "2026-10-25T03:00+01:00",
            "2026-10-25T04:00+01:00");
  }

  @Test
  void quarterHoursAcrossNewYorksSpringChange() {
    Slots slots = Slots.parse("*/15 * * * *", NEW_YORK);
    List<Instant> runs = walk(slots, utc("2026-03-08T06:40:00Z"), utc("2026-03-08T07:20:00Z"));
    assertThat(local(runs, NEW_YORK))
        .containsExactly(
            "2026-03-08T01:45-05:00", "2026-03-08T03:00-04:00", "2026-03-08T03:15-04:00");
  }

  @Test
  void aDailyRunInNewYorksRepeatedHourRunsOnce() {
    Slots slots = Slots.parse("30 1 * * *", NEW_YORK);
    List<Instant> runs = walk(slots, utc("2026-10-31T12:00:00Z"), utc("2026-11-02T12:00:00Z"));
    assertThat(local(runs, NEW_YORK))
        .containsExactly("2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00");
  }

  @Test
  void aShiftedGapTimeDoesNotHideARealTimeThatComesBeforeIt() {
    // 02:50 shifted is 03:50 CEST, but 03:10 comes first.
    Slots slots = Slots.parse("10,50 2,3 * * *", BERLIN);
    List<Instant> runs = walk(slots, utc("2026-03-28T23:00:00Z"), utc("2026-03-29T23:00:00Z"));
    assertThat(local(runs, BERLIN))
        .containsExactly("2026-03-29T03:10+02:00", "2026-03-29T03:50+02:00");
  }

  @Test
  void everySecondCrossesTheSpringGapWithoutAHoleOrARepeat() {
    Slots slots = Slots.parse("* * * * * *", BERLIN);
    assertThat(slots.next(utc("2026-03-29T00:59:58Z"))).contains(utc("2026-03-29T00:59:59Z"));
    // 01:59:59 CET, then 03:00:00 CEST: the next second.
    assertThat(slots.next(utc("2026-03-29T00:59:59Z"))).contains(utc("2026-03-29T01:00:00Z"));
    assertThat(slots.next(utc("2026-03-29T01:00:00Z"))).contains(utc("2026-03-29T01:00:01Z"));
  }

  @Test
  void leapDaysComeEveryFourYearsAndMarchFollowsThem() {
    Slots leapDay = Slots.parse("0 12 29 2 *", NEW_YORK);
    List<Instant> runs = walk(leapDay, utc("2026-01-01T00:00:00Z"), utc("2033-01-01T00:00:00Z"));
    assertThat(local(runs, NEW_YORK))
        .containsExactly("2028-02-29T12:00-05:00", "2032-02-29T12:00-05:00");

    Slots daily = Slots.parse("0 9 * * *", BERLIN);
    List<Instant> days = walk(daily, utc("2028-02-27T12:00:00Z"), utc("2028-03-01T12:00:00Z"));
    assertThat(local(days, BERLIN))
        .containsExactly(
            "2028-02-28T09:00+01:00", "2028-02-29T09:00+01:00", "2028-03-01T09:00+01:00");
  }

  @Test
  void theLastDayOfFebruaryIsTheTwentyNinthInALeapYear() {
    Slots lastOfMonth = Slots.parse("0 0 28-29 2 *", "UTC");
    List<Instant> runs =
        walk(lastOfMonth, utc("2027-03-01T00:00:00Z"), utc("2028-03-02T00:00:00Z"));
    assertThat(runs).containsExactly(utc("2028-02-28T00:00:00Z"), utc("2028-02-29T00:00:00Z"));
  }

  @Test
  void intervalsAreElapsedTimeAlignedToTheEpochWhateverTheZone() {
    Slots everyFive = Slots.parse("every 5 minutes", BERLIN);
    assertThat(everyFive.next(utc("2026-05-01T12:03:10Z"))).contains(utc("2026-05-01T12:05:00Z"));
    assertThat(everyFive.next(utc("2026-05-01T12:05:00Z"))).contains(utc("2026-05-01T12:10:00Z"));
    Slots hourly = Slots.parse("every hour", BERLIN);
    List<Instant> runs = walk(hourly, utc("2026-10-24T23:30:00Z"), utc("2026-10-25T02:30:00Z"));
    assertThat(runs)
        .containsExactly(
            utc("2026-10-25T00:00:00Z"), utc("2026-10-25T01:00:00Z"), utc("2026-10-25T02:00:00Z"));
    assertThat(Slots.parse("every 30 seconds", "UTC").next(utc("2026-05-01T12:00:29.900Z")))
        .contains(utc("2026-05-01T12:00:30Z"));
  }

  @Test
  void sixFieldsLeadWithSecondsAndWeekdaysAreUnixStyle() {
    Slots sixFields = Slots.parse("*/20 0 9 * * 1-5", "UTC");
    // 2026-05-01 is a Friday.
    List<Instant> runs = walk(sixFields, utc("2026-05-01T08:00:00Z"), utc("2026-05-04T09:00:30Z"));
    assertThat(runs)
        .containsExactly(
            utc("2026-05-01T09:00:00Z"),
            utc("2026-05-01T09:00:20Z"),
            utc("2026-05-01T09:00:40Z"),
            utc("2026-05-04T09:00:00Z"),
            utc("2026-05-04T09:00:20Z"));
    Slots sunday = Slots.parse("0 10 * * 0", "UTC");
    Slots sundaySeven = Slots.parse("0 10 * * 7", "UTC");
    Instant from = utc("2026-05-01T00:00:00Z");
    assertThat(sunday.next(from)).contains(utc("2026-05-03T10:00:00Z"));
    assertThat(sundaySeven.next(from)).contains(utc("2026-05-03T10:00:00Z"));
    assertThat(
            LocalDateTime.ofInstant(sunday.next(from).orElseThrow(), ZoneId.of("UTC"))
                .getDayOfWeek())
        .hasToString("SUNDAY");
  }

  @Test
  void badCronOrZoneIsRefusedNamingTheField() {
    assertThatThrownBy(() -> Slots.parse("61 * * * *", "UTC"))
        .isInstanceOf(InvalidScheduleException.class)
        .hasMessageStartingWith("cron: ")
        .extracting(e -> ((InvalidScheduleException) e).field())
        .isEqualTo("cron");
    assertThatThrownBy(() -> Slots.parse("0 * * * *", "Mars/Olympus"))
        .isInstanceOf(InvalidScheduleException.class)
        .hasMessageStartingWith("time_zone: ");
  }
}
