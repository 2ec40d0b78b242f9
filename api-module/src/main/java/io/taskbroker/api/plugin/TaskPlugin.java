package io.taskbroker.api.plugin;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Optional;

/**
 * A kind of work a worker can run: the {@code plugin} column of a job names it. Found with {@link
 * java.util.ServiceLoader} (list the class in {@code
 * META-INF/services/io.taskbroker.api.plugin.TaskPlugin}). Implementations must be thread-safe: one
 * instance runs many jobs at once.
 *
 * <p>Delivery is at least once: a job whose worker died mid-run runs again. Use {@link
 * TaskContext#attempt()} and the job id to make the work idempotent.
 *
 * <p>To steer retries, throw {@link RetryJob} (run again at a given time), {@link FailJob} (fail
 * now, no retry) or {@link SnoozeJob} (run again later without spending an attempt). Any other
 * exception fails the attempt and is retried with exponential backoff until the job's {@code
 * max_attempts}.
 */
public interface TaskPlugin {
  /** The name jobs use to ask for this plugin; non-empty, at most 128 characters. */
  String name();

  /**
   * Runs one attempt of a job.
   *
   * @return the result document stored in the job's {@code result} column (null for none)
   * @throws Exception to fail the attempt; interruption means cancelled or timed out
   */
  JsonNode execute(TaskContext context) throws Exception;

  /** The longest one attempt may run, unless the job sets its own; empty: the worker default. */
  default Optional<Duration> timeout() {
    return Optional.empty();
  }
}
