package io.taskbroker.api.backend;

import io.taskbroker.api.tracker.InMemoryJobTracker;
import io.taskbroker.api.tracker.JobTracker;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each task inline, in the submitting thread; for tests and command-line tools. {@link
 * #submit} returns once the task has finished. Thread-safe.
 */
public final class SyncTaskBackend implements TaskBackend {
  private static final Logger LOG = LoggerFactory.getLogger(SyncTaskBackend.class);

  private final InMemoryJobTracker tracker;
  private volatile TaskExecutor executor;
  private volatile boolean initialized;
  private volatile boolean shutDown;

  public SyncTaskBackend() {
    this(new InMemoryJobTracker());
  }

  public SyncTaskBackend(InMemoryJobTracker tracker) {
    this.tracker = tracker;
  }

  @Override
  public void setExecutor(TaskExecutor executor) {
    this.executor = executor;
  }

  @Override
  public void initialize() {
    initialized = true;
  }

  @Override
  public UUID submit(Map<String, ?> task) {
    if (shutDown) {
      throw new BackendStateException("sync backend is shut down; the task was not run");
    }
    String type = Tasks.type(task);
    var payload = Tasks.payload(task);
    if (!initialized) {
      LOG.warn("submit() before initialize() on the sync backend; initializing now");
      initialize();
    }
    UUID id = UUID.randomUUID();
    tracker.create(id, type, text(task, "file_path"), text(task, "file_name"), Map.of());
    TaskExecutor current = executor;
    if (current == null) {
      LOG.error("Task {} ({}) has no executor to run it: call setExecutor first", id, type);
      tracker.fail(id, "no executor set on the backend");
      return id;
    }
    tracker.markRunning(id);
    try {
      Object result = current.execute(Tasks.asTask(type, payload));
      tracker.complete(id, result);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.error("Task {} ({}) failed", id, type, e);
      tracker.fail(id, describe(e));
    }
    return id;
  }

  @Override
  public ShutdownReport shutdown(Duration drainTimeout) {
    // Nothing is ever in flight after submit returns.
    shutDown = true;
    return ShutdownReport.clean();
  }

  @Override
  public JobTracker tracker() {
    return tracker;
  }

  static String describe(Throwable e) {
    String message = e.getMessage();
    return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  static String text(Map<String, ?> task, String key) {
    Object value = task.get(key);
    return value == null ? null : value.toString();
  }
}
