package io.taskbroker.api.backend;

import io.taskbroker.api.tracker.InMemoryJobTracker;
import io.taskbroker.api.tracker.JobTracker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks on a bounded pool in this process and tracks every one in flight. {@link #submit}
 * returns at once; {@link #shutdown(Duration)} waits for in-flight tasks up to the timeout, then
 * interrupts the rest, records them failed and reports them. Thread-safe.
 *
 * <p>Only tasks in flight are held for their own sake ({@link #inflightCount()}); the tracker keeps
 * the last {@value InMemoryJobTracker#DEFAULT_BACKEND_KEEP_FINISHED} finished tasks unless given
 * another tracker. A failing executor, whatever it throws, is logged and recorded as failed; only
 * an error after which the JVM cannot be trusted (out of memory) goes on up, after it is recorded.
 */
public final class AsyncFireAndTrackBackend implements TaskBackend {
  private static final Logger LOG = LoggerFactory.getLogger(AsyncFireAndTrackBackend.class);
  public static final int DEFAULT_THREADS = 4;

  private final int threads;
  private final InMemoryJobTracker tracker;
  private final Map<UUID, Future<?>> inflight = new ConcurrentHashMap<>();
  private final Object lifecycle = new Object();
  private volatile TaskExecutor executor;
  private ExecutorService pool;
  private ShutdownReport shutdownReport;

  public AsyncFireAndTrackBackend() {
    this(DEFAULT_THREADS);
  }

  public AsyncFireAndTrackBackend(int threads) {
    this(threads, new InMemoryJobTracker(InMemoryJobTracker.DEFAULT_BACKEND_KEEP_FINISHED));
  }

  public AsyncFireAndTrackBackend(int threads, InMemoryJobTracker tracker) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    this.threads = threads;
    this.tracker = tracker;
    tracker.setRunningCanceller(this::interrupt);
  }

  @Override
  public void setExecutor(TaskExecutor executor) {
    this.executor = executor;
  }

  @Override
  public void initialize() {
    synchronized (lifecycle) {
      if (pool != null) {
        return;
      }
      AtomicInteger counter = new AtomicInteger();
      pool =
          Executors.newFixedThreadPool(
              threads,
              runnable -> {
                Thread thread =
                    new Thread(runnable, "taskbroker-async-" + counter.incrementAndGet());
                thread.setDaemon(true);
                return thread;
              });
    }
  }

  @Override
  public UUID submit(Map<String, ?> task) {
    Tasks.Parsed parsed = Tasks.parse(task);
    ExecutorService current;
    synchronized (lifecycle) {
      if (shutdownReport != null) {
        throw new BackendStateException("async backend is shut down; the task was not accepted");
      }
      if (pool == null) {
        LOG.warn("submit() before initialize() on the async backend; initializing now");
        initialize();
      }
      current = pool;
    }
    UUID id = UUID.randomUUID();
    tracker.create(
        id,
        parsed.type(),
        SyncTaskBackend.text(task, "file_path"),
        SyncTaskBackend.text(task, "file_name"),
        Map.of());
    // Registered before the task can start, so its own removal never races ahead of this put.
    inflight.put(id, new java.util.concurrent.CompletableFuture<Void>());
    try {
      Future<?> future = current.submit(() -> run(id, parsed));
      inflight.replace(id, future);
      if (future.isDone()) {
        inflight.remove(id, future);
      }
    } catch (RejectedExecutionException e) {
      inflight.remove(id);
      tracker.fail(id, "rejected: the backend is shutting down");
      throw new BackendStateException("async backend is shutting down; the task was not accepted");
    }
    return id;
  }

  private void run(UUID id, Tasks.Parsed task) {
    try {
      if (!tracker.markRunning(id)) {
        return; // cancelled while queued
      }
      TaskExecutor current = executor;
      if (current == null) {
        LOG.error(
            "Task {} ({}) has no executor to run it: call setExecutor first", id, task.type());
        tracker.fail(id, "no executor set on the backend");
        return;
      }
      SyncTaskBackend.runAttempts(tracker, id, task, current, LOG);
    } finally {
      inflight.remove(id);
    }
  }

  /** Tasks accepted and not yet finished (queued or running). */
  public int inflightCount() {
    return inflight.size();
  }

  @Override
  public ShutdownReport shutdown(Duration drainTimeout) {
    ExecutorService current;
    synchronized (lifecycle) {
      if (shutdownReport != null) {
        return shutdownReport;
      }
      current = pool;
      if (current == null) {
        shutdownReport = ShutdownReport.clean();
        return shutdownReport;
      }
      current.shutdown();
    }
    boolean drained;
    try {
      drained = current.awaitTermination(drainTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      drained = false;
    }
    List<UUID> abandoned = new ArrayList<>();
    if (!drained) {
      abandoned.addAll(inflight.keySet());
      LOG.warn(
          "Async backend shutdown: {} task(s) still running after {}; interrupting and marking"
              + " them failed: {}",
          abandoned.size(),
          drainTimeout,
          abandoned);
      // Recorded before the interrupt, so an interrupted task's own failure is not the reason.
      for (UUID id : abandoned) {
        tracker.fail(id, "abandoned: the backend shut down before the task finished");
      }
      // Tasks still queued never run: cancel them so they stop counting as in flight.
      for (Runnable neverStarted : current.shutdownNow()) {
        if (neverStarted instanceof Future<?> future) {
          future.cancel(false);
        }
      }
      inflight.values().removeIf(Future::isDone);
    } else {
      LOG.info("Async backend shut down; every task finished");
    }
    synchronized (lifecycle) {
      shutdownReport = new ShutdownReport(abandoned);
      return shutdownReport;
    }
  }

  @Override
  public JobTracker tracker() {
    return tracker;
  }

  private void interrupt(UUID id) {
    Future<?> future = inflight.get(id);
    if (future != null) {
      future.cancel(true);
    }
  }
}
