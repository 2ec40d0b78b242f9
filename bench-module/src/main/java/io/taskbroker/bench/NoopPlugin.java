package io.taskbroker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;

/** The benchmark's job: does nothing and returns nothing, so only the queue is measured. */
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
