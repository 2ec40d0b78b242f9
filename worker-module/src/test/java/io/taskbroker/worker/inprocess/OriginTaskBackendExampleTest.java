package io.taskbroker.worker.inprocess;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.backend.AsyncFireAndTrackBackend;
import io.taskbroker.api.backend.PostgresBrokerTaskBackend;
import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.api.backend.SyncTaskBackend;
import io.taskbroker.api.backend.TaskBackend;
import io.taskbroker.common.Database;
import io.taskbroker.common.JobStatus;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import io.taskbroker.worker.testing.TestDatabases;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The task backend origin's usage pattern (origin 001, module docstring), unchanged, against each
 * of the three backends: set the executor, initialize, submit, shutdown, which drains. The broker
 * backend runs it through a real in-process worker (this module's {@link InProcessWorkers}).
 */
@WithPostgres
class OriginTaskBackendExampleTest {
  private static Database database;
  private static TaskBrokerClient client;

  @BeforeAll
  static void openDatabase(TestDatabase db) {
    database = TestDatabases.open(db);
    client = TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build());
  }

  @AfterAll
  static void closeDatabase() {
    client.close();
    database.close();
  }

  static Stream<Arguments> backends() {
    return Stream.of(
        Arguments.of("SyncTaskBackend", (Supplier<TaskBackend>) SyncTaskBackend::new),
        Arguments.of(
            "AsyncFireAndTrackBackend", (Supplier<TaskBackend>) AsyncFireAndTrackBackend::new),
        Arguments.of(
            "PostgresBrokerTaskBackend",
            (Supplier<TaskBackend>) () -> new PostgresBrokerTaskBackend(client)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("backends")
  void theOriginUsagePatternRunsUnchanged(String name, Supplier<TaskBackend> create) {
    List<Map<String, Object>> ran = new CopyOnWriteArrayList<>();
    // run_task: async fn (task_dict) -> None
    Consumer<Map<String, Object>> runTask = ran::add;

    // backend = AsyncFireAndTrackBackend()
    TaskBackend backend = create.get();
    // backend.set_executor(run_task)
    backend.setExecutor(
        task -> {
          runTask.accept(task);
          return null;
        });
    // await backend.initialize()
    backend.initialize();
    // await backend.submit({"type": "consolidation", "bank_id": "..."})
    UUID id = backend.submit(Map.of("type", "consolidation", "bank_id", "..."));
    // await backend.shutdown()  # drains in-flight tasks
    ShutdownReport report = backend.shutdown();

    assertThat(report.drained()).as("%s drained", name).isTrue();
    assertThat(ran).containsExactly(Map.of("type", "consolidation", "bank_id", "..."));
    assertThat(backend.tracker().get(id).orElseThrow().status()).isEqualTo(JobStatus.COMPLETED);
  }
}
