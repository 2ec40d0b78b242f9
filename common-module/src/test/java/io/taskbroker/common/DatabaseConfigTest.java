package io.taskbroker.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Pure unit tests: no database. */
class DatabaseConfigTest {

  @Test
  void libpqUriBecomesJdbcUrlWithDecodedCredentials() {
    DatabaseConfig config =
        DatabaseConfig.builder().url("postgresql://u:p%40ss@h:6543/db?sslmode=disable").build();

    assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://h:6543/db?sslmode=disable");
    assertThat(config.user()).isEqualTo("u");
    assertThat(config.password()).isEqualTo("p@ss");
  }

  @Test
  void plusSignInUriPasswordStaysAPlusSign() {
    // URI userinfo is percent-encoded; '+' is a literal plus there, not a space as in a form.
    DatabaseConfig config = DatabaseConfig.builder().url("postgresql://u:a+b%2Bc@h/db").build();

    assertThat(config.password()).isEqualTo("a+b+c");
  }

  @Test
  void postgresSchemeIsAcceptedAndPortDefaultsTo5432() {
    DatabaseConfig config = DatabaseConfig.builder().url("postgres://alice@dbhost/app").build();

    assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://dbhost:5432/app");
    assertThat(config.user()).isEqualTo("alice");
    assertThat(config.password()).isNull();
  }

  @Test
  void uriWithoutDatabaseUsesTheUserName() {
    DatabaseConfig config = DatabaseConfig.builder().url("postgresql://bob:pw@dbhost:5433").build();

    assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://dbhost:5433/bob");
  }

  @Test
  void jdbcUrlIsTakenAsItIs() {
    DatabaseConfig config =
        DatabaseConfig.builder()
            .url("jdbc:postgresql://h:1234/db?ApplicationName=x")
            .user("u")
            .password("p")
            .build();

    assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://h:1234/db?ApplicationName=x");
    assertThat(config.user()).isEqualTo("u");
    assertThat(config.password()).isEqualTo("p");
  }

  @Test
  void defaultsAreLocalhost5432AsPostgres() {
    DatabaseConfig config = DatabaseConfig.fromEnvironment(Map.of(), null);

    assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost:5432/postgres");
    assertThat(config.user()).isEqualTo("postgres");
    assertThat(config.password()).isNull();
    assertThat(config.poolSize()).isEqualTo(DatabaseConfig.DEFAULT_POOL_SIZE);
    assertThat(config.connectTimeout()).isEqualTo(DatabaseConfig.DEFAULT_CONNECT_TIMEOUT);
  }

  @Test
  void pgEnvironmentVariablesAreUsedWithoutAUrl() {
    DatabaseConfig config =
        DatabaseConfig.fromEnvironment(
            Map.of(
                "PGHOST", "db.internal",
                "PGPORT", "6000",
                "PGUSER", "worker",
                "PGPASSWORD", "s3cret",
                "PGDATABASE", "jobs"),
            null);

    assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:6000/jobs");
    assertThat(config.user()).isEqualTo("worker");
    assertThat(config.password()).isEqualTo("s3cret");
  }

  @Test
  void pgDatabaseDefaultsToTheUser() {
    DatabaseConfig config = DatabaseConfig.fromEnvironment(Map.of("PGUSER", "carol"), null);

    assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost:5432/carol");
  }

  @Test
  void databaseUrlWinsOverPgVariablesAndAGivenUrlWinsOverBoth() {
    Map<String, String> env =
        Map.of(
            "DATABASE_URL", "postgresql://env:pw@envhost:5555/envdb",
            "PGHOST", "pghost",
            "PGUSER", "pguser");

    DatabaseConfig fromEnv = DatabaseConfig.fromEnvironment(env, null);
    assertThat(fromEnv.jdbcUrl()).isEqualTo("jdbc:postgresql://envhost:5555/envdb");
    assertThat(fromEnv.user()).isEqualTo("env");

    DatabaseConfig fromFlag =
        DatabaseConfig.fromEnvironment(env, "postgresql://flag@flaghost:7777/flagdb");
    assertThat(fromFlag.jdbcUrl()).isEqualTo("jdbc:postgresql://flaghost:7777/flagdb");
    assertThat(fromFlag.user()).isEqualTo("flag");
  }

  @Test
  void nonNumericPgPortIsRefusedNamingTheValue() {
    assertThatThrownBy(() -> DatabaseConfig.fromEnvironment(Map.of("PGPORT", "abc"), null))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("PGPORT")
        .hasMessageContaining("'abc'");
  }

  @Test
  void outOfRangePgPortIsRefused() {
    assertThatThrownBy(() -> DatabaseConfig.fromEnvironment(Map.of("PGPORT", "70000"), null))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("70000");
  }

  @Test
  void nonNumericPortInUriIsRefusedRatherThanFallingBackToLocalhost() {
    assertThatThrownBy(() -> DatabaseConfig.builder().url("postgresql://u@db.example.com:abc/db"))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("port");
  }

  @Test
  void outOfRangePortInUriIsRefused() {
    assertThatThrownBy(() -> DatabaseConfig.builder().url("postgresql://u@h:99999/db"))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("99999");
  }

  @Test
  void unknownSchemeIsRefusedWithoutShowingThePassword() {
    assertThatThrownBy(() -> DatabaseConfig.builder().url("mysql://u:topsecret@h:3306/db"))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("postgresql://")
        .hasMessageContaining("mysql://u:***@h:3306/db")
        .hasMessageNotContaining("topsecret");
  }

  @Test
  void jdbcUrlOfAnotherDriverIsRefused() {
    assertThatThrownBy(() -> DatabaseConfig.builder().jdbcUrl("jdbc:mysql://h/db").build())
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("jdbc:postgresql:");
  }

  @Test
  void poolSizeAndConnectTimeoutAreValidated() {
    assertThatThrownBy(() -> DatabaseConfig.builder().poolSize(0).build())
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("pool size")
        .hasMessageContaining("0");
    assertThatThrownBy(() -> DatabaseConfig.builder().connectTimeout(Duration.ofMillis(10)).build())
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("connect timeout");
  }

  @Test
  void describeNamesServerAndUserButNeverThePassword() {
    DatabaseConfig config =
        DatabaseConfig.builder().url("postgresql://u:hunter2@h:6543/db?sslmode=disable").build();

    assertThat(config.describe()).isEqualTo("h:6543/db as u").doesNotContain("hunter2");
  }

  /**
   * Every shape a password takes in a URL, parseable or not. Each password is {@code s3cr} and
   * {@code t0ps} around some separator, so a password printed in part shows as well.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "postgresql://u:s3cr/t0ps@h:5432/db",
        "postgresql://u:s3cr@t0ps@h/db",
        "postgresql://u:s3cr:t0ps@h/db",
        "postgresql://u:s3cr?t0ps@h/db",
        "postgresql://u:s3cr#t0ps@h/db",
        "postgresql://u:s3cr%t0ps@h/db",
        "postgresql://u:s3cr%2Ft0ps@h/db",
        "postgresql://u:s3cr t0ps@h/db",
        "postgresql://u:12/s3cr-t0ps@h/db",
        "postgresql://u:12?s3cr-t0ps@h/db",
        "postgresql://u:s3cr-t0ps@h:99999/db",
        "postgresql://u:s3cr-t0ps@h:abc/db",
        "postgresql://u@h/db?password=s3cr-t0ps",
        "postgresql://u@h/db?sslmode=disable&password=s3cr%26t0ps",
        "jdbc:postgresql://h/db?user=u&password=s3cr-t0ps",
        "jdbc:postgresql://h/db?PASSWORD=s3cr-t0ps&ssl=false",
        "jdbc:postgresql://u:s3cr-t0ps@h/db",
        "jdbc:postgresql://h:abc/db?password=s3cr-t0ps",
        "jdbc:postgresql:db?Password=s3cr-t0ps",
        "mysql://u:s3cr/t0ps@h:3306/db",
        "host=h user=u password=s3cr-t0ps",
        "host=h password='s3cr t0ps'",
        "u:s3cr/t0ps@h/db",
      })
  void passwordsAreNeverShownWhateverTheUrlShape(String url) {
    String shown;
    try {
      DatabaseConfig config = DatabaseConfig.builder().url(url).build();
      shown = config + "\n" + config.describe() + "\n" + Secrets.redactUrl(config.jdbcUrl());
      assertThat(config.secrets()).as("secrets of %s", url).isNotEmpty();
    } catch (InvalidConfigException e) {
      shown = e.getMessage();
    }
    shown += "\n" + Secrets.redactUrl(url) + "\n" + Secrets.redact("at " + url + " failed", url);

    assertThat(shown).as(url).doesNotContain("s3cr").doesNotContain("t0ps");
  }

  @Test
  void aPasswordWithASlashIsRefusedWithAHintAndMasked() {
    assertThatThrownBy(() -> DatabaseConfig.builder().url("postgresql://u:ab/cd@h/db"))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("'postgresql://u:***@h/db'")
        .hasMessageContaining("%2F");
  }

  @Test
  void passwordParameterOfALibpqUriBecomesThePasswordAndLeavesTheUrl() {
    DatabaseConfig config =
        DatabaseConfig.builder()
            .url("postgresql://h/db?user=alice&password=p%26w&sslmode=disable")
            .build();

    assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://h:5432/db?sslmode=disable");
    assertThat(config.user()).isEqualTo("alice");
    assertThat(config.password()).isEqualTo("p&w");
  }

  @Test
  void anAtInAQueryValueIsAllowed() {
    DatabaseConfig config =
        DatabaseConfig.builder().url("postgresql://h/db?application_name=a@b").build();

    assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://h:5432/db?application_name=a@b");
  }

  @Test
  void pgPasswordIsNeitherInToStringNorInDescribe() {
    DatabaseConfig config =
        DatabaseConfig.fromEnvironment(Map.of("PGUSER", "w", "PGPASSWORD", "hunter2"), null);

    assertThat(config.toString()).doesNotContain("hunter2").contains("password=***");
    assertThat(config.describe()).doesNotContain("hunter2");
    assertThat(Secrets.redact("auth failed for hunter2", config.secrets()))
        .isEqualTo("auth failed for ***");
  }

  @Test
  void describeOfAShortJdbcUrlDoesNotThrow() {
    assertThat(DatabaseConfig.builder().jdbcUrl("jdbc:postgresql:db").user(null).build().describe())
        .isEqualTo("db");
  }

  @Test
  void theCanonicalConstructorChecksWhatTheBuilderChecksWithoutShowingThePassword() {
    assertThatThrownBy(
            () ->
                new DatabaseConfig(
                    "mysql://u:hunter2@h/db", "u", "hunter2", 5, Duration.ofSeconds(1), "app"))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("jdbc:postgresql:")
        .hasMessageNotContaining("hunter2");
    assertThatThrownBy(
            () ->
                new DatabaseConfig(
                    "jdbc:postgresql://h/db", "u", null, 1001, Duration.ofSeconds(1), "app"))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("pool size", "1001");
    assertThatThrownBy(
            () -> new DatabaseConfig("jdbc:postgresql://h/db", "u", null, 5, Duration.ZERO, "app"))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("connect timeout", "PT0S");
    assertThatThrownBy(
            () ->
                new DatabaseConfig(
                    "jdbc:postgresql://h/db", "u", null, 5, Duration.ofSeconds(1), null))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("application name");
  }
}
