package io.taskbroker.worker.examples;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;

/** Example plugin: a simulated transcription. (Stub; the CLI work fills it in.) */
public final class TranscriptionPlugin implements TaskPlugin {
  @Override
  public String name() {
    return "transcribe";
  }

  @Override
  public JsonNode execute(TaskContext context) {
    return context.payload();
  }
}
