package io.taskbroker.api.tracker;

import io.taskbroker.api.ResultView;
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

  /** Jobs running now, oldest first. */
  List<TrackedJob> runningJobs();

  /**
   * Cancels a job: a pending one at once; a running one is told to stop and ends cancelled.
   *
   * @return false when there is no such job or it had already finished
   */
  boolean cancel(UUID id);

  /**
   * Clears finished jobs.
   *
   * @param includeWithResults true: every finished job goes, results too; false: only finished jobs
   *     without a result (failed and cancelled) go, completed jobs keep their results
   * @return how many jobs were cleared
   */
  int clearFinished(boolean includeWithResults);

  /**
   * Calls {@code callback} once for each job that reaches a final state from now on. An exception
   * from the callback is logged and never breaks the tracker.
   */
  void onCompletion(Consumer<TrackedJob> callback);
}
