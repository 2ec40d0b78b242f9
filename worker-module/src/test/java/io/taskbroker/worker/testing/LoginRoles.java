package io.taskbroker.worker.testing;

import io.taskbroker.common.Database;
import io.taskbroker.testsupport.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Login roles for one test, dropped on {@link #close()}. Roles belong to the whole cluster, which
 * other test databases share: each name carries a random suffix, and nothing but membership in
 * taskbroker's group roles is ever granted to them, so dropping them leaves nothing behind. Not
 * thread-safe.
 */
public final class LoginRoles implements AutoCloseable {
  public static final String PASSWORD = "test-only-password";

  private final TestDatabase testDatabase;
  private final List<String> created = new ArrayList<>();
  private final List<Database> opened = new ArrayList<>();

  public LoginRoles(TestDatabase testDatabase) {
    this.testDatabase = testDatabase;
  }

  /** A new login role, member of {@code groups} (taskbroker's roles; none for a bare login). */
  public String create(String purpose, String... groups) {
    String name = "tb_" + purpose + "_" + UUID.randomUUID().toString().substring(0, 8);
    try (Connection admin = testDatabase.connect();
        Statement statement = admin.createStatement()) {
      statement.execute("CREATE ROLE " + name + " LOGIN PASSWORD '" + PASSWORD + "'");
      created.add(name);
      for (String group : groups) {
        statement.execute("GRANT " + group + " TO " + name);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create login role " + name, e);
    }
    return name;
  }

  /** A pool on the test database as this role, not migrated (the role may not). Closed here. */
  public Database open(String role) {
    Database database =
        Database.connect(TestDatabases.config(testDatabase).user(role).password(PASSWORD).build());
    opened.add(database);
    return database;
  }

  /** A plain connection as this role, in auto-commit mode; the caller closes it. */
  public Connection connect(String role) throws SQLException {
    return DriverManager.getConnection(testDatabase.jdbcUrl(), role, PASSWORD);
  }

  @Override
  public void close() {
    opened.forEach(Database::close);
    opened.clear();
    try (Connection admin = testDatabase.connect();
        Statement statement = admin.createStatement()) {
      for (String name : created) {
        statement.execute("DROP ROLE IF EXISTS " + name);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot drop the test's login roles " + created, e);
    }
    created.clear();
  }
}
