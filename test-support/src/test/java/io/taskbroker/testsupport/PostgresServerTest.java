package io.taskbroker.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class PostgresServerTest {

  @Test
  void oneServerPerJvm() {
    PostgresServer server = PostgresServer.get();

    assertThat(PostgresServer.get()).isSameAs(server);
    assertThat(server.kind()).isIn("env", "testcontainers", "embedded");
    assertThat(server.control().isPresent()).isEqualTo(server.kind().equals("embedded"));
  }

  @Test
  void embeddedServerKeepsDurabilityAndAllowsManyConnections() throws SQLException {
    PostgresServer server = PostgresServer.get();
    assumeThat(server.kind()).as("settings of our own embedded server").isEqualTo("embedded");

    try (TestDatabase database = server.createDatabase();
        Connection connection = database.connect();
        Statement statement = connection.createStatement()) {
      assertThat(setting(statement, "fsync")).isEqualTo("on");
      assertThat(setting(statement, "synchronous_commit")).isEqualTo("on");
      assertThat(setting(statement, "max_connections")).isEqualTo("300");
      assertThat(setting(statement, "shared_buffers")).isEqualTo("128MB");
    }
    assertThat(server.control().orElseThrow().dataDirectory()).isDirectory();
  }

  @Test
  void databaseUrlInLibpqFormIsUsedAsIs() throws SQLException {
    TestDatabase reference = PostgresServer.get().createDatabase();
    String hostAndPort = reference.jdbcUrl().replaceFirst("^jdbc:postgresql://([^/]+)/.*$", "$1");
    String url =
        "postgresql://"
            + reference.user()
            + (reference.password().isEmpty() ? "" : ":" + reference.password())
            + "@"
            + hostAndPort
            + "/"
            + reference.name();

    try (reference) {
      PostgresServer fromUrl = PostgresServer.fromUrl(url, "a test");
      assertThat(fromUrl.kind()).isEqualTo("env");
      assertThat(fromUrl.control()).isEmpty();
      try (TestDatabase database = fromUrl.createDatabase();
          Connection connection = database.connect();
          Statement statement = connection.createStatement();
          ResultSet resultSet = statement.executeQuery("SELECT current_database()")) {
        resultSet.next();
        assertThat(resultSet.getString(1)).isEqualTo(database.name());
      }
    }
  }

  @Test
  void unreachableDatabaseUrlFailsSayingWhatToDo() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    assertThatThrownBy(
            () -> PostgresServer.fromUrl("postgresql://nobody:secret@127.0.0.1:1/db", "THE_VAR"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("THE_VAR names a PostgreSQL that does not answer")
        .hasMessageContaining("unset THE_VAR")
        .hasMessageNotContaining("secret");
  }

  private static String setting(Statement statement, String name) throws SQLException {
    try (ResultSet resultSet = statement.executeQuery("SHOW " + name)) {
      resultSet.next();
      return resultSet.getString(1);
    }
  }
}
