package io.taskbroker.worker.completer;

import io.taskbroker.api.spi.JobLifecycleListener.OutcomeKind;
import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.OutcomeWrite;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.executor.OutcomeSink;
import io.taskbroker.worker.executor.Outcomes;
import io.taskbroker.worker.executor.RunningJob;
import io.taskbroker.worker.internal.BackgroundLoop;
import io.taskbroker.worker.internal.JobListeners;
import io.taskbroker.worker.internal.StorableText;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes outcomes to the jobs table, many per statement. One thread takes the first waiting outcome
 * and everything queued behind it, so an idle worker writes at once and a busy one batches by
 * itself while the previous write is in flight.
 *
 * <p>Every write is fenced (status running, this worker, the attempt); a rejected outcome means the
 * job was rescued or handed back meanwhile, and is logged and counted, never forced. While the
 * database is away, outcomes are kept and retried with backoff for up to the retry limit, then
 * given up (the lease runs out and the rescuer hands the job to another worker).
 *
 * <p>One job's outcome never costs another job its outcome: each outcome arrives checked (the
 * executor's {@link Outcomes} turned it into a write on the deciding thread), and a batch the
 * database or the driver refuses for any reason but a lost connection is written again one outcome
 * at a time, so the refusal is narrowed to its job, which is then recorded failed. Every job handed
 * over leaves the worker: written, rejected, recorded failed or given up.
 *
 * <p>Back-pressure: while its backlog is under {@link Settings#maxBacklog()}, a job's slot is freed
 * as soon as its outcome is queued, so the next claim overlaps the write; past it (the database is
 * slow or away), slots are freed only when written, and claiming stops.
 *
 * <p>Thread-safe. A {@link io.taskbroker.worker.internal.Service}: start and stop are idempotent.
 * {@link #flushOnce()} writes on the caller's thread instead (tests: a worker moved by hand).
 */
public final class Completer extends BackgroundLoop implements OutcomeSink {
  private static final Logger LOG = LoggerFactory.getLogger(Completer.class);
  private static final Duration MAX_RETRY_WAIT = Duration.ofSeconds(5);
  private static final int MAX_TRANSIENT_RETRIES = 3;

  /**
   * How long a batch waits for the outcomes of jobs still running in this worker. A drain at low
   * concurrency otherwise writes one or two outcomes per statement, and a statement's fixed cost in
   * the database (about half a millisecond) dominates; a lone job is written at once.
   */
  static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  /** See {@link Outcomes#MAX_ERROR_CHARS}. */
  public static final int MAX_ERROR_CHARS = Outcomes.MAX_ERROR_CHARS;

  /** See {@link Outcomes#MAX_TRACE_CHARS}. */
  public static final int MAX_TRACE_CHARS = Outcomes.MAX_TRACE_CHARS;

  /**
   * How much result JSON one statement carries, at most (one outcome may exceed it alone): the
   * results of a batch travel as one array parameter, which PostgreSQL caps at 1 GB.
   */
  static final long MAX_BATCH_RESULT_CHARS = 64L * 1024 * 1024;

  /**
   * How the completer writes.
   *
   * @param batchSize the most outcomes one statement writes
   * @param retryLimit how long outcomes are kept and retried while the database is away
   * @param maxBacklog outcomes queued beyond which slots are freed only when written
   */
  public record Settings(String workerId, int batchSize, Duration retryLimit, int maxBacklog) {
    public Settings {
      if (workerId == null || batchSize < 1 || maxBacklog < 1 || retryLimit.isNegative()) {
        throw new IllegalArgumentException(
            "completer settings: worker id, a positive batch and backlog, a retry limit; got "
                + workerId
                + ", "
                + batchSize
                + ", "
                + maxBacklog
                + ", "
                + retryLimit);
      }
    }
  }

  private final WorkerRepository repository;
  private final Settings settings;
  private final Outcomes outcomes;
  private final JobListeners listeners;
  private final InstantSource clock;
  private final IntSupplier held;
  private final LinkedBlockingQueue<Outcomes.Write> queue = new LinkedBlockingQueue<>();
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong abandoned = new AtomicLong();
  // Jobs whose outcome was given up once stop() had begun: still running in the table.
  private final List<UUID> givenUpWhileStopping = new CopyOnWriteArrayList<>();
  private volatile long stopDeadlineNanos = Long.MAX_VALUE;

  /**
   * @param outcomes builds the failure recorded in place of an outcome the database refuses
   * @param held how many jobs the worker holds (running, buffered, or with an outcome not yet
   *     written): while some are still undecided, a batch waits briefly for their outcomes
   * @param unit the supervised unit the completer's thread is: an Error on it stops the worker
   */
  public Completer(
      WorkerRepository repository,
      Settings settings,
      Outcomes outcomes,
      JobListeners listeners,
      InstantSource clock,
      IntSupplier held,
      Supervisor.Unit unit) {
    super("completer", unit);
    this.repository = repository;
    this.settings = settings;
    this.outcomes = outcomes;
    this.listeners = listeners;
    this.clock = clock;
    this.held = held;
  }

  /**
   * Queues the write; frees the job's slot at once while the backlog is under its bound. Never
   * throws.
   */
  @Override
  public void accept(Outcomes.Write write) {
    queue.add(write);
    if (queue.size() < settings.maxBacklog()) {
      write.job().freeSlot();
    }
  }

  /** Outcomes waiting to be written. */
  public int backlog() {
    return queue.size();
  }

  public long writtenCount() {
    return written.get();
  }

  /** Outcomes the database refused because the job was no longer this worker's. */
  public long rejectedCount() {
    return rejected.get();
  }

  /**
   * The jobs whose outcome was given up while stopping (the database stayed away past the stop's
   * deadline): still running in the table.
   */
  public List<UUID> givenUpWhileStopping() {
    return List.copyOf(givenUpWhileStopping);
  }

  /**
   * Writes everything queued now, on the caller's thread, and returns how many outcomes it took
   * (tests: a worker moved by hand; never while the completer's own thread runs).
   */
  public int flushOnce() {
    int taken = 0;
    Outcomes.Write first;
    while ((first = queue.poll()) != null) {
      List<Outcomes.Write> batch = nextBatch(first);
      taken += batch.size();
      writeWithRetry(batch, System.nanoTime());
    }
    return taken;
  }

  @Override
  protected void stopping(long deadlineNanos) {
    stopDeadlineNanos = deadlineNanos;
  }

  @Override
  protected void loop() {
    // Drains the queue even after stop() until the deadline: an outcome in memory is a job
    // someone would otherwise run again.
    while (isRunning() || !queue.isEmpty()) {
      if (pastStopDeadline()) {
        // Out of time: what is left is given up below, not tried once more each.
        break;
      }
      unit().progress();
      List<Outcomes.Write> batch = List.of();
      try {
        Outcomes.Write first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch = nextBatch(first);
        linger(batch);
        writeWithRetry(batch, System.nanoTime());
        unit().ok();
      } catch (InterruptedException e) {
        if (!isRunning() && System.nanoTime() > stopDeadlineNanos) {
          break;
        }
      } catch (RuntimeException e) {
        // Not expected (writeWithRetry narrows every failure to its job), but if it comes, the
        // batch's jobs must still leave the worker, or their leases would be extended forever.
        unit().failed(e);
        LOG.error("Completer loop failed unexpectedly; it goes on", e);
        giveUp(batch, "the completer failed: " + Outcomes.describe(e));
      }
    }
    List<Outcomes.Write> left = new ArrayList<>();
    queue.drainTo(left);
    giveUp(left, "the worker stopped before they could be written");
  }

  /** The first outcome and what is queued behind it, up to the batch size and result volume. */
  private List<Outcomes.Write> nextBatch(Outcomes.Write first) {
    List<Outcomes.Write> batch = new ArrayList<>(Math.min(settings.batchSize(), queue.size() + 1));
    batch.add(first);
    addQueued(batch, first.resultChars());
    return batch;
  }

  /**
   * Adds what is queued now to a batch holding {@code resultChars} of results, up to the batch size
   * and result volume; returns the batch's result volume.
   */
  private long addQueued(List<Outcomes.Write> batch, long resultChars) {
    while (batch.size() < settings.batchSize() && resultChars < MAX_BATCH_RESULT_CHARS) {
      Outcomes.Write next = queue.poll();
      if (next == null) {
        break;
      }
      batch.add(next);
      resultChars += next.resultChars();
    }
    return resultChars;
  }

  /**
   * Waits up to {@link #LINGER_NANOS} for the outcomes of jobs the worker still holds undecided
   * (held, minus the outcomes queued or in this batch), adding each as it comes; returns at once
   * when there are none, when the batch is full, or once stopping.
   */
  private void linger(List<Outcomes.Write> batch) throws InterruptedException {
    long resultChars = 0;
    for (Outcomes.Write write : batch) {
      resultChars += write.resultChars();
    }
    long deadline = System.nanoTime() + LINGER_NANOS;
    while (isRunning()
        && batch.size() < settings.batchSize()
        && resultChars < MAX_BATCH_RESULT_CHARS
        && held.getAsInt() - queue.size() - batch.size() > 0) {
      long left = deadline - System.nanoTime();
      Outcomes.Write next = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : null;
      if (next == null) {
        return;
      }
      batch.add(next);
      resultChars = addQueued(batch, resultChars + next.resultChars());
    }
  }

  /**
   * Writes the batch; returns once every job in it was written, rejected, recorded failed or given
   * up. Retries a lost connection until {@code started} plus the retry limit.
   */
  private void writeWithRetry(List<Outcomes.Write> batch, long started) {
    int failures = 0;
    int transientRetries = 0;
    while (true) {
      try {
        write(batch);
        if (failures > 0) {
          LOG.info(
              "Completer: database back; wrote {} outcome(s) held during the outage", batch.size());
        }
        return;
      } catch (DatabaseException e) {
        if (e.isTransient() && transientRetries++ < MAX_TRANSIENT_RETRIES) {
          // Lost a race with another statement on the same rows: run it again as it is.
          LOG.debug("Completer: {}; writing the batch again", e.getMessage());
          continue;
        }
        if (!e.isConnectionLoss()) {
          writeOneByOne(batch, started, e.getMessage());
          return;
        }
        failures++;
        long elapsed = System.nanoTime() - started;
        boolean pastLimit = elapsed > settings.retryLimit().toNanos();
        boolean pastStop = pastStopDeadline();
        if (pastLimit || pastStop) {
          giveUp(batch, "the database stayed unreachable: " + e.getMessage());
          return;
        }
        long wait = Math.min(MAX_RETRY_WAIT.toMillis(), 100L << Math.min(failures, 6));
        if (failures == 1) {
          LOG.warn(
              "Completer: cannot write {} outcome(s) ({}); keeping them and retrying for up to {}",
              batch.size(),
              e.getMessage(),
              settings.retryLimit());
        }
        pauseUnlessStopped(wait + ThreadLocalRandom.current().nextLong(wait / 4 + 1));
      } catch (RuntimeException e) {
        // Not the database's answer: building the statement failed (encoding a value as JSON,
        // binding a parameter). Some outcome in the batch is at fault; find it like a refusal.
        writeOneByOne(batch, started, Outcomes.describe(e));
        return;
      }
    }
  }

  private boolean pastStopDeadline() {
    return !isRunning() && System.nanoTime() > stopDeadlineNanos;
  }

  /** Sleeps between retries, but wakes by the stop deadline so stop() is not overrun. */
  private void pauseUnlessStopped(long millis) {
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (!pastStopDeadline()) {
      long left = until - System.nanoTime();
      if (left <= 0) {
        return;
      }
      sleepQuietly(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 50));
    }
  }

  /**
   * A batch was refused for a reason other than the connection: each outcome is written alone, so
   * the refusal is narrowed to the outcome at fault, and that job is recorded failed instead.
   */
  private void writeOneByOne(List<Outcomes.Write> batch, long started, String cause) {
    if (batch.size() > 1) {
      LOG.warn(
          "Completer: a batch of {} failed ({}); writing one by one",
          batch.size(),
          StorableText.truncate(cause, MAX_ERROR_CHARS));
      for (Outcomes.Write pending : batch) {
        writeWithRetry(List.of(pending), started);
      }
      return;
    }
    Outcomes.Write pending = batch.get(0);
    if (pending.fallback()) {
      giveUp(batch, "not even its failure could be recorded: " + cause);
      return;
    }
    LOG.error(
        "Job {}: cannot record its outcome ({}); recording it failed instead",
        pending.job().id(),
        StorableText.truncate(cause, MAX_ERROR_CHARS));
    boolean hadResult = pending.write().status() == JobStatus.COMPLETED;
    writeWithRetry(List.of(outcomes.fallback(pending.job(), hadResult, cause)), started);
  }

  private void write(List<Outcomes.Write> batch) {
    List<OutcomeWrite> writes = new ArrayList<>(batch.size());
    for (Outcomes.Write pending : batch) {
      writes.add(pending.write());
    }
    Map<UUID, JobStatus> accepted = repository.complete(settings.workerId(), writes);
    Set<UUID> sent = new HashSet<>();
    batch.forEach(pending -> sent.add(pending.job().id()));
    if (!sent.containsAll(accepted.keySet())) {
      LOG.error(
          "Completer: the database reported {} job(s) written that were not in the batch of {};"
              + " this indicates a bug",
          accepted.size(),
          batch.size());
    }
    for (Outcomes.Write pending : batch) {
      UUID id = pending.job().id();
      if (accepted.containsKey(id)) {
        written.incrementAndGet();
        if (accepted.get(id) == JobStatus.FAILED) {
          LOG.warn(
              "Job {} ({}) failed for good after attempt {}/{}: {}",
              id,
              pending.job().job().plugin(),
              pending.write().attempt(),
              pending.job().job().maxAttempts(),
              pending.write().error());
        }
        pending.job().leave();
        finished(pending, accepted.get(id));
      } else {
        rejected.incrementAndGet();
        LOG.warn(
            "Job {}: outcome {} rejected: the job is no longer running under this worker at"
                + " attempt {} (rescued, handed back or cancelled meanwhile); the newer state stands",
            id,
            pending.write().status().dbValue(),
            pending.write().attempt());
        pending.job().leave();
        listeners.writeRejected(pending.job().job());
      }
    }
  }

  /** Tells the listeners, after the write: their failures cannot cost the outcome. */
  private void finished(Outcomes.Write pending, JobStatus status) {
    RunningJob job = pending.job();
    Instant started = job.startedAt();
    OutcomeKind kind;
    if (status == JobStatus.COMPLETED) {
      kind = OutcomeKind.COMPLETED;
    } else if (status == JobStatus.FAILED) {
      kind = OutcomeKind.FAILED;
    } else if (status == JobStatus.CANCELLED) {
      kind = OutcomeKind.CANCELLED;
    } else if (!pending.write().refundAttempt()) {
      kind = OutcomeKind.RETRIED;
    } else {
      // A refunded attempt: a snooze, or a job claimed ahead and given back unstarted.
      kind = started == null ? OutcomeKind.GIVEN_BACK : OutcomeKind.SNOOZED;
    }
    Instant ended = job.decidedAt() != null ? job.decidedAt() : clock.instant();
    Duration run = started == null ? Duration.ZERO : Duration.between(started, ended);
    Duration latency =
        started == null || job.job().runAt() == null
            ? Duration.ZERO
            : Duration.between(job.job().runAt(), started);
    listeners.finished(job.job(), kind, run, latency);
  }

  private void giveUp(List<Outcomes.Write> batch, String why) {
    if (batch.isEmpty()) {
      return;
    }
    abandoned.addAndGet(batch.size());
    if (!isRunning()) {
      batch.forEach(pending -> givenUpWhileStopping.add(pending.job().id()));
    }
    LOG.error(
        "Completer: giving up on {} outcome(s) ({}); their jobs return to another worker when the"
            + " lease expires: {}",
        batch.size(),
        why,
        batch.stream().map(pending -> pending.job().id()).toList());
    for (Outcomes.Write pending : batch) {
      pending.job().leave();
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
