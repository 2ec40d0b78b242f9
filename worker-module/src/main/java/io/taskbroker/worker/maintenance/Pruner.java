package io.taskbroker.worker.maintenance;

import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes finished jobs older than the retention, in batches, so the jobs table stays small. Safe
 * when many workers run it (each batch skips rows another pruner holds). Thread-safe; start/stop
 * idempotent.
 *
 * <p>A pass paces itself: after each full batch it rests {@value #REST_PER_WORK} times as long as
 * the batch took, so it keeps at most a quarter of one backend busy. Unpaced, a pass deleted its
 * whole backlog back to back: at 2,800 jobs/s that is 168,000 rows every minute, and on a first
 * start over a long history (or after shortening the retention) millions, while the claims and
 * completions share the server with it. A 5,000-row batch took 32-66 ms beside 10 million kept
 * jobs, so a paced pass still deletes about 19,000-37,000 rows a second per worker.
 */
public final class Pruner implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(Pruner.class);

  /** Rest after a full batch, as a multiple of the time the batch took. */
  static final int REST_PER_WORK = 3;

  /** How a pass rests between batches; the tests record the rests instead of sleeping. */
  interface Rest {
    /**
     * @throws InterruptedException when the pruner is being stopped
     */
    void rest(Duration duration) throws InterruptedException;
  }

  private static final EnumSet<JobStatus> FINAL =
      EnumSet.of(JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED);

  private final JobRepository jobs;
  private final Duration retention;
  private final int batchSize;
  private final Rest rest;
  private final PeriodicTask task;

  /**
   * @param unit the supervised unit the pruner's thread is
   */
  public Pruner(JobRepository jobs, Duration retention, Duration interval, Supervisor.Unit unit) {
    this(
        jobs,
        retention,
        interval,
        unit,
        JobRepository.pruneBatchSize(),
        duration -> TimeUnit.NANOSECONDS.sleep(duration.toNanos()));
  }

  Pruner(
      JobRepository jobs,
      Duration retention,
      Duration interval,
      Supervisor.Unit unit,
      int batchSize,
      Rest rest) {
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
    long deleted = 0;
    while (true) {
      long start = System.nanoTime();
      int batch = jobs.pruneBatch(retention, FINAL, null, batchSize);
      deleted += batch;
      if (batch < batchSize) {
        break;
      }
      try {
        rest.rest(Duration.ofNanos(REST_PER_WORK * (System.nanoTime() - start)));
      } catch (InterruptedException e) {
        // Stopping: what is left waits for the next worker's pass.
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (deleted > 0) {
      LOG.info("Pruned {} finished job(s) older than {}", deleted, retention);
    }
    return deleted;
  }
}
