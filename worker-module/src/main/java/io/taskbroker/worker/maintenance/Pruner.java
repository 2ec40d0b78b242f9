package io.taskbroker.worker.maintenance;

import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.util.EnumSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes finished jobs older than the retention, in batches, so the jobs table stays small. Safe
 * when many workers run it (each batch skips rows another pruner holds). Thread-safe; start/stop
 * idempotent.
 */
public final class Pruner implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(Pruner.class);

  private final JobRepository jobs;
  private final Duration retention;
  private final PeriodicTask task;

  /**
   * @param unit the supervised unit the pruner's thread is
   */
  public Pruner(JobRepository jobs, Duration retention, Duration interval, Supervisor.Unit unit) {
    this.jobs = jobs;
    this.retention = retention;
    this.task = new PeriodicTask("pruner", interval, 0.2, unit, this::pruneOnce);
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
   * One pass.
   *
   * @throws io.taskbroker.common.DatabaseException when it failed (the periodic task logs it and
   *     the next run retries)
   */
  public long pruneOnce() {
    long deleted =
        jobs.prune(
            retention, EnumSet.of(JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED));
    if (deleted > 0) {
      LOG.info("Pruned {} finished job(s) older than {}", deleted, retention);
    }
    return deleted;
  }
}
