package io.taskbroker.api.tracker;

import io.taskbroker.api.ResultView;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.internal.Channels;
import io.taskbroker.api.internal.Fatal;
import io.taskbroker.api.internal.JobEvents;
import io.taskbroker.api.internal.PgNotifier;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobQuery;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job tracker over {@code taskbroker.jobs}: every process that can reach the database sees the
 * same jobs. Workers move the jobs along; this class creates, reads, cancels and clears them.
 * Completion callbacks are driven by the job-events channel: on the first {@link #onCompletion} the
 * tracker subscribes to its Database's shared LISTEN connection ({@link PgNotifier}, one per
 * Database with the clients and workers on it). Thread-safe; {@link #close()} ends the subscription
 * and the callback thread.
 *
 * <p>Callbacks run on the tracker's own thread ({@value #CALLBACK_THREAD}), one at a time and in
 * the order the jobs finished, never on a thread of the notifier: a slow or blocking callback holds
 * up the later callbacks of this tracker, and nothing else. At most {@value #CALLBACK_BACKLOG}
 * notifications' worth of callbacks wait; beyond that the tracker stops taking events, the notifier
 * drops the ones it holds for it, and jobs finishing meanwhile are not reported (logged at WARN),
 * as after a lost LISTEN connection.
 */
public final class PostgresJobTracker implements JobTracker, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresJobTracker.class);
  static final String FILE_PATH = "file_path";
  static final String FILE_NAME = "file_name";
  static final String CALLBACK_THREAD = "taskbroker-tracker-callbacks";
  static final int CALLBACK_BACKLOG = 256;

  private final TaskBrokerClient client;
  private final String queue;
  private final List<Consumer<TrackedJob>> callbacks = new CopyOnWriteArrayList<>();
  private final Object listenerLock = new Object();
  // Guarded by listenerLock; created on the first onCompletion.
  private PgNotifier.Subscription events;
  private Callbacks callbackThread;

  public PostgresJobTracker(TaskBrokerClient client) {
    this(client, NewJob.DEFAULT_QUEUE);
  }

  /** A tracker whose new jobs go to {@code queue}. */
  public PostgresJobTracker(TaskBrokerClient client, String queue) {
    this.client = client;
    this.queue = queue;
  }

  @Override
  public UUID createJob(
      String pluginName, String filePath, String fileName, Map<String, ?> metadata) {
    Map<String, Object> payload = new LinkedHashMap<>();
    if (filePath != null) {
      payload.put(FILE_PATH, filePath);
    }
    if (fileName != null) {
      payload.put(FILE_NAME, fileName);
    }
    NewJob.Builder job = NewJob.builder(pluginName).queue(queue).payload(payload);
    if (metadata != null) {
      job.metadata(metadata);
    }
    return client.submit(job.build());
  }

  @Override
  public Optional<TrackedJob> get(UUID id) {
    return client.get(id).map(PostgresJobTracker::toTracked);
  }

  @Override
  public Optional<ResultView> resultView(UUID id) {
    return client.get(id).map(ResultView::of);
  }

  @Override
  public List<TrackedJob> runningJobs() {
    List<TrackedJob> running = new ArrayList<>();
    UUID after = null;
    while (true) {
      List<Job> page =
          client.list(
              JobQuery.builder()
                  .status(JobStatus.RUNNING)
                  .queue(queue)
                  .limit(JobQuery.MAX_LIMIT)
                  .afterId(after)
                  .build());
      page.forEach(job -> running.add(toTracked(job)));
      if (page.size() < JobQuery.MAX_LIMIT) {
        break;
      }
      after = page.get(page.size() - 1).id();
    }
    running.sort(Comparator.comparing(TrackedJob::startedAt));
    return running;
  }

  @Override
  public boolean cancel(UUID id) {
    Optional<Job> before = client.get(id);
    if (before.isEmpty() || before.get().status().isFinal()) {
      return false;
    }
    JobStatus after = client.cancel(id);
    return after == JobStatus.CANCELLED || after == JobStatus.RUNNING;
  }

  @Override
  public int clearFinished(boolean includeWithResults) {
    EnumSet<JobStatus> statuses =
        includeWithResults
            ? JobStatus.finalStates()
            : EnumSet.of(JobStatus.FAILED, JobStatus.CANCELLED);
    return Math.toIntExact(client.prune(Duration.ZERO, statuses, queue));
  }

  @Override
  public void onCompletion(Consumer<TrackedJob> callback) {
    callbacks.add(callback);
    synchronized (listenerLock) {
      if (events == null) {
        Callbacks executor = new Callbacks();
        callbackThread = executor;
        events =
            PgNotifier.of(client.database())
                .subscribe(
                    Channels.JOB_EVENTS,
                    new PgNotifier.Subscriber() {
                      @Override
                      public void notified(String payload) {
                        onEvents(executor, payload);
                      }

                      @Override
                      public void missed(PgNotifier.Gap gap) {
                        LOG.warn(
                            "Completion callbacks: job events may have been missed ({}); jobs that"
                                + " finished meanwhile are not reported",
                            gap);
                      }
                    });
      }
      // "From now on" means once LISTEN is up: an event sent before that reaches nobody.
      Duration timeout = client.database().config().connectTimeout();
      if (!events.awaitListening(timeout)) {
        LOG.warn(
            "Completion callbacks: LISTEN is not up after {}; jobs finishing before it is are"
                + " not reported",
            timeout);
      }
    }
  }

  @Override
  public void close() {
    synchronized (listenerLock) {
      if (events != null) {
        events.close();
        callbackThread.executor.shutdownNow();
        events = null;
        callbackThread = null;
      }
    }
  }

  /**
   * On the notifier's dispatch thread for this subscription: reads the finished jobs and hands
   * their callbacks to the callback thread, waiting while {@value #CALLBACK_BACKLOG} batches wait
   * there (only this subscription waits; the notifier reads on).
   */
  private void onEvents(Callbacks callbacks, String payload) {
    List<TrackedJob> finished = new ArrayList<>();
    try {
      // One read per notification (up to 150 jobs), not one per job.
      for (Job job : client.getAll(JobEvents.finishedIds(payload))) {
        if (queue.equals(job.queue())) {
          finished.add(toTracked(job));
        }
      }
    } catch (RuntimeException e) {
      LOG.warn("Cannot read finished jobs for completion callbacks: {}", e.getMessage());
      return;
    }
    if (!finished.isEmpty()) {
      callbacks.run(() -> finished.forEach(this::notifyCompletion));
    }
  }

  /** The tracker's callback thread, with a bounded backlog. Thread-safe. */
  private static final class Callbacks {
    private final ExecutorService executor =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, CALLBACK_THREAD);
              thread.setDaemon(true);
              return thread;
            });
    private final Semaphore backlog = new Semaphore(CALLBACK_BACKLOG);

    /** Runs the batch on the callback thread; waits while the backlog is full, until closed. */
    void run(Runnable batch) {
      if (!takeSlot()) {
        return;
      }
      try {
        executor.execute(
            () -> {
              try {
                batch.run();
              } finally {
                backlog.release();
              }
            });
      } catch (RejectedExecutionException e) {
        // Closed.
        backlog.release();
      }
    }

    private boolean takeSlot() {
      try {
        while (!executor.isShutdown()) {
          if (backlog.tryAcquire(100, TimeUnit.MILLISECONDS)) {
            return true;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return false;
    }
  }

  private void notifyCompletion(TrackedJob job) {
    for (Consumer<TrackedJob> callback : callbacks) {
      try {
        callback.accept(job);
      } catch (RuntimeException | Error e) {
        // The callback thread runs every later callback too: a user's AssertionError or
        // StackOverflowError must not end it. Only a JVM in trouble (out of memory) goes on up
        // (the executor then starts a new thread for the next batch).
        if (Fatal.isFatal(e)) {
          throw e;
        }
        LOG.error("Completion callback failed for job {}; the tracker goes on", job.id(), e);
      }
    }
  }

  static TrackedJob toTracked(Job job) {
    return new TrackedJob(
        job.id(),
        job.plugin(),
        text(job, FILE_PATH),
        text(job, FILE_NAME),
        job.metadata() == null ? Json.object() : job.metadata(),
        job.status(),
        job.createdAt(),
        job.startedAt(),
        job.completedAt(),
        job.result(),
        job.error());
  }

  private static String text(Job job, String field) {
    var node = job.payload().get(field);
    return node == null || node.isNull() ? null : node.asText();
  }
}
