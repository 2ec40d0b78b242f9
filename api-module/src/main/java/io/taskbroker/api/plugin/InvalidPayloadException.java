package io.taskbroker.api.plugin;

/**
 * A job's payload does not map to its plugin's payload type (a missing or mistyped field, or the
 * record's constructor refused a value). Thrown by {@link TypedTaskPlugin} before the plugin's own
 * code runs. The worker fails the job at once, without retrying (the same payload would fail the
 * same way), with the error kind {@value #KIND} in its attempt history.
 */
public final class InvalidPayloadException extends RuntimeException {
  /** The {@code kind} of the attempt-history entry of a job failed for its payload. */
  public static final String KIND = "invalid_payload";

  public InvalidPayloadException(String message, Throwable cause) {
    // No stack trace: the message says what is wrong with the payload, the trace would only
    // show Jackson's insides.
    super(message, cause, false, false);
  }
}
