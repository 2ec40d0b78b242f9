package io.taskbroker.api.backend;

import io.taskbroker.api.internal.Fatal;
import io.taskbroker.api.tracker.InMemoryJobTracker;
import io.taskbroker.api.tracker.JobTracker;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each task inline, in the submitting thread; for tests and command-line tools. {@link
 * #submit} returns once the task has finished. Thread-safe.
 *
 * <p>A failing executor, whatever it throws ({@link Exception}, {@link AssertionError}, {@link
 * StackOverflowError}, ...), is logged and recorded as failed, never thrown at the submitter; only
 * an error after which the JVM cannot be trusted (out of memory) is rethrown, after it is recorded.
 * Its tracker keeps the last {@value InMemoryJobTracker#DEFAULT_BACKEND_KEEP_FINISHED} finished
 * tasks unless given another tracker.
 */
public final class SyncTaskBackend implements TaskBackend {
  private static final Logger LOG = LoggerFactory.getLogger(SyncTaskBackend.class);

  private final InMemoryJobTracker tracker;
  private final AtomicInteger running = new AtomicInteger();
  private volatile TaskExecutor executor;
  private volatile boolean initialized;
  private volatile boolean shutDown;

  public SyncTaskBackend() {
    this(new InMemoryJobTracker(InMemoryJobTracker.DEFAULT_BACKEND_KEEP_FINISHED));
  }

  /** A backend recording into this tracker (its bound on finished tasks applies). */
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
    Tasks.Parsed parsed = Tasks.parse(task);
    if (!initialized) {
      LOG.warn("submit() before initialize() on the sync backend; initializing now");
      initialize();
    }
    UUID id = UUID.randomUUID();
    tracker.create(id, parsed.type(), text(task, "file_path"), text(task, "file_name"), Map.of());
    TaskExecutor current = executor;
    if (current == null) {
      LOG.error(
          "Task {} ({}) has no executor to run it: call setExecutor first", id, parsed.type());
      tracker.fail(id, "no executor set on the backend");
      return id;
    }
    tracker.markRunning(id);
    running.incrementAndGet();
    try {
      runAttempts(tracker, id, parsed, current, LOG);
    } finally {
      running.decrementAndGet();
    }
    return id;
  }

  /**
   * Runs the task up to its attempts (the in-process backends retry at once, with no backoff) and
   * records the outcome. Throws only a fatal error, after recording it.
   */
  static void runAttempts(
      InMemoryJobTracker tracker, UUID id, Tasks.Parsed task, TaskExecutor executor, Logger log) {
    int attempts = task.inProcessAttempts();
    for (int attempt = 1; ; attempt++) {
      try {
        Object result = executor.execute(Tasks.asTask(task.type(), task.payload()));
        tracker.complete(id, result);
        return;
      } catch (Exception | Error e) {
        boolean interrupted = e instanceof InterruptedException;
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
        boolean fatal = Fatal.isFatal(e);
        if (attempt < attempts && !interrupted && !fatal) {
          log.warn(
              "Task {} ({}) failed on attempt {} of {}; running it again: {}",
              id,
              task.type(),
              attempt,
              attempts,
              describe(e));
          continue;
        }
        log.error("Task {} ({}) failed", id, task.type(), e);
        tracker.fail(id, describe(e));
        if (fatal) {
          throw (Error) e;
        }
        return;
      }
    }
  }

  /** Tasks running now (in submitting threads); 0 once every submit has returned. */
  public int inflightCount() {
    return running.get();
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
