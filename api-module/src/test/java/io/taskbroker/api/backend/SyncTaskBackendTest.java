package io.taskbroker.api.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import io.taskbroker.api.tracker.InMemoryJobTracker;
import io.taskbroker.api.tracker.TrackedJob;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.LogCapture;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
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

  @Test
  void finishedTasksAreKeptOnlyAsConfigured() {
    backend.setExecutor(task -> null);
    backend.initialize();
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      ids.add(backend.submit(Map.of("type", "echo", "n", i)));
    }
    backend.shutdown();

    InMemoryJobTracker tracker = (InMemoryJobTracker) backend.tracker();
    assertThat(tracker.size()).isEqualTo(InMemoryJobTracker.DEFAULT_BACKEND_KEEP_FINISHED);
    assertThat(tracker.get(ids.get(0))).as("the oldest finished task is forgotten").isEmpty();
    assertThat(tracker.get(ids.get(19_999)).orElseThrow().status()).isEqualTo(JobStatus.COMPLETED);
    assertThat(backend.inflightCount()).isZero();

    SyncTaskBackend keepingNone = new SyncTaskBackend(new InMemoryJobTracker(0));
    List<TrackedJob> finished = new CopyOnWriteArrayList<>();
    keepingNone.tracker().onCompletion(finished::add);
    keepingNone.setExecutor(task -> "done");
    UUID forgotten = keepingNone.submit(Map.of("type", "echo"));
    assertThat(keepingNone.tracker().get(forgotten)).isEmpty();
    assertThat(finished).extracting(TrackedJob::id).containsExactly(forgotten);
  }

  @Test
  void syncBackendRecordsAnExecutorsErrorAndNeverThrowsItAtTheSubmitter() {
    backend.setExecutor(
        task ->
            switch ((String) task.get("type")) {
              case "assert" -> throw new AssertionError("expected 1 but was 2");
              case "recurse" -> throw new StackOverflowError();
              default -> "fine";
            });
    backend.initialize();

    UUID asserted = backend.submit(Map.of("type", "assert"));
    UUID overflowed = backend.submit(Map.of("type", "recurse"));
    UUID next = backend.submit(Map.of("type", "echo"));

    assertThat(backend.tracker().get(asserted).orElseThrow().error())
        .isEqualTo("AssertionError: expected 1 but was 2");
    assertThat(backend.tracker().get(overflowed).orElseThrow().status())
        .isEqualTo(JobStatus.FAILED);
    assertThat(backend.tracker().get(next).orElseThrow().status()).isEqualTo(JobStatus.COMPLETED);
  }

  @Test
  void anOutOfMemoryErrorFromTheExecutorIsRecordedThenRethrown() {
    List<TrackedJob> finished = new CopyOnWriteArrayList<>();
    backend.tracker().onCompletion(finished::add);
    backend.setExecutor(
        task -> {
          throw new OutOfMemoryError("simulated");
        });

    assertThatThrownBy(() -> backend.submit(Map.of("type", "hungry")))
        .isInstanceOf(OutOfMemoryError.class);
    assertThat(finished)
        .singleElement()
        .satisfies(
            job -> {
              assertThat(job.status()).isEqualTo(JobStatus.FAILED);
              assertThat(job.error()).isEqualTo("OutOfMemoryError: simulated");
            });
  }

  @Test
  void aTaskDictCanSetItsAttemptsOnTheSyncBackend() {
    AtomicInteger calls = new AtomicInteger();
    List<Map<String, Object>> seen = new CopyOnWriteArrayList<>();
    backend.setExecutor(
        task -> {
          seen.add(task);
          if (calls.incrementAndGet() < 3) {
            throw new IllegalStateException("not yet");
          }
          return "third time";
        });

    UUID retried = backend.submit(Map.of("type", "flaky", "n", 1, Tasks.MAX_ATTEMPTS, 3));

    assertThat(backend.tracker().get(retried).orElseThrow().status())
        .isEqualTo(JobStatus.COMPLETED);
    assertThat(seen).hasSize(3).allMatch(task -> task.equals(Map.of("type", "flaky", "n", 1)));

    calls.set(0);
    UUID once = backend.submit(Map.of("type", "flaky", Tasks.DELAY_MS, 5));
    assertThat(backend.tracker().get(once).orElseThrow().status()).isEqualTo(JobStatus.FAILED);
    assertThat(calls.get()).as("one attempt unless the task asks for more").isEqualTo(1);
    assertThatThrownBy(() -> backend.submit(Map.of("type", "flaky", "_taskbroker_queu", "x")))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("unknown reserved task key '_taskbroker_queu'");
  }
}
