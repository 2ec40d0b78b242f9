package io.taskbroker.worker.registration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.Json;
import io.taskbroker.common.sql.WorkerRegistration;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.UnitHealth;
import io.taskbroker.worker.WorkerHealth;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This worker's row in {@code taskbroker.workers}: inserted at start, refreshed with every
 * heartbeat together with the health of each unit (and re-inserted if a rescuer reaped it while we
 * were cut off), deleted on a clean exit. A worker that failed keeps its row, marked {@code
 * failed}, so the fleet view says why it is gone; the rescuer reaps it later. As a {@link Service}
 * the worker starts it first (register) and stops it last (deregister, or mark failed), so the row
 * exists exactly while the units run. Thread-safe.
 */
public final class Registration implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(Registration.class);
  // 100 + 200 + 400 + 800 + 1600 ms: about three seconds of a dropped connection are ridden out.
  private static final int REGISTER_ATTEMPTS = 6;
  private static final long REGISTER_FIRST_BACKOFF_MILLIS = 100;

  private final WorkerRepository repository;
  private final WorkerRegistration row;
  private final Supervisor supervisor;

  public Registration(WorkerRepository repository, WorkerRegistration row, Supervisor supervisor) {
    this.repository = repository;
    this.row = row;
    this.supervisor = supervisor;
  }

  private final AtomicBoolean registered = new AtomicBoolean();

  @Override
  public String name() {
    return "registration";
  }

  /**
   * Inserts the row.
   *
   * @throws io.taskbroker.common.DatabaseException when the database cannot be reached
   */
  @Override
  public void start() {
    if (registered.compareAndSet(false, true)) {
      register();
    }
  }

  /** The worker's last step: deletes its row, or marks it failed when a unit died. Idempotent. */
  @Override
  public void stop(Duration within) {
    if (!registered.compareAndSet(true, false)) {
      return;
    }
    if (supervisor.hasFailed()) {
      markFailed();
    } else {
      deregister();
    }
  }

  /**
   * Inserts (or refreshes) the row. A connection the server just dropped (a restart, a terminated
   * backend: SQLSTATE 08xxx or 57P01) is the pool's to replace, so a worker starting during such a
   * blip tries again for a few seconds before it gives up starting; any other failure is thrown at
   * once.
   *
   * @throws io.taskbroker.common.DatabaseException when the database stays unreachable
   */
  public void register() {
    long backoffMillis = REGISTER_FIRST_BACKOFF_MILLIS;
    for (int attempt = 1; ; attempt++) {
      try {
        repository.register(row);
        if (attempt > 1) {
          LOG.info("Worker {}: registered after {} attempts", row.id(), attempt);
        }
        return;
      } catch (DatabaseException e) {
        if (!e.isConnectionLoss() || attempt >= REGISTER_ATTEMPTS) {
          throw e;
        }
        LOG.warn(
            "Worker {}: cannot register ({}); trying again in {} ms",
            row.id(),
            e.getMessage(),
            backoffMillis);
        try {
          Thread.sleep(backoffMillis);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
        backoffMillis *= 2;
      }
    }
  }

  /** Alive: refreshes the row's heartbeat and writes the units' health, in one UPDATE. */
  public void touch() {
    WorkerHealth health = supervisor.health();
    String status = health.status().dbValue();
    String units = unitsJson(health);
    if (!repository.touch(row.id(), status, units)) {
      LOG.warn("Worker row {} was gone (reaped while we were away); registering again", row.id());
      repository.register(row);
      repository.touch(row.id(), status, units);
    }
  }

  /** The worker failed: its row says so (best effort) and stays for the operator to see. */
  public void markFailed() {
    try {
      touch();
    } catch (RuntimeException e) {
      LOG.warn(
          "Could not mark worker row {} failed ({}); a rescuer reaps it later",
          row.id(),
          e.getMessage());
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

  static String unitsJson(WorkerHealth health) {
    ObjectNode units = Json.object();
    for (UnitHealth unit : health.units()) {
      ObjectNode entry = units.putObject(unit.name());
      entry.put("state", unit.state().dbValue());
      entry.put(
          "last_progress_at",
          unit.lastProgressAt() == null ? null : unit.lastProgressAt().toString());
      entry.put("consecutive_failures", unit.consecutiveFailures());
      entry.put("last_error", printable(unit.lastError()));
    }
    return Json.write(units);
  }

  /** jsonb holds no NUL, and the row stays small: an error text is cut to its first 500 chars. */
  private static String printable(String text) {
    if (text == null) {
      return null;
    }
    String clean = text.replace('\u0000', '\uFFFD');
    return clean.length() <= 500 ? clean : clean.substring(0, 500) + "…";
  }
}
