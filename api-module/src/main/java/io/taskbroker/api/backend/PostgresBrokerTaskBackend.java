package io.taskbroker.api.backend;

import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.spi.InProcessWorker;
import io.taskbroker.api.spi.InProcessWorkerProvider;
import io.taskbroker.api.spi.InProcessWorkerSpec;
import io.taskbroker.api.tracker.JobTracker;
import io.taskbroker.api.tracker.PostgresJobTracker;
import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.NewJob;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Persists each task as a job in PostgreSQL; a worker pool (any process, any host) runs it. {@link
 * #submit} returns once the job is committed. Thread-safe.
 *
 * <p>Its jobs go to a queue of its own, {@value #DEFAULT_QUEUE} unless configured, so workers of
 * other applications on the same database do not see them. A task dict can set its attempts, queue,
 * delay or run-at time, priority and unique key through the reserved keys of {@link Tasks} ({@code
 * _taskbroker_max_attempts}, ...); they are stripped from the payload.
 *
 * <p>With an executor set, {@link #initialize()} also starts a worker in this process (from the
 * {@code taskbroker-worker} artifact, found by ServiceLoader), so it drops in where {@link
 * AsyncFireAndTrackBackend} was. That worker runs only this backend's queue, and in it only the
 * {@linkplain Builder#taskTypes task types} the executor handles: jobs of other plugins in the
 * queue stay pending for a worker that has them. Without declared task types it runs every job of
 * its queue (give the queue to this application alone). {@link #shutdown(Duration)} then waits,
 * within the drain timeout, for the tasks this backend submitted to that worker's queue and types,
 * and reports what is left: {@link ShutdownReport#abandoned()} were running here and were handed
 * back to pending, {@link ShutdownReport#pending()} never ran here and are still queued; neither is
 * lost, any worker runs them later.
 *
 * <p>Without an executor it only submits, and {@code taskbroker worker --queues taskbroker-backend}
 * processes (or whatever queue it was given) run the jobs: its shutdown has nothing to drain and
 * reports clean.
 *
 * <p>A failure to persist (database unreachable) is thrown at the submitter: the job does not
 * exist, and silently dropping it would lose it.
 */
public final class PostgresBrokerTaskBackend implements TaskBackend {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresBrokerTaskBackend.class);
  public static final int DEFAULT_CONCURRENCY = 4;

  /** The queue a broker backend uses unless told otherwise: its own, not workers' "default". */
  public static final String DEFAULT_QUEUE = "taskbroker-backend";

  // How often shutdown re-reads the submitted tasks' states while it waits: a drain is rare and
  // short, and a poll reads only the tasks still outstanding.
  private static final Duration DRAIN_POLL = Duration.ofMillis(100);
  // Submitted tasks are remembered until seen finished; the set is swept (one read per 1,000 ids)
  // whenever it doubles past this, so it stays within twice the tasks really outstanding.
  private static final int SWEEP_THRESHOLD = 1024;
  private static final int READ_CHUNK = 1000;

  private final TaskBrokerClient client;
  private final String queue;
  private final int concurrency;
  private final Set<String> taskTypes;
  private final PostgresJobTracker tracker;
  private final Object lifecycle = new Object();
  private final Object shutdownLock = new Object();
  private final Set<UUID> outstanding = ConcurrentHashMap.newKeySet();
  private final Set<String> warnedTypes = ConcurrentHashMap.newKeySet();
  private final ReentrantLock sweepLock = new ReentrantLock();
  private final ReentrantReadWriteLock submitGate = new ReentrantReadWriteLock();
  private volatile int sweepAt = SWEEP_THRESHOLD;
  private volatile TaskExecutor executor;
  private boolean initialized;
  private boolean closing;
  private InProcessWorker worker;
  private ShutdownReport shutdownReport;

  /** A backend on {@value #DEFAULT_QUEUE} whose in-process worker runs every job of it. */
  public PostgresBrokerTaskBackend(TaskBrokerClient client) {
    this(builder(client));
  }

  /**
   * @param queue the queue tasks go to (and the in-process worker serves)
   * @param concurrency how many tasks the in-process worker runs at once
   */
  public PostgresBrokerTaskBackend(TaskBrokerClient client, String queue, int concurrency) {
    this(builder(client).queue(queue).concurrency(concurrency));
  }

  private PostgresBrokerTaskBackend(Builder builder) {
    if (builder.client == null) {
      throw new InvalidConfigException("client must not be null");
    }
    if (builder.concurrency < 1) {
      throw new IllegalArgumentException(
          "concurrency must be at least 1, got " + builder.concurrency);
    }
    if (builder.queue == null || builder.queue.isBlank() || builder.queue.length() > 128) {
      throw new InvalidConfigException(
          "queue must be a non-empty name of at most 128 characters, got '" + builder.queue + "'");
    }
    for (String type : builder.taskTypes) {
      if (type == null || type.isBlank() || type.length() > 128) {
        throw new InvalidConfigException(
            "task types must be non-empty names of at most 128 characters, got '" + type + "'");
      }
    }
    this.client = builder.client;
    this.queue = builder.queue;
    this.concurrency = builder.concurrency;
    this.taskTypes = Set.copyOf(builder.taskTypes);
    this.tracker = new PostgresJobTracker(client, queue);
  }

  public static Builder builder(TaskBrokerClient client) {
    return new Builder(client);
  }

  /** Not thread-safe; build once. */
  public static final class Builder {
    private final TaskBrokerClient client;
    private String queue = DEFAULT_QUEUE;
    private int concurrency = DEFAULT_CONCURRENCY;
    private final Set<String> taskTypes = new LinkedHashSet<>();

    private Builder(TaskBrokerClient client) {
      this.client = client;
    }

    /** The queue tasks go to and the in-process worker serves; default {@value #DEFAULT_QUEUE}. */
    public Builder queue(String queue) {
      this.queue = queue;
      return this;
    }

    /** How many tasks the in-process worker runs at once; default {@value #DEFAULT_CONCURRENCY}. */
    public Builder concurrency(int concurrency) {
      this.concurrency = concurrency;
      return this;
    }

    /**
     * The task types the executor handles: the in-process worker claims only jobs of these plugins
     * from its queue. Default: none declared, every job of the queue.
     */
    public Builder taskTypes(Collection<String> types) {
      this.taskTypes.addAll(types);
      return this;
    }

    public Builder taskTypes(String... types) {
      return taskTypes(List.of(types));
    }

    /**
     * @throws InvalidConfigException naming the bad value
     */
    public PostgresBrokerTaskBackend build() {
      return new PostgresBrokerTaskBackend(this);
    }
  }

  public String queue() {
    return queue;
  }

  /** The task types the in-process worker runs; empty means every type in its queue. */
  public Set<String> taskTypes() {
    return taskTypes;
  }

  @Override
  public void setExecutor(TaskExecutor executor) {
    this.executor = executor;
  }

  @Override
  public void initialize() {
    synchronized (lifecycle) {
      if (closing) {
        // A worker started now would never be stopped.
        throw new BackendStateException("broker backend is shut down; it cannot be initialized");
      }
      if (initialized) {
        return;
      }
      TaskExecutor current = executor;
      if (current != null) {
        InProcessWorkerProvider provider =
            ServiceLoader.load(InProcessWorkerProvider.class)
                .findFirst()
                .orElseThrow(
                    () ->
                        new BackendStateException(
                            "PostgresBrokerTaskBackend with an executor runs an in-process"
                                + " worker, and none is on the classpath: add the"
                                + " io.taskbroker:taskbroker-worker artifact, or submit without"
                                + " an executor and run `taskbroker worker --queues "
                                + queue
                                + "` processes"));
        worker =
            provider.start(
                new InProcessWorkerSpec(client.database(), queue, concurrency, current, taskTypes));
        LOG.info(
            "Broker backend started an in-process worker for queue '{}' ({} at once), running {}",
            queue,
            concurrency,
            taskTypes.isEmpty() ? "every task type in it" : "task types " + taskTypes);
      }
      initialized = true;
    }
  }

  @Override
  public UUID submit(Map<String, ?> task) {
    Tasks.Parsed parsed = Tasks.parse(task);
    NewJob job = parsed.toJob(queue);
    // Held from the check to the id being remembered, so a shutdown that starts meanwhile waits
    // for this task too rather than missing it.
    submitGate.readLock().lock();
    try {
      boolean hasWorker;
      synchronized (lifecycle) {
        if (closing) {
          throw new BackendStateException("broker backend is shut down; the task was not accepted");
        }
        if (!initialized) {
          LOG.warn("submit() before initialize() on the broker backend; initializing now");
          initialize();
        }
        hasWorker = worker != null;
      }
      boolean runsHere = hasWorker && runsHere(job);
      if (hasWorker && !runsHere) {
        warnOnce(job);
      }
      UUID id = client.submit(job);
      if (runsHere) {
        outstanding.add(id);
      }
      if (runsHere && outstanding.size() >= sweepAt) {
        sweep();
      }
      return id;
    } finally {
      submitGate.readLock().unlock();
    }
  }

  private boolean runsHere(NewJob job) {
    return job.queue().equals(queue) && (taskTypes.isEmpty() || taskTypes.contains(job.plugin()));
  }

  private void warnOnce(NewJob job) {
    String key = job.queue() + "/" + job.plugin();
    if (warnedTypes.add(key)) {
      LOG.warn(
          "Broker backend: tasks of type '{}' in queue '{}' are not run by its in-process worker"
              + " (queue '{}', types {}); they wait for a worker that has plugin '{}'",
          job.plugin(),
          job.queue(),
          queue,
          taskTypes.isEmpty() ? "any" : taskTypes,
          job.plugin());
    }
  }

  /** Forgets submitted tasks that have finished; one thread at a time, the others go on. */
  private void sweep() {
    if (!sweepLock.tryLock()) {
      return;
    }
    try {
      unfinished(List.copyOf(outstanding));
      sweepAt = Math.max(SWEEP_THRESHOLD, 2 * outstanding.size());
    } catch (RuntimeException e) {
      LOG.debug("Broker backend: could not sweep finished tasks: {}", e.getMessage());
    } finally {
      sweepLock.unlock();
    }
  }

  /** Reads these submitted tasks, forgets the finished ones, and returns the rest. */
  private List<Job> unfinished(List<UUID> ids) {
    List<Job> left = new ArrayList<>();
    for (int from = 0; from < ids.size(); from += READ_CHUNK) {
      List<UUID> chunk = ids.subList(from, Math.min(ids.size(), from + READ_CHUNK));
      Set<UUID> seen = new HashSet<>();
      for (Job job : client.getAll(chunk)) {
        seen.add(job.id());
        if (job.status().isFinal()) {
          outstanding.remove(job.id());
        } else {
          left.add(job);
        }
      }
      // A job no longer in the table was pruned or deleted: nothing to wait for.
      chunk.stream().filter(id -> !seen.contains(id)).forEach(outstanding::remove);
    }
    return left;
  }

  /** Jobs the in-process worker is running now (0 without an executor). */
  public int inflightCount() {
    InProcessWorker current;
    synchronized (lifecycle) {
      current = worker;
    }
    return current == null ? 0 : current.runningCount();
  }

  /**
   * Stops accepting tasks. With an in-process worker: waits up to {@code drainTimeout} for the
   * tasks this backend submitted for it (pending or running) to finish, then stops the worker (what
   * it still runs is handed back to pending) and reports the tasks left. Without one: nothing to
   * drain. Idempotent; a concurrent call waits for the first and returns its report.
   */
  @Override
  public ShutdownReport shutdown(Duration drainTimeout) {
    synchronized (shutdownLock) {
      InProcessWorker current;
      submitGate.writeLock().lock();
      try {
        synchronized (lifecycle) {
          if (shutdownReport != null) {
            return shutdownReport;
          }
          closing = true;
          current = worker;
        }
      } finally {
        submitGate.writeLock().unlock();
      }
      ShutdownReport report =
          current == null ? ShutdownReport.clean() : drain(current, drainTimeout);
      tracker.close();
      synchronized (lifecycle) {
        shutdownReport = report;
        return report;
      }
    }
  }

  private ShutdownReport drain(InProcessWorker current, Duration drainTimeout) {
    long deadline = System.nanoTime() + drainTimeout.toNanos();
    Instant deadlineInstant = Instant.now().plus(drainTimeout);
    try {
      awaitOutstanding(deadline, deadlineInstant);
    } catch (RuntimeException e) {
      LOG.warn("Broker backend shutdown: cannot read its tasks' states: {}", e.getMessage());
    }
    ShutdownReport stopped = current.shutdown(remaining(deadline));
    Set<UUID> abandoned = new LinkedHashSet<>(stopped.abandoned());
    List<UUID> pending = new ArrayList<>();
    try {
      for (Job job : unfinished(List.copyOf(outstanding))) {
        if (!abandoned.contains(job.id())) {
          pending.add(job.id());
        }
      }
    } catch (RuntimeException e) {
      // Without the database we cannot tell which finished: report every one not seen finished.
      LOG.warn("Broker backend shutdown: cannot read its tasks' states: {}", e.getMessage());
      outstanding.stream().filter(id -> !abandoned.contains(id)).forEach(pending::add);
    }
    ShutdownReport report = new ShutdownReport(List.copyOf(abandoned), pending);
    if (report.drained()) {
      LOG.info("Broker backend shut down; every task it submitted finished");
    } else {
      LOG.warn(
          "Broker backend shut down after {}: {} task(s) were running and are handed back to"
              + " pending, {} never ran here and are still queued; any worker on queue '{}' runs"
              + " them",
          drainTimeout,
          abandoned.size(),
          pending.size(),
          queue);
    }
    return report;
  }

  /** Waits until no submitted task is unfinished, or none can finish before the deadline. */
  private void awaitOutstanding(long deadline, Instant deadlineInstant) {
    while (true) {
      List<Job> left = unfinished(List.copyOf(outstanding));
      if (left.isEmpty() || System.nanoTime() >= deadline) {
        return;
      }
      // Delayed tasks (and retries in backoff) not due before the deadline cannot finish in
      // time: waiting for them would only spend the whole drain timeout.
      boolean anyDue =
          left.stream()
              .anyMatch(
                  job ->
                      job.status() == JobStatus.RUNNING
                          || job.runAt() == null
                          || !job.runAt().isAfter(deadlineInstant));
      if (!anyDue) {
        return;
      }
      try {
        Thread.sleep(Math.min(DRAIN_POLL.toMillis(), Math.max(1, remaining(deadline).toMillis())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static Duration remaining(long deadline) {
    return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
  }

  @Override
  public JobTracker tracker() {
    return tracker;
  }
}
