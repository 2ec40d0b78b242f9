package io.taskbroker.worker.executor;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;

/** What one attempt of a job came to. The executor makes these; the completer writes them. */
public sealed interface Outcome {
  /** The {@link Failed#kind()} of a claimed job whose row this JVM could not decode. */
  String UNDECODABLE = "undecodable";

  /** The plugin returned; its result is stored. */
  record Completed(JsonNode result) implements Outcome {}

  /**
   * The attempt failed.
   *
   * @param kind {@code error}, {@code timeout}, {@code no_plugin}, {@link #UNDECODABLE} or {@code
   *     invalid_payload} (a typed plugin's payload does not map to its record)
   * @param retryable false when the plugin said not to retry ({@code FailJob})
   */
  record Failed(String kind, String error, String trace, boolean retryable) implements Outcome {}

  /** The plugin asked to run again at a chosen time (spends the attempt). */
  record Retry(Instant at, Duration after, String error) implements Outcome {}

  /** The plugin asked to run again later without spending the attempt. */
  record Snooze(Duration after) implements Outcome {}

  /** The job was cancelled while it ran. */
  record Cancelled(String reason) implements Outcome {}

  /**
   * The job was claimed ahead and never started here: pending again at once, its attempt given
   * back, for any worker.
   */
  record GivenBack() implements Outcome {}
}
