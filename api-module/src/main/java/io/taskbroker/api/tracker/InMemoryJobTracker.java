package io.taskbroker.api.tracker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.ResultView;
import io.taskbroker.api.internal.Fatal;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job tracker in this process's memory, for the sync and async backends. Thread-safe: every
 * transition is an atomic replace of an immutable {@link TrackedJob}, and a final state is never
 * left (a late {@code complete} after a cancel changes nothing).
 *
 * <p>Memory: unfinished jobs are always kept; finished ones only up to {@code keepFinished} (the
 * oldest finished job is forgotten first). {@link #InMemoryJobTracker()} keeps every finished job
 * until {@link #clearFinished} (as the origin's tracker does); the backends keep {@value
 * #DEFAULT_BACKEND_KEEP_FINISHED}.
 */
public final class InMemoryJobTracker implements JobTracker {
  private static final Logger LOG = LoggerFactory.getLogger(InMemoryJobTracker.class);

  /** How many finished tasks a sync or async backend's tracker keeps by default. */
  public static final int DEFAULT_BACKEND_KEEP_FINISHED = 1000;

  /** Keep every finished job until it is cleared. */
  public static final int KEEP_ALL_FINISHED = Integer.MAX_VALUE;

  private final Map<UUID, TrackedJob> jobs = new ConcurrentHashMap<>();
  private final List<Consumer<TrackedJob>> callbacks = new CopyOnWriteArrayList<>();
  // Finished ids, oldest first, at most keepFinished of them; a cleared job's id may linger here
  // until trimmed, which only ever forgets jobs early, never keeps more than the bound.
  private final ArrayDeque<UUID> finishedOrder = new ArrayDeque<>();
  private final Clock clock;
  private final int keepFinished;
  private volatile Consumer<UUID> runningCanceller = id -> {};

  /** Keeps every finished job until {@link #clearFinished} clears it. */
  public InMemoryJobTracker() {
    this(Clock.systemUTC());
  }

  public InMemoryJobTracker(Clock clock) {
    this(clock, KEEP_ALL_FINISHED);
  }

  /**
   * @param keepFinished how many finished jobs to keep (0: forget each as it finishes; its
   *     completion callbacks still see it)
   */
  public InMemoryJobTracker(int keepFinished) {
    this(Clock.systemUTC(), keepFinished);
  }

  public InMemoryJobTracker(Clock clock, int keepFinished) {
    if (keepFinished < 0) {
      throw new IllegalArgumentException("keepFinished must not be negative, got " + keepFinished);
    }
    this.clock = clock;
    this.keepFinished = keepFinished;
  }

  /** Jobs held now: every unfinished one, and the finished ones still kept. */
  public int size() {
    return jobs.size();
  }

  /** What to call to stop a running job when it is cancelled (the backend interrupts it). */
  public void setRunningCanceller(Consumer<UUID> canceller) {
    this.runningCanceller = canceller;
  }

  @Override
  public UUID createJob(
      String pluginName, String filePath, String fileName, Map<String, ?> metadata) {
    return create(UUID.randomUUID(), pluginName, filePath, fileName, metadata);
  }

  /** Creates a pending job with a given id (the backends choose ids themselves). */
  public UUID create(
      UUID id, String pluginName, String filePath, String fileName, Map<String, ?> metadata) {
    ObjectNode meta = metadata == null ? Json.object() : Json.fromMap(metadata);
    TrackedJob job =
        new TrackedJob(
            id,
            pluginName,
            filePath,
            fileName,
            meta,
            JobStatus.PENDING,
            clock.instant(),
            null,
            null,
            null,
            null);
    if (jobs.putIfAbsent(id, job) != null) {
      throw new IllegalArgumentException("job " + id + " is already tracked");
    }
    return id;
  }

  /** pending → running. Returns false when the job is not pending (e.g. cancelled first). */
  public boolean markRunning(UUID id) {
    return transition(id, JobStatus.RUNNING, null, null) != null;
  }

  /** running → completed with this result (anything Jackson can write). */
  public boolean complete(UUID id, Object result) {
    JsonNode node = result == null ? null : Json.toTree(result);
    return transition(id, JobStatus.COMPLETED, node, null) != null;
  }

  /** → failed with this error text. */
  public boolean fail(UUID id, String error) {
    return transition(id, JobStatus.FAILED, null, error) != null;
  }

  @Override
  public Optional<TrackedJob> get(UUID id) {
    return Optional.ofNullable(jobs.get(id));
  }

  @Override
  public Optional<ResultView> resultView(UUID id) {
    return get(id).map(TrackedJob::resultView);
  }

  @Override
  public List<TrackedJob> runningJobs() {
    return jobs.values().stream()
        .filter(job -> job.status() == JobStatus.RUNNING)
        .sorted(Comparator.comparing(TrackedJob::startedAt))
        .toList();
  }

  @Override
  public boolean cancel(UUID id) {
    TrackedJob before = jobs.get(id);
    if (before == null || before.status().isFinal()) {
      return false;
    }
    TrackedJob after = transition(id, JobStatus.CANCELLED, null, null);
    if (after == null) {
      return false;
    }
    if (before.status() == JobStatus.RUNNING) {
      try {
        runningCanceller.accept(id);
      } catch (RuntimeException e) {
        LOG.warn("Could not interrupt cancelled job {}: {}", id, e.getMessage());
      }
    }
    return true;
  }

  @Override
  public int clearFinished(boolean includeWithResults) {
    int cleared = 0;
    for (TrackedJob job : jobs.values()) {
      boolean finished = job.status().isFinal();
      // As documented (and as the Postgres tracker does): completed jobs keep their results,
      // even a null one; failed and cancelled jobs have none to keep.
      boolean hasResult = job.status() == JobStatus.COMPLETED;
      if (finished && (includeWithResults || !hasResult) && jobs.remove(job.id(), job)) {
        cleared++;
      }
    }
    return cleared;
  }

  @Override
  public void onCompletion(Consumer<TrackedJob> callback) {
    callbacks.add(callback);
  }

  /** Applies a transition atomically; returns the new value, or null when it is not allowed. */
  private TrackedJob transition(UUID id, JobStatus target, JsonNode result, String error) {
    TrackedJob[] changed = new TrackedJob[1];
    jobs.computeIfPresent(
        id,
        (key, job) -> {
          if (!allowed(job.status(), target)) {
            return job;
          }
          var now = clock.instant();
          changed[0] =
              new TrackedJob(
                  job.id(),
                  job.pluginName(),
                  job.filePath(),
                  job.fileName(),
                  job.metadata(),
                  target,
                  job.createdAt(),
                  target == JobStatus.RUNNING ? now : job.startedAt(),
                  target.isFinal() ? now : null,
                  result,
                  error);
          return changed[0];
        });
    if (changed[0] != null && target.isFinal()) {
      // Recorded (and kept or forgotten) before any callback runs, so a callback that throws
      // cannot leave the job unrecorded.
      retainFinished(id);
      notifyCompletion(changed[0]);
    }
    return changed[0];
  }

  private static boolean allowed(JobStatus from, JobStatus to) {
    return switch (from) {
      case PENDING -> to == JobStatus.RUNNING || to.isFinal();
      case RUNNING -> to.isFinal();
      case COMPLETED, FAILED, CANCELLED -> false;
    };
  }

  private void retainFinished(UUID id) {
    if (keepFinished == KEEP_ALL_FINISHED) {
      return;
    }
    synchronized (finishedOrder) {
      finishedOrder.addLast(id);
      while (finishedOrder.size() > keepFinished) {
        UUID oldest = finishedOrder.pollFirst();
        jobs.computeIfPresent(oldest, (key, job) -> job.status().isFinal() ? null : job);
      }
    }
  }

  private void notifyCompletion(TrackedJob job) {
    for (Consumer<TrackedJob> callback : callbacks) {
      try {
        callback.accept(job);
      } catch (RuntimeException | Error e) {
        // An AssertionError or StackOverflowError in a user's callback is the callback's bug:
        // the job is recorded already and the other callbacks still run. Only a JVM in trouble
        // (out of memory) goes on up.
        if (Fatal.isFatal(e)) {
          throw e;
        }
        LOG.error("Completion callback failed for job {}; the tracker goes on", job.id(), e);
      }
    }
  }
}
