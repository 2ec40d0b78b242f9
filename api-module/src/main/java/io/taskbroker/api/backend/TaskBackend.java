package io.taskbroker.api.backend;

import io.taskbroker.api.tracker.JobTracker;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

/**
 * Where tasks go. Three drop-in implementations share these calls: {@link SyncTaskBackend} (runs
 * inline), {@link AsyncFireAndTrackBackend} (in-process, tracked) and {@link
 * PostgresBrokerTaskBackend} (persisted; a worker pool runs it).
 *
 * <p>Use: {@link #setExecutor}, {@link #initialize()}, then {@link #submit} as often as needed,
 * then {@link #shutdown()}. A task that fails is logged and recorded in {@link #tracker()}, never
 * thrown at the submitter. Implementations are thread-safe.
 */
public interface TaskBackend {
  Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

  /** The code that runs tasks. Set it before {@link #initialize()}. */
  void setExecutor(TaskExecutor executor);

  /** Gets ready to accept tasks. Idempotent. */
  void initialize();

  /**
   * Hands over a task: a dict whose {@code type} names the plugin. Returns promptly with the task's
   * id (except on the sync backend, which runs it inline). Called before {@link #initialize()}, it
   * logs a warning and initializes first. Keys starting with {@value Tasks#RESERVED_PREFIX} set how
   * the task runs (attempts, queue, delay, run-at, priority, unique key: see {@link Tasks}); they
   * are stripped before the executor sees the dict.
   *
   * @throws io.taskbroker.common.InvalidJobException when the task has no {@code type}, a reserved
   *     key is unknown or has a bad value, or the task cannot be written as JSON
   * @throws BackendStateException after {@link #shutdown()}
   */
  UUID submit(Map<String, ?> task);

  /** Drains in-flight work within {@link #DEFAULT_DRAIN_TIMEOUT}. */
  default ShutdownReport shutdown() {
    return shutdown(DEFAULT_DRAIN_TIMEOUT);
  }

  /**
   * Stops accepting tasks and lets in-flight ones finish within {@code drainTimeout}; what is still
   * running then is abandoned, logged and reported. Idempotent.
   */
  ShutdownReport shutdown(Duration drainTimeout);

  /** Where this backend records its tasks' states and results. */
  JobTracker tracker();
}
