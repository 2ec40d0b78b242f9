package io.taskbroker.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.TextNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.JobStatus;
import io.taskbroker.spring.shop.ShopApplication;
import io.taskbroker.testsupport.PostgresServer;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.worker.UnitHealth;
import io.taskbroker.worker.Worker;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The embedded worker lives and dies with the application context: closing the context drains it,
 * so a job running at that moment finishes here (it is not handed back), and the worker's row goes.
 */
class EmbeddedWorkerLifecycleTest {
  static final CountDownLatch RUNNING = new CountDownLatch(1);

  /** A plugin that is still running when the worker's shutdown begins, and finishes during it. */
  @Configuration(proxyBeanMethods = false)
  static class SlowPlugin {
    @Bean
    TaskPlugin slowPlugin(ObjectProvider<EmbeddedWorker> embedded) {
      return new TaskPlugin() {
        @Override
        public String name() {
          return "slow";
        }

        @Override
        public com.fasterxml.jackson.databind.JsonNode execute(
            io.taskbroker.api.plugin.TaskContext context) {
          RUNNING.countDown();
          Worker worker = embedded.getObject().worker().orElseThrow();
          // Until the shutdown has stopped the producers: this job is then being drained.
          Awaitility.await()
              .atMost(Duration.ofSeconds(20))
              .pollInterval(Duration.ofMillis(20))
              .until(
                  () ->
                      worker.health().units().stream()
                          .anyMatch(
                              unit ->
                                  unit.name().startsWith("producer")
                                      && unit.state() == UnitHealth.State.STOPPED));
          return TextNode.valueOf("finished during the drain");
        }
      };
    }
  }

  @Test
  void closingTheContextDrainsTheRunningJob() throws Exception {
    try (TestDatabase database = PostgresServer.get().createDatabase()) {
      ConfigurableApplicationContext context =
          new SpringApplicationBuilder(ShopApplication.class, SlowPlugin.class)
              .web(WebApplicationType.NONE)
              .properties(
                  Map.of(
                      "spring.datasource.url",
                      database.jdbcUrl(),
                      "spring.datasource.username",
                      database.user(),
                      "spring.datasource.password",
                      database.password(),
                      "taskbroker.worker.enabled",
                      "true",
                      "taskbroker.worker.poll-interval",
                      "200ms",
                      "taskbroker.worker.drain-timeout",
                      "20s"))
              .run();
      EmbeddedWorker embedded = context.getBean(EmbeddedWorker.class);
      String workerId = embedded.config().workerId();
      UUID jobId;
      try {
        jobId = context.getBean(TaskBrokerClient.class).submit("slow", Map.of());
        assertThat(RUNNING.await(20, TimeUnit.SECONDS)).isTrue();
      } finally {
        context.close();
      }

      assertThat(embedded.isRunning()).isFalse();
      try (Connection connection = database.connect()) {
        assertThat(
                count(connection, "SELECT count(*) FROM taskbroker.workers WHERE id = ?", workerId))
            .isZero();
        try (PreparedStatement statement =
            connection.prepareStatement(
                "SELECT status, result #>> '{}', attempt FROM taskbroker.jobs WHERE id = ?")) {
          statement.setObject(1, jobId);
          try (ResultSet row = statement.executeQuery()) {
            assertThat(row.next()).isTrue();
            assertThat(row.getString(1)).isEqualTo(JobStatus.COMPLETED.name().toLowerCase());
            assertThat(row.getString(2)).isEqualTo("finished during the drain");
            assertThat(row.getInt(3)).isEqualTo(1);
          }
        }
      }
    }
  }

  private static long count(Connection connection, String sql, String parameter) throws Exception {
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setString(1, parameter);
      try (ResultSet row = statement.executeQuery()) {
        row.next();
        return row.getLong(1);
      }
    }
  }
}
