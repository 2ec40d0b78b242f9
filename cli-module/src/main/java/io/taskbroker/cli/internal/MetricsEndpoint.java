package io.taskbroker.cli.internal;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.common.Database;
import io.taskbroker.metrics.MetricsConfig;
import io.taskbroker.metrics.TaskBrokerMetrics;
import io.taskbroker.worker.Worker;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;

/**
 * {@code taskbroker worker --metrics-port}: a Prometheus registry with taskbroker's meters and the
 * JVM's, served with the worker's health by a {@link MetricsServer}. Opened before the worker
 * starts (a port in use fails first), then {@link #bind} the database and {@link #worker} the
 * worker; {@link #close} after the worker stopped. Not thread-safe (the command's thread drives
 * it); what it serves is.
 */
public final class MetricsEndpoint implements AutoCloseable {
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final Duration interval;
  private final WorkerHealthCheck health;
  private final MetricsServer server;
  private TaskBrokerMetrics metrics;

  private MetricsEndpoint(
      InetSocketAddress address, Database database, Duration interval, Collection<String> secrets) {
    this.interval = interval;
    this.health = new WorkerHealthCheck(database.dataSource(), secrets);
    this.server = new MetricsServer(address, registry::scrape, health);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    gc.bindTo(registry);
  }

  /**
   * Binds the port and serves: {@code /health} says "starting" until {@link #worker}.
   *
   * @throws CliFailure when the port cannot be bound
   */
  public static MetricsEndpoint open(
      InetSocketAddress address, Database database, Duration interval, Collection<String> secrets) {
    MetricsEndpoint endpoint = new MetricsEndpoint(address, database, interval, secrets);
    try {
      endpoint.server.start();
    } catch (RuntimeException e) {
      endpoint.close();
      throw e;
    }
    return endpoint;
  }

  /** Starts the queue gauges on this (migrated) database; returns the worker's listener. */
  public JobLifecycleListener bind(Database database) {
    metrics =
        TaskBrokerMetrics.bind(
            registry, database, MetricsConfig.builder().queueStatsInterval(interval).build());
    return metrics.listener();
  }

  /** The worker is running: its gauges and its health. */
  public void worker(Worker worker) {
    if (metrics != null) {
      metrics.bindWorker(worker);
    }
    health.worker(worker);
  }

  public int port() {
    return server.port();
  }

  @Override
  public void close() {
    server.stop();
    health.close();
    if (metrics != null) {
      metrics.close();
    }
    gc.close();
    registry.close();
  }
}
