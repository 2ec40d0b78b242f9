package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.cli.Cli.Result;
import org.junit.jupiter.api.Test;

/** Mistakes that need no database: each is one line on stderr and a non-zero exit. */
class CommandLineErrorsTest {
  private static final String UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x";

  private final Cli cli = Cli.withoutEnvironment();

  @Test
  void unknownSubcommandIsAUsageError() {
    Result result = cli.run("frobnicate");

    assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
    assertThat(result.errLines())
        .singleElement()
        .asString()
        .contains("unknown command 'frobnicate'");
    assertThat(result.out()).isEmpty();
  }

  @Test
  void unknownFlagIsAUsageErrorNamingIt() {
    Result result = cli.run("submit", "echo", "--bogus");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.errLines())
        .singleElement()
        .asString()
        .contains("Unknown option: '--bogus'")
        .contains("taskbroker submit --help");
  }

  @Test
  void badDurationNamesTheFlag() {
    Result result = cli.run("submit", "echo", "--delay", "10x");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.errLines())
        .singleElement()
        .asString()
        .contains("--delay")
        .contains("'10x' is not a duration");
  }

  @Test
  void badRetentionAndQueuesNameTheirFlags() {
    assertThat(cli.run("worker", "--retention", "forever").errLines())
        .singleElement()
        .asString()
        .contains("--retention")
        .contains("'none'");
    assertThat(cli.run("worker", "--queues", "a:0").errLines())
        .singleElement()
        .asString()
        .contains("--queues")
        .contains("at least 1");
  }

  @Test
  void badJobIdIsAUsageError() {
    Result result = cli.run("job", "not-a-uuid");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.errLines())
        .singleElement()
        .asString()
        .contains("'not-a-uuid' is not a job id");
  }

  @Test
  void invalidPayloadIsRejectedBeforeConnecting() {
    // The database is unreachable: the payload's error comes first, so nothing was tried.
    Result notJson = cli.run("submit", "echo", "--payload", "{x", "--database-url", UNREACHABLE);
    Result notObject = cli.run("submit", "echo", "--payload", "[1]", "--database-url", UNREACHABLE);

    assertThat(notJson.exitCode()).isEqualTo(2);
    assertThat(notJson.errLines())
        .singleElement()
        .asString()
        .startsWith("error: payload is not valid JSON: ");
    assertThat(notObject.exitCode()).isEqualTo(2);
    assertThat(notObject.errLines())
        .containsExactly("error: payload must be a JSON object, got array");
  }

  @Test
  void unreachableDatabaseIsOneLineWithoutStackTrace() {
    Result result = cli.run("jobs", "--database-url", UNREACHABLE);

    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.errLines())
        .singleElement()
        .asString()
        .startsWith("error: cannot connect to PostgreSQL at 127.0.0.1:1/x as postgres: ")
        .contains("refused");
    assertThat(result.out()).isEmpty();
  }

  @Test
  void databaseUrlFromTheEnvironmentIsUsedWithoutTheFlag() {
    Result result = cli.withEnv("DATABASE_URL", UNREACHABLE).run("stats");

    assertThat(result.errLines()).singleElement().asString().contains("127.0.0.1:1/x");
  }

  @Test
  void verboseAddsTheStackTrace() {
    Result result = cli.run("jobs", "--verbose", "--database-url", UNREACHABLE);

    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.errLines().get(0)).startsWith("error: cannot connect");
    assertThat(result.err()).contains("\tat io.taskbroker.common.Database.connect");
  }

  @Test
  void helpOfEverySubcommandExitsZero() {
    for (String command :
        new String[] {
          "migrate", "worker", "submit", "jobs", "job", "cancel", "prune", "stats", "dev", "bench"
        }) {
      Result result = cli.run(command, "--help");
      assertThat(result.exitCode()).as(command).isZero();
      assertThat(result.out()).as(command).contains("Usage: taskbroker " + command);
    }
  }

  @Test
  void noCommandPrintsTheCommandsAsAUsageError() {
    Result result = cli.run();

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("Commands:").contains("submit").contains("dev");
  }
}
