package io.taskbroker.api.spi;

import io.taskbroker.api.backend.TaskExecutor;
import io.taskbroker.common.Database;
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

  public InProcessWorkerSpec {
    taskTypes = taskTypes == null ? Set.of() : Set.copyOf(taskTypes);
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
