package io.taskbroker.cli.internal;

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
}
