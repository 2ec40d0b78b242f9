package io.taskbroker.testsupport.internal;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * Creates and drops databases through short-lived admin connections to one server. Holds no
 * connection between calls, so it is thread-safe.
 */
public final class DatabaseAdmin {

  private static final String SERVER_VERSION = "SELECT current_setting('server_version_num')::int";

  // Before PostgreSQL 13 there is no WITH (FORCE): end the sessions first, then drop.
  private static final String TERMINATE_SESSIONS =
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
          + " WHERE datname = ? AND pid <> pg_backend_pid()";

  private static final int FIRST_VERSION_WITH_FORCE = 130000;

  // Names are interpolated into DDL, so only plain lower-case identifiers are accepted.
  private static final Pattern SAFE_NAME = Pattern.compile("[a-z][a-z0-9_]{0,62}");

  private final ServerAddress address;

  public DatabaseAdmin(ServerAddress address) {
    this.address = address;
  }

  public ServerAddress address() {
    return address;
  }

  /** A new connection to the admin database; the caller closes it. */
  public Connection connect() throws SQLException {
    return connect(address.adminJdbcUrl());
  }

  /** A new connection to {@code jdbcUrl} with this server's user and password. */
  public Connection connect(String jdbcUrl) throws SQLException {
    Properties properties = new Properties();
    properties.setProperty("user", address.user());
    if (!address.password().isEmpty()) {
      properties.setProperty("password", address.password());
    }
    return DriverManager.getConnection(jdbcUrl, properties);
  }

  /** The server's version as a number, {@code 150010} for 15.10. */
  public int serverVersionNumber() throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement();
        ResultSet resultSet = statement.executeQuery(SERVER_VERSION)) {
      resultSet.next();
      return resultSet.getInt(1);
    }
  }

  public void create(String name) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE " + quote(name));
    }
  }

  /** Drops {@code name}, ending any session still connected to it. */
  public void drop(String name, int serverVersionNumber) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement()) {
      if (serverVersionNumber >= FIRST_VERSION_WITH_FORCE) {
        statement.execute("DROP DATABASE IF EXISTS " + quote(name) + " WITH (FORCE)");
      } else {
        try (PreparedStatement terminate = connection.prepareStatement(TERMINATE_SESSIONS)) {
          terminate.setString(1, name);
          terminate.executeQuery().close();
        }
        statement.execute("DROP DATABASE IF EXISTS " + quote(name));
      }
    }
  }

  private static String quote(String name) {
    if (!SAFE_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("Refusing an unexpected database name: " + name);
    }
    return '"' + name + '"';
  }
}
