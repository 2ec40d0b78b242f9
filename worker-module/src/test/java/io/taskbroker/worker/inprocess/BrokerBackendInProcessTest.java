package io.taskbroker.worker.inprocess;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.ResultView;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.backend.BackendStateException;
import io.taskbroker.api.backend.PostgresBrokerTaskBackend;
import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.api.tracker.TrackedJob;
import io.taskbroker.common.Database;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.JobFactory;
import io.taskbroker.worker.testing.TestDatabases;
import java.time.Duration;
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
}
