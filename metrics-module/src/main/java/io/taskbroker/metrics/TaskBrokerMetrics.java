package io.taskbroker.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.common.Database;
import io.taskbroker.metrics.internal.JobMeters;
import io.taskbroker.metrics.internal.QueueGauges;
import io.taskbroker.worker.Worker;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * taskbroker's meters on any Micrometer {@link MeterRegistry}. Bind once per registry and process:
 *
 * <pre>{@code
 * TaskBrokerMetrics metrics = TaskBrokerMetrics.bind(registry, database);
 * Worker worker = Worker.start(database,
 *     WorkerConfig.builder().listener(metrics.listener()).build(), plugins);
 * metrics.bindWorker(worker);
 * TaskBrokerClient client = TaskBrokerClient.create(database,
 *     ClientConfig.builder().listener(metrics.listener()).build());   // submitted counter
 * ...
 * metrics.close();   // stops the queue query, removes the meters
 * }</pre>
 *
 * <p>Meters (Prometheus names in parentheses):
 *
 * <ul>
 *   <li>counters {@code taskbroker.jobs.submitted} (queue, plugin), {@code taskbroker.jobs.started}
 *       (queue, plugin), {@code taskbroker.jobs.finished} (queue, plugin, outcome: completed,
 *       failed, retried, cancelled, snoozed, lost; {@code taskbroker_jobs_finished_total}), {@code
 *       taskbroker.writes.rejected} (queue, plugin), {@code taskbroker.jobs.rescued};
 *   <li>timers {@code taskbroker.job.duration} (queue, plugin, outcome) and {@code
 *       taskbroker.job.queue_latency} (queue, plugin), with histogram buckets unless {@link
 *       MetricsConfig#histograms()} is off;
 *   <li>gauges per queue {@code taskbroker.queue.ready}, {@code .scheduled}, {@code .running},
 *       {@code .oldest_ready_age} (seconds), from one index-bounded query per {@link
 *       MetricsConfig#queueStatsInterval()} (a scrape never queries);
 *   <li>per bound worker (tag worker): {@code taskbroker.worker.slots.busy}, {@code
 *       taskbroker.worker.slots.capacity}, {@code taskbroker.completer.backlog}, {@code
 *       taskbroker.worker.healthy} and {@code taskbroker.worker.listening} (1 or 0).
 * </ul>
 *
 * <p>{@link #bind(MeterRegistry, Database)} starts one daemon thread for the queue query; {@link
 * #bind(MeterRegistry)} (for a process that only submits) starts none. Thread-safe.
 */
public final class TaskBrokerMetrics implements AutoCloseable {
  private final MeterRegistry registry;
  private final JobMeters jobMeters;
  private final QueueGauges queueGauges; // null without a database
  private final List<Meter> workerMeters = new CopyOnWriteArrayList<>();

  private TaskBrokerMetrics(MeterRegistry registry, Database database, MetricsConfig config) {
    this.registry = registry;
    this.jobMeters = new JobMeters(registry, config.histograms());
    this.queueGauges =
        database == null ? null : new QueueGauges(registry, database, config.queueStatsInterval());
  }

  /** Job meters and the per-queue gauges of this database, read every 10 seconds. */
  public static TaskBrokerMetrics bind(MeterRegistry registry, Database database) {
    return bind(registry, database, MetricsConfig.defaults());
  }

  /**
   * Job meters and the per-queue gauges of this database, read every {@link
   * MetricsConfig#queueStatsInterval()}; starts that query's thread now.
   */
  public static TaskBrokerMetrics bind(
      MeterRegistry registry, Database database, MetricsConfig config) {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(database, "database");
    Objects.requireNonNull(config, "config");
    TaskBrokerMetrics metrics = new TaskBrokerMetrics(registry, database, config);
    metrics.queueGauges.start();
    return metrics;
  }

  /** Job meters only (no database query, no thread): for a process that submits, say. */
  public static TaskBrokerMetrics bind(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    return new TaskBrokerMetrics(registry, null, MetricsConfig.defaults());
  }

  /**
   * The listener that feeds the job meters: pass it to {@code WorkerConfig.builder().listener(...)}
   * for the worker's events and to {@code ClientConfig.builder().listener(...)} for submits. One
   * instance, shared by any number of workers and clients.
   */
  public JobLifecycleListener listener() {
    return jobMeters;
  }

  /**
   * Adds the worker's slot, backlog, health and LISTEN gauges, tagged with its id, and gauges for
   * its queues (zero until the next queue query). Call once per worker; {@link #close()} removes
   * them.
   */
  public TaskBrokerMetrics bindWorker(Worker worker) {
    Objects.requireNonNull(worker, "worker");
    String id = worker.id();
    workerMeters.add(
        Gauge.builder("taskbroker.worker.slots.busy", worker, Worker::busySlots)
            .tag("worker", id)
            .description("Slots taken by claimed jobs")
            .register(registry));
    workerMeters.add(
        Gauge.builder("taskbroker.worker.slots.capacity", worker, Worker::totalSlots)
            .tag("worker", id)
            .description("Slots over every queue the worker serves")
            .register(registry));
    workerMeters.add(
        Gauge.builder("taskbroker.completer.backlog", worker, Worker::completerBacklog)
            .tag("worker", id)
            .description("Outcomes decided and not yet written")
            .register(registry));
    workerMeters.add(
        Gauge.builder("taskbroker.worker.healthy", worker, w -> w.isHealthy() ? 1 : 0)
            .tag("worker", id)
            .description("1 while the worker runs and every unit is well")
            .register(registry));
    workerMeters.add(
        Gauge.builder("taskbroker.worker.listening", worker, w -> w.isListening() ? 1 : 0)
            .tag("worker", id)
            .description("1 while the LISTEN connection is up")
            .register(registry));
    if (queueGauges != null) {
      queueGauges.include(worker.config().queues().keySet());
    }
    return this;
  }

  /**
   * Reads the queue gauges now, on the caller's thread (tests and tools; the period does it too).
   *
   * @throws SQLException when the query fails
   * @throws IllegalStateException when bound without a database
   */
  public void refreshQueueGauges() throws SQLException {
    if (queueGauges == null) {
      throw new IllegalStateException("bound without a database: there are no queue gauges");
    }
    queueGauges.refresh();
  }

  /** When the queue gauges were last read; null before the first read or without a database. */
  public Instant queueGaugesReadAt() {
    return queueGauges == null ? null : queueGauges.lastRefreshAt();
  }

  /** Stops the queue query and removes the gauges this bound; safe twice. */
  @Override
  public void close() {
    if (queueGauges != null) {
      queueGauges.stop();
    }
    workerMeters.forEach(registry::remove);
    workerMeters.clear();
    jobMeters.clear();
  }
}
