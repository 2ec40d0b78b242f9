package io.taskbroker.api.internal;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobNotFoundException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.JobRepository;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Completes futures when their jobs reach a final state. Driven by LISTEN on the events channel (a
 * notification names the job); a slow poll of every awaited job covers lost notifications and
 * reconnects. Thread-safe.
 */
public final class JobAwaiter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(JobAwaiter.class);

  private final JobRepository jobs;
  private final PgNotifier notifier;
  private final Duration pollInterval;
  private final Map<UUID, List<CompletableFuture<Job>>> waiting = new ConcurrentHashMap<>();
  private final ScheduledExecutorService scheduler;

  public JobAwaiter(JobRepository jobs, PgNotifier notifier, Duration pollInterval) {
    this.jobs = jobs;
    this.notifier = notifier;
    this.pollInterval = pollInterval;
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "taskbroker-awaiter");
              thread.setDaemon(true);
              return thread;
            });
    notifier.subscribe(Channels.JOB_EVENTS, this::onEvents);
    notifier.onReconnect(() -> scheduler.execute(this::pollAll));
    scheduler.scheduleWithFixedDelay(
        this::pollAll, pollInterval.toMillis(), pollInterval.toMillis(), TimeUnit.MILLISECONDS);
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
    for (UUID id : JobEvents.finishedIds(payload)) {
      if (waiting.containsKey(id)) {
        scheduler.execute(() -> check(id));
      }
    }
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
    try {
      List<UUID> ids = new ArrayList<>(waiting.keySet());
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
    scheduler.shutdownNow();
    waiting.values().forEach(futures -> futures.forEach(future -> future.cancel(false)));
    waiting.clear();
  }
}
