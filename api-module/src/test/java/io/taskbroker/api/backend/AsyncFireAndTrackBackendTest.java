package io.taskbroker.api.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import io.taskbroker.api.tracker.InMemoryJobTracker;
import io.taskbroker.api.tracker.TrackedJob;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.testsupport.LogCapture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AsyncFireAndTrackBackendTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final AsyncFireAndTrackBackend backend = new AsyncFireAndTrackBackend(2);

  /** Tasks of type "block" wait for this; released after every test. */
  private final CountDownLatch release = new CountDownLatch(1);

  /** Counted down by every "block" task once it runs. */
  private final AtomicInteger started = new AtomicInteger();

  /** Counted by every "stubborn" task that was interrupted and went on waiting. */
  private final AtomicInteger ignoredInterrupts = new AtomicInteger();

  AsyncFireAndTrackBackendTest() {
    backend.setExecutor(
        task ->
            switch ((String) task.get("type")) {
              case "block" -> {
                started.incrementAndGet();
                release.await();
                yield Map.of("released", true);
              }
              case "stubborn" -> {
                started.incrementAndGet();
                awaitIgnoringInterrupts(release);
                yield null;
              }
              case "boom" -> throw new IllegalStateException("boom");
              default -> Map.of("echo", task.get("value"));
            });
  }

  @AfterEach
  void releaseAndShutDown() {
    release.countDown();
    backend.shutdown(WAIT);
  }

  @Test
  void submitReturnsBeforeTheTaskFinishes() {
    backend.initialize();

    UUID id = backend.submit(Map.of("type", "block"));

    assertThat(backend.tracker().get(id).orElseThrow().status().isFinal()).isFalse();
    await().atMost(WAIT).until(() -> started.get() == 1);
    assertThat(backend.tracker().get(id).orElseThrow().status()).isEqualTo(JobStatus.RUNNING);
    assertThat(backend.tracker().runningJobs()).extracting(TrackedJob::id).containsExactly(id);

    release.countDown();

    await().atMost(WAIT).until(() -> status(id) == JobStatus.COMPLETED);
    assertThat(backend.tracker().get(id).orElseThrow().result().get("released").asBoolean())
        .isTrue();
  }

  @Test
  void inflightCountCountsQueuedAndRunningTasks() {
    backend.initialize();
    assertThat(backend.inflightCount()).isZero();

    backend.submit(Map.of("type", "block"));
    backend.submit(Map.of("type", "block"));
    backend.submit(Map.of("type", "block"));

    await().atMost(WAIT).until(() -> started.get() == 2);
    assertThat(backend.inflightCount()).as("two running, one queued behind them").isEqualTo(3);

    release.countDown();

    await().atMost(WAIT).until(() -> backend.inflightCount() == 0);
    assertThat(started.get()).isEqualTo(3);
  }

  @Test
  void shutdownRefusesNewTasksAndDrainsTheOnesInFlight() throws Exception {
    backend.initialize();
    UUID first = backend.submit(Map.of("type", "block"));
    UUID second = backend.submit(Map.of("type", "block"));
    await().atMost(WAIT).until(() -> started.get() == 2);

    CompletableFuture<ShutdownReport> shutdown =
        CompletableFuture.supplyAsync(() -> backend.shutdown(WAIT));
    await().atMost(WAIT).until(this::submitIsRefused);
    assertThat(shutdown).as("waits for the tasks in flight").isNotDone();

    release.countDown();

    ShutdownReport report = shutdown.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(report.drained()).isTrue();
    assertThat(report.abandoned()).isEmpty();
    assertThat(status(first)).isEqualTo(JobStatus.COMPLETED);
    assertThat(status(second)).isEqualTo(JobStatus.COMPLETED);
    assertThat(backend.inflightCount()).isZero();
  }

  @Test
  void taskOutlivingTheDrainTimeoutIsAbandonedAndRecordedFailed() {
    backend.initialize();
    UUID stubborn = backend.submit(Map.of("type", "stubborn"));
    await().atMost(WAIT).until(() -> started.get() == 1);

    long startNanos = System.nanoTime();
    ShutdownReport report = backend.shutdown(Duration.ofMillis(200));
    Duration took = Duration.ofNanos(System.nanoTime() - startNanos);

    assertThat(took).as("bounded by the drain timeout, not by the task").isLessThan(WAIT);
    assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(200));
    assertThat(report.drained()).isFalse();
    assertThat(report.abandoned()).containsExactly(stubborn);
    TrackedJob job = backend.tracker().get(stubborn).orElseThrow();
    assertThat(job.status()).isEqualTo(JobStatus.FAILED);
    assertThat(job.error()).startsWith("abandoned");
    await().atMost(WAIT).until(() -> ignoredInterrupts.get() == 1);

    // The task ends at last; its late result changes nothing.
    release.countDown();
    await().atMost(WAIT).until(() -> backend.inflightCount() == 0);
    assertThat(status(stubborn)).isEqualTo(JobStatus.FAILED);
    assertThat(backend.shutdown(WAIT)).as("shutdown is idempotent").isSameAs(report);
  }

  @Test
  void tasksStillQueuedAtTheDrainTimeoutAreAbandonedAndNoLongerInFlight() {
    AsyncFireAndTrackBackend single = new AsyncFireAndTrackBackend(1);
    single.setExecutor(
        task -> {
          started.incrementAndGet();
          awaitIgnoringInterrupts(release);
          return null;
        });
    single.initialize();
    UUID running = single.submit(Map.of("type", "stubborn"));
    UUID queued = single.submit(Map.of("type", "stubborn"));
    await().atMost(WAIT).until(() -> started.get() == 1);

    ShutdownReport report = single.shutdown(Duration.ofMillis(100));

    assertThat(report.abandoned()).containsExactlyInAnyOrder(running, queued);
    assertThat(single.tracker().get(queued).orElseThrow().status()).isEqualTo(JobStatus.FAILED);
    release.countDown();
    await().atMost(WAIT).until(() -> single.inflightCount() == 0);
    assertThat(started.get()).as("the queued task never ran").isEqualTo(1);
  }

  @Test
  void throwingExecutorIsLoggedAndTheBackendKeepsWorking() {
    backend.initialize();

    try (LogCapture log = LogCapture.of(AsyncFireAndTrackBackend.class)) {
      UUID failing = backend.submit(Map.of("type", "boom"));
      await().atMost(WAIT).until(() -> status(failing) == JobStatus.FAILED);

      assertThat(backend.tracker().get(failing).orElseThrow().error())
          .isEqualTo("IllegalStateException: boom");
      // Logged before the tracker records the failure, on the task's thread: seen by now.
      assertThat(log.messages(Level.ERROR)).contains("Task " + failing + " (boom) failed");
    }

    UUID next = backend.submit(Map.of("type", "echo", "value", 7));
    await().atMost(WAIT).until(() -> status(next) == JobStatus.COMPLETED);
    assertThat(backend.tracker().get(next).orElseThrow().result().get("echo").asInt()).isEqualTo(7);
  }

  @Test
  void submitBeforeInitializeIsLoggedAndStillRuns() {
    try (LogCapture log = LogCapture.of(AsyncFireAndTrackBackend.class)) {
      UUID id = backend.submit(Map.of("type", "echo", "value", 1));

      assertThat(log.messages(Level.WARN))
          .containsExactly("submit() before initialize() on the async backend; initializing now");
      await().atMost(WAIT).until(() -> status(id) == JobStatus.COMPLETED);
    }
  }

  @Test
  void submitAfterShutdownIsRefused() {
    backend.initialize();
    backend.shutdown(WAIT);

    assertThatThrownBy(() -> backend.submit(Map.of("type", "echo")))
        .isInstanceOf(BackendStateException.class)
        .hasMessageContaining("shut down");
  }

  @Test
  void taskWithoutTypeIsRefused() {
    backend.initialize();

    assertThatThrownBy(() -> backend.submit(Map.of("value", 1)))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("'type'");
    assertThat(backend.inflightCount()).isZero();
  }

  @Test
  void cancellingARunningTaskInterruptsIt() {
    backend.initialize();
    UUID id = backend.submit(Map.of("type", "block"));
    await().atMost(WAIT).until(() -> started.get() == 1);

    assertThat(backend.tracker().cancel(id)).isTrue();

    assertThat(status(id)).isEqualTo(JobStatus.CANCELLED);
    await().atMost(WAIT).until(() -> backend.inflightCount() == 0);
    assertThat(status(id))
        .as("the interrupted task's failure changes nothing")
        .isEqualTo(JobStatus.CANCELLED);
  }

  private JobStatus status(UUID id) {
    return backend.tracker().get(id).orElseThrow().status();
  }

  private boolean submitIsRefused() {
    try {
      backend.submit(Map.of("type", "echo"));
      return false;
    } catch (BackendStateException e) {
      return true;
    }
  }

  @Test
  void finishedTasksAreKeptOnlyAsConfigured() {
    backend.initialize();
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      ids.add(backend.submit(Map.of("type", "echo", "value", i)));
    }
    assertThat(backend.shutdown(WAIT).drained()).isTrue();

    InMemoryJobTracker tracker = (InMemoryJobTracker) backend.tracker();
    assertThat(backend.inflightCount()).isZero();
    assertThat(tracker.size()).isEqualTo(InMemoryJobTracker.DEFAULT_BACKEND_KEEP_FINISHED);
    assertThat(tracker.get(ids.get(0))).as("the oldest finished task is forgotten").isEmpty();
    assertThat(ids.stream().filter(id -> tracker.get(id).isPresent()).count())
        .isEqualTo(InMemoryJobTracker.DEFAULT_BACKEND_KEEP_FINISHED);
  }

  @Test
  void asyncBackendRecordsAnExecutorsErrorAndKeepsRunningTasks() {
    AsyncFireAndTrackBackend single = new AsyncFireAndTrackBackend(1);
    List<Thread> threads = new CopyOnWriteArrayList<>();
    single.setExecutor(
        task -> {
          threads.add(Thread.currentThread());
          if (task.get("type").equals("assert")) {
            throw new AssertionError("callback bug");
          }
          return null;
        });
    single.initialize();

    UUID asserted = single.submit(Map.of("type", "assert"));
    UUID next = single.submit(Map.of("type", "echo"));
    await()
        .atMost(WAIT)
        .until(() -> single.tracker().get(next).orElseThrow().status() == JobStatus.COMPLETED);
    single.shutdown(WAIT);

    assertThat(single.tracker().get(asserted).orElseThrow().error())
        .isEqualTo("AssertionError: callback bug");
    assertThat(threads).hasSize(2);
    assertThat(threads.get(1)).as("the pool thread survived the error").isSameAs(threads.get(0));
  }

  private void awaitIgnoringInterrupts(CountDownLatch latch) {
    while (true) {
      try {
        latch.await();
        return;
      } catch (InterruptedException e) {
        ignoredInterrupts.incrementAndGet();
      }
    }
  }
}
