package io.taskbroker.cli.internal;

import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.InvalidQueueException;
import java.util.function.Supplier;

/**
 * A command failed in a way the user can act on: its message is shown as it is, on one line, and
 * the process exits with {@link #exitCode()}.
 */
public final class CliFailure extends RuntimeException {
  private final int exitCode;

  public CliFailure(int exitCode, String message) {
    super(message, null, false, false);
    this.exitCode = exitCode;
  }

  public CliFailure(int exitCode, String message, Throwable cause) {
    super(message, cause, false, true);
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }

  /**
   * Checks what the user typed, before anything touches the database: a value refused here is a
   * usage error. The same exception types thrown later (a stored row that does not decode) are not
   * the user's mistake, which is why this is said where the input is checked.
   */
  public static <T> T checkingInput(Supplier<T> check) {
    try {
      return check.get();
    } catch (InvalidJobException | InvalidConfigException | InvalidQueueException e) {
      throw new CliFailure(ExitCodes.USAGE, e.getMessage(), e);
    }
  }
}
