package io.taskbroker.cli;

import io.taskbroker.bench.BenchCommand;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CommandFactory;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.Errors;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.Logging;
import io.taskbroker.cli.internal.Terminal;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.Secrets;
import io.taskbroker.worker.process.ProcessStopSignals;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.RunLast;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code taskbroker} command line. {@link #main} runs it and exits with its code; {@link
 * #run(String[], PrintStream, PrintStream, Map)} runs it in-process without exiting, for tests and
 * for programs that embed it.
 *
 * <p>Output for the user goes to {@code out} (stdout), errors and logs to {@code err} (stderr). A
 * failure is one line on stderr and a non-zero exit code (see {@link ExitCodes}); {@code --verbose}
 * adds the stack trace.
 */
@Command(
    name = "taskbroker",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "A PostgreSQL-brokered job queue for the JVM.",
    subcommands = {
      MigrateCommand.class,
      WorkerCommand.class,
      SubmitCommand.class,
      JobsCommand.class,
      JobCommand.class,
      CancelCommand.class,
      PruneCommand.class,
      StatsCommand.class,
      SchedulesCommand.class,
      QueuesCommand.class,
      RetryCommand.class,
      DeleteCommand.class,
      DashboardCommand.class,
      DevCommand.class,
      BenchCommand.class,
      HelpCommand.class
    },
    footer = {
      "",
      "Database: --database-url, else $DATABASE_URL, else $PGHOST/$PGPORT/$PGUSER/$PGPASSWORD/"
          + "$PGDATABASE, else localhost:5432.",
      "Exit codes: 0 ok, 1 error (or the job failed), 2 usage error, 3 job cancelled,"
          + " 4 --wait timed out, 5 database error."
    })
public final class Main implements Callable<Integer> {
  private final CliContext context;

  @Spec CommandSpec spec;

  @Mixin VerboseOption verbose;

  Main(CliContext context) {
    this.context = context;
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err, System.getenv()));
  }

  /**
   * Runs one command line and returns its exit code. SIGTERM and SIGINT stop the long-running
   * commands ({@code worker}, {@code dev}) gracefully.
   */
  public static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
    return run(args, CliContext.of(out, err, env, new ProcessStopSignals()));
  }

  /** Runs one command line in the given context and returns its exit code. */
  public static int run(String[] args, CliContext context) {
    try {
      return commandLine(context).execute(args);
    } finally {
      context.out().flush();
      context.err().flush();
    }
  }

  /** The configured picocli command line, for tools that generate docs or completion. */
  public static CommandLine commandLine(CliContext context) {
    CommandLine commandLine = new CommandLine(new Main(context), new CommandFactory(context));
    commandLine.setOut(context.out());
    commandLine.setErr(context.err());
    commandLine.setExecutionStrategy(
        parseResult -> {
          Logging.setVerbose(isVerbose(parseResult));
          Logging.hideSecrets(secrets(context, parseResult));
          return new RunLast().execute(parseResult);
        });
    commandLine.setParameterExceptionHandler(
        (error, args) -> usageError(error, context.err(), typedSecrets(context, args)));
    commandLine.setExecutionExceptionHandler(
        (error, command, parseResult) -> {
          Set<String> secrets = secrets(context, parseResult);
          if (error instanceof ParameterException usage) {
            return usageError(usage, context.err(), secrets);
          }
          PrintWriter err = context.err();
          err.println("error: " + Errors.message(error, secrets));
          if (isVerbose(parseResult)) {
            err.print(Errors.stackTrace(error, secrets));
          }
          err.flush();
          return Errors.exitCode(error);
        });
    return commandLine;
  }

  /** Without a command: the list of commands, and a usage error. */
  @Override
  public Integer call() {
    spec.commandLine().usage(context.err());
    return ExitCodes.USAGE;
  }

  private static int usageError(ParameterException error, PrintWriter err, Set<String> secrets) {
    String message = oneLine(error.getMessage());
    CommandSpec command = error.getCommandLine().getCommandSpec();
    if (error instanceof UnmatchedArgumentException unmatched
        && !unmatched.isUnknownOption()
        && !command.subcommands().isEmpty()
        && !unmatched.getUnmatched().isEmpty()) {
      message = "unknown command '" + unmatched.getUnmatched().get(0) + "'";
    }
    StringBuilder line = new StringBuilder("error: ").append(message);
    if (error instanceof UnmatchedArgumentException unmatched) {
      List<String> suggestions = unmatched.getSuggestions();
      if (!suggestions.isEmpty()) {
        line.append("; did you mean ").append(String.join(" or ", suggestions)).append('?');
      }
    }
    line.append(" (see '").append(command.qualifiedName()).append(" --help')");
    // The typed words are echoed: a URL given in the wrong place, an escape sequence.
    err.println(Terminal.safe(Secrets.redact(line.toString(), secrets)));
    err.flush();
    return ExitCodes.USAGE;
  }

  private static String oneLine(String text) {
    return text == null
        ? "invalid command line"
        : text.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
  }

  /** The passwords this run may print: of the environment and of any --database-url. */
  private static Set<String> secrets(CliContext context, ParseResult parseResult) {
    String url = null;
    for (ParseResult current = parseResult; current != null; current = current.subcommand()) {
      url = current.matchedOptionValue(DatabaseOptions.NAME, url);
    }
    return DatabaseOptions.secrets(context.env(), url);
  }

  /** As above, when the command line did not parse: any word may be the URL. */
  private static Set<String> typedSecrets(CliContext context, String[] args) {
    Set<String> secrets = new LinkedHashSet<>(DatabaseOptions.secrets(context.env(), null));
    for (String arg : args) {
      secrets.addAll(Secrets.passwordsIn(arg));
    }
    return secrets;
  }

  private static boolean isVerbose(ParseResult parseResult) {
    for (ParseResult current = parseResult; current != null; current = current.subcommand()) {
      if (current.hasMatchedOption(VerboseOption.NAME)) {
        return true;
      }
    }
    return false;
  }

  /** The version from the jar's Maven descriptor. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = "unknown";
      try (InputStream in =
          Main.class.getResourceAsStream(
              "/META-INF/maven/io.taskbroker/taskbroker-cli/pom.properties")) {
        if (in != null) {
          Properties properties = new Properties();
          properties.load(in);
          version = properties.getProperty("version", version);
        }
      } catch (IOException e) {
        // The version is a nicety; "unknown" says enough.
      }
      return new String[] {"taskbroker " + version};
    }
  }
}
