package io.taskbroker.api.backend;

import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.spi.InProcessWorker;
import io.taskbroker.api.spi.InProcessWorkerProvider;
import io.taskbroker.api.spi.InProcessWorkerSpec;
import io.taskbroker.api.tracker.JobTracker;
import io.taskbroker.api.tracker.PostgresJobTracker;
import io.taskbroker.common.NewJob;
import java.time.Duration;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Persists each task as a job in PostgreSQL; a worker pool (any process, any host) runs it. {@link
 * #submit} returns once the job is committed. With an executor set, {@link #initialize()} also
 * starts a worker in this process that runs this backend's queue through the executor, so it drops
 * in where {@link AsyncFireAndTrackBackend} was. Thread-safe.
 *
 * <p>A failure to persist (database unreachable) is thrown at the submitter: the job does not
 * exist, and silently dropping it would lose it.
 */
public final class PostgresBrokerTaskBackend implements TaskBackend {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresBrokerTaskBackend.class);
  public static final int DEFAULT_CONCURRENCY = 4;

  private final TaskBrokerClient client;
  private final String queue;
  private final int concurrency;
  private final PostgresJobTracker tracker;
  private final Object lifecycle = new Object();
  private volatile TaskExecutor executor;
  private boolean initialized;
  private InProcessWorker worker;
  private ShutdownReport shutdownReport;

  public PostgresBrokerTaskBackend(TaskBrokerClient client) {
    this(client, NewJob.DEFAULT_QUEUE, DEFAULT_CONCURRENCY);
  }

  /**
   * @param queue the queue tasks go to (and the in-process worker serves)
   * @param concurrency how many tasks the in-process worker runs at once
   */
  public PostgresBrokerTaskBackend(TaskBrokerClient client, String queue, int concurrency) {
    if (concurrency < 1) {
      throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
    }
    this.client = client;
    this.queue = queue;
    this.concurrency = concurrency;
    this.tracker = new PostgresJobTracker(client, queue);
  }

  @Override
  public void setExecutor(TaskExecutor executor) {
    this.executor = executor;
  }

  @Override
  public void initialize() {
    synchronized (lifecycle) {
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
                                + " an executor and run `taskbroker worker` processes"));
        worker =
            provider.start(new InProcessWorkerSpec(client.database(), queue, concurrency, current));
        LOG.info(
            "Broker backend started an in-process worker for queue '{}' ({} at once)",
            queue,
            concurrency);
      }
      initialized = true;
    }
  }

  @Override
  public UUID submit(Map<String, ?> task) {
    String type = Tasks.type(task);
    var payload = Tasks.payload(task);
    synchronized (lifecycle) {
      if (shutdownReport != null) {
        throw new BackendStateException("broker backend is shut down; the task was not accepted");
      }
      if (!initialized) {
        LOG.warn("submit() before initialize() on the broker backend; initializing now");
        initialize();
      }
    }
    return client.submit(NewJob.builder(type).queue(queue).payload(payload).build());
  }

  /** Jobs the in-process worker is running now (0 without an executor). */
  public int inflightCount() {
    InProcessWorker current;
    synchronized (lifecycle) {
      current = worker;
    }
    return current == null ? 0 : current.runningCount();
  }

  @Override
  public ShutdownReport shutdown(Duration drainTimeout) {
    InProcessWorker current;
    synchronized (lifecycle) {
      if (shutdownReport != null) {
        return shutdownReport;
      }
      current = worker;
    }
    ShutdownReport report =
        current == null ? ShutdownReport.clean() : current.shutdown(drainTimeout);
    tracker.close();
    synchronized (lifecycle) {
      shutdownReport = report;
      return report;
    }
  }

  @Override
  public JobTracker tracker() {
    return tracker;
  }
}
