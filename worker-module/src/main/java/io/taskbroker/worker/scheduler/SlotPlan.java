package io.taskbroker.worker.scheduler;

import io.taskbroker.common.ScheduleDefinition.CatchUp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What one tick does with one due schedule: the slots to fire now and the next slot after them.
 * Pure (no clock, no database), so the policies are tested slot by slot.
 *
 * <p>A slot at most {@link #ON_TIME} late is on time and fires under every policy (a tick comes
 * about once a second, a worker may pause). Older ones were missed (no worker ran): {@code none}
 * skips them, {@code latest} fires the most recent of them when no on-time slot stands in for it,
 * {@code all} fires those within the catch-up window. At most {@link #MAX_PER_TICK} slots fire per
 * tick; the next tick goes on from there.
 *
 * @param next the next slot to wait for (may already be due when the tick's cap was reached); null
 *     when the schedule never fires again
 */
public record SlotPlan(List<Instant> slots, Instant next) {
  public static final Duration ON_TIME = Duration.ofSeconds(10);
  public static final int MAX_PER_TICK = 100;

  private static final Duration[] LOOK_BACK = {
    Duration.ofMinutes(1),
    Duration.ofHours(1),
    Duration.ofDays(1),
    Duration.ofDays(32),
    Duration.ofDays(400)
  };

  public SlotPlan {
    slots = List.copyOf(slots);
  }

  /**
   * @param due the schedule's next_run_at (a slot, at or before {@code now}); null when not yet
   *     computed: then nothing fires and the next slot is the first after {@code now}
   */
  public static SlotPlan of(
      Slots slots, CatchUp catchUp, Duration catchUpWindow, Instant due, Instant now) {
    if (due == null || due.isAfter(now)) {
      Instant first = due != null ? due : slots.next(now).orElse(null);
      return new SlotPlan(List.of(), first);
    }
    Instant onTimeFrom = now.minus(ON_TIME);
    Instant lower =
        switch (catchUp) {
          case NONE, LATEST -> onTimeFrom;
          case ALL -> now.minus(catchUpWindow.compareTo(ON_TIME) > 0 ? catchUpWindow : ON_TIME);
        };
    List<Instant> fire = new ArrayList<>();
    Instant cursor = firstAtOrAfter(slots, due, lower.isAfter(due) ? lower : due);
    while (cursor != null && !cursor.isAfter(now) && fire.size() < MAX_PER_TICK) {
      fire.add(cursor);
      cursor = slots.next(cursor).orElse(null);
    }
    if (catchUp == CatchUp.LATEST && fire.isEmpty() && due.isBefore(onTimeFrom)) {
      latestAtOrBefore(slots, due, now).ifPresent(fire::add);
    }
    Instant next;
    if (fire.size() == MAX_PER_TICK) {
      next = cursor;
    } else {
      next = slots.next(now).orElse(null);
    }
    return new SlotPlan(fire, next);
  }

  /** The first slot at or after {@code from}, knowing {@code due} is a slot. */
  private static Instant firstAtOrAfter(Slots slots, Instant due, Instant from) {
    return from.equals(due) ? due : slots.next(from.minusNanos(1)).orElse(null);
  }

  /** The latest slot in [due, now]: looked for in ever longer spans back from now. */
  static Optional<Instant> latestAtOrBefore(Slots slots, Instant due, Instant now) {
    for (Duration span : LOOK_BACK) {
      Instant from = now.minus(span);
      boolean reachesDue = !from.isAfter(due);
      Instant cursor = firstAtOrAfter(slots, due, reachesDue ? due : from);
      Instant latest = null;
      while (cursor != null && !cursor.isAfter(now)) {
        latest = cursor;
        cursor = slots.next(cursor).orElse(null);
      }
      if (latest != null || reachesDue) {
        return Optional.ofNullable(latest);
      }
    }
    // Over 400 days behind: the due slot is the only one known without walking the years.
    return Optional.of(due);
  }
}
