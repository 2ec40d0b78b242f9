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
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job tracker over {@code taskbroker.jobs}: every process that can reach the database sees the
 * same jobs. Workers move the jobs along; this class creates, reads, cancels and clears them.
 * Completion callbacks are driven by the job-events channel (LISTEN), started on the first {@link
 * #onCompletion}. Thread-safe; {@link #close()} stops the listener.
 */
public final class PostgresJobTracker implements JobTracker, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresJobTracker.class);
  static final String FILE_PATH = "file_path";
  static final String FILE_NAME = "file_name";

  private final TaskBrokerClient client;
  private final String queue;
  private final List<Consumer<TrackedJob>> callbacks = new CopyOnWriteArrayList<>();
  private final Object listenerLock = new Object();
  private PgNotifier notifier;

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
            ? EnumSet.of(JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
            : EnumSet.of(JobStatus.FAILED, JobStatus.CANCELLED);
    return Math.toIntExact(client.prune(Duration.ZERO, statuses, queue));
  }

  @Override
  public void onCompletion(Consumer<TrackedJob> callback) {
    callbacks.add(callback);
    synchronized (listenerLock) {
      if (notifier == null) {
        notifier = new PgNotifier(client.database(), "tracker");
        notifier.subscribe(Channels.JOB_EVENTS, this::onEvents);
        notifier.start();
      }
      // "From now on" means once LISTEN is up: an event sent before that reaches nobody.
      Duration timeout = client.database().config().connectTimeout();
      if (!notifier.awaitListening(timeout)) {
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
      if (notifier != null) {
        notifier.stop();
        notifier = null;
      }
    }
  }

  private void onEvents(String payload) {
    List<Job> finished;
    try {
      // One read per notification (up to 150 jobs), not one per job.
      finished = client.getAll(JobEvents.finishedIds(payload));
    } catch (RuntimeException e) {
      LOG.warn("Cannot read finished jobs for completion callbacks: {}", e.getMessage());
      return;
    }
    for (Job job : finished) {
      if (queue.equals(job.queue())) {
        notifyCompletion(toTracked(job));
      }
    }
  }

  private void notifyCompletion(TrackedJob job) {
    for (Consumer<TrackedJob> callback : callbacks) {
      try {
        callback.accept(job);
      } catch (RuntimeException | Error e) {
        // The notifier thread delivers every later event too: a user's AssertionError or
        // StackOverflowError must not end it. Only a JVM in trouble (out of memory) goes on up.
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
