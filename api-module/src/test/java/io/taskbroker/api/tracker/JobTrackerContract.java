package io.taskbroker.api.tracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.ResultView;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.LogCapture;
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

  // Parity with the origin (000, the job tracker): where ours differs, the origin's behaviour is
  // one call away. See README, "Parity with the origin designs".

  @Test
  void unfinishedJobHasNoFinishedResultAsInTheOrigin() {
    UUID pending = tracker().createJob("plugin-a", null, null, null);
    UUID running = tracker().createJob("plugin-b", null, null, null);
    UUID completed = tracker().createJob("plugin-c", null, null, null);
    start(running);
    start(completed);
    complete(completed, Json.parse("{\"text\": \"done\"}"));

    // The origin's get_job_result: None until the job finishes.
    assertThat(tracker().finishedResult(pending)).isEmpty();
    assertThat(tracker().finishedResult(running)).isEmpty();
    assertThat(tracker().finishedResult(UUID.randomUUID())).isEmpty();
    assertThat(tracker().finishedResult(completed))
        .contains(new ResultView.Success(Json.parse("{\"text\": \"done\"}")));
    // Ours tells "not finished yet" from "no such job".
    assertThat(tracker().resultView(pending))
        .contains(new ResultView.Unfinished(JobStatus.PENDING));
  }

  @Test
  void clearFinishedWithoutArgumentClearsEveryFinishedJobAsTheOriginDefaultDoes() {
    Jobs jobs = oneJobInEveryState();

    // The origin's clear_completed() (keep_results=False).
    assertThat(tracker().clearFinished()).isEqualTo(4);

    assertThat(tracker().get(jobs.completed())).isEmpty();
    assertThat(tracker().get(jobs.completedWithoutResult())).isEmpty();
    assertThat(tracker().get(jobs.failed())).isEmpty();
    assertThat(tracker().get(jobs.cancelled())).isEmpty();
    assertThat(tracker().resultView(jobs.completed())).isEmpty();
    assertThat(tracker().get(jobs.pending())).isPresent();
    assertThat(tracker().get(jobs.running())).isPresent();
  }

  @Test
  void onSuccessFiresOnlyForCompletedJobsAsTheOriginCallbackDoes() {
    List<TrackedJob> completedOnly = new CopyOnWriteArrayList<>();
    List<TrackedJob> everyFinish = new CopyOnWriteArrayList<>();
    tracker().onSuccess(completedOnly::add);
    tracker().onCompletion(everyFinish::add);

    UUID failed = tracker().createJob("plugin-a", null, null, null);
    UUID cancelled = tracker().createJob("plugin-b", null, null, null);
    UUID completed = tracker().createJob("plugin-c", null, null, null);
    start(failed);
    fail(failed, "boom");
    tracker().cancel(cancelled);
    start(completed);
    complete(completed, Json.parse("{\"n\": 1}"));

    // In order: once the last is seen, the earlier ones would have been too.
    await().atMost(Duration.ofSeconds(10)).until(() -> everyFinish.size() == 3);
    assertThat(completedOnly).extracting(TrackedJob::id).containsExactly(completed);
    assertThat(everyFinish)
        .extracting(TrackedJob::id)
        .containsExactlyInAnyOrder(failed, cancelled, completed);
  }

  @Test
  void aCallbackThrowingAnErrorBreaksNeitherTheTrackerNorTheJobsRecord() {
    List<TrackedJob> seen = new CopyOnWriteArrayList<>();
    try (LogCapture log = LogCapture.of(tracker().getClass())) {
      tracker()
          .onCompletion(
              job -> {
                if ("plugin-assert".equals(job.pluginName())) {
                  throw new AssertionError("a test assertion inside a callback");
                }
                throw new StackOverflowError();
              });
      tracker().onCompletion(seen::add);

      UUID first = tracker().createJob("plugin-assert", null, null, null);
      UUID second = tracker().createJob("plugin-recurse", null, null, null);
      start(first);
      complete(first, Json.parse("{\"n\": 1}"));
      start(second);
      fail(second, "boom");
      // Delivered after both errors: the thread that runs callbacks is still alive.
      UUID later = tracker().createJob("plugin-later", null, null, null);
      tracker().cancel(later);

      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> seen.stream().anyMatch(job -> job.id().equals(later)));
      assertThat(seen).extracting(TrackedJob::id).containsExactly(first, second, later);
      assertThat(tracker().get(first).orElseThrow().status()).isEqualTo(JobStatus.COMPLETED);
      assertThat(tracker().get(second).orElseThrow().status()).isEqualTo(JobStatus.FAILED);
      assertThat(log.messages(Level.ERROR))
          .hasSize(3)
          .allMatch(message -> message.startsWith("Completion callback failed for job"));
    }
  }

  @Test
  void cancelIfRunningLeavesAPendingJobAloneAsTheOriginCancelDoes() {
    UUID pending = tracker().createJob("plugin-a", null, null, null);
    UUID running = tracker().createJob("plugin-b", null, null, null);
    start(running);

    // The origin's cancel_job: only a running job can be cancelled.
    assertThat(tracker().cancelIfRunning(pending)).isFalse();
    assertThat(tracker().get(pending).orElseThrow().status()).isEqualTo(JobStatus.PENDING);
    assertThat(tracker().cancelIfRunning(UUID.randomUUID())).isFalse();
    assertThat(tracker().cancelIfRunning(running)).isTrue();
    stopCancelled(running);
    assertThat(tracker().get(running).orElseThrow().status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(tracker().cancelIfRunning(running)).isFalse();
  }

  // The origin's two examples (000), line for line: the usage example and the test cell.

  @Test
  void originUsageExampleRunsLineForLine() {
    List<String> printed = new CopyOnWriteArrayList<>();
    // def on_complete(job_id, tracker):
    //     job = tracker.get_job(job_id)
    //     print(f"Job {job_id} completed: {job.file_name}")
    // job_tracker = TranscriptionJobTracker(on_job_completed=on_complete)
    JobTracker jobTracker = tracker();
    jobTracker.onSuccess(
        done -> {
          TrackedJob job = jobTracker.get(done.id()).orElseThrow();
          printed.add("Job " + done.id() + " completed: " + job.fileName());
        });

    // job = job_tracker.create_job(
    //     plugin_name="cjm-transcription-plugin-whisper",
    //     file_path="/path/to/audio.mp3",
    //     file_name="audio.mp3")
    UUID job =
        jobTracker.createJob(
            "cjm-transcription-plugin-whisper", "/path/to/audio.mp3", "audio.mp3", null);
    // A second job whose plugin raises, to walk the except branch too.
    UUID broken =
        jobTracker.createJob(
            "cjm-transcription-plugin-broken", "/path/to/bad.mp3", "bad.mp3", null);

    runTranscription(broken);
    runTranscription(job);

    await().atMost(Duration.ofSeconds(10)).until(() -> !printed.isEmpty());
    assertThat(printed).containsExactly("Job " + job + " completed: audio.mp3");
    assertThat(jobTracker.get(broken).orElseThrow().error()).isEqualTo("cannot decode bad.mp3");
    assertThat(jobTracker.get(broken).orElseThrow().status()).isEqualTo(JobStatus.FAILED);
  }

  /** The example's run_transcription, with a stand-in for plugin_manager.execute_plugin_async. */
  private void runTranscription(UUID jobId) {
    // job_tracker.mark_running(job.id)
    start(jobId);
    TrackedJob job = tracker().get(jobId).orElseThrow();
    try {
      // result = await plugin_manager.execute_plugin_async(job.plugin_name, audio=job.file_path)
      JsonNode result = executePlugin(job.pluginName(), job.filePath());
      // job_tracker.mark_completed(job.id, result)
      complete(jobId, result);
    } catch (RuntimeException e) {
      // job_tracker.mark_failed(job.id, str(e))
      fail(jobId, e.getMessage());
    }
  }

  private static JsonNode executePlugin(String pluginName, String audio) {
    if (pluginName.endsWith("broken")) {
      throw new IllegalStateException(
          "cannot decode " + audio.substring(audio.lastIndexOf('/') + 1));
    }
    return Json.toTree(Map.of("text", "transcript of " + audio, "metadata", Map.of()));
  }

  @Test
  void originTestCellRunsLineForLine() {
    // tracker = TranscriptionJobTracker()
    JobTracker tracker = tracker();

    // job = tracker.create_job(plugin_name="test-plugin", file_path="/test/audio.mp3",
    //                          file_name="audio.mp3")
    TrackedJob job =
        tracker
            .get(tracker.createJob("test-plugin", "/test/audio.mp3", "audio.mp3", null))
            .orElseThrow();

    // assert job.status == "pending"
    assertThat(job.status().dbValue()).isEqualTo("pending");
    // assert job.plugin_name == "test-plugin"
    assertThat(job.pluginName()).isEqualTo("test-plugin");
    // assert job.file_name == "audio.mp3"
    assertThat(job.fileName()).isEqualTo("audio.mp3");

    // tracker.mark_running(job.id)
    start(job.id());
    // assert tracker.get_job(job.id).status == "running"
    assertThat(tracker.get(job.id()).orElseThrow().status().dbValue()).isEqualTo("running");

    // tracker.mark_completed(job.id, {"text": "Hello world", "metadata": {}})
    complete(job.id(), Json.toTree(Map.of("text", "Hello world", "metadata", Map.of())));
    // assert tracker.get_job(job.id).status == "completed"
    assertThat(tracker.get(job.id()).orElseThrow().status().dbValue()).isEqualTo("completed");
    // result = tracker.get_job_result(job.id)
    Map<String, Object> result = tracker.finishedResult(job.id()).orElseThrow().toMap();
    // assert result["status"] == "success"
    assertThat(result.get("status")).isEqualTo("success");
    // assert result["data"]["text"] == "Hello world"
    assertThat(((JsonNode) result.get("data")).get("text").asText()).isEqualTo("Hello world");
    // Job result: {'status': 'success', 'data': {'text': 'Hello world', 'metadata': {}}}
    assertThat(Json.toTree(result))
        .isEqualTo(
            Json.parse(
                "{\"status\": \"success\", \"data\": {\"text\": \"Hello world\","
                    + " \"metadata\": {}}}"));
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
