package io.taskbroker.cli.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.RetryJob;
import io.taskbroker.api.plugin.SnoozeJob;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * Plugin {@code outcomes}, which {@link MetricsEndpointIT} puts in a jar of its own for a real
 * worker process: payload {@code do} picks the outcome. {@code complete}; {@code retry} (asks for a
 * retry on attempt 1, fails for good on attempt 2); {@code snooze} (for an hour); {@code block}
 * (runs until cancelled or interrupted). Self-contained: only the plugin contract.
 */
public final class OutcomePlugin implements TaskPlugin {
  @Override
  public String name() {
    return "outcomes";
  }

  @Override
  public JsonNode execute(TaskContext context) throws InterruptedException {
    String action = context.payload().path("do").asText();
    switch (action) {
      case "complete":
        return context.payload();
      case "retry":
        if (context.attempt() == 1) {
          throw RetryJob.after(Duration.ofMillis(10), "once more");
        }
        throw new FailJob("failed on attempt " + context.attempt());
      case "snooze":
        throw new SnoozeJob(Duration.ofHours(1));
      case "block":
        // Runs until the worker interrupts it (cancel, lost job, shutdown). A cancel that came
        // before the plugin's thread was known set only the flag: check it first.
        context.throwIfCancelled();
        new CountDownLatch(1).await();
        throw new IllegalStateException("a latch nobody opens was opened");
      default:
        throw new FailJob("unknown action " + action);
    }
  }
}
