package io.taskbroker.cli.internal;

import io.taskbroker.common.DatabaseConfig;
import java.util.Map;
import picocli.CommandLine.Option;

/** {@code --database-url}, shared by every command that talks to PostgreSQL. Not thread-safe. */
public final class DatabaseOptions {
  @Option(
      names = "--database-url",
      paramLabel = "URL",
      description = {
        "PostgreSQL to use: postgresql://user:pass@host:port/db or a jdbc:postgresql: URL.",
        "Default: $DATABASE_URL, else $PGHOST, $PGPORT, $PGUSER, $PGPASSWORD, $PGDATABASE,"
            + " else localhost:5432, user and database postgres."
      })
  String url;

  /**
   * The flag, else the environment, else the defaults.
   *
   * @param applicationName shown in {@code pg_stat_activity}
   * @param poolSize the most connections this command opens at once
   */
  public DatabaseConfig config(Map<String, String> env, String applicationName, int poolSize) {
    DatabaseConfig base = DatabaseConfig.fromEnvironment(env, url);
    return new DatabaseConfig(
        base.jdbcUrl(),
        base.user(),
        base.password(),
        poolSize,
        base.connectTimeout(),
        applicationName);
  }
}
