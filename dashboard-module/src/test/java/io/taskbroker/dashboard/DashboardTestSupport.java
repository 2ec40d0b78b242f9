package io.taskbroker.dashboard;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.testsupport.TestDatabase;
import java.time.Duration;

/** Opens a migrated client on a test database. Stateless. */
final class DashboardTestSupport {
  static final String TOKEN = "operator-token-0123456789";
  static final String READ_ONLY = "read-only-token-0123456789";

  private DashboardTestSupport() {}

  static DatabaseConfig config(TestDatabase db) {
    return DatabaseConfig.builder()
        .jdbcUrl(db.jdbcUrl())
        .user(db.user())
        .password(db.password().isEmpty() ? null : db.password())
        .poolSize(8)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  static TaskBrokerClient client(TestDatabase db) {
    return TaskBrokerClient.connect(config(db), ClientConfig.defaults());
  }
}
