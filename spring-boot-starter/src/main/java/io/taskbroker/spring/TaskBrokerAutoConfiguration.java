package io.taskbroker.spring;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.Schedules;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.common.Database;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;

/**
 * Configures taskbroker on the application's {@link DataSource}: a {@link Database} (never closing
 * the pool), taskbroker's migrations (unless {@code taskbroker.migrate=false}), a {@link
 * TaskBrokerClient} whose submits join a Spring-managed transaction, schedules from {@link
 * ScheduleDefinition} beans and {@code taskbroker.schedules.*}, and, with {@code
 * taskbroker.worker.enabled=true}, an {@link EmbeddedWorker} running every {@link TaskPlugin} bean.
 * Each bean backs off when the application defines its own.
 */
@AutoConfiguration(after = DataSourceAutoConfiguration.class)
@ConditionalOnBean(DataSource.class)
@ConditionalOnProperty(prefix = "taskbroker", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(TaskBrokerProperties.class)
public class TaskBrokerAutoConfiguration {

  /**
   * taskbroker's statements commit on their own, so it gets the pool itself: behind Spring's
   * transaction-aware proxy a worker's claim would join whatever transaction its thread had.
   */
  @Bean
  @ConditionalOnMissingBean
  public Database taskBrokerDatabase(DataSource dataSource) {
    DataSource pool =
        dataSource instanceof TransactionAwareDataSourceProxy proxy
            ? proxy.getTargetDataSource()
            : dataSource;
    return Database.using(pool);
  }

  @Bean
  @ConditionalOnMissingBean
  public TaskBrokerClient taskBrokerClient(
      Database database,
      DataSource dataSource,
      TaskBrokerProperties properties,
      ObjectProvider<JobLifecycleListener> listeners) {
    ClientConfig.Builder builder =
        ClientConfig.builder()
            .migrate(properties.isMigrate())
            .awaitPollInterval(properties.getClient().getAwaitPollInterval())
            .wakeLocalWorkers(properties.getClient().isWakeLocalWorkers());
    // Every JobLifecycleListener bean hears of the submits (and, below, of the worker's jobs).
    listeners.orderedStream().forEach(builder::listener);
    ClientConfig config = builder.build();
    return TaskBrokerClient.create(database, config, new SpringManagedTransactions(dataSource));
  }

  /** Every declared schedule: the {@link ScheduleDefinition} beans, then the properties. */
  @Bean
  @ConditionalOnMissingBean(name = "taskBrokerSchedules")
  public DeclaredSchedules taskBrokerSchedules(
      ObjectProvider<ScheduleDefinition> beans, TaskBrokerProperties properties) {
    List<ScheduleDefinition> all = new ArrayList<>();
    beans.orderedStream().forEach(all::add);
    for (Map.Entry<String, TaskBrokerProperties.Schedule> entry :
        properties.getSchedules().entrySet()) {
      all.add(toDefinition(entry.getKey(), entry.getValue()));
    }
    return new DeclaredSchedules(all);
  }

  /** The schedules as written, so a bad one is named at startup, before anything runs. */
  public record DeclaredSchedules(List<ScheduleDefinition> definitions) {
    public DeclaredSchedules {
      definitions = List.copyOf(definitions);
    }
  }

  static ScheduleDefinition toDefinition(String name, TaskBrokerProperties.Schedule schedule) {
    ScheduleDefinition.Builder builder =
        ScheduleDefinition.builder(name, schedule.getCron(), schedule.getPlugin())
            .timeZone(schedule.getTimeZone())
            .payload(schedule.getPayload());
    setIfPresent(schedule.getQueue(), builder::queue);
    setIfPresent(schedule.getPriority(), builder::priority);
    setIfPresent(schedule.getMaxAttempts(), builder::maxAttempts);
    setIfPresent(schedule.getTimeout(), builder::timeout);
    setIfPresent(schedule.getCatchUp(), builder::catchUp);
    setIfPresent(schedule.getCatchUpWindow(), builder::catchUpWindow);
    setIfPresent(schedule.getOverlap(), builder::overlap);
    setIfPresent(schedule.getJitter(), builder::jitter);
    return builder.build();
  }

  private static <T> void setIfPresent(T value, Consumer<T> setter) {
    if (value != null) {
      setter.accept(value);
    }
  }

  /**
   * Without an embedded worker, the schedules are upserted once every singleton is ready (a worker
   * elsewhere fires them); with one, the worker upserts them as it starts.
   */
  @Bean
  @ConditionalOnProperty(
      prefix = "taskbroker.worker",
      name = "enabled",
      havingValue = "false",
      matchIfMissing = true)
  public SmartInitializingSingleton taskBrokerScheduleUpserter(
      TaskBrokerClient client, DeclaredSchedules schedules) {
    return () -> {
      Schedules upserts = client.schedules();
      schedules.definitions().forEach(upserts::upsert);
    };
  }

  /** The embedded worker and what it is made from. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnProperty(prefix = "taskbroker.worker", name = "enabled", havingValue = "true")
  public static class WorkerConfiguration {
    @Bean
    @ConditionalOnMissingBean
    public EmbeddedWorker taskBrokerWorker(
        Database database,
        // Depends on the client so taskbroker's migrations ran before the worker starts.
        TaskBrokerClient client,
        TaskBrokerProperties properties,
        DeclaredSchedules schedules,
        ObjectProvider<TaskPlugin> plugins,
        ObjectProvider<WorkerConfigCustomizer> customizers,
        ObjectProvider<JobLifecycleListener> listeners) {
      WorkerConfig.Builder config = workerConfig(properties.getWorker());
      schedules.definitions().forEach(config::schedule);
      listeners.orderedStream().forEach(config::listener);
      customizers.orderedStream().forEach(customizer -> customizer.customize(config));
      return new EmbeddedWorker(
          database, config.build(), PluginRegistry.of(plugins.orderedStream().toList()));
    }
  }

  static WorkerConfig.Builder workerConfig(TaskBrokerProperties.Worker worker) {
    WorkerConfig.Builder config = WorkerConfig.builder();
    setIfPresent(worker.getId(), config::workerId);
    if (worker.getQueues() != null && !worker.getQueues().isEmpty()) {
      config.queues(worker.getQueues());
    }
    setIfPresent(worker.getPollInterval(), config::pollInterval);
    setIfPresent(worker.getLease(), config::lease);
    setIfPresent(worker.getHeartbeatInterval(), config::heartbeatInterval);
    setIfPresent(worker.getRescueInterval(), config::rescueInterval);
    setIfPresent(worker.getDrainTimeout(), config::drainTimeout);
    setIfPresent(worker.getDefaultTimeout(), config::defaultTimeout);
    setIfPresent(worker.getRetryBaseDelay(), config::retryBaseDelay);
    setIfPresent(worker.getRetryMaxDelay(), config::retryMaxDelay);
    setIfPresent(worker.getRetention(), config::retention);
    setIfPresent(worker.getHistoryAfter(), config::historyAfter);
    return config;
  }
}
