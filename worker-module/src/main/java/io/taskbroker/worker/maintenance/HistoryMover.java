package io.taskbroker.worker.maintenance;

import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves finished jobs out of job_queue into the partitioned history once they have been finished
 * for {@code after}, so job_queue holds the live jobs and a short tail of finished ones whatever
 * the retention (V12). Each batch is one statement, so a job is in exactly one of the two tables at
 * every instant; {@code taskbroker.jobs} reads both. Safe when many workers run it (each batch
 * skips rows another mover holds). Paced like the pruner ({@link PacedBatches}). Thread-safe;
 * start/stop idempotent.
 */
public final class HistoryMover implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(HistoryMover.class);

  /** Rows per statement: as the pruner's, for the same reasons. */
  static final int BATCH = JobRepository.pruneBatchSize();

  private final JobRepository jobs;
  private final Duration after;
  private final int batchSize;
  private final PacedBatches.Rest rest;
  private final PeriodicTask task;

  /**
   * @param after how long a job stays in job_queue after it finished
   * @param unit the supervised unit the mover's thread is
   */
  public HistoryMover(JobRepository jobs, Duration after, Supervisor.Unit unit) {
    this(jobs, after, interval(after), unit, BATCH, PacedBatches.SLEEP);
  }

  HistoryMover(
      JobRepository jobs,
      Duration after,
      Duration interval,
      Supervisor.Unit unit,
      int batchSize,
      PacedBatches.Rest rest) {
    this.jobs = jobs;
    this.after = after;
    this.batchSize = batchSize;
    this.rest = rest;
    this.task = new PeriodicTask("history-mover", interval, 0.2, unit, this::moveOnce);
  }

  /**
   * How often the mover runs: a quarter of {@code after}, between 1 and 10 seconds, so job_queue
   * holds finished jobs for little more than {@code after}.
   */
  public static Duration interval(Duration after) {
    Duration quarter = after.dividedBy(4);
    if (quarter.compareTo(Duration.ofSeconds(1)) < 0) {
      return Duration.ofSeconds(1);
    }
    return quarter.compareTo(Duration.ofSeconds(10)) > 0 ? Duration.ofSeconds(10) : quarter;
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
   * One pass: moves every job finished more than {@code after} ago.
   *
   * @return how many moved
   * @throws io.taskbroker.common.DatabaseException when it failed (the periodic task logs it and
   *     the next run retries)
   */
  public long moveOnce() {
    long moved = PacedBatches.run(() -> jobs.moveToHistory(after, batchSize), batchSize, rest);
    if (moved > 0) {
      LOG.debug("Moved {} finished job(s) to the history", moved);
    }
    return moved;
  }
}
