package io.taskbroker.worker.inprocess;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.ResultView;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.backend.BackendStateException;
import io.taskbroker.api.backend.PostgresBrokerTaskBackend;
import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.api.backend.Tasks;
import io.taskbroker.api.tracker.TrackedJob;
import io.taskbroker.common.Database;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.JobFactory;
import io.taskbroker.worker.testing.TestDatabases;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * PostgresBrokerTaskBackend with an executor: the ServiceLoader finds {@link InProcessWorkers} on
 * this classpath and runs the backend's queue in this JVM (issue 3).
 */
@WithPostgres
class BrokerBackendInProcessTest {
  private static Database database;
  private static JobFactory jobs;
  private static TaskBrokerClient client;
  private PostgresBrokerTaskBackend backend;

  @BeforeAll
  static void openDatabase(TestDatabase db) {
    database = TestDatabases.open(db);
    jobs = new JobFactory(database);
    client = TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build());
  }

  @AfterAll
  static void closeDatabase() {
    client.close();
    database.close();
  }

  @AfterEach
  void shutdownBackend() {
    if (backend != null) {
      backend.shutdown(Duration.ZERO);
    }
  }

  @Test
  void submitReturnsPromptlyAndTheInProcessWorkerRunsTheTaskDict() {
    Gate gate = new Gate();
    List<Map<String, Object>> seen = new CopyOnWriteArrayList<>();
    backend = new PostgresBrokerTaskBackend(client, "inproc-run", 2);
    backend.setExecutor(
        task -> {
          seen.add(task);
          gate.pass();
          return Map.of("echo", task.get("n"));
        });
    backend.initialize();

    // The executor is held at the gate: submit must not wait for it.
    UUID id = backend.submit(Map.of("type", "resize", "n", 7, "file", "a.png"));
    assertThat(jobs.get(id).queue()).isEqualTo("inproc-run");
    within(10).until(() -> seen.size() == 1);
    assertThat(seen.get(0)).isEqualTo(Map.of("type", "resize", "n", 7, "file", "a.png"));
    assertThat(backend.inflightCount()).isEqualTo(1);
    assertThat(jobs.status(id)).isEqualTo(JobStatus.RUNNING);
    gate.open();

    within(10)
        .until(
            () ->
                backend.tracker().get(id).map(TrackedJob::status).orElse(null)
                    == JobStatus.COMPLETED);
    TrackedJob tracked = backend.tracker().get(id).orElseThrow();
    assertThat(tracked.pluginName()).isEqualTo("resize");
    assertThat(tracked.result()).isEqualTo(Json.object().put("echo", 7));
    assertThat(tracked.startedAt()).isNotNull();
    assertThat(tracked.completedAt()).isAfterOrEqualTo(tracked.startedAt());
    assertThat(backend.tracker().resultView(id).orElseThrow())
        .isEqualTo(new ResultView.Success(Json.object().put("echo", 7)));
    assertThat(seen).hasSize(1);
  }

  @Test
  void aThrowingExecutorGetsTheJobRetriedThenFailedAndNeverThrowsAtTheSubmitter() {
    AtomicInteger calls = new AtomicInteger();
    backend = new PostgresBrokerTaskBackend(client, "inproc-fail", 1);
    backend.setExecutor(
        task -> {
          calls.incrementAndGet();
          throw new IllegalStateException("broken executor");
        });
    backend.initialize();

    UUID id = backend.submit(Map.of("type", "explode"));

    // The default retry backoff (1s, then 2s, with jitter) before the third and last attempt.
    within(20).until(() -> jobs.status(id) == JobStatus.FAILED);
    Job row = jobs.get(id);
    assertThat(row.attempt()).isEqualTo(row.maxAttempts()).isEqualTo(3);
    assertThat(calls.get()).isEqualTo(3);
    assertThat(row.errors()).hasSize(3);
    assertThat(row.error()).contains("IllegalStateException").contains("broken executor");
    TrackedJob tracked = backend.tracker().get(id).orElseThrow();
    assertThat(tracked.status()).isEqualTo(JobStatus.FAILED);
    assertThat(tracked.error()).contains("broken executor");
  }

  @Test
  void shutdownDrainsRunningTasksAndThenRefusesNewOnes() {
    Gate gate = new Gate();
    backend = new PostgresBrokerTaskBackend(client, "inproc-drain", 2);
    backend.setExecutor(
        task -> {
          gate.pass();
          return null;
        });
    backend.initialize();
    List<UUID> ids =
        List.of(backend.submit(Map.of("type", "slow")), backend.submit(Map.of("type", "slow")));
    within(10).until(() -> backend.inflightCount() == 2);

    CompletableFuture<ShutdownReport> shutdown =
        CompletableFuture.supplyAsync(() -> backend.shutdown(Duration.ofSeconds(20)));
    within(5).until(() -> jobs.count("inproc-drain", JobStatus.RUNNING) == 2);
    gate.open();
    ShutdownReport report = shutdown.join();

    assertThat(report.drained()).isTrue();
    assertThat(jobs.all(ids, JobStatus.COMPLETED)).isTrue();
    assertThat(backend.inflightCount()).isZero();
    assertThatThrownBy(() -> backend.submit(Map.of("type", "slow")))
        .isInstanceOf(BackendStateException.class);
  }

  @Test
  void brokerShutdownWaitsForItsSubmittedTasksAndReportsWhatIsLeft() {
    // Drains: tasks still pending when shutdown starts are waited for, not only running ones.
    Gate gate = new Gate();
    List<Map<String, Object>> seen = new CopyOnWriteArrayList<>();
    backend = new PostgresBrokerTaskBackend(client, "inproc-wait", 1);
    backend.setExecutor(
        task -> {
          gate.pass();
          seen.add(task);
          return null;
        });
    backend.initialize();
    List<UUID> ids = new CopyOnWriteArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(backend.submit(Map.of("type", "queued", "n", i)));
    }
    within(10).until(() -> jobs.count("inproc-wait", JobStatus.RUNNING) == 1);
    assertThat(jobs.count("inproc-wait", JobStatus.PENDING)).isEqualTo(2);

    CompletableFuture<ShutdownReport> shutdown =
        CompletableFuture.supplyAsync(() -> backend.shutdown(Duration.ofSeconds(30)));
    // The gate opens only once shutdown has begun (it refuses new tasks); a probe accepted before
    // that is one more task to wait for.
    within(10)
        .until(
            () -> {
              try {
                ids.add(backend.submit(Map.of("type", "queued", "n", -1)));
                return false;
              } catch (BackendStateException e) {
                return true;
              }
            });
    gate.open();
    ShutdownReport report = shutdown.join();

    assertThat(report.drained()).isTrue();
    assertThat(jobs.all(ids, JobStatus.COMPLETED)).isTrue();
    assertThat(seen).hasSize(ids.size());

    // Reports what is left: the running task is abandoned (handed back), the queued one and the
    // delayed one are still pending; the delayed one, not due in time, is not waited for.
    Gate never = new Gate();
    PostgresBrokerTaskBackend stuck = new PostgresBrokerTaskBackend(client, "inproc-left", 1);
    stuck.setExecutor(
        task -> {
          never.pass();
          return null;
        });
    stuck.initialize();
    try {
      UUID running = stuck.submit(Map.of("type", "stuck"));
      within(10).until(() -> jobs.status(running) == JobStatus.RUNNING);
      UUID queued = stuck.submit(Map.of("type", "stuck"));
      UUID delayed = stuck.submit(Map.of("type", "stuck", Tasks.DELAY_MS, 3_600_000));

      ShutdownReport left = stuck.shutdown(Duration.ofMillis(300));

      assertThat(left.drained()).isFalse();
      assertThat(left.abandoned()).containsExactly(running);
      assertThat(left.pending()).containsExactlyInAnyOrder(queued, delayed);
      assertThat(jobs.statuses(List.of(running, queued, delayed)))
          .containsOnlyKeys(running, queued, delayed)
          .allSatisfy((id, status) -> assertThat(status).isEqualTo(JobStatus.PENDING));
      assertThat(jobs.get(running).attempt()).as("a hand-back spends no attempt").isZero();
    } finally {
      never.open();
      stuck.shutdown(Duration.ZERO);
    }

    // Only a delayed task left: shutdown returns without spending its drain timeout on it.
    PostgresBrokerTaskBackend delayedOnly =
        new PostgresBrokerTaskBackend(client, "inproc-delayed", 1);
    delayedOnly.setExecutor(task -> null);
    delayedOnly.initialize();
    UUID later = delayedOnly.submit(Map.of("type", "later", Tasks.DELAY_MS, 3_600_000));
    ShutdownReport delayedReport =
        assertTimeoutPreemptively(
            Duration.ofSeconds(15), () -> delayedOnly.shutdown(Duration.ofSeconds(60)));
    assertThat(delayedReport.abandoned()).isEmpty();
    assertThat(delayedReport.pending()).containsExactly(later);
  }

  @Test
  void brokerWorkerRunsOnlyItsOwnTasks() {
    // Inserted first, so a worker that could claim them would take them before the own task.
    UUID otherPluginInItsQueue =
        jobs.insert(JobFactory.job(PostgresBrokerTaskBackend.DEFAULT_QUEUE, "someone-elses"));
    UUID itsTypeInTheWorkersQueue = jobs.insert(JobFactory.job("default", "resize"));
    List<Map<String, Object>> seen = new CopyOnWriteArrayList<>();
    backend = PostgresBrokerTaskBackend.builder(client).concurrency(1).taskTypes("resize").build();
    backend.setExecutor(
        task -> {
          seen.add(task);
          return Map.of("ok", true);
        });
    backend.initialize();

    UUID own = backend.submit(Map.of("type", "resize", "file", "a.png"));
    UUID notHandled = backend.submit(Map.of("type", "transcode"));

    assertThat(jobs.get(own).queue()).isEqualTo("taskbroker-backend");
    within(10).until(() -> jobs.status(own) == JobStatus.COMPLETED);
    ShutdownReport report = backend.shutdown(Duration.ofSeconds(10));

    assertThat(seen).containsExactly(Map.of("type", "resize", "file", "a.png"));
    for (UUID untouched : List.of(otherPluginInItsQueue, itsTypeInTheWorkersQueue, notHandled)) {
      assertThat(jobs.status(untouched)).isEqualTo(JobStatus.PENDING);
      assertThat(jobs.get(untouched).attempt()).isZero();
    }
    // Not its to wait for: a type its worker does not run waits for a worker that has it.
    assertThat(report.drained()).isTrue();
  }

  @Test
  void aTaskDictCanSetAttemptsQueueAndDelay() {
    List<Map<String, Object>> seen = new CopyOnWriteArrayList<>();
    backend = new PostgresBrokerTaskBackend(client, "inproc-settings", 1);
    backend.setExecutor(
        task -> {
          seen.add(task);
          throw new IllegalStateException("always fails");
        });
    backend.initialize();
    Instant runAt = Instant.parse("2031-05-04T03:02:01Z");

    UUID once = backend.submit(Map.of("type", "flaky", "n", 1, Tasks.MAX_ATTEMPTS, 1));
    UUID elsewhere =
        backend.submit(
            Map.of("type", "flaky", Tasks.QUEUE, "inproc-settings-other", Tasks.PRIORITY, -5));
    UUID delayed = backend.submit(Map.of("type", "flaky", Tasks.DELAY_MS, 3_600_000));
    UUID scheduled =
        backend.submit(
            Map.of("type", "flaky", Tasks.RUN_AT, runAt.toString(), Tasks.UNIQUE_KEY, "k-1"));

    within(10).until(() -> jobs.status(once) == JobStatus.FAILED);
    Job failed = jobs.get(once);
    assertThat(failed.maxAttempts()).isEqualTo(1);
    assertThat(failed.attempt()).isEqualTo(1);
    // Stripped: the executor and the payload see the task's own fields only.
    assertThat(seen).containsExactly(Map.of("type", "flaky", "n", 1));
    assertThat(failed.payload()).isEqualTo(Json.object().put("n", 1));

    Job other = jobs.get(elsewhere);
    assertThat(other.queue()).isEqualTo("inproc-settings-other");
    assertThat(other.priority()).isEqualTo(-5);
    assertThat(other.status()).isEqualTo(JobStatus.PENDING);
    assertThat(other.payload()).isEqualTo(Json.object());

    Job later = jobs.get(delayed);
    assertThat(later.status()).isEqualTo(JobStatus.PENDING);
    assertThat(later.runAt()).isAfter(later.createdAt().plus(Duration.ofMinutes(59)));
    assertThat(jobs.get(scheduled).runAt()).isEqualTo(runAt);
    assertThat(jobs.get(scheduled).uniqueKey()).isEqualTo("k-1");
    assertThat(seen).hasSize(1);

    assertThatThrownBy(() -> backend.submit(Map.of("type", "flaky", "_taskbroker_attempts", 2)))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("_taskbroker_attempts");
    assertThatThrownBy(() -> backend.submit(Map.of("type", "flaky", Tasks.MAX_ATTEMPTS, 0)))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining(Tasks.MAX_ATTEMPTS);
  }
}
