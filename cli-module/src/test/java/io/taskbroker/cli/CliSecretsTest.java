package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.cli.Cli.Result;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A password never reaches the user's screen, whatever shape its URL has and whichever way the
 * command fails. Each password is {@code s3cr} and {@code t0ps} around some separator, so that a
 * password printed in part is caught too.
 */
@WithPostgres
class CliSecretsTest {
  /** Where the URL points: nothing listens there, or a real server that refuses the role. */
  enum Target {
    REFUSED,
    AUTH_FAILURE
  }

  /** {@code HOST} is replaced by host:port of the target, {@code DB} by a database name. */
  private static final List<String> SHAPES =
      List.of(
          "postgresql://nobody:s3cr/t0ps@HOST/DB",
          "postgresql://nobody:s3cr@t0ps@HOST/DB",
          "postgresql://nobody:s3cr:t0ps@HOST/DB",
          "postgresql://nobody:s3cr?t0ps@HOST/DB",
          "postgresql://nobody:s3cr#t0ps@HOST/DB",
          "postgresql://nobody:s3cr%t0ps@HOST/DB",
          "postgresql://nobody:s3cr%2Ft0ps@HOST/DB",
          "postgresql://nobody:s3cr t0ps@HOST/DB",
          "postgresql://nobody@HOST/DB?password=s3cr-t0ps",
          "postgresql://nobody@HOST/DB?sslmode=disable&password=s3cr%26t0ps",
          "jdbc:postgresql://HOST/DB?user=nobody&password=s3cr-t0ps",
          "jdbc:postgresql://HOST/DB?user=nobody&PASSWORD=s3cr-t0ps",
          "jdbc:postgresql://nobody:s3cr-t0ps@HOST/DB",
          "jdbc:postgresql://HOSTx/DB?user=nobody&password=s3cr-t0ps",
          "mysql://nobody:s3cr/t0ps@HOST/DB",
          "host=HOST user=nobody password=s3cr-t0ps",
          "PGPASSWORD=s3cr-t0ps");

  static Stream<Arguments> urlShapesAndFailures() {
    List<Arguments> cases = new ArrayList<>();
    for (String shape : SHAPES) {
      for (Target target : Target.values()) {
        cases.add(Arguments.of(shape, target, false));
        cases.add(Arguments.of(shape, target, true));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1} verbose={2}")
  @MethodSource("urlShapesAndFailures")
  void passwordsAreNeverPrintedWhateverTheUrlShape(
      String shape, Target target, boolean verbose, TestDatabase database) {
    String hostAndPort = target == Target.REFUSED ? "127.0.0.1:1" : hostAndPort(database.jdbcUrl());
    Cli cli = Cli.withoutEnvironment();
    List<String> args = new ArrayList<>(List.of("jobs"));
    if (shape.startsWith("PGPASSWORD=")) {
      String[] hostPort = hostAndPort.split(":");
      cli =
          cli.withEnv("PGPASSWORD", shape.substring("PGPASSWORD=".length()))
              .withEnv("PGHOST", hostPort[0])
              .withEnv("PGPORT", hostPort[1])
              .withEnv("PGUSER", "nobody")
              .withEnv("PGDATABASE", database.name());
    } else {
      String url = shape.replace("HOST", hostAndPort).replace("DB", database.name());
      args.addAll(List.of("--database-url", url));
    }
    if (verbose) {
      args.add("--verbose");
    }

    Result result = cli.run(args.toArray(String[]::new));

    assertThat(result.exitCode()).as(result.toString()).isNotZero();
    assertThat(result.out() + result.err())
        .as(result.toString())
        .doesNotContain("s3cr")
        .doesNotContain("t0ps");
    if (verbose) {
      assertThat(result.err()).as(result.toString()).contains("\tat ");
    } else {
      assertThat(result.errLines()).as(result.toString()).singleElement().asString();
      assertThat(result.err()).doesNotContain("\tat ");
    }
  }

  private static String hostAndPort(String jdbcUrl) {
    String rest = jdbcUrl.substring("jdbc:postgresql://".length());
    return rest.substring(0, rest.indexOf('/'));
  }
}
