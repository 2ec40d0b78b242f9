package io.taskbroker.worker.notify;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.internal.Channels;
import io.taskbroker.api.internal.PgNotifier;
import io.taskbroker.common.Database;
import io.taskbroker.common.Json;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.internal.Supervisor;
import io.taskbroker.worker.producer.Producer;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's subscriptions to its Database's LISTEN connection ({@link PgNotifier}, one per
 * Database in this JVM, shared with every other worker, client and tracker on it): new-job
 * notifications wake the producer of their queue, control messages addressed to this worker lead to
 * a cancel once the table confirms it, queue messages ({@code {"action":"queue","queue":..}}: a
 * pause, resume or new limits) make that queue's producer read its settings again, and a gap in
 * either (a reconnect: notifications sent while disconnected are gone; or this worker falling
 * behind) makes every producer rescan, or the heartbeater beat, which reads the cancel marks.
 * Thread-safe; start/stop idempotent, stop before start a no-op.
 *
 * <p>Supervised as the {@code notifier} unit: an Error on a notifier thread serving this worker
 * (its own handling of a notification, or the shared reading thread) stops the worker, never
 * leaving it half-alive, deaf to cancels. Each notification it handles is a round of the unit (so a
 * fault injected there is thrown on the notifier's thread).
 *
 * <p>Any role that can connect may NOTIFY on any channel (PostgreSQL has no privilege for it), so a
 * notification is a hint, never an order: a new-job one costs at most a claim (the producer
 * coalesces bursts), a control one a primary-key lookup of the jobs it names, batched while one is
 * running. Only a cancel the table holds ({@code cancel_requested_at}, set by {@code
 * taskbroker.cancel}) for a job running under this worker reaches the job.
 */
public final class WorkerNotifications {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerNotifications.class);
  // Ids waiting for their lookup beyond this are dropped: a flood of forged cancels cannot grow
  // memory; a real cancel dropped here still arrives with the next heartbeat.
  private static final int MAX_PENDING_CANCELS = 10_000;

  private final PgNotifier notifier;
  private final WorkerRepository repository;
  private final String workerId;
  private final Map<String, Producer> producers;
  private final Consumer<UUID> cancel;
  private final Runnable onReconnect;
  private final Supervisor.Unit unit;
  private final AtomicBoolean deathReported = new AtomicBoolean();
  private final Object lifecycle = new Object();
  // Guarded by lifecycle.
  private PgNotifier.Subscription newJobs;
  private PgNotifier.Subscription control;
  private boolean stopped;
  private final ExecutorService confirmer;
  private final Object pendingLock = new Object();
  // Guarded by pendingLock: ids named by control messages, not yet looked up.
  private final Set<UUID> pendingCancels = new LinkedHashSet<>();
  private boolean confirmScheduled;
  private final AtomicLong cancelLookups = new AtomicLong();

  /**
   * @param cancel called with the id of a job running under this worker whose cancel the table
   *     confirms; on a thread of this unit, one job at a time
   * @param onReconnect called when control messages may have been missed (the LISTEN connection
   *     came back)
   * @param unit the supervised unit an Error on a notifier thread serving this worker kills
   */
  public WorkerNotifications(
      Database database,
      String workerId,
      Map<String, Producer> producers,
      Consumer<UUID> cancel,
      Runnable onReconnect,
      Supervisor.Unit unit) {
    this.notifier = PgNotifier.of(database);
    this.repository = new WorkerRepository(database);
    this.workerId = workerId;
    this.producers = producers;
    this.cancel = cancel;
    this.onReconnect = onReconnect;
    this.unit = unit;
    this.confirmer =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "taskbroker-cancel-confirm");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Subscribes to the new-job and control channels; {@link #awaitListening} says when. */
  public void start() {
    synchronized (lifecycle) {
      if (newJobs != null || stopped) {
        return;
      }
      newJobs =
          notifier.subscribe(
              Channels.NEW_JOB,
              new Handler() {
                @Override
                void handle(String queue) {
                  onNewJob(queue);
                }

                @Override
                public void missed(PgNotifier.Gap gap) {
                  producers.values().forEach(Producer::notifyWork);
                }
              });
      control =
          notifier.subscribe(
              Channels.CONTROL,
              new Handler() {
                @Override
                void handle(String payload) {
                  onControl(payload);
                }

                @Override
                public void missed(PgNotifier.Gap gap) {
                  onReconnect.run();
                }
              });
    }
  }

  /** Ends both subscriptions (the last one on the Database gives its connection back). */
  public void stop() {
    PgNotifier.Subscription jobs;
    PgNotifier.Subscription cancels;
    synchronized (lifecycle) {
      stopped = true;
      jobs = newJobs;
      cancels = control;
    }
    if (jobs != null) {
      jobs.close();
      cancels.close();
    }
    confirmer.shutdownNow();
    try {
      confirmer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** How many cancel lookups ran (tests: a burst of control messages costs a few). */
  public long cancelLookups() {
    return cancelLookups.get();
  }

  /**
   * Waits until LISTEN is up for the first time, so a job submitted after this returns wakes a
   * producer. Returns whether it is up by then.
   */
  public boolean awaitListening(Duration timeout) {
    PgNotifier.Subscription jobs;
    PgNotifier.Subscription cancels;
    synchronized (lifecycle) {
      jobs = newJobs;
      cancels = control;
    }
    if (jobs == null) {
      return false;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    return jobs.awaitListening(timeout)
        && cancels.awaitListening(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
  }

  /** Whether both channels are listened on a live connection now. */
  public boolean isConnected() {
    synchronized (lifecycle) {
      return newJobs != null && newJobs.isListening() && control.isListening();
    }
  }

  /**
   * A subscriber whose every notification is a round of the supervised unit, and whose death (an
   * Error on a notifier thread) is the unit's, reported once.
   */
  private abstract class Handler implements PgNotifier.Subscriber {
    abstract void handle(String payload);

    @Override
    public final void notified(String payload) {
      unit.progress();
      handle(payload);
    }

    @Override
    public final void died(Throwable error) {
      if (deathReported.compareAndSet(false, true)) {
        unit.died(error);
      }
    }
  }

  private void onNewJob(String queue) {
    if ("*".equals(queue)) {
      producers.values().forEach(Producer::notified);
    } else {
      Producer producer = producers.get(queue);
      if (producer != null) {
        producer.notified();
      }
    }
  }

  private void onControl(String payload) {
    JsonNode message;
    try {
      message = Json.parse(payload);
    } catch (RuntimeException e) {
      LOG.debug("Ignoring a control message that is not JSON: {}", payload);
      return;
    }
    String action = message.path("action").asText();
    if ("queue".equals(action)) {
      // A queue's settings changed (pause, resume, limits): its producer reads the row again
      // before its next claim. A forged one costs a primary-key read; the row decides.
      Producer producer = producers.get(message.path("queue").asText(""));
      if (producer != null) {
        producer.settingsChanged();
      }
      return;
    }
    if (!"cancel".equals(action)) {
      return;
    }
    // Addressed to another worker: not ours to look up. (Omitting the address only costs the
    // sender's victim a lookup; the table decides.)
    String target = message.path("worker_id").asText(null);
    if (target != null && !target.equals(workerId)) {
      return;
    }
    UUID jobId;
    try {
      jobId = UUID.fromString(message.path("job_id").asText());
    } catch (IllegalArgumentException e) {
      LOG.debug("Ignoring a cancel message with a bad job id: {}", payload);
      return;
    }
    synchronized (pendingLock) {
      if (pendingCancels.size() >= MAX_PENDING_CANCELS) {
        return;
      }
      pendingCancels.add(jobId);
      if (confirmScheduled) {
        // The lookup queued or running takes this id in its batch, or the next one does.
        return;
      }
      confirmScheduled = true;
    }
    try {
      confirmer.execute(this::confirmPending);
    } catch (RejectedExecutionException e) {
      // Stopping: the job's own shutdown path decides it.
    }
  }

  /** Looks up every pending id in one statement, until none is left; cancels those confirmed. */
  private void confirmPending() {
    while (true) {
      List<UUID> batch;
      synchronized (pendingLock) {
        if (pendingCancels.isEmpty()) {
          confirmScheduled = false;
          return;
        }
        batch = List.copyOf(pendingCancels);
        pendingCancels.clear();
      }
      Set<UUID> confirmed;
      try {
        cancelLookups.incrementAndGet();
        confirmed = repository.confirmCancels(workerId, batch);
      } catch (RuntimeException e) {
        // The heartbeat reads the same mark and cancels the job a beat later.
        LOG.warn(
            "Could not confirm {} cancel request(s) now ({}); the next heartbeat picks them up",
            batch.size(),
            e.getMessage());
        continue;
      }
      for (UUID id : confirmed) {
        try {
          cancel.accept(id);
        } catch (RuntimeException e) {
          LOG.error("Job {}: cancelling it failed; the heartbeat tries again", id, e);
        }
      }
    }
  }
}
