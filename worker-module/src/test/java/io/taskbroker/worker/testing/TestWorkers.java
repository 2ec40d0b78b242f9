package io.taskbroker.worker.testing;

import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.Database;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Starts workers with short intervals for tests and shuts every one of them down on {@link
 * #close()}. Thread-safe.
 */
public final class TestWorkers implements AutoCloseable {
  public static final Duration LEASE = Duration.ofSeconds(2);
  public static final Duration HEARTBEAT = Duration.ofMillis(300);
  public static final Duration RESCUE = Duration.ofMillis(300);
  public static final Duration POLL = Duration.ofMillis(200);
  public static final Duration RETRY_BASE = Duration.ofMillis(100);

  private static final AtomicInteger ids = new AtomicInteger();

  private final Database database;
  private final List<Worker> started = new CopyOnWriteArrayList<>();

  public TestWorkers(Database database) {
    this.database = database;
  }

  /**
   * A config for one queue with test-sized intervals: lease 2s, heartbeat 300ms, rescue 300ms, poll
   * 200ms, retries from 100ms, drain 5s, no pruning.
   */
  public static WorkerConfig.Builder config(String queue, int concurrency) {
    return WorkerConfig.builder()
        .workerId("test-" + queue + "-" + ids.incrementAndGet())
        .queue(queue, concurrency)
        .lease(LEASE)
        .heartbeatInterval(HEARTBEAT)
        .rescueInterval(RESCUE)
        .pollInterval(POLL)
        .retryBaseDelay(RETRY_BASE)
        .retryMaxDelay(Duration.ofSeconds(2))
        .drainTimeout(Duration.ofSeconds(5))
        .retention(null);
  }

  public Worker start(WorkerConfig config, TaskPlugin... plugins) {
    Worker worker = Worker.start(database, config, PluginRegistry.of(List.of(plugins)));
    started.add(worker);
    return worker;
  }

  public Worker start(WorkerConfig.Builder config, TaskPlugin... plugins) {
    return start(config.build(), plugins);
  }

  /** A worker on one queue with the test defaults. */
  public Worker start(String queue, int concurrency, TaskPlugin... plugins) {
    return start(config(queue, concurrency), plugins);
  }

  /** Shuts down every worker started here that is still running, without waiting for jobs. */
  @Override
  public void close() {
    for (Worker worker : started) {
      worker.shutdown(Duration.ZERO);
    }
    started.clear();
  }
}
