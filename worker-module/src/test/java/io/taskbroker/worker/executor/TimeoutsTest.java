package io.taskbroker.worker.executor;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Past its timeout an attempt is interrupted and fails, and never holds its slot (issue 4). */
class TimeoutsTest extends WorkerDatabaseTest {
  private static final Duration SHORT = Duration.ofMillis(300);

  /** Waits at a gate that never opens; counts the interrupts that end the wait. */
  private static TestPlugin waitingForInterrupt(String name, AtomicInteger interrupts) {
    Gate never = new Gate();
    return TestPlugin.named(
        name,
        context -> {
          try {
            never.pass();
          } catch (InterruptedException e) {
            interrupts.incrementAndGet();
            throw e;
          }
          return null;
        });
  }

  /**
   * Whether a job thread has finished everything it does for its job: it is back in its pool
   * waiting for the next task, or has ended.
   */
  private static boolean doneWithItsJob(Thread thread) {
    return !thread.isAlive()
        || Arrays.stream(thread.getStackTrace())
            .anyMatch(frame -> frame.getMethodName().equals("getTask"));
  }

  private static void assertTimedOutOnce(UUID id, Duration timeout) {
    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.FAILED);
    assertThat(row.attempt()).isEqualTo(1);
    assertThat(row.errors()).hasSize(1);
    assertThat(row.errors().get(0).path("kind").asText()).isEqualTo("timeout");
    assertThat(row.error()).isEqualTo("timed out after " + timeout);
  }

  @Test
  void aJobsOwnTimeoutInterruptsThePluginAndFailsTheAttempt() {
    AtomicInteger interrupts = new AtomicInteger();
    // The plugin allows a minute; the job's own 300ms wins.
    TestPlugin plugin =
        waitingForInterrupt("slow-job", interrupts).withTimeout(Duration.ofMinutes(1));
    UUID id = jobs.insert(job("job-timeout", "slow-job").timeout(SHORT).maxAttempts(1));
    workers.start("job-timeout", 1, plugin);

    within(10).until(() -> jobs.status(id) == JobStatus.FAILED);

    assertTimedOutOnce(id, SHORT);
    within(5).until(() -> interrupts.get() == 1);
    assertThat(plugin.executions(id)).isEqualTo(1);
  }

  @Test
  void aPluginsTimeoutAppliesWhenTheJobSetsNoneAndTheJobIsRetried() {
    AtomicInteger interrupts = new AtomicInteger();
    TestPlugin plugin = waitingForInterrupt("slow-plugin", interrupts).withTimeout(SHORT);
    UUID id = jobs.insert(job("plugin-timeout", "slow-plugin").maxAttempts(2));
    workers.start("plugin-timeout", 1, plugin);

    within(10).until(() -> jobs.status(id) == JobStatus.FAILED);

    Job row = jobs.get(id);
    assertThat(row.attempt()).isEqualTo(2);
    assertThat(row.errors()).hasSize(2);
    assertThat(row.errors())
        .allSatisfy(e -> assertThat(e.path("kind").asText()).isEqualTo("timeout"));
    assertThat(plugin.executions(id)).isEqualTo(2);
    within(5).until(() -> interrupts.get() == 2);
  }

  @Test
  void aFinishedJobLeavesNoTimerBehind() {
    TestPlugin plugin = TestPlugin.completing("timed").withTimeout(Duration.ofHours(1));
    List<UUID> ids = jobs.insertMany("timers", "timed", 50);
    Worker worker = workers.start("timers", 2, plugin);

    within(10).until(() -> jobs.all(ids, JobStatus.COMPLETED));

    // Each job ran under an hour's timeout; none of the 50 timers may wait out that hour.
    within(5).until(() -> worker.timeoutsPending() == 0);
    assertThat(plugin.totalExecutions()).isEqualTo(50);
  }

  @Test
  void aPluginIgnoringInterruptionDoesNotHoldItsSlotAndItsFateIsRecordedOnce() {
    Gate release = new Gate();
    AtomicReference<Thread> stuckThread = new AtomicReference<>();
    TestPlugin plugin =
        TestPlugin.named(
            "stubborn",
            context -> {
              if (context.payload().path("stuck").asBoolean()) {
                stuckThread.set(Thread.currentThread());
                release.passIgnoringInterrupts();
                return Json.object().put("late", true);
              }
              return TestPlugin.okResult(context);
            });
    UUID stuck =
        jobs.insert(
            job("stubborn", "stubborn")
                .payload(Map.of("stuck", true))
                .timeout(SHORT)
                .maxAttempts(1));
    Worker worker = workers.start("stubborn", 1, plugin);
    within(10).until(() -> plugin.running() == 1);
    UUID next = jobs.insert("stubborn", "stubborn");

    // Concurrency 1, and the stuck plugin thread is still inside: yet the next job runs.
    within(10).until(() -> jobs.status(next) == JobStatus.COMPLETED);
    assertThat(plugin.running()).as("the stuck plugin still runs").isEqualTo(1);
    assertTimedOutOnce(stuck, SHORT);
    assertThat(worker.runningCount()).isZero();
    long writtenBefore = worker.completedWrites();

    release.open();
    // The thread is done with the late result once it is back waiting for work in its pool (or
    // gone); shutting down then writes whatever it handed over, so a late write would show.
    within(5).until(() -> doneWithItsJob(stuckThread.get()));
    worker.shutdown(Duration.ofSeconds(5));
    assertThat(worker.completedWrites())
        .as("no write for the late result")
        .isEqualTo(writtenBefore);
    assertThat(worker.rejectedWrites()).as("no write for the late result").isZero();
    assertTimedOutOnce(stuck, SHORT);
    assertThat(jobs.get(stuck).result()).isNull();
    assertThat(plugin.executions(stuck)).isEqualTo(1);
  }
}
