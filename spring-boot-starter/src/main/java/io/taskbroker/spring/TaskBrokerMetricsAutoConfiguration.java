package io.taskbroker.spring;

import io.micrometer.core.instrument.MeterRegistry;
import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.common.Database;
import io.taskbroker.metrics.TaskBrokerMetrics;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;

/**
 * taskbroker's meters ({@code taskbroker.jobs.*}, {@code taskbroker.job.*}, the per-queue gauges)
 * in the application's {@link MeterRegistry}, when {@code taskbroker-metrics} is on the classpath
 * and the application has a registry (Actuator makes one). The listener bean is picked up by the
 * client and the embedded worker like any {@link JobLifecycleListener} bean. Off with {@code
 * taskbroker.metrics.enabled=false}.
 */
@AutoConfiguration(
    after = TaskBrokerAutoConfiguration.class,
    afterName = {
      "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration",
      "org.springframework.boot.actuate.autoconfigure.metrics.export.simple.SimpleMetricsExportAutoConfiguration"
    })
@ConditionalOnClass({TaskBrokerMetrics.class, MeterRegistry.class})
@ConditionalOnBean({MeterRegistry.class, Database.class})
@ConditionalOnProperty(
    prefix = "taskbroker.metrics",
    name = "enabled",
    havingValue = "true",
    matchIfMissing = true)
public class TaskBrokerMetricsAutoConfiguration {
  /** Job meters, and the per-queue gauges read by one query per period; closed with the context. */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  public TaskBrokerMetrics taskBrokerMetrics(MeterRegistry registry, Database database) {
    return TaskBrokerMetrics.bind(registry, database);
  }

  @Bean
  @ConditionalOnMissingBean(name = "taskBrokerMetricsListener")
  public JobLifecycleListener taskBrokerMetricsListener(TaskBrokerMetrics metrics) {
    return metrics.listener();
  }

  /** The embedded worker's slot, backlog, health and LISTEN gauges, once it has started. */
  @Bean
  @ConditionalOnBean(EmbeddedWorker.class)
  public SmartLifecycle taskBrokerWorkerGauges(TaskBrokerMetrics metrics, EmbeddedWorker worker) {
    return new WorkerGauges(metrics, worker);
  }

  /** Starts right after the embedded worker (a later phase) and binds its gauges, once. */
  static final class WorkerGauges implements SmartLifecycle {
    private final TaskBrokerMetrics metrics;
    private final EmbeddedWorker worker;
    private volatile boolean running;
    private boolean bound;

    WorkerGauges(TaskBrokerMetrics metrics, EmbeddedWorker worker) {
      this.metrics = metrics;
      this.worker = worker;
    }

    @Override
    public synchronized void start() {
      if (!bound) {
        worker.worker().ifPresent(metrics::bindWorker);
        bound = worker.worker().isPresent();
      }
      running = true;
    }

    @Override
    public void stop() {
      // The meters go with TaskBrokerMetrics.close() when the context closes.
      running = false;
    }

    @Override
    public boolean isRunning() {
      return running;
    }

    @Override
    public int getPhase() {
      return EmbeddedWorker.PHASE + 1;
    }
  }
}
