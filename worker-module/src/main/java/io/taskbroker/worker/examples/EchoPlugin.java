package io.taskbroker.worker.examples;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;

/** Example plugin: returns its payload. (Stub; the CLI work fills it in.) */
public final class EchoPlugin implements TaskPlugin {
  @Override
  public String name() {
    return "echo";
  }

  @Override
  public JsonNode execute(TaskContext context) {
    return context.payload();
  }
}
