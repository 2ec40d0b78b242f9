package io.taskbroker.cli.internal;

/** The exit codes of {@code taskbroker}; documented in docs/cli.md. */
public final class ExitCodes {
  /** Done; for {@code submit --wait}, the job completed. */
  public static final int OK = 0;

  /** Something failed (plugin loading, unknown job, a bug); for {@code --wait}, the job failed. */
  public static final int ERROR = 1;

  /**
   * What was typed is wrong: unknown command or flag, bad value, invalid JSON, a bad database URL.
   * Only the user's own input; never what the database said or sent back.
   */
  public static final int USAGE = 2;

  /** {@code submit --wait}: the job was cancelled. */
  public static final int CANCELLED = 3;

  /** {@code submit --wait}: the job had not finished when {@code --wait-timeout} ran out. */
  public static final int WAIT_TIMED_OUT = 4;

  /**
   * The database failed: it cannot be reached, refused the login or a statement, has no schema, or
   * sent back a row the command cannot read. Worth retrying later; the command line was fine.
   */
  public static final int DATABASE = 5;

  private ExitCodes() {}
}
