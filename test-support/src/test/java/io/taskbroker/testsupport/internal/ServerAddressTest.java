package io.taskbroker.testsupport.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ServerAddressTest {

  private static final Map<String, String> NO_ENVIRONMENT = Map.of();

  @Test
  void libpqUriGivesCredentialsApartFromTheJdbcUrl() {
    ServerAddress address =
        ServerAddress.parse("postgresql://alice:s3cret@db.example:6543/app", NO_ENVIRONMENT);

    assertThat(address.user()).isEqualTo("alice");
    assertThat(address.password()).isEqualTo("s3cret");
    assertThat(address.database()).isEqualTo("app");
    assertThat(address.adminJdbcUrl()).isEqualTo("jdbc:postgresql://db.example:6543/app");
    assertThat(address.jdbcUrl("tb_test_x"))
        .isEqualTo("jdbc:postgresql://db.example:6543/tb_test_x");
  }

  @Test
  void libpqUriIsPercentDecodedButKeepsPlusSigns() {
    ServerAddress address =
        ServerAddress.parse("postgres://bob:p%40ss+word@localhost/postgres", NO_ENVIRONMENT);

    assertThat(address.user()).isEqualTo("bob");
    assertThat(address.password()).isEqualTo("p@ss+word");
  }

  @Test
  void connectionParametersSurviveButCredentialsLeaveTheQuery() {
    ServerAddress address =
        ServerAddress.parse(
            "jdbc:postgresql://h1:5432,h2:5433/app?user=carol&sslmode=require&password=pw",
            NO_ENVIRONMENT);

    assertThat(address.user()).isEqualTo("carol");
    assertThat(address.password()).isEqualTo("pw");
    assertThat(address.jdbcUrl("other"))
        .isEqualTo("jdbc:postgresql://h1:5432,h2:5433/other?sslmode=require");
  }

  @Test
  void missingPartsFallBackLikeLibpq() {
    ServerAddress address =
        ServerAddress.parse(
            "postgresql://", Map.of("PGUSER", "dave", "PGPASSWORD", "from-environment"));

    assertThat(address.hosts()).isEqualTo("localhost");
    assertThat(address.database()).isEqualTo("postgres");
    assertThat(address.user()).isEqualTo("dave");
    assertThat(address.password()).isEqualTo("from-environment");
  }

  @Test
  void somethingElseIsRejectedWithoutShowingThePassword() {
    assertThatThrownBy(() -> ServerAddress.parse("mysql://root:hunter2@host/db", NO_ENVIRONMENT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("postgresql://user:password@host:port/database")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void redactHidesPasswordsInBothForms() {
    assertThat(ServerAddress.redact("postgresql://u:p@ss@h:1/db"))
        .isEqualTo("postgresql://u:***@h:1/db");
    assertThat(ServerAddress.redact("jdbc:postgresql://h/db?user=u&password=secret&ssl=true"))
        .isEqualTo("jdbc:postgresql://h/db?user=u&password=***&ssl=true");
  }
}
