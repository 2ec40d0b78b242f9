package io.taskbroker.worker.testing;

import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Migrations;
import io.taskbroker.testsupport.DedicatedPostgres;
import io.taskbroker.testsupport.TestDatabase;
import java.time.Duration;

/** Pools on a test database, with the schema migrated. Stateless. */
public final class TestDatabases {
  public static final int POOL_SIZE = 8;

  private TestDatabases() {}

  public static DatabaseConfig.Builder config(TestDatabase db) {
    return DatabaseConfig.builder()
        .jdbcUrl(db.jdbcUrl())
        .user(db.user())
        .password(db.password().isEmpty() ? null : db.password())
        .poolSize(POOL_SIZE)
        .connectTimeout(Duration.ofSeconds(5));
  }

  /** A pool of {@value #POOL_SIZE} on the database, schema migrated. The caller closes it. */
  public static Database open(TestDatabase db) {
    return open(config(db).build());
  }

  /** A pool whose connections show {@code applicationName} in pg_stat_activity. */
  public static Database open(TestDatabase db, String applicationName) {
    return open(config(db).applicationName(applicationName).build());
  }

  /** Settings for the {@code postgres} database of a dedicated server: 2s connect timeout. */
  public static DatabaseConfig.Builder config(DedicatedPostgres server, String applicationName) {
    return DatabaseConfig.builder()
        .jdbcUrl(server.jdbcUrl("postgres"))
        .user(server.user())
        .password(null)
        .poolSize(POOL_SIZE)
        .connectTimeout(Duration.ofSeconds(2))
        .applicationName(applicationName);
  }

  /** A pool on the {@code postgres} database of a dedicated server, schema migrated. */
  public static Database open(DedicatedPostgres server, String applicationName) {
    return open(config(server, applicationName).build());
  }

  public static Database open(DatabaseConfig config) {
    Database database = Database.connect(config);
    try {
      Migrations.migrate(database.dataSource());
      return database;
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
  }
}
