package io.taskbroker.common;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;

/**
 * A connection pool and the Jdbi on top of it. Thread-safe. Closing it closes the pool.
 *
 * <p>Connections for LISTEN are opened with {@link #openDedicatedConnection()}, outside the pool: a
 * listening connection is held for the life of the process and must not starve the pool.
 */
public final class Database implements AutoCloseable {
  private final DatabaseConfig config;
  private final HikariDataSource dataSource;
  private final Jdbi jdbi;

  private Database(DatabaseConfig config, HikariDataSource dataSource) {
    this.config = config;
    this.dataSource = dataSource;
    this.jdbi = Jdbi.create(dataSource).installPlugin(new PostgresPlugin());
  }

  /**
   * Opens a pool. Fails fast, with a message naming the server, when it cannot connect.
   *
   * @throws DatabaseException when the database cannot be reached
   */
  public static Database connect(DatabaseConfig config) {
    HikariConfig hikari = new HikariConfig();
    hikari.setJdbcUrl(config.jdbcUrl());
    hikari.setUsername(config.user());
    hikari.setPassword(config.password());
    hikari.setMaximumPoolSize(config.poolSize());
    hikari.setMinimumIdle(Math.min(2, config.poolSize()));
    hikari.setConnectionTimeout(config.connectTimeout().toMillis());
    hikari.setPoolName("taskbroker");
    hikari.addDataSourceProperty("ApplicationName", config.applicationName());
    hikari.addDataSourceProperty("tcpKeepAlive", "true");
    hikari.addDataSourceProperty("reWriteBatchedInserts", "true");
    try {
      return new Database(config, new HikariDataSource(hikari));
    } catch (HikariPool.PoolInitializationException e) {
      throw unreachable(config, e);
    }
  }

  public DatabaseConfig config() {
    return config;
  }

  public DataSource dataSource() {
    return dataSource;
  }

  public Jdbi jdbi() {
    return jdbi;
  }

  /** A new connection outside the pool, with auto-commit on. The caller closes it. */
  public Connection openDedicatedConnection() throws SQLException {
    Properties properties = new Properties();
    if (config.user() != null) {
      properties.setProperty("user", config.user());
    }
    if (config.password() != null) {
      properties.setProperty("password", config.password());
    }
    properties.setProperty("ApplicationName", config.applicationName() + "-listener");
    properties.setProperty("tcpKeepAlive", "true");
    properties.setProperty(
        "connectTimeout", Long.toString(Math.max(1, config.connectTimeout().toSeconds())));
    return DriverManager.getConnection(config.jdbcUrl(), properties);
  }

  @Override
  public void close() {
    dataSource.close();
  }

  private static DatabaseException unreachable(DatabaseConfig config, Exception e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    // The driver and the pool may quote the URL they refused ("claims to not accept jdbcUrl").
    String reason = Secrets.redact(root.getMessage(), config.secrets());
    return new DatabaseException(
        "cannot connect to PostgreSQL at " + config.describe() + ": " + reason, SqlStates.of(e), e);
  }
}
