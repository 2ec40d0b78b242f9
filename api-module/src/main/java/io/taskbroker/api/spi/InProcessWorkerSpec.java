package io.taskbroker.api.spi;

import io.taskbroker.api.backend.TaskExecutor;
import io.taskbroker.common.Database;
import io.taskbroker.common.InvalidConfigException;
import java.util.HashSet;
import java.util.Set;

/**
 * What an in-process worker runs: the jobs of {@code queue} whose plugin is one of {@code
 * taskTypes} (every job of the queue when it is empty), through the executor, which gets the task
 * dict: payload plus {@code type}. Jobs of other plugins in the queue are left alone, for whatever
 * worker has their plugin. Immutable.
 */
public record InProcessWorkerSpec(
    Database database,
    String queue,
    int concurrency,
    TaskExecutor executor,
    Set<String> taskTypes) {

  /**
   * @throws InvalidConfigException naming the first bad value
   */
  public InProcessWorkerSpec {
    if (queue == null || queue.isBlank() || queue.length() > 128) {
      throw new InvalidConfigException(
          "queue name must be 1..128 characters, got "
              + (queue == null ? "null" : "'" + queue + "'"));
    }
    if (concurrency < 1 || concurrency > 10_000) {
      throw new InvalidConfigException(
          "concurrency must be between 1 and 10000, got " + concurrency);
    }
    // Copied before the check, so a set the caller changes meanwhile cannot slip a bad name past.
    taskTypes = taskTypes == null ? Set.of() : new HashSet<>(taskTypes);
    for (String type : taskTypes) {
      if (type == null || type.isBlank()) {
        throw new InvalidConfigException(
            "task types must be plugin names, got " + (type == null ? "null" : "'" + type + "'"));
      }
    }
    taskTypes = Set.copyOf(taskTypes);
    if (database == null) {
      throw new InvalidConfigException("an in-process worker needs a database, got null");
    }
    if (executor == null) {
      throw new InvalidConfigException("an in-process worker needs an executor, got null");
    }
  }

  /** A worker that runs every job of {@code queue}, whatever its plugin. */
  public InProcessWorkerSpec(
      Database database, String queue, int concurrency, TaskExecutor executor) {
    this(database, queue, concurrency, executor, Set.of());
  }

  /** Whether the worker runs jobs of every plugin in its queue. */
  public boolean runsAnyType() {
    return taskTypes.isEmpty();
  }
}
