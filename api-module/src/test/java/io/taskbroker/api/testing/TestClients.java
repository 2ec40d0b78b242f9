package io.taskbroker.api.testing;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.testsupport.TestDatabase;

/** Clients on a test database: a small pool, the schema migrated on connect. */
public final class TestClients {
  private TestClients() {}

  public static DatabaseConfig config(TestDatabase db) {
    return DatabaseConfig.builder()
        .jdbcUrl(db.jdbcUrl())
        .user(db.user())
        .password(db.password().isEmpty() ? null : db.password())
        .poolSize(4)
        .build();
  }

  public static TaskBrokerClient connect(TestDatabase db) {
    return connect(db, ClientConfig.defaults());
  }

  public static TaskBrokerClient connect(TestDatabase db, ClientConfig clientConfig) {
    return TaskBrokerClient.connect(config(db), clientConfig);
  }
}
