package io.taskbroker.worker.executor;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The jobs this worker holds right now, by id: what the heartbeater extends, what a cancel finds,
 * what shutdown waits for. Thread-safe.
 */
public final class ActiveJobs {
  private final ConcurrentHashMap<UUID, RunningJob> jobs = new ConcurrentHashMap<>();
  private final Object emptied = new Object();

  public void add(RunningJob job) {
    jobs.put(job.id(), job);
  }

  public void remove(RunningJob job) {
    if (jobs.remove(job.id(), job) && jobs.isEmpty()) {
      synchronized (emptied) {
        emptied.notifyAll();
      }
    }
  }

  public Optional<RunningJob> get(UUID id) {
    return Optional.ofNullable(jobs.get(id));
  }

  public Collection<RunningJob> snapshot() {
    return List.copyOf(jobs.values());
  }

  public int size() {
    return jobs.size();
  }

  /** Waits until no job is held, or the deadline passes; returns whether it emptied. */
  public boolean awaitEmpty(long deadlineNanos) throws InterruptedException {
    synchronized (emptied) {
      while (!jobs.isEmpty()) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        emptied.wait(Math.max(1, left / 1_000_000), 0);
      }
      return true;
    }
  }
}
