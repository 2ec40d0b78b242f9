package io.taskbroker.cli.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;

/**
 * Example plugin {@code echo}: returns its payload. Two optional payload fields make it handy for
 * trying retries, timeouts and cancellation from the command line:
 *
 * <ul>
 *   <li>{@code sleep_ms}: work that long first, reporting progress, stopping at once when the job
 *       is cancelled or times out;
 *   <li>{@code fail}: then throw a {@code RuntimeException} with this message (a string; {@code
 *       true} gives a default one): the attempt fails and the job is retried until its {@code
 *       max_attempts}.
 * </ul>
 *
 * <pre>taskbroker submit echo --payload '{"sleep_ms":3000,"fail":"boom"}' --max-attempts 2 --wait
 * </pre>
 *
 * Stateless and thread-safe.
 */
public final class EchoPlugin implements TaskPlugin {
  public static final String NAME = "echo";

  // Progress is reported this often while sleeping: often enough to watch, cheap in any case.
  private static final long STEP_MS = 100;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public JsonNode execute(TaskContext context) throws InterruptedException {
    ObjectNode payload = context.payload();
    long sleepMs = sleepMs(payload.get("sleep_ms"));
    if (sleepMs > 0) {
      sleep(context, sleepMs);
    }
    JsonNode fail = payload.get("fail");
    if (fail != null && !fail.isNull() && !(fail.isBoolean() && !fail.asBoolean())) {
      String message =
          fail.isTextual() ? fail.asText() : "failing as asked (attempt " + context.attempt() + ")";
      // A plain exception, as an ordinary bug would throw: retried with backoff.
      throw new RuntimeException(message);
    }
    return payload;
  }

  private static long sleepMs(JsonNode value) {
    if (value == null || value.isNull()) {
      return 0;
    }
    if (!value.canConvertToLong() || !value.isIntegralNumber() || value.asLong() < 0) {
      throw new FailJob("sleep_ms must be a whole number of milliseconds >= 0, got " + value);
    }
    return value.asLong();
  }

  private static void sleep(TaskContext context, long totalMs) throws InterruptedException {
    long startNanos = System.nanoTime();
    long sleptMs = 0;
    while (sleptMs < totalMs) {
      context.throwIfCancelled();
      // Thread.sleep ends early with InterruptedException when the job is cancelled or times
      // out: the worker interrupts this thread.
      Thread.sleep(Math.min(STEP_MS, totalMs - sleptMs));
      sleptMs = (System.nanoTime() - startNanos) / 1_000_000;
      context.reportProgress(
          Math.min(1.0, (double) sleptMs / totalMs),
          "slept " + Math.min(sleptMs, totalMs) + " of " + totalMs + " ms");
    }
  }
}
