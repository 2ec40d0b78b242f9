package io.taskbroker.worker;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.worker.producer.Producer;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.MutableClock;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * The producer owns its slots: each claimed job's slot frees exactly once, early when the completer
 * takes its outcome under the backlog bound, else when the job leaves; none is freed twice, none
 * leaks. Most steps here run on a {@link ManualWorker} (the real units, moved by hand).
 */
class SlotOwnershipTest extends WorkerDatabaseTest {
  private static final Instant WORKER_NOW = Instant.parse("2031-03-04T05:06:07Z");

  @Test
  void aRetrysAttemptHistoryIsStampedWithTheWorkersClock() {
    TestPlugin failing =
        TestPlugin.named(
            "clocked",
            context -> {
              throw new IllegalStateException("not yet");
            });
    UUID id = jobs.insert(job("clocked", "clocked").maxAttempts(3));
    MutableClock clock = new MutableClock(WORKER_NOW);
    try (ManualWorker manual =
        ManualWorker.of(database, clock, TestWorkers.config("clocked", 1), failing)) {
      assertThat(manual.claimOnce()).extracting(Job::id).containsExactly(id);
      manual.tick(Duration.ofMinutes(5));
      assertThat(manual.runJobs()).isEqualTo(1);
      assertThat(manual.flushOnce()).isEqualTo(1);

      Job row = jobs.get(id);
      assertThat(row.status()).isEqualTo(JobStatus.PENDING);
      assertThat(row.attempt()).isEqualTo(1);
      JsonNode entry = row.errors().get(0);
      assertThat(entry.path("at").asText()).isEqualTo(WORKER_NOW.plusSeconds(300).toString());
      assertThat(entry.path("worker_id").asText()).isEqualTo(manual.id());
      assertThat(row.error()).isEqualTo("java.lang.IllegalStateException: not yet");
    }
  }

  @Test
  void aDecidedOutcomeFreesItsSlotBeforeItIsWritten() {
    List<UUID> ids = jobs.insertMany("early", "early", 2);
    try (ManualWorker manual =
        ManualWorker.of(
            database,
            MutableClock.startingNow(),
            TestWorkers.config("early", 2),
            TestPlugin.completing("early"))) {
      Producer producer = manual.producer();
      assertThat(manual.claimOnce()).hasSize(2);
      assertThat(producer.inFlight()).isEqualTo(2);

      manual.runJobs();

      assertThat(producer.inFlight()).as("slots free while the outcomes wait").isZero();
      assertThat(manual.worker().runningCount()).as("jobs held until written").isEqualTo(2);
      assertThat(jobs.all(ids, JobStatus.RUNNING)).isTrue();

      assertThat(manual.flushOnce()).isEqualTo(2);

      assertThat(jobs.all(ids, JobStatus.COMPLETED)).isTrue();
      assertThat(manual.worker().runningCount()).isZero();
      assertThat(producer.inFlight()).isZero();
      assertThat(producer.overReleases()).isZero();
    }
  }

  @Test
  void pastTheCompletersBacklogBoundASlotFreesOnlyWhenWrittenAndClaimingStops() {
    // One slot: the completer's backlog bound is two outcomes.
    List<UUID> ids = jobs.insertMany("bound", "bound", 3);
    try (ManualWorker manual =
        ManualWorker.of(
            database,
            MutableClock.startingNow(),
            TestWorkers.config("bound", 1),
            TestPlugin.completing("bound"))) {
      Producer producer = manual.producer();
      assertThat(manual.claimOnce()).hasSize(1);
      manual.runJobs();
      assertThat(producer.inFlight()).as("first outcome: under the bound").isZero();
      assertThat(manual.claimOnce()).hasSize(1);
      manual.runJobs();

      assertThat(producer.inFlight()).as("second outcome: at the bound, slot held").isEqualTo(1);
      assertThat(manual.claimOnce()).as("no slot to claim into").isEmpty();

      assertThat(manual.flushOnce()).isEqualTo(2);
      assertThat(producer.inFlight()).isZero();
      assertThat(manual.claimOnce()).hasSize(1);
      manual.runJobs();
      manual.flushOnce();
      assertThat(jobs.all(ids, JobStatus.COMPLETED)).isTrue();
      assertThat(producer.overReleases()).isZero();
    }
  }

  @Test
  void aSlotIsFreedExactlyOnceWhateverRacesToEndItsJob() {
    // Timeouts decide while plugins that ignore interrupts return late, and cancels land at any
    // moment: every path that ends a job reaches its slot, and it frees once.
    TestPlugin stubborn =
        TestPlugin.named(
                "stubborn",
                context -> {
                  long until =
                      System.nanoTime()
                          + Duration.ofMillis(ThreadLocalRandom.current().nextInt(0, 80)).toNanos();
                  while (System.nanoTime() < until) {
                    // Work that ignores interruption, as a plugin in a native call would.
                    Thread.interrupted();
                    LockSupport.parkNanos(until - System.nanoTime());
                  }
                  return TestPlugin.okResult(context);
                })
            .withTimeout(Duration.ofMillis(40));
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      ids.add(jobs.insert(job("races", "stubborn").maxAttempts(1)));
    }
    Worker worker = workers.start(TestWorkers.config("races", 4), stubborn);
    for (int i = 0; i < ids.size(); i += 3) {
      jobs.cancel(ids.get(i));
    }

    within(30)
        .until(
            () ->
                jobs.statuses(ids).values().stream().allMatch(JobStatus::isFinal)
                    && worker.runningCount() == 0);

    Producer producer = worker.producer("races");
    assertThat(producer.overReleases()).as("slots freed twice").isZero();
    within(5).until(() -> producer.inFlight() == 0);
    assertThat(worker.health().isHealthy()).isTrue();
  }
}
