package io.taskbroker.api.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.testing.TestClients;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobQuery;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.LogCapture;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The broker backend without a worker module on the classpath, as in a submit-only program. */
@WithPostgres
class PostgresBrokerTaskBackendTest {
  private static TaskBrokerClient client;

  @BeforeAll
  static void connect(TestDatabase db) {
    client = TestClients.connect(db);
  }

  @AfterAll
  static void disconnect() {
    client.close();
  }

  @Test
  void submitPersistsAPendingJobWhosePluginIsTheTypeAndPayloadTheRest() {
    PostgresBrokerTaskBackend backend = new PostgresBrokerTaskBackend(client, "broker-submit", 2);
    backend.initialize();

    UUID id =
        backend.submit(
            Map.of(
                "type", "transcribe", "file_path", "/in/a.wav", "options", Map.of("lang", "en")));

    Job job = client.require(id);
    assertThat(job.plugin()).isEqualTo("transcribe");
    assertThat(job.queue()).isEqualTo("broker-submit");
    assertThat(job.payload())
        .isEqualTo(Json.parse("{\"file_path\": \"/in/a.wav\", \"options\": {\"lang\": \"en\"}}"));
    assertThat(job.status()).isEqualTo(JobStatus.PENDING);
    assertThat(backend.tracker().get(id).orElseThrow().filePath()).isEqualTo("/in/a.wav");
    assertThat(backend.inflightCount()).isZero();
    assertThat(backend.shutdown().drained()).isTrue();
  }

  @Test
  void submitBeforeInitializeWarnsAndStillPersists() {
    PostgresBrokerTaskBackend backend = new PostgresBrokerTaskBackend(client, "broker-early", 1);

    try (LogCapture log = LogCapture.of(PostgresBrokerTaskBackend.class)) {
      UUID id = backend.submit(Map.of("type", "echo"));

      assertThat(log.messages(Level.WARN))
          .containsExactly("submit() before initialize() on the broker backend; initializing now");
      assertThat(client.get(id)).isPresent();
    }
    backend.shutdown();
  }

  @Test
  void initializeWithAnExecutorAndNoWorkerModuleSaysWhatToAdd() {
    PostgresBrokerTaskBackend backend = new PostgresBrokerTaskBackend(client, "broker-exec", 1);
    backend.setExecutor(task -> null);

    assertThatThrownBy(backend::initialize)
        .isInstanceOf(BackendStateException.class)
        .hasMessageContaining("taskbroker-worker");
  }

  @Test
  void taskWithoutTypeIsRefusedAndNothingIsWritten() {
    PostgresBrokerTaskBackend backend = new PostgresBrokerTaskBackend(client, "broker-notype", 1);
    backend.initialize();

    assertThatThrownBy(() -> backend.submit(Map.of("file_path", "/a.wav")))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("'type'");
    assertThat(client.list(JobQuery.builder().queue("broker-notype").build())).isEmpty();
    backend.shutdown();
  }

  @Test
  void submitAfterShutdownIsRefusedAndNothingIsWritten() {
    PostgresBrokerTaskBackend backend = new PostgresBrokerTaskBackend(client, "broker-closed", 1);
    backend.initialize();
    backend.shutdown();

    assertThatThrownBy(() -> backend.submit(Map.of("type", "echo")))
        .isInstanceOf(BackendStateException.class)
        .hasMessageContaining("shut down");
    assertThatThrownBy(backend::initialize)
        .isInstanceOf(BackendStateException.class)
        .hasMessageContaining("shut down");
    List<Job> jobs = client.list(JobQuery.builder().queue("broker-closed").build());
    assertThat(jobs).isEmpty();
  }

  @Test
  void aSubmitOnlyBackendUsesAQueueOfItsOwnAndHonoursTheTasksReservedKeys() {
    PostgresBrokerTaskBackend backend = new PostgresBrokerTaskBackend(client);
    backend.initialize();

    UUID id =
        backend.submit(
            Map.of(
                "type",
                "transcribe",
                "file_path",
                "/in/a.wav",
                Tasks.MAX_ATTEMPTS,
                7,
                Tasks.PRIORITY,
                3,
                Tasks.DELAY_MS,
                60_000));

    Job job = client.require(id);
    assertThat(job.queue()).isEqualTo(PostgresBrokerTaskBackend.DEFAULT_QUEUE);
    assertThat(job.maxAttempts()).isEqualTo(7);
    assertThat(job.priority()).isEqualTo(3);
    assertThat(job.runAt()).isAfter(job.createdAt().plusSeconds(59));
    assertThat(job.payload()).isEqualTo(Json.parse("{\"file_path\": \"/in/a.wav\"}"));
    assertThat(backend.shutdown().drained()).as("nothing of its own to drain").isTrue();
    assertThatThrownBy(
            () ->
                new PostgresBrokerTaskBackend(client)
                    .submit(Map.of("type", "x", Tasks.RUN_AT, "soon")))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining(Tasks.RUN_AT);
  }
}
