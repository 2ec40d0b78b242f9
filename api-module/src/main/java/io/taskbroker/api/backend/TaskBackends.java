package io.taskbroker.api.backend;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/** The process-wide default backend: a {@link SyncTaskBackend} unless one is set. */
public final class TaskBackends {
  private static final AtomicReference<TaskBackend> DEFAULT = new AtomicReference<>();

  private TaskBackends() {}

  /** The default backend; the first call without one set creates a sync backend. */
  public static TaskBackend getDefault() {
    TaskBackend current = DEFAULT.get();
    if (current != null) {
      return current;
    }
    DEFAULT.compareAndSet(null, new SyncTaskBackend());
    return DEFAULT.get();
  }

  /** Replaces the default; returns the previous one (which the caller may shut down). */
  public static TaskBackend setDefault(TaskBackend backend) {
    return DEFAULT.getAndSet(Objects.requireNonNull(backend, "backend"));
  }

  /** Forgets the default, so the next {@link #getDefault()} is a fresh sync backend. */
  public static void reset() {
    DEFAULT.set(null);
  }
}
