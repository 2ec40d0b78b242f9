package io.taskbroker.common;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connections taskbroker works on, and the Jdbi on top of them. Thread-safe.
 *
 * <p>Either a pool of its own ({@link #connect(DatabaseConfig)}), which {@link #close()} closes, or
 * the application's {@link DataSource} ({@link #using(DataSource)}), which stays the application's:
 * closing the Database leaves it open. Either way every statement runs as plain JDBC on {@link
 * #dataSource()}, and an application joins its own transaction through the repositories' {@code
 * Connection} overloads.
 *
 * <p>LISTEN needs a connection held for as long as it listens; {@link #openDedicatedConnection()}
 * hands one out. With a pool of its own it opens outside the pool, so a listener never starves it;
 * on an application's data source see {@link #using(DataSource)}. The modules above hold one LISTEN
 * connection per Database (api-module's notifier, shared by every client, tracker and worker on it
 * in this JVM), kept in an {@link #attachment} slot.
 */
public final class Database implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Database.class);
  private static final AtomicLong APPLICATION_DATA_SOURCES = new AtomicLong();

  private final DatabaseConfig config;
  private final DataSource dataSource;
  // Null when the data source is the application's: then it is not ours to close.
  private final HikariDataSource ownPool;
  // Whether LISTEN connections come from dataSource rather than from the config's URL.
  private final boolean listenOnDataSource;
  private final Jdbi jdbi;
  // Guarded by itself; in creation order. Null once closed.
  private Map<Class<?>, AutoCloseable> attachments = new LinkedHashMap<>();

  private Database(
      DatabaseConfig config,
      DataSource dataSource,
      HikariDataSource ownPool,
      boolean listenOnDataSource) {
    this.config = config;
    this.dataSource = dataSource;
    this.ownPool = ownPool;
    this.listenOnDataSource = listenOnDataSource;
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
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(hikari);
    } catch (HikariPool.PoolInitializationException e) {
      throw unreachable("at " + config.describe(), config.secrets(), e);
    }
    return new Database(config, pool, pool, false);
  }

  /**
   * A Database on the application's own data source (a HikariCP pool, {@code PGSimpleDataSource},
   * ...), which it uses as it is and never closes. Checks one connection, so a wrong data source
   * fails here rather than at the first job.
   *
   * <p>Connections must come in auto-commit mode (HikariCP's default): taskbroker's statements
   * commit by themselves. So a data source that hands out the caller's transaction (Spring's {@code
   * TransactionAwareDataSourceProxy}) does not fit; give the pool behind it, and submit inside a
   * transaction through the {@code Connection} overloads. Batched submits are fastest with pgjdbc's
   * {@code reWriteBatchedInserts=true}, which a pool of taskbroker's own sets.
   *
   * <p>The LISTEN connection (one per Database, shared by its clients' awaits, trackers and
   * workers) is taken from this data source and <b>held for as long as anyone listens</b>, so it
   * occupies one connection of the pool: size the pool for it (a pool's leak detection will also
   * report it), or use {@link #using(DataSource, DatabaseConfig)} to listen outside the pool.
   *
   * <p>{@link #config()} is a stand-in: its {@code jdbcUrl} names no server but is unique to this
   * Database; user and password are null; its connect timeout is the pool's when the data source is
   * a HikariCP pool, else {@link DatabaseConfig#DEFAULT_CONNECT_TIMEOUT}. In-process wake-ups
   * between a client and a worker are per Database instance: share one Database between them.
   *
   * @throws DatabaseException when no connection can be had, or it is not in auto-commit mode
   */
  public static Database using(DataSource dataSource) {
    Objects.requireNonNull(dataSource, "dataSource");
    Duration connectTimeout =
        dataSource instanceof HikariDataSource pool
            ? Duration.ofMillis(pool.getConnectionTimeout())
            : DatabaseConfig.DEFAULT_CONNECT_TIMEOUT;
    // Only a description of the application's pool (never used to size one): capped so that a
    // pool larger than taskbroker would open itself is not refused by the config's check.
    int poolSize =
        dataSource instanceof HikariDataSource pool
            ? Math.min(pool.getMaximumPoolSize(), DatabaseConfig.MAX_POOL_SIZE)
            : DatabaseConfig.DEFAULT_POOL_SIZE;
    DatabaseConfig standIn =
        new DatabaseConfig(
            "jdbc:postgresql://application-data-source/"
                + APPLICATION_DATA_SOURCES.incrementAndGet(),
            null,
            null,
            poolSize,
            connectTimeout,
            DatabaseConfig.DEFAULT_APPLICATION_NAME);
    checkUsable(dataSource);
    return new Database(standIn, dataSource, null, true);
  }

  /**
   * As {@link #using(DataSource)}, but LISTEN connections are opened outside the application's
   * pool, with the URL, user, password and connect timeout of {@code listenOn} (which must reach
   * the same database); {@link #config()} is {@code listenOn}. Its pool size is not used.
   *
   * @throws DatabaseException when no connection can be had, or it is not in auto-commit mode
   */
  public static Database using(DataSource dataSource, DatabaseConfig listenOn) {
    Objects.requireNonNull(dataSource, "dataSource");
    Objects.requireNonNull(listenOn, "listenOn");
    checkUsable(dataSource);
    return new Database(listenOn, dataSource, null, false);
  }

  /**
   * The settings of this Database's own pool; for one on an application's data source, see {@link
   * #using(DataSource)}.
   */
  public DatabaseConfig config() {
    return config;
  }

  /** Where every statement gets its connection: the own pool, or the application's data source. */
  public DataSource dataSource() {
    return dataSource;
  }

  public Jdbi jdbi() {
    return jdbi;
  }

  /**
   * A connection for LISTEN, with auto-commit on, that the caller holds and closes: outside the
   * pool, or one of the application's data source (see {@link #using(DataSource)}).
   */
  public Connection openDedicatedConnection() throws SQLException {
    if (listenOnDataSource) {
      Connection connection = dataSource.getConnection();
      try {
        // Notifications are delivered between transactions only; an open one would hold them.
        if (!connection.getAutoCommit()) {
          connection.setAutoCommit(true);
        }
        return connection;
      } catch (SQLException | RuntimeException e) {
        connection.close();
        throw e;
      }
    }
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

  /**
   * The one {@code T} of this Database, created by {@code create} on first use and closed when the
   * Database closes. For per-database state of the modules above: api-module keeps its LISTEN
   * notifier and its in-process wake-ups here, so that two Databases in one JVM never share them
   * (not even two on one URL) and nothing keyed by a URL string outlives its Database. The slot
   * holds no thread of its own; what {@code T} does is its business. Thread-safe; {@code create}
   * runs under the slot's lock, so it must be quick and must not call back into this method.
   *
   * @param key the class of the attachment; one instance per key
   * @throws IllegalStateException once this Database is closed
   */
  public <T extends AutoCloseable> T attachment(Class<T> key, Supplier<? extends T> create) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(create, "create");
    synchronized (this) {
      if (attachments == null) {
        throw new IllegalStateException("this Database is closed");
      }
      AutoCloseable attached = attachments.get(key);
      if (attached == null) {
        attached = Objects.requireNonNull(create.get(), "created attachment");
        attachments.put(key, attached);
      }
      return key.cast(attached);
    }
  }

  /**
   * Closes this Database's attachments (the LISTEN notifier first releases its connection), newest
   * first, then the pool this Database opened; an application's data source stays open. Idempotent.
   */
  @Override
  public void close() {
    List<AutoCloseable> toClose;
    synchronized (this) {
      toClose = attachments == null ? List.of() : new ArrayList<>(attachments.values());
      attachments = null;
    }
    for (int i = toClose.size() - 1; i >= 0; i--) {
      AutoCloseable attached = toClose.get(i);
      try {
        attached.close();
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        // Closing goes on: the pool must be released whatever one attachment does.
        LOG.warn("Closing {} with its Database failed", attached.getClass().getName(), e);
      }
    }
    if (ownPool != null) {
      ownPool.close();
    }
  }

  private static void checkUsable(DataSource dataSource) {
    boolean autoCommit;
    try (Connection connection = dataSource.getConnection()) {
      autoCommit = connection.getAutoCommit();
    } catch (SQLException | RuntimeException e) {
      throw unreachable("through the application's data source", Set.of(), e);
    }
    if (!autoCommit) {
      // Our statements would run in a transaction nobody commits: the pool rolls it back on
      // return, and submitted jobs or a worker's outcomes would vanish without an error.
      throw new DatabaseException(
          "the application's data source hands out connections with auto-commit off;"
              + " taskbroker's statements commit by themselves and need it on"
              + " (HikariCP: autoCommit=true, the default)",
          null,
          null);
    }
  }

  /**
   * @param secrets passwords to mask wherever they appear in the driver's or the pool's message
   */
  private static DatabaseException unreachable(String where, Set<String> secrets, Exception e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    // The driver and the pool may quote the URL they refused ("claims to not accept jdbcUrl").
    String reason = Secrets.redact(root.getMessage(), secrets);
    return new DatabaseException(
        "cannot connect to PostgreSQL " + where + ": " + reason, SqlStates.of(e), e);
  }
}
