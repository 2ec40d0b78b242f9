package io.taskbroker.worker.maintenance;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * Runs a maintenance pass as batches, resting after each full batch {@value #REST_PER_WORK} times
 * as long as the batch took, so a pass keeps at most a quarter of one backend busy however long its
 * backlog. Unpaced, a pass ran its whole backlog back to back: at 2,800 jobs/s that is 168,000 rows
 * every minute, and on a first start over a long history millions, while the claims and completions
 * share the server with it.
 */
final class PacedBatches {
  /** Rest after a full batch, as a multiple of the time the batch took. */
  static final int REST_PER_WORK = 3;

  /** How a pass rests between batches; the tests record the rests instead of sleeping. */
  interface Rest {
    /**
     * @throws InterruptedException when the pass is being stopped
     */
    void rest(Duration duration) throws InterruptedException;
  }

  static final Rest SLEEP = duration -> TimeUnit.NANOSECONDS.sleep(duration.toNanos());

  private PacedBatches() {}

  /**
   * Runs {@code batch} until it returns fewer than {@code batchSize} rows, resting after each full
   * one. An interrupt during a rest ends the pass (what is left waits for the next one) and stays
   * set.
   *
   * @return the rows of every batch
   */
  static long run(IntSupplier batch, int batchSize, Rest rest) {
    long total = 0;
    while (true) {
      long start = System.nanoTime();
      int rows = batch.getAsInt();
      total += rows;
      if (rows < batchSize) {
        return total;
      }
      try {
        rest.rest(Duration.ofNanos(REST_PER_WORK * (System.nanoTime() - start)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return total;
      }
    }
  }
}
