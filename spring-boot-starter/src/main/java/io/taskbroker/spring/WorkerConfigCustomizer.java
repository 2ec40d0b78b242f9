package io.taskbroker.spring;

import io.taskbroker.worker.WorkerConfig;

/**
 * A bean that adjusts the embedded worker's config after the {@code taskbroker.worker.*} properties
 * are applied: listeners (metrics, tracing), a clock, settings no property covers.
 */
@FunctionalInterface
public interface WorkerConfigCustomizer {
  void customize(WorkerConfig.Builder config);
}
