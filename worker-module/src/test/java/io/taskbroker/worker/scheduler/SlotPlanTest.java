package io.taskbroker.worker.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.ScheduleDefinition.CatchUp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which slots one tick fires, per catch-up policy, after a ten-minute outage and on time. */
class SlotPlanTest {
  private static final Slots EVERY_MINUTE = Slots.parse("* * * * *", "Europe/Berlin");
  private static final Instant DUE = Instant.parse("2026-06-01T12:00:00Z");
  // Ten minutes and thirty seconds without a worker: slots 12:00 .. 12:10 were missed.
  private static final Instant BACK = Instant.parse("2026-06-01T12:10:30Z");
  private static final Instant NEXT = Instant.parse("2026-06-01T12:11:00Z");
  private static final Duration HOUR = Duration.ofHours(1);

  private static List<Instant> minutes(int from, int to) {
    List<Instant> slots = new ArrayList<>();
    for (int minute = from; minute <= to; minute++) {
      slots.add(DUE.plus(Duration.ofMinutes(minute)));
    }
    return slots;
  }

  @Test
  void noneSkipsTheMissedSlotsAndWaitsForTheNext() {
    SlotPlan plan = SlotPlan.of(EVERY_MINUTE, CatchUp.NONE, HOUR, DUE, BACK);
    assertThat(plan.slots()).isEmpty();
    assertThat(plan.next()).isEqualTo(NEXT);
  }

  @Test
  void latestRunsOnceForTheMostRecentMissedSlot() {
    SlotPlan plan = SlotPlan.of(EVERY_MINUTE, CatchUp.LATEST, HOUR, DUE, BACK);
    assertThat(plan.slots()).containsExactly(DUE.plus(Duration.ofMinutes(10)));
    assertThat(plan.next()).isEqualTo(NEXT);
  }

  @Test
  void allRunsEveryMissedSlotWithinTheWindow() {
    assertThat(SlotPlan.of(EVERY_MINUTE, CatchUp.ALL, HOUR, DUE, BACK).slots())
        .containsExactlyElementsOf(minutes(0, 10));
    SlotPlan windowed = SlotPlan.of(EVERY_MINUTE, CatchUp.ALL, Duration.ofMinutes(5), DUE, BACK);
    assertThat(windowed.slots()).containsExactlyElementsOf(minutes(6, 10));
    assertThat(windowed.next()).isEqualTo(NEXT);
  }

  @Test
  void allIsBoundedPerTickAndTheNextTickGoesOn() {
    Slots everySecond = Slots.parse("every 1 second", "UTC");
    SlotPlan first = SlotPlan.of(everySecond, CatchUp.ALL, HOUR, DUE, BACK);
    assertThat(first.slots()).hasSize(SlotPlan.MAX_PER_TICK).startsWith(DUE);
    assertThat(first.next()).isEqualTo(DUE.plusSeconds(SlotPlan.MAX_PER_TICK));
    SlotPlan second = SlotPlan.of(everySecond, CatchUp.ALL, HOUR, first.next(), BACK);
    assertThat(second.slots()).startsWith(first.next());
  }

  @Test
  void slotsAFewSecondsLateAreOnTimeUnderEveryPolicy() {
    Slots everySecond = Slots.parse("every 1 second", "UTC");
    Instant now = DUE.plusSeconds(2).plusMillis(300);
    for (CatchUp policy : CatchUp.values()) {
      SlotPlan plan = SlotPlan.of(everySecond, policy, HOUR, DUE, now);
      assertThat(plan.slots())
          .as(policy.name())
          .containsExactly(DUE, DUE.plusSeconds(1), DUE.plusSeconds(2));
      assertThat(plan.next()).isEqualTo(DUE.plusSeconds(3));
    }
  }

  @Test
  void aScheduleWithoutANextSlotYetFiresNothingAndWaitsForTheFirstAfterNow() {
    SlotPlan plan = SlotPlan.of(EVERY_MINUTE, CatchUp.ALL, HOUR, null, BACK);
    assertThat(plan.slots()).isEmpty();
    assertThat(plan.next()).isEqualTo(NEXT);
  }

  @Test
  void latestAfterAWeekFindsTheLastSlotOfAWeeklySchedule() {
    Slots weekly = Slots.parse("0 9 * * 1", "UTC");
    Instant due = Instant.parse("2026-06-01T09:00:00Z"); // a Monday
    Instant back = Instant.parse("2026-06-17T10:00:00Z");
    SlotPlan plan = SlotPlan.of(weekly, CatchUp.LATEST, HOUR, due, back);
    assertThat(plan.slots()).containsExactly(Instant.parse("2026-06-15T09:00:00Z"));
    assertThat(plan.next()).isEqualTo(Instant.parse("2026-06-22T09:00:00Z"));
  }
}
