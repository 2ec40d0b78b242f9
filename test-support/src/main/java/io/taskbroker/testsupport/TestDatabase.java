package io.taskbroker.testsupport;

import io.taskbroker.testsupport.internal.DatabaseAdmin;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A fresh, empty database of its own on the shared {@link PostgresServer}, dropped by {@link
 * #close()}.
 *
 * <p>Thread-safe: its connection info is immutable, every {@link #connect()} opens a new connection
 * and every {@link #dataSource()} builds a new data source, and {@link #close()} drops the database
 * once however many threads call it.
 */
public final class TestDatabase implements AutoCloseable {

  private final PostgresServer server;
  private final DatabaseAdmin admin;
  private final String name;
  private final String jdbcUrl;
  private final AtomicBoolean closed = new AtomicBoolean();

  TestDatabase(PostgresServer server, DatabaseAdmin admin, String name) {
    this.server = server;
    this.admin = admin;
    this.name = name;
    this.jdbcUrl = admin.address().jdbcUrl(name);
  }

  /** The JDBC URL of this database, with neither user nor password in it. */
  public String jdbcUrl() {
    return jdbcUrl;
  }

  /** The user to log in as; may create tables and schemas in this database. */
  public String user() {
    return admin.address().user();
  }

  /** The password of {@link #user()}; empty when the server asks for none. */
  public String password() {
    return admin.address().password();
  }

  /** The database name, {@code tb_test_} followed by random characters. */
  public String name() {
    return name;
  }

  /** A new plain JDBC connection to this database; the caller closes it. */
  public Connection connect() throws SQLException {
    return admin.connect(jdbcUrl);
  }

  /**
   * A new non-pooling data source for this database: each {@code getConnection()} opens a
   * connection. Wrap it in a pool where pooling matters.
   */
  public DataSource dataSource() {
    PGSimpleDataSource dataSource = new PGSimpleDataSource();
    dataSource.setURL(jdbcUrl);
    dataSource.setUser(user());
    if (!password().isEmpty()) {
      dataSource.setPassword(password());
    }
    return dataSource;
  }

  /**
   * Drops the database, ending sessions still connected to it. A failure is logged, not thrown: a
   * leftover database must not fail the test that used it. Calling it again does nothing.
   */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      server.drop(name);
    }
  }

  @Override
  public String toString() {
    return "TestDatabase[" + jdbcUrl + " as " + user() + "]";
  }
}
