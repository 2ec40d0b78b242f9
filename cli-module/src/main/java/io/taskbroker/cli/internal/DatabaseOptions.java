package io.taskbroker.cli.internal;

import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Secrets;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/** {@code --database-url}, shared by every command that talks to PostgreSQL. Not thread-safe. */
public final class DatabaseOptions {
  public static final String NAME = "--database-url";

  @Option(
      names = NAME,
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
  /**
   * The passwords that a run with this flag value and environment may know, for {@link
   * Secrets#redact}: found by shape, so even a URL that does not parse gives its password.
   */
  public static Set<String> secrets(Map<String, String> env, String url) {
    Set<String> secrets = new LinkedHashSet<>(Secrets.passwordsIn(url));
    secrets.addAll(Secrets.passwordsIn(env.get("DATABASE_URL")));
    String pgPassword = env.get("PGPASSWORD");
    if (pgPassword != null && !pgPassword.isEmpty()) {
      secrets.add(pgPassword);
    }
    return secrets;
  }

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
