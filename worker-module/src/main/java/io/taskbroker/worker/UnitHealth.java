package io.taskbroker.worker;

import java.time.Instant;

/**
 * The health of one background unit of a worker (the completer, the heartbeat, a producer, the
 * rescuer, the pruner, the notifier), as {@link Worker#health()} and the {@code units} column of
 * {@code taskbroker.workers} show it.
 *
 * @param lastProgressAt when the unit's loop last went round; null before its first round
 * @param consecutiveFailures how many runs in a row ended in an exception (0 when the last worked)
 * @param lastError the last failure or the Error it died of, or null
 */
public record UnitHealth(
    String name, State state, Instant lastProgressAt, int consecutiveFailures, String lastError) {

  /** Failures in a row after which a unit that still runs counts as unhealthy. */
  public static final int FAILING_AFTER = 3;

  public enum State {
    /** Running and making progress. */
    OK,
    /** Still running, but its last {@value UnitHealth#FAILING_AFTER} or more runs failed. */
    FAILING,
    /** Its loop has not gone round within its bound: blocked or lost. */
    STALLED,
    /** Died of an Error; the worker stops. */
    FAILED,
    /** Stopped with the worker. */
    STOPPED;

    /** The name used in {@code taskbroker.workers.units}. */
    public String dbValue() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public boolean healthy() {
    return state == State.OK || state == State.STOPPED;
  }
}
