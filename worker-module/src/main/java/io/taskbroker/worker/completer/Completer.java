package io.taskbroker.worker.completer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.sql.OutcomeWrite;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.executor.Backoff;
import io.taskbroker.worker.executor.Outcome;
import io.taskbroker.worker.executor.OutcomeSink;
import io.taskbroker.worker.executor.RunningJob;
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
import java.util.function.Consumer;
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
 * <p>One job's outcome never costs another job its outcome: each outcome is checked when it is
 * handed over ({@link #accept}), before it joins a batch (a result that cannot be written as JSON,
 * holds what jsonb refuses or is over the size limit fails its own job; error text is bounded), and
 * a batch the database or the driver refuses for any reason but a lost connection is written again
 * one outcome at a time, so the refusal is narrowed to its job, which is then recorded failed.
 * Every job handed over leaves the worker: written, rejected, recorded failed or given up.
 *
 * <p>Thread-safe. {@link #start()} and {@link #stop(Duration)} are idempotent.
 */
public final class Completer implements OutcomeSink {
  private static final Logger LOG = LoggerFactory.getLogger(Completer.class);
  private static final Duration MAX_RETRY_WAIT = Duration.ofSeconds(5);
  private static final int MAX_TRANSIENT_RETRIES = 3;

  /**
   * The longest error text stored per attempt, in {@code error} and in {@code errors[].error}
   * alike; longer text is cut and ends with a marker saying how much was cut.
   */
  public static final int MAX_ERROR_CHARS = 8 * 1024;

  /** The longest trace stored in {@code errors[].trace}. */
  public static final int MAX_TRACE_CHARS = 16 * 1024;

  /**
   * How much result JSON one statement carries, at most (one outcome may exceed it alone): the
   * results of a batch travel as one array parameter, which PostgreSQL caps at 1 GB.
   */
  static final long MAX_BATCH_RESULT_CHARS = 64L * 1024 * 1024;

  /**
   * One outcome ready to write.
   *
   * @param resultChars the length of its result JSON, to bound a batch
   * @param fallback whether this is already the failure recorded in place of a refused outcome
   */
  private record Pending(RunningJob job, OutcomeWrite write, long resultChars, boolean fallback) {}

  private final WorkerRepository repository;
  private final String workerId;
  private final Backoff backoff;
  private final int batchSize;
  private final Duration retryLimit;
  private final long maxResultBytes;
  private final Consumer<RunningJob> onDone;
  private final InstantSource clock;
  private final Supervisor.Unit unit;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong abandoned = new AtomicLong();
  // Jobs whose outcome was given up once stop() had begun: still running in the table.
  private final List<UUID> givenUpWhileStopping = new CopyOnWriteArrayList<>();
  private final Object lifecycle = new Object();
  private volatile boolean running;
  private volatile long stopDeadlineNanos = Long.MAX_VALUE;
  private Thread thread;

  /**
   * @param onDone called once per job after its outcome is written, rejected or given up
   * @param maxResultBytes the largest result (UTF-8 bytes of its JSON) recorded; a larger one fails
   *     its job
   * @param unit the supervised unit the completer's thread is: an Error on it stops the worker
   */
  public Completer(
      WorkerRepository repository,
      String workerId,
      Backoff backoff,
      int batchSize,
      Duration retryLimit,
      Consumer<RunningJob> onDone,
      InstantSource clock,
      long maxResultBytes,
      Supervisor.Unit unit) {
    if (maxResultBytes < 1) {
      throw new IllegalArgumentException("maxResultBytes must be positive, got " + maxResultBytes);
    }
    this.unit = unit;
    this.repository = repository;
    this.workerId = workerId;
    this.backoff = backoff;
    this.batchSize = batchSize;
    this.retryLimit = retryLimit;
    this.onDone = onDone;
    this.clock = clock;
    this.maxResultBytes = maxResultBytes;
  }

  public void start() {
    synchronized (lifecycle) {
      if (thread != null) {
        return;
      }
      running = true;
      thread = new Thread(unit.supervise(this::run), "taskbroker-completer");
      thread.setDaemon(true);
      thread.start();
    }
  }

  /**
   * Checks the outcome and queues it for writing. Runs on the thread that decided the outcome (the
   * plugin's own, for a result), so a result is written as JSON there, not on the completer's
   * single thread. Never throws: an outcome that cannot be written is queued as its job's failure.
   */
  @Override
  public void accept(RunningJob job, Outcome outcome) {
    Pending pending;
    try {
      pending = prepare(job, outcome);
    } catch (RuntimeException e) {
      LOG.error("Job {}: cannot prepare its outcome; recording it failed instead", job.id(), e);
      try {
        pending = fallback(job, outcome instanceof Outcome.Completed, describe(e));
      } catch (RuntimeException again) {
        // Nothing can be written for it: at least stop extending its lease, so it is rescued.
        LOG.error("Job {}: cannot record anything for it; leaving it to the rescuer", job.id());
        abandoned.incrementAndGet();
        release(job);
        return;
      }
    }
    queue.add(pending);
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
   * Writes what is queued, then stops. Waits at most {@code timeout} (retries against a database
   * that is away end then, and those outcomes are given up).
   *
   * @return the jobs whose outcome was given up while stopping: still running in the table
   */
  public List<UUID> stop(Duration timeout) {
    Thread toJoin;
    synchronized (lifecycle) {
      if (!running) {
        return List.copyOf(givenUpWhileStopping);
      }
      stopDeadlineNanos = System.nanoTime() + timeout.toNanos();
      running = false;
      toJoin = thread;
    }
    unit.stopped();
    try {
      toJoin.join(Math.max(1, timeout.toMillis() + 1000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return List.copyOf(givenUpWhileStopping);
  }

  private void run() {
    // Drains the queue even after stop() until the deadline: an outcome in memory is a job
    // someone would otherwise run again.
    while (running || !queue.isEmpty()) {
      if (pastStopDeadline()) {
        // Out of time: what is left is given up below, not tried once more each.
        break;
      }
      unit.progress();
      List<Pending> batch = List.of();
      try {
        Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch = nextBatch(first);
        writeWithRetry(batch, System.nanoTime());
        unit.ok();
      } catch (InterruptedException e) {
        if (!running && System.nanoTime() > stopDeadlineNanos) {
          break;
        }
      } catch (RuntimeException e) {
        // Not expected (writeWithRetry narrows every failure to its job), but if it comes, the
        // batch's jobs must still leave the worker, or their leases would be extended forever.
        unit.failed(e);
        LOG.error("Completer loop failed unexpectedly; it goes on", e);
        giveUp(batch, "the completer failed: " + describe(e));
      }
    }
    List<Pending> left = new ArrayList<>();
    queue.drainTo(left);
    giveUp(left, "the worker stopped before they could be written");
  }

  /** The first outcome and what is queued behind it, up to the batch size and result volume. */
  private List<Pending> nextBatch(Pending first) {
    List<Pending> batch = new ArrayList<>(Math.min(batchSize, queue.size() + 1));
    batch.add(first);
    long resultChars = first.resultChars();
    while (batch.size() < batchSize && resultChars < MAX_BATCH_RESULT_CHARS) {
      Pending next = queue.poll();
      if (next == null) {
        break;
      }
      batch.add(next);
      resultChars += next.resultChars();
    }
    return batch;
  }

  /**
   * Writes the batch; returns once every job in it was written, rejected, recorded failed or given
   * up. Retries a lost connection until {@code started} plus the retry limit.
   */
  private void writeWithRetry(List<Pending> batch, long started) {
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
        boolean pastLimit = elapsed > retryLimit.toNanos();
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
              retryLimit);
        }
        pauseUnlessStopped(wait + ThreadLocalRandom.current().nextLong(wait / 4 + 1));
      } catch (RuntimeException e) {
        // Not the database's answer: building the statement failed (encoding a value as JSON,
        // binding a parameter). Some outcome in the batch is at fault; find it like a refusal.
        writeOneByOne(batch, started, describe(e));
        return;
      }
    }
  }

  private boolean pastStopDeadline() {
    return !running && System.nanoTime() > stopDeadlineNanos;
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
  private void writeOneByOne(List<Pending> batch, long started, String cause) {
    if (batch.size() > 1) {
      LOG.warn(
          "Completer: a batch of {} failed ({}); writing one by one",
          batch.size(),
          StorableText.truncate(cause, MAX_ERROR_CHARS));
      for (Pending pending : batch) {
        writeWithRetry(List.of(pending), started);
      }
      return;
    }
    Pending pending = batch.get(0);
    if (pending.fallback()) {
      giveUp(batch, "not even its failure could be recorded: " + cause);
      return;
    }
    LOG.error(
        "Job {}: cannot record its outcome ({}); recording it failed instead",
        pending.job().id(),
        StorableText.truncate(cause, MAX_ERROR_CHARS));
    boolean hadResult = pending.write().status() == JobStatus.COMPLETED;
    writeWithRetry(List.of(fallback(pending.job(), hadResult, cause)), started);
  }

  /**
   * The failure recorded for a job whose outcome cannot be: final, not retried (the plugin ran and
   * would most likely produce the same outcome again).
   */
  private Pending fallback(RunningJob running, boolean hadResult, String why) {
    String error = (hadResult ? "result" : "outcome") + " could not be recorded: " + why;
    ObjectNode entry = errorEntry(running, "error", error, null);
    OutcomeWrite write =
        new OutcomeWrite(
            running.id(),
            running.job().attempt(),
            JobStatus.FAILED,
            null,
            errorText(error),
            entry,
            null,
            null,
            false);
    return new Pending(running, write, 0, true);
  }

  private void write(List<Pending> batch) {
    List<OutcomeWrite> writes = new ArrayList<>(batch.size());
    for (Pending pending : batch) {
      writes.add(pending.write());
    }
    Map<UUID, JobStatus> accepted = repository.complete(workerId, writes);
    Set<UUID> sent = new HashSet<>();
    batch.forEach(pending -> sent.add(pending.job().id()));
    if (!sent.containsAll(accepted.keySet())) {
      LOG.error(
          "Completer: the database reported {} job(s) written that were not in the batch of {};"
              + " this indicates a bug",
          accepted.size(),
          batch.size());
    }
    for (Pending pending : batch) {
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
      } else {
        rejected.incrementAndGet();
        LOG.warn(
            "Job {}: outcome {} rejected: the job is no longer running under this worker at"
                + " attempt {} (rescued, handed back or cancelled meanwhile); the newer state stands",
            id,
            pending.write().status().dbValue(),
            pending.write().attempt());
      }
      release(pending.job());
    }
  }

  /** The job leaves the worker; a failure of the callback must not undo the write just made. */
  private void release(RunningJob job) {
    try {
      onDone.accept(job);
    } catch (RuntimeException e) {
      LOG.error("Job {}: releasing it after its outcome failed", job.id(), e);
    }
  }

  private void giveUp(List<Pending> batch, String why) {
    if (batch.isEmpty()) {
      return;
    }
    abandoned.addAndGet(batch.size());
    if (!running) {
      batch.forEach(pending -> givenUpWhileStopping.add(pending.job().id()));
    }
    LOG.error(
        "Completer: giving up on {} outcome(s) ({}); their jobs return to another worker when the"
            + " lease expires: {}",
        batch.size(),
        why,
        batch.stream().map(pending -> pending.job().id()).toList());
    for (Pending pending : batch) {
      release(pending.job());
    }
  }

  /** The write for an outcome, checked: a result that cannot be recorded fails its job here. */
  private Pending prepare(RunningJob running, Outcome outcome) {
    if (outcome instanceof Outcome.Completed completed) {
      ResultJson.Checked result = ResultJson.check(completed.result(), maxResultBytes);
      if (!result.ok()) {
        LOG.warn(
            "Job {} ({}): its result cannot be recorded ({}); recording the job failed",
            running.id(),
            running.job().plugin(),
            result.problem());
        return fallback(running, true, result.problem());
      }
      return new Pending(running, completedWrite(running, result.node()), result.chars(), false);
    }
    return new Pending(running, toWrite(running, outcome), 0, false);
  }

  private static OutcomeWrite completedWrite(RunningJob running, JsonNode result) {
    return new OutcomeWrite(
        running.id(),
        running.job().attempt(),
        JobStatus.COMPLETED,
        result,
        null,
        null,
        null,
        null,
        false);
  }

  private OutcomeWrite toWrite(RunningJob running, Outcome outcome) {
    var job = running.job();
    int attempt = job.attempt();
    boolean attemptsLeft = attempt < job.maxAttempts();
    // Java 17 has no pattern switch; the sealed interface keeps this chain complete.
    if (outcome instanceof Outcome.Completed) {
      throw new IllegalArgumentException("a result is checked by prepare()");
    }
    if (outcome instanceof Outcome.Failed failed) {
      ObjectNode entry = errorEntry(running, failed.kind(), failed.error(), failed.trace());
      boolean retry = failed.retryable() && attemptsLeft;
      return failedAttempt(
          job.id(), attempt, retry, failed.error(), entry, null, backoff.delayAfter(attempt));
    }
    if (outcome instanceof Outcome.Retry retry) {
      ObjectNode entry = errorEntry(running, "retry", retry.error(), null);
      return failedAttempt(
          job.id(), attempt, attemptsLeft, retry.error(), entry, retry.at(), retry.after());
    }
    if (outcome instanceof Outcome.Snooze snooze) {
      return new OutcomeWrite(
          job.id(), attempt, JobStatus.PENDING, null, null, null, null, snooze.after(), true);
    }
    Outcome.Cancelled cancelled = (Outcome.Cancelled) outcome;
    return new OutcomeWrite(
        job.id(),
        attempt,
        JobStatus.CANCELLED,
        null,
        errorText(cancelled.reason()),
        null,
        null,
        null,
        false);
  }

  /** A failed attempt: pending again at runAt or after delay when retried, else failed. */
  private static OutcomeWrite failedAttempt(
      UUID jobId,
      int attempt,
      boolean retry,
      String error,
      ObjectNode entry,
      Instant runAt,
      Duration delay) {
    return new OutcomeWrite(
        jobId,
        attempt,
        retry ? JobStatus.PENDING : JobStatus.FAILED,
        null,
        errorText(error),
        entry,
        retry ? runAt : null,
        retry ? delay : null,
        false);
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

  private static String describe(Throwable e) {
    String message;
    try {
      message = e.getMessage();
    } catch (RuntimeException unreadable) {
      message = null;
    }
    return e.getClass().getName() + (message == null ? "" : ": " + message);
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
