package io.taskbroker.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class DedicatedPostgresTest {

  @Test
  void committedDataSurvivesStopAndStartOnTheSamePort() throws SQLException {
    Path dataDirectory;
    try (DedicatedPostgres postgres = DedicatedPostgres.launch()) {
      dataDirectory = postgres.dataDirectory();
      int port = postgres.port();
      String url = postgres.jdbcUrl("postgres");

      try (Connection connection = connect(postgres, url);
          Statement statement = connection.createStatement()) {
        statement.execute("CREATE TABLE survivor (id int PRIMARY KEY)");
        assertThat(statement.executeUpdate("INSERT INTO survivor VALUES (1), (2), (3)"))
            .isEqualTo(3);
      }
      Connection openDuringStop = connect(postgres, url);

      postgres.stop();
      postgres.stop();

      assertThat(postgres.isRunning()).isFalse();
      assertThat(openDuringStop.isValid(5)).as("session ended by the stop").isFalse();
      openDuringStop.close();
      assertThatThrownBy(() -> connect(postgres, url))
          .isInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(((SQLException) e).getSQLState()).startsWith("08"));

      postgres.start();
      postgres.start();

      assertThat(postgres.isRunning()).isTrue();
      assertThat(postgres.port()).isEqualTo(port);
      try (Connection connection = connect(postgres, url);
          Statement statement = connection.createStatement();
          ResultSet resultSet = statement.executeQuery("SELECT count(*) FROM survivor")) {
        resultSet.next();
        assertThat(resultSet.getInt(1)).isEqualTo(3);
      }
    }
    assertThat(dataDirectory).doesNotExist();
  }

  @Test
  void closedServerDoesNotStartAgain() {
    DedicatedPostgres postgres = DedicatedPostgres.launch();
    postgres.close();
    postgres.close();

    assertThat(postgres.isRunning()).isFalse();
    assertThatThrownBy(postgres::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  private static Connection connect(DedicatedPostgres postgres, String url) throws SQLException {
    return DriverManager.getConnection(url, postgres.user(), postgres.password());
  }
}
