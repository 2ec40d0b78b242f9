package io.taskbroker.cli.examples;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;

/**
 * Example plugin {@code noop}: does nothing and returns nothing, so the job completes with a null
 * result. The job the drain benchmarks run, as the peers' benchmarks run a task that returns at
 * once; what it measures is the queue's own cost per job. Stateless and thread-safe.
 */
public final class NoopPlugin implements TaskPlugin {
  public static final String NAME = "noop";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public JsonNode execute(TaskContext context) {
    return null;
  }
}
