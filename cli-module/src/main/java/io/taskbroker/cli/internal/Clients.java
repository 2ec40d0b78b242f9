package io.taskbroker.cli.internal;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.JobNotFoundException;
import java.time.Duration;
import java.util.function.Supplier;

/** Opens the client the short commands use, and reads through it. Stateless. */
public final class Clients {
  // One connection for the command's statements, one spare; `--wait` listens on its own.
  private static final int POOL_SIZE = 2;

  private Clients() {}

  /**
   * A client owning a small pool. It does not migrate: reading or submitting should not need DDL
   * rights, and a missing schema is reported with a hint to run {@code taskbroker migrate}.
   */
  public static TaskBrokerClient open(DatabaseOptions database, CliContext context) {
    return TaskBrokerClient.connect(
        database.config(context.env(), "taskbroker-cli", POOL_SIZE),
        ClientConfig.builder().migrate(false).awaitPollInterval(Duration.ofSeconds(1)).build());
  }

  /**
   * Runs a read. What it throws besides the database's own errors and a missing job is a row that
   * came back and could not be decoded (a value too long, JSON the codec refuses): the database's
   * side of the line, never a usage error, whatever exception type the decoder chose.
   *
   * @param what what is read, for the message ("the jobs", "job ID")
   */
  public static <T> T read(String what, Supplier<T> read) {
    try {
      return read.get();
    } catch (DatabaseException | JobNotFoundException | CliFailure e) {
      throw e;
    } catch (RuntimeException e) {
      throw unreadable(what, e);
    }
  }

  /** The failure for a row that came back and could not be decoded. */
  public static CliFailure unreadable(String what, Throwable cause) {
    return new CliFailure(
        ExitCodes.DATABASE,
        "cannot read "
            + what
            + " from the database: "
            + cause.getMessage()
            + " (a stored value this command cannot decode)",
        cause);
  }
}
