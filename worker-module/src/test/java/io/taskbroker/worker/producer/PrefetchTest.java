package io.taskbroker.worker.producer;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.spi.JobEvent;
import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.api.spi.JobLifecycleListener.OutcomeKind;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Claiming ahead: while jobs are short the producer holds claimed jobs beyond its slots, and a
 * freed slot takes the next one without a claim; never more run at once than the slots; jobs held
 * but not started go back, refunded, when the worker stops, and when they waited too long for a
 * slot; a cancel reaches a held job; slow jobs switch claiming ahead off.
 */
class PrefetchTest extends WorkerDatabaseTest {
  /** Longer than any test here waits, so a held job stays held until the test acts. */
  private static final Duration HELD_FOR_THE_TEST = Duration.ofMinutes(1);

  /** The most jobs the worker's buffers held at any sample while the given jobs drained. */
  private static long mostBufferedWhileDraining(Worker worker, List<UUID> ids) {
    AtomicLong most = new AtomicLong();
    within(30)
        .until(
            () -> {
              most.accumulateAndGet(worker.prefetchedCount(), Math::max);
              return jobs.all(ids, JobStatus.COMPLETED);
            });
    return most.get();
  }

  /**
   * {@code block}: counts {@code started} down, then waits for {@code release} (at most 20 s), so a
   * test holds the worker's one slot for as long as it needs.
   */
  private static TestPlugin blocking(CountDownLatch started, CountDownLatch release) {
    return TestPlugin.named(
        "block",
        context -> {
          started.countDown();
          release.await(20, TimeUnit.SECONDS);
          return TestPlugin.okResult(context);
        });
  }

  /**
   * Runs 30 quick jobs, so the producer learns the queue's jobs are short and claims ahead, then a
   * {@link #blocking} job that takes the worker's one slot; returns that job once it has started.
   */
  private static UUID warmThenBlock(String queue, CountDownLatch blockStarted)
      throws InterruptedException {
    List<UUID> warm = jobs.insertMany(queue, "quick", 30);
    within(10).until(() -> jobs.all(warm, JobStatus.COMPLETED));
    UUID blocking = jobs.insert(job(queue, "block"));
    assertThat(blockStarted.await(10, TimeUnit.SECONDS)).as("the blocking job started").isTrue();
    return blocking;
  }

  /** A plugin whose work is to sleep this long. */
  private static TestPlugin taking(String name, long millis) {
    return TestPlugin.named(
        name,
        context -> {
          Thread.sleep(millis);
          return TestPlugin.okResult(context);
        });
  }

  @Test
  void shortJobsAreClaimedAheadButNeverRunBeyondTheSlots() {
    List<UUID> ids = jobs.insertMany("ahead", "quick", 400);
    TestPlugin quick = TestPlugin.completing("quick");
    Worker worker = workers.start(TestWorkers.config("ahead", 2).prefetch(8), quick);

    assertThat(mostBufferedWhileDraining(worker, ids))
        .as("jobs held ahead at some point")
        .isPositive();

    assertThat(quick.maxRunning()).as("at most the slots run at once").isLessThanOrEqualTo(2);
    assertThat(quick.totalExecutions()).isEqualTo(400);
    // Without claiming ahead a claim takes at most the two free slots: 200 claims at least.
    assertThat(worker.claimCount()).as("claims for 400 jobs on 2 slots").isLessThan(200);
  }

  @Test
  void aFreedSlotRunsTheNextHeldJobOnTheSameThread() {
    List<String> threads = new CopyOnWriteArrayList<>();
    TestPlugin quick =
        TestPlugin.named(
            "quick",
            context -> {
              threads.add(Thread.currentThread().getName());
              return TestPlugin.okResult(context);
            });
    List<UUID> ids = jobs.insertMany("carry", "quick", 200);
    Worker worker = workers.start(TestWorkers.config("carry", 1).prefetch(8), quick);

    within(30).until(() -> jobs.all(ids, JobStatus.COMPLETED));

    int switches = 0;
    for (int i = 1; i < threads.size(); i++) {
      switches += threads.get(i).equals(threads.get(i - 1)) ? 0 : 1;
    }
    // Only the first job of a claim may start on another thread; a held job runs where the job
    // before it ended.
    assertThat(threads).hasSize(200);
    assertThat(worker.claimCount()).as("claims").isLessThan(100);
    assertThat(switches)
        .as("thread switches between consecutive jobs")
        .isLessThanOrEqualTo((int) worker.claimCount());
  }

  @Test
  void jobsHeldButNotStartedGoBackRefundedWhenTheWorkerStops() throws Exception {
    CountDownLatch blockStarted = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    TestPlugin quick = TestPlugin.completing("quick");
    TestPlugin block = blocking(blockStarted, release);
    // Held for as long as the test needs: past prefetchMaxWait a held job goes back by itself.
    Worker worker =
        workers.start(
            TestWorkers.config("giveback", 1).prefetch(4).prefetchMaxWait(HELD_FOR_THE_TEST),
            quick,
            block);
    UUID blocking = warmThenBlock("giveback", blockStarted);
    List<UUID> held = jobs.insertMany("giveback", "quick", 3);
    // Held: running in the table under this worker, not started.
    within(10).until(() -> jobs.all(held, JobStatus.RUNNING));
    assertThat(quick.totalExecutions()).isEqualTo(30);

    CompletableFuture<?> stopping =
        CompletableFuture.runAsync(() -> worker.shutdown(Duration.ofSeconds(10)));
    // The held jobs are released at once; the running one finishes before the hand-back.
    within(5).until(() -> worker.runningCount() == 1);
    release.countDown();
    stopping.get(15, TimeUnit.SECONDS);

    assertThat(jobs.status(blocking)).isEqualTo(JobStatus.COMPLETED);
    for (UUID id : held) {
      Job row = jobs.get(id);
      assertThat(row.status()).as("held job %s", id).isEqualTo(JobStatus.PENDING);
      assertThat(row.attempt()).as("attempt refunded").isZero();
      assertThat(row.errors()).isEmpty();
    }
    assertThat(quick.totalExecutions()).as("no held job ran").isEqualTo(30);
  }

  @Test
  void aJobHeldPastItsMaxWaitGoesBackForAWorkerWithAFreeSlot() throws Exception {
    CountDownLatch blockStarted = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    TestPlugin quick = TestPlugin.completing("quick");
    TestPlugin block = blocking(blockStarted, release);
    List<OutcomeKind> outcomes = new CopyOnWriteArrayList<>();
    JobLifecycleListener listener =
        new JobLifecycleListener() {
          @Override
          public void finished(JobEvent job, OutcomeKind outcome, Duration run, Duration latency) {
            if (job.plugin().equals("quick")) {
              outcomes.add(outcome);
            }
          }
        };
    Worker busy =
        workers.start(
            TestWorkers.config("spill", 1)
                .prefetch(4)
                .prefetchMaxWait(Duration.ofMillis(200))
                .listener(listener),
            quick,
            block);
    UUID blocking = warmThenBlock("spill", blockStarted);

    List<UUID> held = jobs.insertMany("spill", "quick", 3);
    // Claimed ahead behind the long job, then given back once they have waited 200 ms.
    within(10).until(() -> busy.givenBackCount() == 3);
    within(10).until(() -> jobs.all(held, JobStatus.PENDING));
    for (UUID id : held) {
      Job row = jobs.get(id);
      assertThat(row.attempt()).as("attempt of %s given back", id).isZero();
      assertThat(row.errors()).as("errors of %s", id).isEmpty();
    }
    assertThat(busy.prefetchedCount()).as("held by the busy worker").isZero();
    // Listeners hear of each after its write.
    within(10)
        .until(() -> outcomes.stream().filter(kind -> kind == OutcomeKind.GIVEN_BACK).count() == 3);

    // A worker with free slots runs them while the long job still holds the busy one.
    Worker idle = workers.start(TestWorkers.config("spill", 2), quick);
    within(10).until(() -> jobs.all(held, JobStatus.COMPLETED));
    for (UUID id : held) {
      Job row = jobs.get(id);
      assertThat(row.workerId()).as("worker that ran %s", id).isEqualTo(idle.id());
      assertThat(row.attempt()).as("attempt of %s", id).isEqualTo(1);
      assertThat(quick.executions(id)).as("executions of %s", id).isEqualTo(1);
    }
    assertThat(jobs.status(blocking)).isEqualTo(JobStatus.RUNNING);
    release.countDown();
    within(10).until(() -> jobs.status(blocking) == JobStatus.COMPLETED);
  }

  @Test
  void aCancelReachesAJobHeldButNotStarted() throws Exception {
    CountDownLatch blockStarted = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    TestPlugin quick = TestPlugin.completing("quick");
    TestPlugin block = blocking(blockStarted, release);
    workers.start(
        TestWorkers.config("cancelheld", 1).prefetch(4).prefetchMaxWait(HELD_FOR_THE_TEST),
        quick,
        block);
    UUID blocking = warmThenBlock("cancelheld", blockStarted);
    UUID held = jobs.insert(job("cancelheld", "quick"));
    within(10).until(() -> jobs.status(held) == JobStatus.RUNNING);

    assertThat(jobs.cancel(held)).isEqualTo("running");
    // Decided and written while the job ahead of it still runs: it needs no slot to end.
    within(10).until(() -> jobs.status(held) == JobStatus.CANCELLED);
    release.countDown();

    within(10).until(() -> jobs.status(blocking) == JobStatus.COMPLETED);
    assertThat(quick.executions(held)).as("the cancelled job never ran").isZero();
  }

  @Test
  void theBufferHoldsAboutTwentyMillisecondsOfTheSlotsWork() {
    // Two slots run 8 such jobs in 20 ms.
    TestPlugin fiveMs = taking("five", 5);
    List<UUID> ids = jobs.insertMany("budget", "five", 120);
    Worker worker = workers.start(TestWorkers.config("budget", 2).prefetch(100), fiveMs);

    long mostBuffered = mostBufferedWhileDraining(worker, ids);
    assertThat(fiveMs.totalExecutions()).isEqualTo(120);
    // The prefetch of 100 alone would allow 100 waiting; the time budget allows 2 x 20 / 5.
    assertThat(mostBuffered)
        .as("jobs waiting in the buffer at most")
        .isPositive()
        .isLessThanOrEqualTo(8);
  }

  @Test
  void slowJobsAreNotClaimedAhead() {
    // Longer than the 20 ms average under which the producer claims ahead.
    TestPlugin slow = taking("slow", 60);
    List<UUID> ids = jobs.insertMany("slowq", "slow", 12);
    Worker worker = workers.start(TestWorkers.config("slowq", 2).prefetch(8), slow);

    // Sampled while the queue drains: never more claimed than slots once the first jobs have
    // taught the producer that they are slow (the first claim, before any job ran, may take
    // the slots only too: the average starts unknown, which means no claiming ahead).
    long mostBuffered = mostBufferedWhileDraining(worker, ids);
    assertThat(slow.maxRunning()).isLessThanOrEqualTo(2);
    assertThat(mostBuffered)
        .as("claimed (running in the table) at most the slots")
        .isLessThanOrEqualTo(2);
  }
}
