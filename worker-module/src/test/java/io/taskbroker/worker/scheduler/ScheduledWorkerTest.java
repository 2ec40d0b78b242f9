package io.taskbroker.worker.scheduler;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.common.ScheduleDefinition.Overlap;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Schedules run by real workers on the system clock: declared in the worker's config, the overlap
 * policies with a slow plugin, and pause and resume from SQL.
 */
class ScheduledWorkerTest extends WorkerDatabaseTest {
  private static final Duration TICK = Duration.ofMillis(100);

  private long count(String sql, Object... params) {
    return jobs.queryLong(sql, params);
  }

  private long jobsOf(String schedule) {
    return count(
        "SELECT count(*) FROM taskbroker.jobs WHERE metadata ->> 'schedule' = ?", schedule);
  }

  private long runs(String schedule, String outcome) {
    return count(
        "SELECT count(*) FROM taskbroker.schedule_runs WHERE schedule = ? AND outcome = ?",
        schedule,
        outcome);
  }

  private void startWith(
      String queue, int concurrency, ScheduleDefinition schedule, TestPlugin plugin) {
    workers.start(
        TestWorkers.config(queue, concurrency).schedule(schedule).schedulerInterval(TICK), plugin);
  }

  private static ScheduleDefinition everySecond(String name, String plugin, Overlap overlap) {
    return ScheduleDefinition.builder(name, "every 1 second", plugin)
        .queue(name)
        .overlap(overlap)
        .build();
  }

  @Test
  void overlapSkipLeavesOneRunWhileThePreviousStillRuns() {
    Gate gate = new Gate();
    TestPlugin slow =
        TestPlugin.named(
            "slow-skip",
            context -> {
              gate.pass();
              return null;
            });
    try {
      startWith("overlap-skip", 5, everySecond("overlap-skip", "slow-skip", Overlap.SKIP), slow);
      within(15).until(() -> runs("overlap-skip", "skipped_overlap") >= 2);
      assertThat(jobsOf("overlap-skip")).isEqualTo(1);
      assertThat(slow.maxRunning()).isEqualTo(1);
    } finally {
      gate.open();
    }
    // The slow run finished: the next slot runs again.
    within(15).until(() -> jobsOf("overlap-skip") >= 2);
  }

  @Test
  void overlapCancelPreviousCancelsTheRunningJobForTheNextSlot() {
    Gate never = new Gate();
    TestPlugin slow =
        TestPlugin.named(
            "slow-cancel",
            context -> {
              never.pass();
              return null;
            });
    startWith(
        "overlap-cancel",
        5,
        everySecond("overlap-cancel", "slow-cancel", Overlap.CANCEL_PREVIOUS),
        slow);
    within(15)
        .until(
            () ->
                count(
                        "SELECT count(*) FROM taskbroker.jobs WHERE metadata ->> 'schedule' = ?"
                            + " AND status = 'cancelled'",
                        "overlap-cancel")
                    >= 2);
    // At most the newest job and one being cancelled are live at any time.
    assertThat(slow.maxRunning()).isLessThanOrEqualTo(2);
    assertThat(
            count(
                "SELECT count(*) FROM taskbroker.jobs WHERE metadata ->> 'schedule' = ?"
                    + " AND status IN ('completed', 'failed')",
                "overlap-cancel"))
        .isZero();
  }

  @Test
  void overlapAllowRunsSlotsSideBySide() {
    Gate gate = new Gate();
    TestPlugin slow =
        TestPlugin.named(
            "slow-allow",
            context -> {
              gate.pass();
              return null;
            });
    try {
      startWith(
          "overlap-allow", 5, everySecond("overlap-allow", "slow-allow", Overlap.ALLOW), slow);
      within(15).until(() -> slow.running() >= 3);
      assertThat(runs("overlap-allow", "skipped_overlap")).isZero();
    } finally {
      gate.open();
    }
  }

  @Test
  void pauseAndResumeFromSqlTakeEffectWithinASecond() {
    TestPlugin plugin = TestPlugin.completing("paused-plugin");
    startWith("pause", 2, everySecond("pause", "paused-plugin", Overlap.ALLOW), plugin);
    within(15).until(() -> jobsOf("pause") >= 2);

    assertThat(
            jobs.queryLong(
                "SELECT count(*) FROM taskbroker.schedules WHERE"
                    + " taskbroker.pause_schedule('pause') AND name = 'pause'"))
        .isEqualTo(1);
    // A tick already under way may still fire one slot; after that, nothing for two seconds.
    long atPause = jobsOf("pause");
    Awaitility.await()
        .pollInterval(Duration.ofMillis(50))
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(4))
        .until(() -> jobsOf("pause") <= atPause + 1);
    long paused = jobsOf("pause");

    assertThat(
            jobs.queryLong(
                "SELECT count(*) FROM taskbroker.schedules WHERE"
                    + " taskbroker.resume_schedule('pause') AND name = 'pause'"))
        .isEqualTo(1);
    // The next slot is under a second away; the tick comes every 100 ms (margin for a busy host).
    within(Duration.ofMillis(1_500)).until(() -> jobsOf("pause") > paused);
  }

  @Test
  void aDeclaredScheduleIsUpsertedAtStartAndAnUnchangedOneWritesNothing() {
    ScheduleDefinition schedule =
        ScheduleDefinition.builder("declared", "0 3 * * *", "declared-plugin")
            .timeZone("Europe/Berlin")
            .build();
    TestPlugin plugin = TestPlugin.completing("declared-plugin");
    startWith("declared", 1, schedule, plugin);
    String updatedAt =
        jobs.jdbi()
            .withHandle(
                handle ->
                    handle
                        .createQuery(
                            "SELECT updated_at::text FROM taskbroker.schedules WHERE name = 'declared'")
                        .mapTo(String.class)
                        .one());
    startWith("declared", 1, schedule, plugin);
    assertThat(
            count(
                "SELECT count(*) FROM taskbroker.schedules WHERE name = 'declared'"
                    + " AND updated_at::text = ?",
                updatedAt))
        .isEqualTo(1);
    // A changed definition updates the row.
    startWith(
        "declared",
        1,
        ScheduleDefinition.builder("declared", "0 4 * * *", "declared-plugin")
            .timeZone("Europe/Berlin")
            .build(),
        plugin);
    assertThat(count("SELECT count(*) FROM taskbroker.schedules WHERE cron = '0 4 * * *'"))
        .isEqualTo(1);
  }
}
