package io.taskbroker.worker.executor;

import io.taskbroker.common.Job;
import io.taskbroker.common.sql.ClaimRef;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One claimed job while this worker holds it: from the claim until its outcome is written (or the
 * job is given up). Thread-safe: the plugin thread, the watchdog, the heartbeater and the control
 * listener all touch it.
 *
 * <p>The outcome is decided exactly once ({@link #decide()}): whichever of "plugin returned",
 * "timed out", "cancelled by request", "lost the lease" or "shutdown gave up on it" comes first
 * wins; later ones are dropped. That is what keeps a plugin that ignores interruption from
 * recording twice.
 *
 * <p>The producer that claimed the job owns its slot and hands it over with the job: {@link
 * #freeSlot()} gives it back exactly once, however many of the racing paths (an outcome handed to
 * the completer, the job leaving the worker) reach it; {@link #leave()} ends the job's stay in the
 * worker exactly once and frees the slot if that has not happened yet. The rule for when: the slot
 * frees when the outcome is handed to a completer whose backlog is under its bound (so the next
 * claim overlaps the write), otherwise when the job leaves (written, rejected, given up or lost).
 * No slot is freed twice (one compare-and-set) and none is leaked (every job leaves).
 */
public final class RunningJob {
  private final Job job;
  private final String producerQueue;
  private final AtomicBoolean decided = new AtomicBoolean();
  private final AtomicBoolean slotFreed = new AtomicBoolean();
  private final AtomicReference<String> cancelReason = new AtomicReference<>();
  private final AtomicReference<Progress> progress = new AtomicReference<>();
  // Guards thread: an interrupt is delivered only while the plugin thread still runs this job,
  // never after detach(), when the pooled thread may already be running the next job.
  private final Object threadLock = new Object();
  private Thread thread;
  private volatile boolean cancelledByRequest;
  // Set by the executor when it starts the job: how a user's cancel is decided.
  private volatile Consumer<String> cancelHandler;

  /** The latest progress a plugin reported that the heartbeat has not yet written. */
  public record Progress(float fraction, String message) {}

  private final AtomicBoolean left = new AtomicBoolean();
  private final Runnable slotRelease;
  private final Consumer<RunningJob> onLeave;
  private volatile Instant startedAt;
  private volatile Instant decidedAt;

  /**
   * @param slotRelease gives the slot back to the producer that claimed the job; called once
   * @param onLeave the job left the worker (no longer held); called once
   */
  public RunningJob(
      Job job, String producerQueue, Runnable slotRelease, Consumer<RunningJob> onLeave) {
    this.job = job;
    this.producerQueue = producerQueue;
    this.slotRelease = slotRelease;
    this.onLeave = onLeave;
  }

  /** A job held outside any producer (tests, tools): no slot; leaving calls {@code onLeave}. */
  public static RunningJob unowned(Job job, Consumer<RunningJob> onLeave) {
    return new RunningJob(job, job.queue(), () -> {}, onLeave);
  }

  public Job job() {
    return job;
  }

  public UUID id() {
    return job.id();
  }

  public ClaimRef claim() {
    return new ClaimRef(job.id(), job.attempt());
  }

  public String producerQueue() {
    return producerQueue;
  }

  /** Claims the right to decide the outcome; true for exactly one caller. */
  public boolean decide() {
    return decided.compareAndSet(false, true);
  }

  /** Claims the right to decide, and notes when (for the run duration listeners see). */
  public boolean decide(Instant now) {
    if (decide()) {
      decidedAt = now;
      return true;
    }
    return false;
  }

  /** When the plugin started, or null when it never did. */
  public Instant startedAt() {
    return startedAt;
  }

  /** When the outcome was decided, or null. */
  public Instant decidedAt() {
    return decidedAt;
  }

  void started(Instant now) {
    startedAt = now;
  }

  public boolean isDecided() {
    return decided.get();
  }

  /**
   * Gives this job's slot back to its producer, once: true for the one caller that freed it. The
   * slot may be freed before the job leaves the worker (its outcome is decided but not written).
   */
  public boolean freeSlot() {
    if (!slotFreed.compareAndSet(false, true)) {
      return false;
    }
    slotRelease.run();
    return true;
  }

  /**
   * The job leaves the worker (its outcome written, rejected or given up, or the job lost or given
   * up by shutdown): no longer held, its lease no longer extended; frees the slot if still taken.
   * Once; later calls do nothing.
   */
  public void leave() {
    if (!left.compareAndSet(false, true)) {
      return;
    }
    try {
      onLeave.accept(this);
    } finally {
      freeSlot();
    }
  }

  public boolean hasLeft() {
    return left.get();
  }

  void attach(Thread runner) {
    synchronized (threadLock) {
      this.thread = runner;
    }
  }

  void detach() {
    synchronized (threadLock) {
      this.thread = null;
    }
  }

  /**
   * Asks the plugin to stop: sets the flag its context shows and interrupts its thread. The first
   * reason given is kept.
   *
   * @param byRequest true for a user's cancel (the job should end cancelled), false for a timeout,
   *     a lost lease or a shutdown
   */
  public void cancel(String reason, boolean byRequest) {
    if (byRequest) {
      cancelledByRequest = true;
    }
    cancelReason.compareAndSet(null, reason);
    synchronized (threadLock) {
      if (thread != null) {
        thread.interrupt();
      }
    }
  }

  void onCancelRequest(Consumer<String> handler) {
    this.cancelHandler = handler;
  }

  /**
   * A user's cancel, recorded in the database: decided at once by the executor that runs the job
   * (the job ends cancelled and frees its slot even if the plugin ignores the interrupt). Before
   * the executor has the job, only the flag is set; the executor sees it before it starts the
   * plugin.
   */
  public void requestCancel(String reason) {
    Consumer<String> handler = cancelHandler;
    if (handler != null) {
      handler.accept(reason);
    } else {
      cancel(reason, true);
    }
  }

  public boolean isCancelled() {
    return cancelReason.get() != null;
  }

  public boolean isCancelledByRequest() {
    return cancelledByRequest;
  }

  public String cancelReason() {
    return cancelReason.get();
  }

  public void reportProgress(float fraction, String message) {
    progress.set(new Progress(fraction, message));
  }

  /** The progress not yet written, cleared by this call. */
  public Progress takeProgress() {
    return progress.getAndSet(null);
  }

  /** Puts back progress whose write failed, unless a newer value arrived meanwhile. */
  public void restoreProgress(Progress value) {
    if (value != null) {
      progress.compareAndSet(null, value);
    }
  }
}
