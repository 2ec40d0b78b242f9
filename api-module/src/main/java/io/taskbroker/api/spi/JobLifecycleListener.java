package io.taskbroker.api.spi;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

/**
 * Sees every step of a job through a worker, for metrics, logging context or a dashboard, without
 * touching the worker's units. Registered on the worker's config ({@code
 * WorkerConfig.builder().listener(...)}, several allowed). Every method has a no-op default.
 *
 * <p>A client reports its submits to the listeners of its {@code ClientConfig}; everything else
 * comes from a worker. Calls come on the worker's own threads (the producer's, the plugin's, the
 * completer's, the heartbeat's, the rescuer's), so they must be quick and must not block. A
 * listener cannot harm a job: what it throws is logged once per listener and ignored, and no call
 * stands where it could cost an outcome (a job is finished once its outcome is written, then
 * listeners hear of it). Implementations must be thread-safe.
 */
public interface JobLifecycleListener {
  /** How an attempt ended, as {@link #finished} reports it. */
  enum OutcomeKind {
    /** Completed with its result. */
    COMPLETED,
    /** Failed for good: no attempt left, or the plugin said not to retry. */
    FAILED,
    /** Failed, pending again for a later attempt. */
    RETRIED,
    /** Cancelled while it ran. */
    CANCELLED,
    /** Pending again later with its attempt given back. */
    SNOOZED,
    /**
     * Claimed ahead, then given back before it started (it waited too long for a slot here):
     * pending again at once for any worker, its attempt given back.
     */
    GIVEN_BACK,
    /** No longer this worker's (rescued or handed back meanwhile); its outcome is dropped. */
    LOST
  }

  /**
   * A client this listener is registered with ({@code ClientConfig.builder().listener(...)})
   * inserted the job. For a submit in a transaction of its own this is after the commit; for one in
   * the caller's transaction ({@code submit(connection, job)}), after the insert, before the caller
   * commits or rolls back. Jobs a schedule fires, or that SQL submits, are not reported here.
   * Called on the submitting thread.
   */
  default void submitted(UUID jobId, String queue, String plugin) {}

  /** The worker claimed the job: it is running under this worker now. */
  default void claimed(JobEvent job) {}

  /** The job's plugin starts, on the thread that runs it. */
  default void started(JobEvent job) {}

  /**
   * The attempt's outcome is recorded (or, for {@link OutcomeKind#LOST}, the job was found gone).
   *
   * @param runDuration from the plugin's start to its outcome (zero when it never started)
   * @param queueLatency from the job's run_at to the plugin's start (zero when it never started)
   */
  default void finished(
      JobEvent job, OutcomeKind outcome, Duration runDuration, Duration queueLatency) {}

  /**
   * The database refused the attempt's outcome: the job was no longer this worker's at that attempt
   * (rescued, handed back or cancelled meanwhile); the newer state stands.
   */
  default void writeRejected(JobEvent job) {}

  /** A rescue pass of this worker took back jobs whose lease had expired (their worker is gone). */
  default void rescued(List<UUID> jobIds) {}

  /**
   * A unit of the worker changed state: {@code ok}, {@code failing}, {@code stalled}, {@code
   * failed} or {@code stopped}.
   */
  default void unitHealthChanged(String unit, String state) {}
}
