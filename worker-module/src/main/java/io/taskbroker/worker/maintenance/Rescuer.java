package io.taskbroker.worker.maintenance;

import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.RescuedJob;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.internal.JobListeners;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes back jobs whose lease expired (their worker died, froze or was cut off): pending again,
 * failed when attempts are used up, or cancelled when a cancel was requested. Also deletes the rows
 * of workers long silent. Every worker runs one; the statement's SKIP LOCKED and re-checked
 * condition make concurrent rescuers safe. Thread-safe; start/stop idempotent.
 */
public final class Rescuer implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(Rescuer.class);
  private static final int BATCH = 500;

  private final WorkerRepository repository;
  private final Duration staleWorker;
  private final PeriodicTask task;
  private final JobListeners listeners;

  /**
   * @param listeners told of the jobs each pass rescues
   * @param unit the supervised unit the rescuer's thread is
   */
  public Rescuer(
      WorkerRepository repository,
      Duration interval,
      Duration staleWorker,
      JobListeners listeners,
      Supervisor.Unit unit) {
    this.repository = repository;
    this.staleWorker = staleWorker;
    this.listeners = listeners;
    this.task = new PeriodicTask("rescuer", interval, 0.2, unit, this::rescueOnce);
  }

  @Override
  public String name() {
    return task.name();
  }

  @Override
  public void start() {
    task.start();
  }

  @Override
  public void stop(Duration within) {
    task.stop(within);
  }

  /**
   * One pass: rescues every expired lease (in batches) and reaps silent workers.
   *
   * @throws io.taskbroker.common.DatabaseException when the pass failed (the periodic task logs it
   *     and the next pass retries); jobs rescued before the failure stay rescued
   */
  public int rescueOnce() {
    int total = 0;
    while (true) {
      List<RescuedJob> rescued = repository.rescue(BATCH);
      for (RescuedJob job : rescued) {
        if (job.status() == JobStatus.PENDING) {
          LOG.info(
              "Rescued job {} from a lost worker after attempt {}; it runs again",
              job.jobId(),
              job.attempt());
        } else {
          LOG.warn(
              "Rescued job {} from a lost worker after attempt {}; it ends {}",
              job.jobId(),
              job.attempt(),
              job.status().dbValue());
        }
      }
      total += rescued.size();
      listeners.rescued(rescued.stream().map(RescuedJob::jobId).toList());
      if (rescued.size() < BATCH) {
        break;
      }
    }
    Set<String> reaped = repository.reapWorkers(staleWorker);
    if (!reaped.isEmpty()) {
      LOG.info("Removed the rows of workers silent for over {}: {}", staleWorker, reaped);
    }
    return total;
  }
}
