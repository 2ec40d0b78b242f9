package io.taskbroker.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

@WithPostgres
class TestDatabaseTest {

  @Test
  void freshDatabaseTakesTablesRowsAndQueries(TestDatabase database) throws SQLException {
    try (Connection connection = database.connect();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE greeting (id bigint PRIMARY KEY, text text NOT NULL)");
      int inserted = statement.executeUpdate("INSERT INTO greeting VALUES (1, 'hello'), (2, 'hi')");
      assertThat(inserted).as("rows inserted").isEqualTo(2);
    }

    // A second connection, from the data source, sees the committed rows.
    try (Connection connection = database.dataSource().getConnection();
        PreparedStatement select =
            connection.prepareStatement("SELECT text FROM greeting WHERE id = ?")) {
      select.setLong(1, 2);
      try (ResultSet resultSet = select.executeQuery()) {
        assertThat(resultSet.next()).isTrue();
        assertThat(resultSet.getString("text")).isEqualTo("hi");
      }
    }
  }

  @Test
  void connectionInfoNamesTheDatabasePlainly(TestDatabase database) throws SQLException {
    assertThat(database.name()).matches("tb_test_[0-9a-f]{32}");
    assertThat(database.jdbcUrl()).startsWith("jdbc:postgresql://").endsWith("/" + database.name());
    assertThat(database.user()).isNotBlank();

    try (Connection connection = database.connect();
        Statement statement = connection.createStatement();
        ResultSet resultSet = statement.executeQuery("SELECT current_database(), current_user")) {
      resultSet.next();
      assertThat(resultSet.getString(1)).isEqualTo(database.name());
      assertThat(resultSet.getString(2)).isEqualTo(database.user());
    }
  }

  @Test
  void closeDropsTheDatabaseEvenWithSessionsStillOpen(TestDatabase observer) throws SQLException {
    TestDatabase doomed = PostgresServer.get().createDatabase();
    Connection leftOpen = doomed.connect();
    try {
      assertThat(databaseExists(observer, doomed.name())).isTrue();

      doomed.close();
      doomed.close();

      assertThat(databaseExists(observer, doomed.name())).isFalse();
      assertThat(leftOpen.isValid(5)).as("the session was ended by the drop").isFalse();
    } finally {
      leftOpen.close();
    }
  }

  static boolean databaseExists(TestDatabase observer, String name) throws SQLException {
    try (Connection connection = observer.connect();
        PreparedStatement select =
            connection.prepareStatement("SELECT count(*) FROM pg_database WHERE datname = ?")) {
      select.setString(1, name);
      try (ResultSet resultSet = select.executeQuery()) {
        resultSet.next();
        return resultSet.getInt(1) == 1;
      }
    }
  }
}
