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
}
