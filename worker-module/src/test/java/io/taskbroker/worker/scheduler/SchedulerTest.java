package io.taskbroker.worker.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.common.InvalidScheduleException;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.common.ScheduleDefinition.CatchUp;
import io.taskbroker.common.sql.FiredSlot;
import io.taskbroker.common.sql.ScheduleRepository;
import io.taskbroker.worker.internal.Supervisor;
import io.taskbroker.worker.testing.SettableClock;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The scheduler unit against the database, driven tick by tick with a settable clock: the jobs it
 * enqueues across DST changes and leap days, after an outage under each catch-up policy, and with
 * several schedulers racing.
 */
class SchedulerTest extends WorkerDatabaseTest {
  private final ScheduleRepository repository = new ScheduleRepository(database);

  /** Each test walks its own clock: schedules of an earlier test must not fire in it. */
  @BeforeEach
  void noSchedules() {
    jobs.execute("DELETE FROM taskbroker.schedules");
    jobs.execute("DELETE FROM taskbroker.jobs");
  }

  private Scheduler scheduler(SettableClock clock) {
    return new Scheduler(
        repository,
        List.of(),
        Duration.ofSeconds(1),
        clock,
        Supervisor.alone("scheduler-test").unit("scheduler", Duration.ofHours(1)));
  }

  private static ScheduleDefinition.Builder schedule(String name, String cron) {
    return ScheduleDefinition.builder(name, cron, "scheduled").queue("schedules-" + name);
  }

  /** The slots of the schedule's jobs, in order. */
  private List<String> slots(String name) {
    return jobs.jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery(
                        "SELECT metadata ->> 'slot' FROM taskbroker.jobs"
                            + " WHERE metadata ->> 'schedule' = ? ORDER BY metadata ->> 'slot'")
                    .bind(0, name)
                    .mapTo(String.class)
                    .list());
  }

  /**
   * Ticks from {@code from} to {@code to} every {@code step}, as a worker would; the steps must hit
   * the slots (a slot over 10 s late counts as missed, and catch-up is none).
   */
  private static void walk(
      Scheduler scheduler, SettableClock clock, String from, String to, Duration step) {
    clock.set(Instant.parse(from));
    Instant end = Instant.parse(to);
    while (!clock.instant().isAfter(end)) {
      scheduler.tickOnce();
      clock.advance(step);
    }
  }

  @Test
  void hourlyJobsAcrossBerlinsSpringAndAutumnChanges() {
    repository.upsert(schedule("berlin-hourly", "0 * * * *").timeZone("Europe/Berlin").build());
    SettableClock clock = new SettableClock(Instant.EPOCH);
    Scheduler scheduler = scheduler(clock);

    walk(scheduler, clock, "2026-03-28T22:30:00Z", "2026-03-29T02:30:00Z", Duration.ofMinutes(5));
    // 00:00 and 01:00 CET, then 03:00 and 04:00 CEST: 02:00 does not exist, and is 03:00.
    assertThat(slots("berlin-hourly"))
        .containsExactly(
            "2026-03-28T23:00:00Z",
            "2026-03-29T00:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T02:00:00Z");

    jobs.execute("DELETE FROM taskbroker.jobs WHERE metadata ->> 'schedule' = 'berlin-hourly'");
    walk(scheduler, clock, "2026-10-24T21:30:00Z", "2026-10-25T02:30:00Z", Duration.ofMinutes(5));
    // 00:00, 01:00, 02:00 CEST, then 03:00 CET: the repeated 02:00 runs once.
    assertThat(slots("berlin-hourly"))
        .containsExactly(
            "2026-10-24T22:00:00Z",
            "2026-10-24T23:00:00Z",
            "2026-10-25T00:00:00Z",
            "2026-10-25T02:00:00Z");
  }

  @Test
  void dailyJobsAcrossNewYorksChangesAndALeapDay() {
    repository.upsert(schedule("ny-daily", "30 2 * * *").timeZone("America/New_York").build());
    repository.upsert(schedule("leap-day", "0 12 29 2 *").timeZone("America/New_York").build());
    SettableClock clock = new SettableClock(Instant.EPOCH);
    Scheduler scheduler = scheduler(clock);

    walk(scheduler, clock, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z", Duration.ofMinutes(10));
    // 02:30 EST; on the 8th 02:30 does not exist: 03:30 EDT; then 02:30 EDT.
    assertThat(slots("ny-daily"))
        .containsExactly("2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z");

    jobs.execute("DELETE FROM taskbroker.jobs WHERE metadata ->> 'schedule' = 'ny-daily'");
    walk(scheduler, clock, "2026-10-31T00:00:00Z", "2026-11-02T12:00:00Z", Duration.ofMinutes(10));
    assertThat(slots("ny-daily"))
        .containsExactly("2026-10-31T06:30:00Z", "2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z");

    // The leap-day schedule learnt its next slot on the first tick; the clock then jumps to it.
    assertThat(repository.get("leap-day").orElseThrow().nextRunAt())
        .isEqualTo(Instant.parse("2028-02-29T17:00:00Z"));
    clock.set(Instant.parse("2028-02-29T17:00:01Z"));
    scheduler.tickOnce();
    assertThat(slots("leap-day")).containsExactly("2028-02-29T17:00:00Z");
    assertThat(repository.get("leap-day").orElseThrow().nextRunAt())
        .isEqualTo(Instant.parse("2032-02-29T17:00:00Z"));
  }

  @Test
  void afterATenMinuteOutageEachCatchUpPolicyRunsWhatItSays() {
    repository.upsert(schedule("outage-none", "* * * * *").catchUp(CatchUp.NONE).build());
    repository.upsert(schedule("outage-latest", "* * * * *").catchUp(CatchUp.LATEST).build());
    repository.upsert(schedule("outage-all", "* * * * *").catchUp(CatchUp.ALL).build());
    repository.upsert(
        schedule("outage-all-5m", "* * * * *")
            .catchUp(CatchUp.ALL)
            .catchUpWindow(Duration.ofMinutes(5))
            .build());
    SettableClock clock = new SettableClock(Instant.parse("2026-06-01T12:00:30Z"));
    Scheduler scheduler = scheduler(clock);
    scheduler.tickOnce();
    clock.set(Instant.parse("2026-06-01T12:01:00.400Z"));
    scheduler.tickOnce();
    for (String name : List.of("outage-none", "outage-latest", "outage-all", "outage-all-5m")) {
      assertThat(slots(name)).as(name).containsExactly("2026-06-01T12:01:00Z");
    }

    // No worker from 12:01:30 to 12:11:30: the slots 12:02 .. 12:11 were missed.
    clock.set(Instant.parse("2026-06-01T12:11:30Z"));
    scheduler.tickOnce();

    assertThat(slots("outage-none")).containsExactly("2026-06-01T12:01:00Z");
    assertThat(slots("outage-latest"))
        .containsExactly("2026-06-01T12:01:00Z", "2026-06-01T12:11:00Z");
    assertThat(slots("outage-all")).hasSize(11).endsWith("2026-06-01T12:11:00Z");
    assertThat(slots("outage-all-5m"))
        .containsExactly(
            "2026-06-01T12:01:00Z",
            "2026-06-01T12:07:00Z",
            "2026-06-01T12:08:00Z",
            "2026-06-01T12:09:00Z",
            "2026-06-01T12:10:00Z",
            "2026-06-01T12:11:00Z");
    for (String name : List.of("outage-none", "outage-latest", "outage-all", "outage-all-5m")) {
      assertThat(repository.get(name).orElseThrow().nextRunAt())
          .as(name)
          .isEqualTo(Instant.parse("2026-06-01T12:12:00Z"));
    }
  }

  @Test
  void schedulersRacingOnTheSameSlotsEnqueueEachSlotOnce() throws Exception {
    repository.upsert(
        schedule("race", "every 1 second")
            .catchUp(CatchUp.ALL)
            .catchUpWindow(Duration.ofMinutes(1))
            .build());
    SettableClock clock = new SettableClock(Instant.parse("2026-06-01T12:00:00.500Z"));
    scheduler(clock).tickOnce();
    clock.set(Instant.parse("2026-06-01T12:05:00.500Z"));
    int racers = 4;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(racers);
    try {
      List<Future<List<FiredSlot>>> ticks = new ArrayList<>();
      for (int i = 0; i < racers; i++) {
        Scheduler racer = scheduler(clock);
        ticks.add(
            pool.submit(
                () -> {
                  start.await();
                  List<FiredSlot> fired = new ArrayList<>();
                  for (int round = 0; round < 3; round++) {
                    fired.addAll(racer.tickOnce());
                  }
                  return fired;
                }));
      }
      start.countDown();
      int fired = 0;
      for (Future<List<FiredSlot>> tick : ticks) {
        fired += tick.get().size();
      }
      // 12:04:01 .. 12:05:00 (the window, one minute back from 12:05:00.5): one job each.
      assertThat(fired).isEqualTo(60);
    } finally {
      pool.shutdownNow();
    }
    List<String> slots = slots("race");
    assertThat(slots).hasSize(60).doesNotHaveDuplicates();
    assertThat(slots).startsWith("2026-06-01T12:04:01Z").endsWith("2026-06-01T12:05:00Z");
  }

  @Test
  void aCronTheDatabaseLetsThroughButJavaRefusesIsMarkedAndFiresNothing() {
    // Five fields of cron characters, but minute 61 does not exist.
    repository.upsert(schedule("bad-minute", "61 * * * *").build());
    SettableClock clock = new SettableClock(Instant.parse("2026-06-01T12:00:00Z"));
    Scheduler scheduler = scheduler(clock);
    scheduler.tickOnce();
    assertThat(repository.get("bad-minute").orElseThrow().lastError()).startsWith("cron: ");
    assertThat(repository.due(clock.instant(), 100))
        .extracting("name")
        .doesNotContain("bad-minute");

    assertThat(repository.upsert(schedule("bad-minute", "1 * * * *").build())).isEqualTo("updated");
    assertThat(repository.get("bad-minute").orElseThrow().lastError()).isNull();
    scheduler.tickOnce();
    assertThat(repository.get("bad-minute").orElseThrow().nextRunAt())
        .isEqualTo(Instant.parse("2026-06-01T12:01:00Z"));
  }

  @Test
  void badInputIsRefusedNamingTheFieldAndNothingIsWritten() {
    assertThatThrownBy(
            () ->
                repository.upsert(
                    new ScheduleDefinition(
                        "sql-zone",
                        "* * * * *",
                        "Mars/Olympus",
                        "p",
                        "q",
                        io.taskbroker.common.Json.object(),
                        io.taskbroker.common.Json.object(),
                        0,
                        3,
                        null,
                        CatchUp.NONE,
                        Duration.ofHours(1),
                        ScheduleDefinition.Overlap.ALLOW,
                        Duration.ZERO)))
        .isInstanceOf(InvalidScheduleException.class)
        .hasMessageStartingWith("time_zone: unknown time zone 'Mars/Olympus'");
    assertThatThrownBy(() -> schedule("", "* * * * *").build())
        .isInstanceOf(InvalidScheduleException.class)
        .hasMessageStartingWith("name: ");
    assertThatThrownBy(() -> schedule("few", "* * *").build())
        .isInstanceOf(InvalidScheduleException.class)
        .hasMessageStartingWith("cron: ");
    assertThat(repository.get("sql-zone")).isEmpty();
  }
}
