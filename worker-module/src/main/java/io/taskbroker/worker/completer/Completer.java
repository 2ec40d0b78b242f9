package io.taskbroker.worker.completer;

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
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * <p>Thread-safe. {@link #start()} and {@link #stop(Duration)} are idempotent.
 */
public final class Completer implements OutcomeSink {
  private static final Logger LOG = LoggerFactory.getLogger(Completer.class);
  private static final Duration MAX_RETRY_WAIT = Duration.ofSeconds(5);
  private static final int MAX_TRANSIENT_RETRIES = 3;

  private record Pending(RunningJob job, OutcomeWrite write) {}

  private final WorkerRepository repository;
  private final String workerId;
  private final Backoff backoff;
  private final int batchSize;
  private final Duration retryLimit;
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
   */
  public Completer(
      WorkerRepository repository,
      String workerId,
      Backoff backoff,
      int batchSize,
      Duration retryLimit,
      Consumer<RunningJob> onDone,
      InstantSource clock) {
    this(
        repository,
        workerId,
        backoff,
        batchSize,
        retryLimit,
        onDone,
        clock,
        Supervisor.alone(workerId).unit("completer", retryLimit.plusMinutes(1)));
  }

  /**
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
      Supervisor.Unit unit) {
    this.unit = unit;
    this.repository = repository;
    this.workerId = workerId;
    this.backoff = backoff;
    this.batchSize = batchSize;
    this.retryLimit = retryLimit;
    this.onDone = onDone;
    this.clock = clock;
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

  @Override
  public void accept(RunningJob job, Outcome outcome) {
    queue.add(new Pending(job, toWrite(job, outcome)));
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
      try {
        Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        List<Pending> batch = new ArrayList<>(Math.min(batchSize, queue.size() + 1));
        batch.add(first);
        queue.drainTo(batch, batchSize - 1);
        writeWithRetry(batch);
        unit.ok();
      } catch (InterruptedException e) {
        if (!running && System.nanoTime() > stopDeadlineNanos) {
          break;
        }
      } catch (RuntimeException e) {
        unit.failed(e);
        LOG.error("Completer loop failed unexpectedly; it goes on", e);
      }
    }
    List<Pending> left = new ArrayList<>();
    queue.drainTo(left);
    giveUp(left, "the worker stopped before they could be written");
  }

  private void writeWithRetry(List<Pending> batch) {
    long started = System.nanoTime();
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
          writeOneByOne(batch, e);
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

  /** A batch failed for a reason other than the connection: isolate the outcome at fault. */
  private void writeOneByOne(List<Pending> batch, DatabaseException cause) {
    if (batch.size() > 1) {
      LOG.warn(
          "Completer: a batch of {} failed ({}); writing one by one",
          batch.size(),
          cause.getMessage());
    }
    for (Pending pending : batch) {
      try {
        write(List.of(pending));
      } catch (DatabaseException e) {
        if (e.isConnectionLoss()) {
          writeWithRetry(List.of(pending));
          continue;
        }
        LOG.error(
            "Job {}: cannot record its outcome ({}); recording it failed instead",
            pending.job().id(),
            e.getMessage());
        OutcomeWrite fallback =
            new OutcomeWrite(
                pending.job().id(),
                pending.job().job().attempt(),
                JobStatus.FAILED,
                null,
                "could not record the outcome: " + e.getMessage(),
                null,
                null,
                null,
                false);
        try {
          write(List.of(new Pending(pending.job(), fallback)));
        } catch (DatabaseException again) {
          giveUp(List.of(pending), again.getMessage());
        }
      }
    }
  }

  private void write(List<Pending> batch) {
    List<OutcomeWrite> writes = new ArrayList<>(batch.size());
    for (Pending pending : batch) {
      writes.add(pending.write());
    }
    Map<UUID, JobStatus> accepted = repository.complete(workerId, writes);
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
      onDone.accept(pending.job());
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
      onDone.accept(pending.job());
    }
  }

  private OutcomeWrite toWrite(RunningJob running, Outcome outcome) {
    var job = running.job();
    int attempt = job.attempt();
    boolean attemptsLeft = attempt < job.maxAttempts();
    // Java 17 has no pattern switch; the sealed interface keeps this chain complete.
    if (outcome instanceof Outcome.Completed completed) {
      return new OutcomeWrite(
          job.id(),
          attempt,
          JobStatus.COMPLETED,
          completed.result(),
          null,
          null,
          null,
          null,
          false);
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
        printable(cancelled.reason()),
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
        printable(error),
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
    entry.put("error", printable(error));
    if (trace != null) {
      entry.put("trace", printable(trace));
    }
    return entry;
  }

  /** PostgreSQL text cannot hold NUL; an error message that has one must still be recorded. */
  private static String printable(String text) {
    return text == null || text.indexOf('\u0000') < 0 ? text : text.replace('\u0000', '\uFFFD');
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
