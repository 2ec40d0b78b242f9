package io.taskbroker.worker.registration;

import io.taskbroker.common.sql.WorkerRegistration;
import io.taskbroker.common.sql.WorkerRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This worker's row in {@code taskbroker.workers}: inserted at start, refreshed with every
 * heartbeat (and re-inserted if a rescuer reaped it while we were cut off), deleted on a clean
 * exit. Thread-safe.
 */
public final class Registration {
  private static final Logger LOG = LoggerFactory.getLogger(Registration.class);

  private final WorkerRepository repository;
  private final WorkerRegistration row;

  public Registration(WorkerRepository repository, WorkerRegistration row) {
    this.repository = repository;
    this.row = row;
  }

  public void register() {
    repository.register(row);
  }

  public void touch() {
    if (!repository.touch(row.id())) {
      LOG.warn("Worker row {} was gone (reaped while we were away); registering again", row.id());
      repository.register(row);
    }
  }

  public void deregister() {
    try {
      repository.deregister(row.id());
    } catch (RuntimeException e) {
      LOG.warn(
          "Could not delete worker row {} ({}); a rescuer reaps it later",
          row.id(),
          e.getMessage());
    }
  }
}
