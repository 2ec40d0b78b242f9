package io.taskbroker.spring;

import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Database;
import java.util.Optional;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.health.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The {@code taskbroker} Actuator health contributor, when the application has Actuator (turn it
 * off with {@code management.health.taskbroker.enabled=false}).
 */
@AutoConfiguration(after = TaskBrokerAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(TaskBrokerClient.class)
@ConditionalOnEnabledHealthIndicator("taskbroker")
public class TaskBrokerHealthAutoConfiguration {
  @Bean
  @ConditionalOnMissingBean(name = "taskbrokerHealthIndicator")
  public TaskBrokerHealthIndicator taskbrokerHealthIndicator(
      Database database, ObjectProvider<EmbeddedWorker> worker) {
    return new TaskBrokerHealthIndicator(database, Optional.ofNullable(worker.getIfAvailable()));
  }
}
