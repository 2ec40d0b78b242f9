package io.taskbroker.api.tracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.ResultView;
import io.taskbroker.api.testing.LogCapture;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * What every {@link JobTracker} does, whatever keeps its jobs. A subclass supplies a fresh tracker
 * per test and the hooks that play the part of whatever runs the jobs.
 *
 * <p>Within one test, no two pending jobs share a plugin name, so a hook can pick a job by plugin.
 */
abstract class JobTrackerContract {

  /** A tracker with no jobs of interest yet; the same instance for the whole test. */
  protected abstract JobTracker tracker();

  /** pending → running, as the runner picking the job up. */
  protected abstract void start(UUID id);

  /** running → completed with this result. */
  protected abstract void complete(UUID id, JsonNode result);

  /** running → failed with this error. */
  protected abstract void fail(UUID id, String error);

  /** After a running job was cancelled: the runner notices and stops, as it must. */
  protected abstract void stopCancelled(UUID id);

  @Test
  void createdJobIsPendingAndKeepsPluginFileAndMetadata() {
    UUID id =
        tracker().createJob("whisper", "/data/in/meeting.wav", "Meeting.wav", Map.of("lang", "en"));

    TrackedJob job = tracker().get(id).orElseThrow();
    assertThat(job.id()).isEqualTo(id);
    assertThat(job.pluginName()).isEqualTo("whisper");
    assertThat(job.filePath()).isEqualTo("/data/in/meeting.wav");
    assertThat(job.fileName()).isEqualTo("Meeting.wav");
    assertThat(job.metadata().get("lang").asText()).isEqualTo("en");
    assertThat(job.status()).isEqualTo(JobStatus.PENDING);
    assertThat(job.createdAt()).isCloseTo(Instant.now(), within(1, ChronoUnit.MINUTES));
    assertThat(job.startedAt()).isNull();
    assertThat(job.completedAt()).isNull();
    assertThat(job.result()).isNull();
    assertThat(job.error()).isNull();
    assertThat(tracker().resultView(id)).contains(new ResultView.Unfinished(JobStatus.PENDING));
  }

  @Test
  void createdJobWithoutFileOrMetadataHasNullsAndEmptyMetadata() {
    UUID id = tracker().createJob("whisper", null, null, null);

    TrackedJob job = tracker().get(id).orElseThrow();
    assertThat(job.filePath()).isNull();
    assertThat(job.fileName()).isNull();
    assertThat(job.metadata().isEmpty()).isTrue();
  }

  @Test
  void jobAsMapHasIsoTimestamps() {
    UUID id = tracker().createJob("whisper", "/a.wav", "a.wav", Map.of());

    Map<String, Object> map = tracker().get(id).orElseThrow().toMap();

    assertThat(map)
        .containsEntry("id", id.toString())
        .containsEntry("plugin_name", "whisper")
        .containsEntry("status", "pending")
        .containsEntry("started_at", null)
        .containsEntry("completed_at", null);
    assertThat(Instant.parse((String) map.get("created_at")))
        .isCloseTo(Instant.now(), within(1, ChronoUnit.MINUTES));
  }

  @Test
  void unknownJobIsEmpty() {
    UUID unknown = UUID.randomUUID();

    assertThat(tracker().get(unknown)).isEmpty();
    assertThat(tracker().resultView(unknown)).isEmpty();
    assertThat(tracker().cancel(unknown)).isFalse();
  }

  @Test
  void startedJobIsRunningAndListedAmongRunningJobs() {
    UUID first = tracker().createJob("plugin-a", null, null, null);
    UUID second = tracker().createJob("plugin-b", null, null, null);
    UUID stillPending = tracker().createJob("plugin-c", null, null, null);

    start(first);
    start(second);

    TrackedJob running = tracker().get(first).orElseThrow();
    assertThat(running.status()).isEqualTo(JobStatus.RUNNING);
    assertThat(running.startedAt()).isNotNull().isAfterOrEqualTo(running.createdAt());
    assertThat(running.completedAt()).isNull();
    assertThat(tracker().runningJobs())
        .extracting(TrackedJob::id)
        .containsExactlyInAnyOrder(first, second)
        .doesNotContain(stillPending);
    assertThat(tracker().runningJobs())
        .extracting(TrackedJob::startedAt)
        .isSortedAccordingTo(Instant::compareTo);
    assertThat(tracker().resultView(first)).contains(new ResultView.Unfinished(JobStatus.RUNNING));
  }

  @Test
  void completedJobShowsSuccessWithItsData() {
    UUID id = tracker().createJob("whisper", "/a.wav", "a.wav", null);
    start(id);

    complete(id, Json.parse("{\"text\": \"hello\", \"words\": 1}"));

    TrackedJob job = tracker().get(id).orElseThrow();
    assertThat(job.status()).isEqualTo(JobStatus.COMPLETED);
    assertThat(job.completedAt()).isNotNull().isAfterOrEqualTo(job.startedAt());
    assertThat(job.result()).isEqualTo(Json.parse("{\"text\": \"hello\", \"words\": 1}"));
    assertThat(view(id))
        .isEqualTo(
            Json.parse("{\"status\": \"success\", \"data\": {\"text\": \"hello\", \"words\": 1}}"));
    assertThat(tracker().runningJobs()).isEmpty();
  }

  @Test
  void failedJobShowsItsError() {
    UUID id = tracker().createJob("whisper", null, null, null);
    start(id);

    fail(id, "model not found");

    TrackedJob job = tracker().get(id).orElseThrow();
    assertThat(job.status()).isEqualTo(JobStatus.FAILED);
    assertThat(job.completedAt()).isNotNull();
    assertThat(job.error()).isEqualTo("model not found");
    assertThat(view(id))
        .isEqualTo(Json.parse("{\"status\": \"error\", \"error\": \"model not found\"}"));
  }

  @Test
  void cancelledPendingJobIsCancelledAtOnce() {
    UUID id = tracker().createJob("whisper", null, null, null);

    assertThat(tracker().cancel(id)).isTrue();

    TrackedJob job = tracker().get(id).orElseThrow();
    assertThat(job.status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(job.completedAt()).isNotNull();
    assertThat(view(id)).isEqualTo(Json.parse("{\"status\": \"cancelled\"}"));
  }

  @Test
  void cancelledRunningJobEndsCancelled() {
    UUID id = tracker().createJob("whisper", null, null, null);
    start(id);

    assertThat(tracker().cancel(id)).isTrue();
    stopCancelled(id);

    TrackedJob job = tracker().get(id).orElseThrow();
    assertThat(job.status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(job.completedAt()).isNotNull();
    assertThat(view(id)).isEqualTo(Json.parse("{\"status\": \"cancelled\"}"));
    assertThat(tracker().runningJobs()).isEmpty();
  }

  @Test
  void finishedJobCannotBeCancelled() {
    UUID id = tracker().createJob("whisper", null, null, null);
    start(id);
    complete(id, Json.parse("{\"ok\": true}"));

    assertThat(tracker().cancel(id)).isFalse();
    assertThat(tracker().get(id).orElseThrow().status()).isEqualTo(JobStatus.COMPLETED);
  }

  @Test
  void clearFinishedWithoutResultsKeepsCompletedJobsAndClearsFailedAndCancelled() {
    Jobs jobs = oneJobInEveryState();

    assertThat(tracker().clearFinished(false)).isEqualTo(2);

    assertThat(tracker().get(jobs.failed())).isEmpty();
    assertThat(tracker().get(jobs.cancelled())).isEmpty();
    assertThat(tracker().get(jobs.completed())).isPresent();
    assertThat(tracker().get(jobs.completedWithoutResult())).isPresent();
    assertThat(tracker().get(jobs.pending())).isPresent();
    assertThat(tracker().get(jobs.running())).isPresent();
    assertThat(tracker().clearFinished(false)).isZero();
  }

  @Test
  void clearFinishedWithResultsClearsEveryFinishedJob() {
    Jobs jobs = oneJobInEveryState();

    assertThat(tracker().clearFinished(true)).isEqualTo(4);

    assertThat(tracker().get(jobs.completed())).isEmpty();
    assertThat(tracker().get(jobs.completedWithoutResult())).isEmpty();
    assertThat(tracker().get(jobs.failed())).isEmpty();
    assertThat(tracker().get(jobs.cancelled())).isEmpty();
    assertThat(tracker().get(jobs.pending())).isPresent();
    assertThat(tracker().get(jobs.running())).isPresent();
    assertThat(tracker().clearFinished(true)).isZero();
  }

  @Test
  void completionCallbackIsCalledOncePerFinishedJobAndAThrowingOneBreaksNothing() {
    List<TrackedJob> seen = new CopyOnWriteArrayList<>();
    try (LogCapture log = LogCapture.of(tracker().getClass())) {
      tracker()
          .onCompletion(
              job -> {
                throw new IllegalStateException("callback bug for " + job.id());
              });
      tracker().onCompletion(seen::add);

      UUID completed = tracker().createJob("plugin-a", null, null, null);
      UUID failed = tracker().createJob("plugin-b", null, null, null);
      UUID cancelled = tracker().createJob("plugin-c", null, null, null);
      UUID unfinished = tracker().createJob("plugin-d", null, null, null);
      start(completed);
      start(failed);
      start(unfinished);
      complete(completed, Json.parse("{\"n\": 1}"));
      fail(failed, "boom");
      tracker().cancel(cancelled);
      // Callbacks arrive in order: once this last one is seen, any duplicate of the others
      // would have been seen too.
      UUID sentinel = tracker().createJob("plugin-e", null, null, null);
      tracker().cancel(sentinel);

      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> seen.stream().anyMatch(job -> job.id().equals(sentinel)));

      assertThat(seen)
          .extracting(TrackedJob::id)
          .containsExactlyInAnyOrder(completed, failed, cancelled, sentinel);
      assertThat(seen)
          .filteredOn(job -> job.id().equals(completed))
          .singleElement()
          .satisfies(
              job -> {
                assertThat(job.status()).isEqualTo(JobStatus.COMPLETED);
                assertThat(job.result()).isEqualTo(Json.parse("{\"n\": 1}"));
              });
      assertThat(seen)
          .filteredOn(job -> job.id().equals(failed))
          .singleElement()
          .extracting(TrackedJob::status)
          .isEqualTo(JobStatus.FAILED);
      assertThat(log.messages(Level.ERROR))
          .hasSize(4)
          .allMatch(message -> message.startsWith("Completion callback failed for job"));
      // The tracker goes on working.
      assertThat(tracker().get(unfinished).orElseThrow().status()).isEqualTo(JobStatus.RUNNING);
    }
  }

  private JsonNode view(UUID id) {
    return Json.toTree(tracker().resultView(id).orElseThrow().toMap());
  }

  /** One job in each state; plugin names differ so hooks can tell them apart. */
  private Jobs oneJobInEveryState() {
    UUID pending = tracker().createJob("plugin-pending", null, null, null);
    UUID running = tracker().createJob("plugin-running", null, null, null);
    UUID completed = tracker().createJob("plugin-completed", null, null, null);
    UUID completedWithoutResult = tracker().createJob("plugin-no-result", null, null, null);
    UUID failed = tracker().createJob("plugin-failed", null, null, null);
    UUID cancelled = tracker().createJob("plugin-cancelled", null, null, null);
    start(running);
    start(completed);
    complete(completed, Json.parse("{\"text\": \"kept\"}"));
    start(completedWithoutResult);
    complete(completedWithoutResult, null);
    start(failed);
    fail(failed, "boom");
    tracker().cancel(cancelled);
    return new Jobs(pending, running, completed, completedWithoutResult, failed, cancelled);
  }

  private record Jobs(
      UUID pending,
      UUID running,
      UUID completed,
      UUID completedWithoutResult,
      UUID failed,
      UUID cancelled) {}
}
