package io.taskbroker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;

/**
 * The benchmark's job: does nothing and returns nothing, so only the queue is measured. The CLI
 * bundles it beside its example plugins, so a plain {@code taskbroker worker} runs the peers' drain
 * method's jobs ({@code bench-module/scripts/peer-drain.sh}).
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
