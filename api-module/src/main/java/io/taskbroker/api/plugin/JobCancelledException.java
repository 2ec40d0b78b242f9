package io.taskbroker.api.plugin;

/** Thrown by {@link TaskContext#throwIfCancelled()} when the job should stop now. */
public final class JobCancelledException extends RuntimeException {
  public JobCancelledException(String message) {
    super(message, null, false, false);
  }
}
