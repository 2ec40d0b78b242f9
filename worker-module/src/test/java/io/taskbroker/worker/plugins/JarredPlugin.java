package io.taskbroker.worker.plugins;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;

/**
 * A plugin {@link PluginLoaderTest} copies into a jar of its own. Self-contained on purpose: it
 * uses only the shared plugin contract, as a plugin in its own jar would.
 */
public final class JarredPlugin implements TaskPlugin {
  @Override
  public String name() {
    return "jarred";
  }

  @Override
  public JsonNode execute(TaskContext context) {
    return context.payload();
  }
}
