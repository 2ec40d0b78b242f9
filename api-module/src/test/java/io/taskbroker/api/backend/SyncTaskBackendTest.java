package io.taskbroker.api.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import io.taskbroker.api.testing.LogCapture;
import io.taskbroker.api.tracker.TrackedJob;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class SyncTaskBackendTest {
  private final SyncTaskBackend backend = new SyncTaskBackend();

  @Test
  void taskRunsInlineAndIsRecordedCompleted() {
    List<Thread> ranOn = new CopyOnWriteArrayList<>();
    List<Map<String, Object>> received = new CopyOnWriteArrayList<>();
    backend.setExecutor(
        task -> {
          ranOn.add(Thread.currentThread());
          received.add(task);
          return Map.of("text", "hi " + task.get("file_name"));
        });
    backend.initialize();

    UUID id =
        backend.submit(
            Map.of("type", "transcribe", "file_path", "/in/a.wav", "file_name", "a.wav"));

    assertThat(ranOn).containsExactly(Thread.currentThread());
    assertThat(received)
        .containsExactly(
            Map.of("type", "transcribe", "file_path", "/in/a.wav", "file_name", "a.wav"));
    TrackedJob job = backend.tracker().get(id).orElseThrow();
    assertThat(job.status()).isEqualTo(JobStatus.COMPLETED);
    assertThat(job.pluginName()).isEqualTo("transcribe");
    assertThat(job.filePath()).isEqualTo("/in/a.wav");
    assertThat(job.fileName()).isEqualTo("a.wav");
    assertThat(job.startedAt()).isNotNull();
    assertThat(job.completedAt()).isNotNull();
    assertThat(Json.toTree(job.resultView().toMap()))
        .isEqualTo(Json.parse("{\"status\": \"success\", \"data\": {\"text\": \"hi a.wav\"}}"));
  }

  @Test
  void failingTaskIsLoggedAndRecordedFailedNeverThrown() {
    backend.setExecutor(
        task -> {
          throw new IOException("disk full");
        });
    backend.initialize();

    UUID id;
    try (LogCapture log = LogCapture.of(SyncTaskBackend.class)) {
      id = backend.submit(Map.of("type", "transcribe"));

      assertThat(log.messages(Level.ERROR)).containsExactly("Task " + id + " (transcribe) failed");
    }
    TrackedJob job = backend.tracker().get(id).orElseThrow();
    assertThat(job.status()).isEqualTo(JobStatus.FAILED);
    assertThat(job.error()).isEqualTo("IOException: disk full");
    assertThat(job.resultView().toMap())
        .containsEntry("status", "error")
        .containsEntry("error", "IOException: disk full");
  }

  @Test
  void submitBeforeInitializeWarnsAndStillRuns() {
    backend.setExecutor(task -> "done");

    try (LogCapture log = LogCapture.of(SyncTaskBackend.class)) {
      UUID id = backend.submit(Map.of("type", "echo"));

      assertThat(log.messages(Level.WARN))
          .containsExactly("submit() before initialize() on the sync backend; initializing now");
      assertThat(backend.tracker().get(id).orElseThrow().status()).isEqualTo(JobStatus.COMPLETED);
    }
  }

  @Test
  void taskWithoutExecutorIsRecordedFailed() {
    backend.initialize();

    UUID id = backend.submit(Map.of("type", "echo"));

    TrackedJob job = backend.tracker().get(id).orElseThrow();
    assertThat(job.status()).isEqualTo(JobStatus.FAILED);
    assertThat(job.error()).contains("no executor");
  }

  @Test
  void taskWithoutAStringTypeIsRefused() {
    backend.setExecutor(task -> null);
    backend.initialize();
    Map<String, Object> nullType = new HashMap<>();
    nullType.put("type", null);

    for (Map<String, ?> bad :
        List.of(Map.of("file_path", "/a.wav"), Map.of("type", ""), Map.of("type", 42), nullType)) {
      assertThatThrownBy(() -> backend.submit(bad))
          .isInstanceOf(InvalidJobException.class)
          .hasMessageContaining("'type'");
    }
    assertThatThrownBy(() -> backend.submit(null)).isInstanceOf(InvalidJobException.class);
  }

  @Test
  void submitAfterShutdownIsRefused() {
    backend.setExecutor(task -> null);
    backend.initialize();

    assertThat(backend.shutdown().drained()).isTrue();

    assertThatThrownBy(() -> backend.submit(Map.of("type", "echo")))
        .isInstanceOf(BackendStateException.class)
        .hasMessageContaining("shut down");
  }
}
