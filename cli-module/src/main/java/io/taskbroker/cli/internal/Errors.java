package io.taskbroker.cli.internal;

import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.TaskBrokerException;
import java.util.Set;

/** Turns what a command threw into one line for the user and an exit code. Stateless. */
public final class Errors {
  // Undefined table, schema or function: the database was never migrated.
  private static final Set<String> SCHEMA_MISSING = Set.of("42P01", "3F000", "42883");

  private Errors() {}

  /** The one line to show, without a trailing newline. */
  public static String message(Throwable error) {
    String message;
    if (error instanceof CliFailure || error instanceof TaskBrokerException) {
      message = error.getMessage();
      if (error instanceof DatabaseException database
          && SCHEMA_MISSING.contains(database.sqlState())) {
        message += " (is the schema there? run 'taskbroker migrate' first)";
      }
    } else {
      // A bug, not a user mistake: say what it was and where to look.
      message = "unexpected " + error + " (run with --verbose for the stack trace)";
    }
    return Table.oneLine(message == null ? error.getClass().getName() : message);
  }

  public static int exitCode(Throwable error) {
    if (error instanceof CliFailure failure) {
      return failure.exitCode();
    }
    if (error instanceof InvalidJobException || error instanceof InvalidConfigException) {
      return ExitCodes.USAGE;
    }
    return ExitCodes.ERROR;
  }
}
