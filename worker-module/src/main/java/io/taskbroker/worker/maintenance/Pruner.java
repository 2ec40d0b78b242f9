package io.taskbroker.worker.maintenance;

import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.util.Collections;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps finished jobs for the retention: drops the history's daily partitions that end before it
 * (V12: no DELETE, no dead tuples), and deletes, in batches, finished jobs in job_queue older than
 * it (those the history mover has not taken, or when it is off). Safe when many workers run it
 * (each batch skips rows another pruner holds; partitions are dropped under a lock timeout).
 * Thread-safe; start/stop idempotent.
 *
 * <p>A pass paces its deletes ({@link PacedBatches}). A 5,000-row batch took 32-66 ms beside 10
 * million kept jobs, so a paced pass still deletes about 19,000-37,000 rows a second per worker.
 */
public final class Pruner implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(Pruner.class);

  private static final Set<JobStatus> FINAL = Collections.unmodifiableSet(JobStatus.finalStates());

  private final JobRepository jobs;
  private final Duration retention;
  private final int batchSize;
  private final PacedBatches.Rest rest;
  private final PeriodicTask task;

  /**
   * @param unit the supervised unit the pruner's thread is
   */
  public Pruner(JobRepository jobs, Duration retention, Duration interval, Supervisor.Unit unit) {
    this(jobs, retention, interval, unit, JobRepository.pruneBatchSize(), PacedBatches.SLEEP);
  }

  Pruner(
      JobRepository jobs,
      Duration retention,
      Duration interval,
      Supervisor.Unit unit,
      int batchSize,
      PacedBatches.Rest rest) {
    this.jobs = jobs;
    this.retention = retention;
    this.batchSize = batchSize;
    this.rest = rest;
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
        PacedBatches.run(() -> jobs.pruneBatch(retention, FINAL, null, batchSize), batchSize, rest);
    if (deleted > 0) {
      LOG.info("Pruned {} finished job(s) older than {}", deleted, retention);
    }
    int dropped = jobs.dropHistoryOlderThan(retention);
    if (dropped > 0) {
      LOG.info("Dropped {} day(s) of job history older than {}", dropped, retention);
    }
    return deleted;
  }
}
