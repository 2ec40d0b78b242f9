package io.taskbroker.api.internal;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobNotFoundException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.JobRepository;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Completes futures when their jobs reach a final state. Driven by LISTEN on the events channel (a
 * notification names the job); a slow poll of every awaited job covers lost notifications and
 * reconnects. Thread-safe.
 *
 * <p>An event is a hint (anyone who can connect may send one): it only makes the awaiter read the
 * jobs it names, through {@code taskbroker.job_statuses} and {@code taskbroker.get_job}, which a
 * submitter login may call for its own jobs. Events arriving while a read is queued share it, so a
 * burst of them costs a few reads, not one each.
 *
 * <p>It subscribes to its Database's shared {@link PgNotifier}; the notifier's dispatch thread only
 * records the ids and hands the reads to this awaiter's own thread. A gap in the notifications (a
 * reconnect, or this awaiter falling behind) makes it read every awaited job at once.
 */
public final class JobAwaiter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(JobAwaiter.class);

  private final JobRepository jobs;
  private final PgNotifier.Subscription events;
  private final Duration pollInterval;
  private final Map<UUID, List<CompletableFuture<Job>>> waiting = new ConcurrentHashMap<>();
  private final ScheduledExecutorService scheduler;
  // Ids named by events, not yet read; guarded by itself.
  private final Set<UUID> eventIds = new LinkedHashSet<>();
  private boolean eventReadScheduled;

  public JobAwaiter(JobRepository jobs, PgNotifier notifier, Duration pollInterval) {
    this.jobs = jobs;
    this.pollInterval = pollInterval;
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "taskbroker-awaiter");
              thread.setDaemon(true);
              return thread;
            });
    this.events =
        notifier.subscribe(
            Channels.JOB_EVENTS,
            new PgNotifier.Subscriber() {
              @Override
              public void notified(String payload) {
                onEvents(payload);
              }

              @Override
              public void missed(PgNotifier.Gap gap) {
                // Events sent meanwhile are gone: read every awaited job.
                execute(JobAwaiter.this::pollAll);
              }
            });
    scheduler.scheduleWithFixedDelay(
        this::pollAll, pollInterval.toMillis(), pollInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Waits until the events channel is listened for the first time; a job finishing after that is
   * seen by its event rather than by the slow poll. Returns whether it is by then.
   */
  public boolean awaitListening(Duration timeout) {
    return events.awaitListening(timeout);
  }

  /** A future completed with the job once it is final; completed at once if it already is. */
  public CompletableFuture<Job> await(UUID id) {
    CompletableFuture<Job> future = new CompletableFuture<>();
    waiting
        .computeIfAbsent(id, key -> new java.util.concurrent.CopyOnWriteArrayList<>())
        .add(future);
    future.whenComplete((job, error) -> forget(id, future));
    // Read once after registering: a job that finished before we listened sends no more events.
    scheduler.execute(() -> check(id));
    return future;
  }

  private void onEvents(String payload) {
    synchronized (eventIds) {
      for (UUID id : JobEvents.finishedIds(payload)) {
        if (waiting.containsKey(id)) {
          eventIds.add(id);
        }
      }
      if (eventIds.isEmpty() || eventReadScheduled) {
        return;
      }
      eventReadScheduled = true;
    }
    execute(this::readEventIds);
  }

  private void execute(Runnable task) {
    try {
      scheduler.execute(task);
    } catch (RejectedExecutionException e) {
      // Closed.
    }
  }

  /** Reads every awaited job events named since the last read, once each. */
  private void readEventIds() {
    List<UUID> ids;
    synchronized (eventIds) {
      ids = new ArrayList<>(eventIds);
      eventIds.clear();
      eventReadScheduled = false;
    }
    ids.forEach(this::check);
  }

  private void check(UUID id) {
    if (!waiting.containsKey(id)) {
      return;
    }
    try {
      Optional<Job> job = jobs.get(id);
      if (job.isEmpty()) {
        fail(id, new JobNotFoundException(id));
      } else if (job.get().status().isFinal()) {
        complete(id, job.get());
      }
    } catch (RuntimeException e) {
      // The database is away; the next poll tries again.
      LOG.debug("await: cannot read job {} now: {}", id, e.getMessage());
    }
  }

  private void pollAll() {
    if (waiting.isEmpty()) {
      return;
    }
    checkFinished(new ArrayList<>(waiting.keySet()));
  }

  /** Completes the futures of those of these jobs that are final (or gone), in one status read. */
  private void checkFinished(List<UUID> ids) {
    if (ids.isEmpty()) {
      return;
    }
    try {
      Map<UUID, JobStatus> statuses = jobs.statuses(ids);
      for (UUID id : ids) {
        JobStatus status = statuses.get(id);
        if (status == null || status.isFinal()) {
          check(id);
        }
      }
    } catch (RuntimeException e) {
      LOG.debug("await: poll failed, trying again in {}: {}", pollInterval, e.getMessage());
    }
  }

  private void complete(UUID id, Job job) {
    List<CompletableFuture<Job>> futures = waiting.remove(id);
    if (futures != null) {
      futures.forEach(future -> future.complete(job));
    }
  }

  private void fail(UUID id, RuntimeException error) {
    List<CompletableFuture<Job>> futures = waiting.remove(id);
    if (futures != null) {
      futures.forEach(future -> future.completeExceptionally(error));
    }
  }

  private void forget(UUID id, CompletableFuture<Job> future) {
    waiting.computeIfPresent(
        id,
        (key, futures) -> {
          futures.remove(future);
          return futures.isEmpty() ? null : futures;
        });
  }

  public int awaitedCount() {
    return waiting.size();
  }

  @Override
  public void close() {
    events.close();
    scheduler.shutdownNow();
    waiting.values().forEach(futures -> futures.forEach(future -> future.cancel(false)));
    waiting.clear();
  }
}
