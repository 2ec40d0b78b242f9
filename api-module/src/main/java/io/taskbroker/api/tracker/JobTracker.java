package io.taskbroker.api.tracker;

import io.taskbroker.api.ResultView;
import io.taskbroker.common.JobStatus;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Tracks jobs from creation to their one final state: {@code pending → running → completed | failed
 * | cancelled} (or pending → cancelled). Two implementations pass one contract: {@link
 * InMemoryJobTracker} (the sync and async backends) and {@link PostgresJobTracker} (the jobs
 * table). Thread-safe.
 */
public interface JobTracker {
  /**
   * Creates a pending job.
   *
   * @param pluginName the plugin that will run it
   * @param filePath the file it works on (the transcription example); may be null
   * @param fileName the name to show for it; may be null
   * @param metadata free metadata, stored as a JSON object; may be null
   */
  UUID createJob(String pluginName, String filePath, String fileName, Map<String, ?> metadata);

  Optional<TrackedJob> get(UUID id);

  /**
   * The result view: {@code {status: success, data}}, {@code {status: error, error}}, {@code
   * {status: cancelled}}, or the plain status while unfinished. Empty when no such job exists.
   */
  Optional<ResultView> resultView(UUID id);

  /**
   * The origin's {@code get_job_result}: the result view of a finished job, and empty while it is
   * pending or running (or there is no such job). {@link #resultView} tells those cases apart.
   */
  default Optional<ResultView> finishedResult(UUID id) {
    return resultView(id).filter(view -> !(view instanceof ResultView.Unfinished));
  }

  /** Jobs running now, oldest first. */
  List<TrackedJob> runningJobs();

  /**
   * Cancels a job: a pending one at once; a running one is told to stop and ends cancelled. (The
   * origin's {@code cancel_job}, which leaves a pending job alone, is {@link #cancelIfRunning}.)
   *
   * @return false when there is no such job or it had already finished
   */
  boolean cancel(UUID id);

  /**
   * The origin's {@code cancel_job}: cancels the job only if it is running now; a pending job is
   * left alone and this returns false. (A job that finishes or is handed back to pending between
   * the check and the cancel is treated as {@link #cancel} treats it.)
   *
   * @return true when the job was running and is cancelled or being stopped
   */
  default boolean cancelIfRunning(UUID id) {
    return get(id)
        .filter(job -> job.status() == JobStatus.RUNNING)
        .map(job -> cancel(id))
        .orElse(false);
  }

  /**
   * Clears finished jobs.
   *
   * @param includeWithResults true: every finished job goes, results too; false: only finished jobs
   *     without a result (failed and cancelled) go, completed jobs keep their results. Not the
   *     origin's {@code keep_results}: its {@code clear_completed()} is {@link #clearFinished()}
   * @return how many jobs were cleared
   */
  int clearFinished(boolean includeWithResults);

  /**
   * The origin's {@code clear_completed()}: clears every finished job (completed, failed,
   * cancelled) with its result; the same as {@code clearFinished(true)}.
   *
   * @return how many jobs were cleared
   */
  default int clearFinished() {
    return clearFinished(true);
  }

  /**
   * Calls {@code callback} once for each job that reaches a final state (completed, failed or
   * cancelled) from now on, after the job's final state is recorded. Whatever the callback throws
   * ({@link RuntimeException}, {@link AssertionError}, {@link StackOverflowError}, ...) is logged
   * and never breaks the tracker or the other callbacks; only an error after which the JVM cannot
   * be trusted (out of memory) is rethrown.
   */
  void onCompletion(Consumer<TrackedJob> callback);

  /**
   * The origin's {@code on_job_completed}: like {@link #onCompletion}, but only for jobs that
   * completed successfully; failed and cancelled jobs do not call it.
   */
  default void onSuccess(Consumer<TrackedJob> callback) {
    onCompletion(
        job -> {
          if (job.status() == JobStatus.COMPLETED) {
            callback.accept(job);
          }
        });
  }
}
