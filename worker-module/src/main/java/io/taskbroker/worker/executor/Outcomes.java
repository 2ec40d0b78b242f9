package io.taskbroker.worker.executor;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Json;
import io.taskbroker.common.sql.OutcomeWrite;
import io.taskbroker.worker.internal.StorableText;
import java.time.Duration;
import java.time.InstantSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns what an attempt came to ({@link Outcome}) into the fenced write that records it ({@link
 * OutcomeWrite}): retry or final failure by the attempts left, the backoff, the attempt-history
 * entry, bounded error text, and a result checked before it joins a batch (one that cannot be
 * written as JSON, holds what jsonb refuses or is over the size limit fails its own job here). Runs
 * on the thread that decided the outcome, so a result is serialised there, not on the completer's
 * single thread. Immutable; thread-safe.
 */
public final class Outcomes {
  private static final Logger LOG = LoggerFactory.getLogger(Outcomes.class);

  /**
   * The longest error text stored per attempt, in {@code error} and in {@code errors[].error}
   * alike; longer text is cut and ends with a marker saying how much was cut.
   */
  public static final int MAX_ERROR_CHARS = 8 * 1024;

  /** The longest trace stored in {@code errors[].trace}. */
  public static final int MAX_TRACE_CHARS = 16 * 1024;

  /**
   * One outcome ready for the completer.
   *
   * @param resultChars the length of its result JSON, to bound a batch
   * @param fallback whether this is already the failure recorded in place of a refused outcome
   */
  public record Write(RunningJob job, OutcomeWrite write, long resultChars, boolean fallback) {}

  private final String workerId;
  private final Backoff backoff;
  private final InstantSource clock;
  private final long maxResultBytes;

  /**
   * @param clock the time the attempt-history entries carry
   * @param maxResultBytes the largest result (UTF-8 bytes of its JSON) recorded; a larger one fails
   *     its job
   */
  public Outcomes(String workerId, Backoff backoff, InstantSource clock, long maxResultBytes) {
    if (maxResultBytes < 1) {
      throw new IllegalArgumentException("maxResultBytes must be positive, got " + maxResultBytes);
    }
    this.workerId = workerId;
    this.backoff = backoff;
    this.clock = clock;
    this.maxResultBytes = maxResultBytes;
  }

  /**
   * The write for an outcome, checked; never throws: an outcome that cannot be written becomes its
   * job's failure. Null only when not even that can be built (the caller lets the job leave, and
   * the rescuer takes it when its lease expires).
   */
  public Write prepare(RunningJob running, Outcome outcome) {
    try {
      return toWrite(running, outcome);
    } catch (RuntimeException e) {
      LOG.error("Job {}: cannot prepare its outcome; recording it failed instead", running.id(), e);
      try {
        return fallback(running, outcome instanceof Outcome.Completed, describe(e));
      } catch (RuntimeException again) {
        LOG.error("Job {}: cannot record anything for it; leaving it to the rescuer", running.id());
        return null;
      }
    }
  }

  private Write toWrite(RunningJob running, Outcome outcome) {
    var job = running.job();
    int attempt = job.attempt();
    boolean attemptsLeft = attempt < job.maxAttempts();
    // Java 17 has no pattern switch; the sealed interface keeps this chain complete.
    if (outcome instanceof Outcome.Completed completed) {
      ResultJson.Checked result = ResultJson.check(completed.result(), maxResultBytes);
      if (!result.ok()) {
        LOG.warn(
            "Job {} ({}): its result cannot be recorded ({}); recording the job failed",
            running.id(),
            job.plugin(),
            result.problem());
        return fallback(running, true, result.problem());
      }
      return new Write(
          running, OutcomeWrite.completed(job.id(), attempt, result.node()), result.chars(), false);
    }
    if (outcome instanceof Outcome.Failed failed) {
      ObjectNode entry = errorEntry(running, failed.kind(), failed.error(), failed.trace());
      String error = errorText(failed.error());
      OutcomeWrite write =
          failed.retryable() && attemptsLeft
              ? OutcomeWrite.retry(
                  job.id(), attempt, error, entry, null, backoff.delayAfter(attempt))
              : OutcomeWrite.failed(job.id(), attempt, error, entry);
      return new Write(running, write, 0, false);
    }
    if (outcome instanceof Outcome.Retry retry) {
      ObjectNode entry = errorEntry(running, "retry", retry.error(), null);
      String error = errorText(retry.error());
      OutcomeWrite write =
          attemptsLeft
              ? OutcomeWrite.retry(job.id(), attempt, error, entry, retry.at(), retry.after())
              : OutcomeWrite.failed(job.id(), attempt, error, entry);
      return new Write(running, write, 0, false);
    }
    if (outcome instanceof Outcome.Snooze snooze) {
      return new Write(running, OutcomeWrite.snoozed(job.id(), attempt, snooze.after()), 0, false);
    }
    if (outcome instanceof Outcome.GivenBack) {
      return new Write(running, OutcomeWrite.snoozed(job.id(), attempt, Duration.ZERO), 0, false);
    }
    Outcome.Cancelled cancelled = (Outcome.Cancelled) outcome;
    return new Write(
        running,
        OutcomeWrite.cancelled(job.id(), attempt, errorText(cancelled.reason())),
        0,
        false);
  }

  /**
   * The failure recorded for a job whose outcome cannot be: final, not retried (the plugin ran and
   * would most likely produce the same outcome again).
   */
  public Write fallback(RunningJob running, boolean hadResult, String why) {
    String error = (hadResult ? "result" : "outcome") + " could not be recorded: " + why;
    ObjectNode entry = errorEntry(running, "error", error, null);
    OutcomeWrite write =
        OutcomeWrite.failed(running.id(), running.job().attempt(), errorText(error), entry);
    return new Write(running, write, 0, true);
  }

  private ObjectNode errorEntry(RunningJob running, String kind, String error, String trace) {
    ObjectNode entry = Json.object();
    entry.put("attempt", running.job().attempt());
    entry.put("at", clock.instant().toString());
    entry.put("worker_id", workerId);
    entry.put("kind", kind);
    entry.put("error", errorText(error));
    if (trace != null) {
      entry.put("trace", StorableText.of(trace, MAX_TRACE_CHARS));
    }
    return entry;
  }

  /**
   * Error text as stored: bounded (a plugin's 20 MB message would be stored twice, in {@code error}
   * and {@code errors[].error}), and with what PostgreSQL text refuses (NUL, a lone surrogate)
   * replaced, so the message is still recorded rather than lost to a fallback.
   */
  private static String errorText(String text) {
    return StorableText.of(text, MAX_ERROR_CHARS);
  }

  /** The exception as one line, safe with one whose getMessage() throws. */
  public static String describe(Throwable e) {
    String message;
    try {
      message = e.getMessage();
    } catch (RuntimeException unreadable) {
      message = null;
    }
    return e.getClass().getName() + (message == null ? "" : ": " + message);
  }
}
