package io.taskbroker.worker.inprocess;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.api.backend.TaskExecutor;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.api.spi.InProcessWorker;
import io.taskbroker.api.spi.InProcessWorkerProvider;
import io.taskbroker.api.spi.InProcessWorkerSpec;
import io.taskbroker.common.Json;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gives {@code PostgresBrokerTaskBackend} its in-process worker (found by ServiceLoader): a {@link
 * Worker} on the backend's queue with one plugin per task type the backend's executor handles, each
 * handing its jobs to the executor as a task dict. The claim filters on those plugin names, so jobs
 * of other plugins in the queue stay pending for a worker that has them. Without task types, a
 * catch-all plugin runs every job of the queue.
 */
public final class InProcessWorkers implements InProcessWorkerProvider {
  @Override
  public InProcessWorker start(InProcessWorkerSpec spec) {
    WorkerConfig config =
        WorkerConfig.builder()
            .queue(spec.queue(), spec.concurrency())
            .pollInterval(Duration.ofSeconds(1))
            .build();
    PluginRegistry plugins =
        spec.runsAnyType()
            ? PluginRegistry.withCatchAll(List.of(), new ExecutorPlugin("*", spec.executor()))
            : PluginRegistry.of(
                spec.taskTypes().stream()
                    .sorted()
                    .map(type -> new ExecutorPlugin(type, spec.executor()))
                    .toList());
    Worker worker = Worker.start(spec.database(), config, plugins);
    return new InProcessWorker() {
      @Override
      public int runningCount() {
        return worker.runningCount();
      }

      @Override
      public ShutdownReport shutdown(Duration drainTimeout) {
        return worker.shutdown(drainTimeout);
      }
    };
  }

  /** Runs jobs through a {@link TaskExecutor}: payload plus {@code type}. */
  private record ExecutorPlugin(String name, TaskExecutor executor) implements TaskPlugin {
    @Override
    public JsonNode execute(TaskContext context) throws Exception {
      Map<String, Object> task = new LinkedHashMap<>(Json.toMap(context.payload()));
      task.put("type", context.plugin());
      Object result = executor.execute(task);
      return result == null ? null : Json.toTree(result);
    }
  }
}
