package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.cli.Cli.Result;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

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

    assertThat(result.exitCode()).isEqualTo(5);
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

    assertThat(result.exitCode()).isEqualTo(5);
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

  @Test
  void anUnclosedPayloadIsAUsageError() {
    Result result = cli.run("submit", "echo", "--payload", "{", "--database-url", UNREACHABLE);

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.errLines())
        .singleElement()
        .asString()
        .startsWith("error: payload is not valid JSON: ");
  }

  @Test
  void anOversizedPayloadIsOneShortLine() {
    // As from --payload "$(cat big.json)": one string past what the JSON codec accepts.
    String payload = "{\"text\":\"" + "x".repeat(21_000_000) + "\"}";

    Result result = cli.run("submit", "echo", "--payload", payload, "--database-url", UNREACHABLE);

    assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
    assertThat(result.errLines()).singleElement().asString().hasSizeLessThan(1200);
  }

  @Test
  void aBadDatabaseUrlIsAUsageErrorThatNamesTheCure() {
    Result result = cli.run("jobs", "--database-url", "postgresql://u:ab/cd@h/db");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.errLines())
        .containsExactly(
            "error: database URL has a malformed host or port: 'postgresql://u:***@h/db' (in a"
                + " password, percent-encode / as %2F, @ as %40, ? as %3F, # as %23 and % as"
                + " %25)");
  }

  /** Every command that talks to the database, with whatever else it needs to run. */
  private static final List<List<String>> DATABASE_COMMANDS =
      List.of(
          List.of("migrate"),
          List.of("submit", "echo"),
          List.of("submit", "echo", "--wait"),
          List.of("jobs"),
          List.of("job", "123e4567-e89b-12d3-a456-426614174000"),
          List.of("cancel", "123e4567-e89b-12d3-a456-426614174000"),
          List.of("prune", "--older-than", "1d"),
          List.of("stats"));

  static Stream<Arguments> commandsWithBadInput() {
    List<Arguments> cases = new ArrayList<>();
    for (List<String> command : DATABASE_COMMANDS) {
      cases.add(Arguments.of(with(command, "--no-such-flag"), 2));
      cases.add(Arguments.of(with(command, "--database-url", "postgresql://u@h:x/db"), 2));
      cases.add(Arguments.of(with(command, "--database-url", "mysql://h/db"), 2));
      cases.add(Arguments.of(with(command, "--database-url", UNREACHABLE), 5));
    }
    cases.add(Arguments.of(List.of("submit", "echo", "--metadata", "[1"), 2));
    cases.add(Arguments.of(List.of("submit", "echo", "--priority", "99999"), 2));
    cases.add(Arguments.of(List.of("submit", "echo", "--max-attempts", "0"), 2));
    cases.add(Arguments.of(List.of("jobs", "--limit", "-1"), 2));
    cases.add(Arguments.of(List.of("prune", "--older-than", "1d", "--status", "pending"), 2));
    cases.add(Arguments.of(List.of("worker", "--concurrency", "0"), 2));
    cases.add(Arguments.of(List.of("dev", "--port", "0"), 2));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("commandsWithBadInput")
  void badInputIsOneLineAndNeverAStackTrace(List<String> args, int exitCode) {
    List<String> line =
        args.contains("--database-url") || args.get(0).equals("dev")
            ? args
            : with(args, "--database-url", UNREACHABLE);

    Result result = cli.run(line.toArray(String[]::new));

    assertThat(result.exitCode()).as(result.toString()).isEqualTo(exitCode);
    assertThat(result.errLines())
        .as(result.toString())
        .singleElement()
        .asString()
        .startsWith("error: ");
    assertThat(result.out()).isEmpty();
  }

  private static List<String> with(List<String> args, String... more) {
    List<String> all = new ArrayList<>(args);
    all.addAll(List.of(more));
    return all;
  }
}
