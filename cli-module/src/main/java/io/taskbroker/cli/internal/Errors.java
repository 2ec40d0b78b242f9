package io.taskbroker.cli.internal;

import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.common.Secrets;
import io.taskbroker.common.TaskBrokerException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.SQLException;
import java.util.Collection;
import java.util.Set;
import org.jdbi.v3.core.JdbiException;

/**
 * Turns what a command threw into one line for the user and an exit code. Whatever is shown goes
 * through {@link Secrets#redact} and {@link Terminal}: an error may quote a URL, a password the
 * driver echoed, or a value from the database. Stateless.
 */
public final class Errors {
  // Undefined table, schema or function: the database was never migrated.
  private static final Set<String> SCHEMA_MISSING = Set.of("42P01", "3F000", "42883");

  // An error message is one line; a 20 MB one would bury the terminal.
  private static final int MAX_MESSAGE = 1000;

  private Errors() {}

  /** The one line to show, without a trailing newline, with these passwords masked. */
  public static String message(Throwable error, Collection<String> secrets) {
    String message;
    if (error instanceof CliFailure || error instanceof TaskBrokerException) {
      message = error.getMessage();
      if (error instanceof DatabaseException database
          && SCHEMA_MISSING.contains(database.sqlState())) {
        message += " (is the schema there? run 'taskbroker migrate' first)";
      }
    } else if (isDatabaseFailure(error)) {
      message = "the database failed: " + error.getMessage();
    } else {
      // A bug, not a user mistake: say what it was and where to look.
      message = "unexpected " + error + " (run with --verbose for the stack trace)";
    }
    String text = message == null ? error.getClass().getName() : message;
    return Table.display(Secrets.redact(text, secrets), MAX_MESSAGE);
  }

  /** The stack trace for {@code --verbose}, with these passwords masked. */
  public static String stackTrace(Throwable error, Collection<String> secrets) {
    StringWriter trace = new StringWriter();
    error.printStackTrace(new PrintWriter(trace));
    return Terminal.safeKeepingLines(Secrets.redact(trace.toString(), secrets));
  }

  /**
   * A usage error only for what the user typed ({@link CliFailure} says so where input is checked;
   * picocli for flags); the database's failures have their own code.
   */
  public static int exitCode(Throwable error) {
    if (error instanceof CliFailure failure) {
      return failure.exitCode();
    }
    if (error instanceof InvalidConfigException) {
      // Configuration comes only from the command line and the environment.
      return ExitCodes.USAGE;
    }
    if (error instanceof DatabaseException) {
      return ExitCodes.DATABASE;
    }
    if (error instanceof TaskBrokerException) {
      // A job that is not there, a unique key taken: about a job, not about the database.
      return ExitCodes.ERROR;
    }
    return isDatabaseFailure(error) ? ExitCodes.DATABASE : ExitCodes.ERROR;
  }

  private static boolean isDatabaseFailure(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof SQLException
          || t instanceof JdbiException
          || t instanceof DatabaseException) {
        return true;
      }
    }
    return false;
  }
}
