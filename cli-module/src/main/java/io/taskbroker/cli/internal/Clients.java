package io.taskbroker.cli.internal;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import java.time.Duration;

/** Opens the client the short commands use. Stateless. */
public final class Clients {
  // One connection for the command's statements, one spare; `--wait` listens on its own.
  private static final int POOL_SIZE = 2;

  private Clients() {}

  /**
   * A client owning a small pool. It does not migrate: reading or submitting should not need DDL
   * rights, and a missing schema is reported with a hint to run {@code taskbroker migrate}.
   */
  public static TaskBrokerClient open(DatabaseOptions database, CliContext context) {
    return TaskBrokerClient.connect(
        database.config(context.env(), "taskbroker-cli", POOL_SIZE),
        ClientConfig.builder().migrate(false).awaitPollInterval(Duration.ofSeconds(1)).build());
  }
}
