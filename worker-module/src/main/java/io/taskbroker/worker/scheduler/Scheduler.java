package io.taskbroker.worker.scheduler;

import io.taskbroker.common.InvalidScheduleException;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.common.sql.DueSchedule;
import io.taskbroker.common.sql.FiredSlot;
import io.taskbroker.common.sql.ScheduleRepository;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's scheduler unit: every tick (about a second) it reads the due schedules, computes
 * their slots with the worker's clock ({@link SlotPlan}) and fires them through {@code
 * taskbroker.fire_schedule}. Every worker runs one and none leads: the database fires each slot
 * once (a lock with SKIP LOCKED, a compare-and-set on the due slot, and a primary key on (schedule,
 * slot) in the job's transaction), so a tick that loses a race or runs twice writes nothing.
 *
 * <p>A tick is one indexed query when nothing is due. Thread-safe; start/stop idempotent.
 */
public final class Scheduler implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);
  private static final int DUE_BATCH = 100;
  private static final int MAX_CACHED = 1_000;

  private final ScheduleRepository schedules;
  private final List<ScheduleDefinition> declared;
  private final InstantSource clock;
  private final PeriodicTask task;
  private final Map<String, Slots> parsed = new ConcurrentHashMap<>();
  // Schedules whose last fire failed: warned once, until one works again.
  private final Set<String> failing = ConcurrentHashMap.newKeySet();

  /**
   * @param declared schedules declared in code, upserted by {@link #declare()}
   * @param unit the supervised unit the scheduler's thread is
   */
  public Scheduler(
      ScheduleRepository schedules,
      List<ScheduleDefinition> declared,
      Duration interval,
      InstantSource clock,
      Supervisor.Unit unit) {
    this.schedules = schedules;
    this.declared = List.copyOf(declared);
    this.clock = clock;
    this.task = new PeriodicTask("scheduler", interval, 0.1, unit, this::tickOnce);
  }

  /**
   * Upserts the declared schedules (idempotent: an unchanged definition writes nothing; a changed
   * one updates its row). Before {@link #start()}, on the caller's thread, so a worker whose
   * schedules the database refuses does not start.
   *
   * @throws InvalidScheduleException naming the field the database refused
   * @throws io.taskbroker.common.DatabaseException when the database cannot be reached
   */
  public void declare() {
    for (ScheduleDefinition schedule : declared) {
      String result = schedules.upsert(schedule);
      if (!"unchanged".equals(result)) {
        LOG.info(
            "Schedule {} {}: {} ({})",
            schedule.name(),
            result,
            schedule.cron(),
            schedule.timeZone());
      }
    }
  }

  @Override
  public String name() {
    return "scheduler";
  }

  @Override
  public void start() {
    task.start();
  }

  @Override
  public void stop(Duration within) {
    task.stop(within);
  }

  /**
   * One tick: fires every due slot of every due schedule (up to the per-tick caps). A schedule that
   * fails is logged and left for the next tick; the others still fire.
   *
   * @return the slots this tick fired (enqueued or skipped for overlap)
   * @throws io.taskbroker.common.DatabaseException when the due schedules cannot be read
   */
  public List<FiredSlot> tickOnce() {
    Instant now = clock.instant();
    List<FiredSlot> fired = new ArrayList<>();
    for (DueSchedule due : schedules.due(now, DUE_BATCH)) {
      try {
        fired.addAll(fire(due, now));
        if (failing.remove(due.name())) {
          LOG.info("Schedule {} fires again", due.name());
        }
      } catch (InvalidScheduleException e) {
        LOG.warn(
            "Schedule {} cannot be computed ({}); it fires no more until upsert_schedule changes"
                + " it",
            due.name(),
            e.getMessage());
        schedules.markInvalid(due.name(), due.cron(), due.timeZone(), e.getMessage());
      } catch (RuntimeException e) {
        if (failing.add(due.name())) {
          LOG.warn(
              "Schedule {}: could not fire its due slots ({}); the next tick tries again",
              due.name(),
              e.toString());
        }
      }
    }
    return fired;
  }

  private List<FiredSlot> fire(DueSchedule due, Instant now) {
    Slots slots = slots(due.cron(), due.timeZone());
    SlotPlan plan = SlotPlan.of(slots, due.catchUp(), due.catchUpWindow(), due.nextRunAt(), now);
    if (plan.next() == null && plan.slots().isEmpty()) {
      throw new InvalidScheduleException(
          "cron", "'" + due.cron() + "' has no slot after " + now + " in " + due.timeZone());
    }
    List<Instant> runAts = new ArrayList<>(plan.slots().size());
    long jitterMillis = due.jitter().toMillis();
    for (Instant slot : plan.slots()) {
      // The job waits a random part of the jitter; the slot (its identity) stays the slot.
      runAts.add(
          jitterMillis <= 0
              ? slot
              : slot.plusMillis(ThreadLocalRandom.current().nextLong(jitterMillis + 1)));
    }
    List<FiredSlot> fired =
        schedules.fire(due.name(), due.nextRunAt(), plan.slots(), runAts, plan.next());
    if (plan.slots().size() > 1 && !fired.isEmpty()) {
      LOG.info(
          "Schedule {}: fired {} slot(s) from {} to {} ({} catch-up); next {}",
          due.name(),
          fired.size(),
          plan.slots().get(0),
          plan.slots().get(plan.slots().size() - 1),
          due.catchUp().dbValue(),
          plan.next());
    }
    return fired;
  }

  private Slots slots(String cron, String timeZone) {
    String key = timeZone + " " + cron;
    Slots known = parsed.get(key);
    if (known != null) {
      return known;
    }
    Slots parsedNow = Slots.parse(cron, timeZone);
    if (parsed.size() >= MAX_CACHED) {
      parsed.clear();
    }
    parsed.put(key, parsedNow);
    return parsedNow;
  }
}
