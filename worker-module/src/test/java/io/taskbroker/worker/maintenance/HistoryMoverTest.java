package io.taskbroker.worker.maintenance;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.worker.internal.Supervisor;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The hot table and the partitioned history (V12): the mover takes finished jobs out of job_queue,
 * the view still shows every job, retention drops whole days, and the functions that change
 * finished jobs reach the history.
 */
class HistoryMoverTest extends WorkerDatabaseTest {
  private static final Duration AFTER = Duration.ofMinutes(1);

  private static String table(UUID id) {
    long live = jobs.queryLong("SELECT count(*) FROM taskbroker.job_queue WHERE id = ?", id);
    long history = jobs.queryLong("SELECT count(*) FROM taskbroker.job_history WHERE id = ?", id);
    assertThat(live + history).as("job %s in exactly one table", id).isLessThanOrEqualTo(1);
    return live == 1 ? "job_queue" : history == 1 ? "job_history" : "none";
  }

  private static long partitions() {
    return jobs.queryLong(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'taskbroker.job_history'::regclass");
  }

  private static HistoryMover mover(int batchSize, PacedBatches.Rest rest) {
    return new HistoryMover(
        new JobRepository(database),
        AFTER,
        Duration.ofMinutes(1),
        Supervisor.alone("mover-test").unit("history-mover", Duration.ofHours(1)),
        batchSize,
        rest);
  }

  private static String sql(String query, Object... params) {
    return jobs.jdbi()
        .withHandle(
            handle -> {
              var q = handle.createQuery(query);
              for (int i = 0; i < params.length; i++) {
                q.bind(i, params[i]);
              }
              return q.mapTo(String.class).one();
            });
  }

  @Test
  void movesJobsFinishedLongEnoughAgoAndLeavesTheRest() {
    UUID old = jobs.insert("history", "p");
    UUID oldFailed = jobs.insert("history", "p");
    UUID recent = jobs.insert("history", "p");
    UUID pending = jobs.insert("history", "p");
    jobs.finish(old, JobStatus.COMPLETED, Duration.ofHours(2));
    jobs.finish(oldFailed, JobStatus.FAILED, Duration.ofDays(2));
    jobs.finish(recent, JobStatus.COMPLETED, Duration.ofSeconds(5));
    String before =
        sql("SELECT to_jsonb(j)::text FROM taskbroker.jobs j WHERE j.id = ?", oldFailed);

    assertThat(mover(1000, duration -> {}).moveOnce()).isEqualTo(2);

    assertThat(table(old)).isEqualTo("job_history");
    assertThat(table(oldFailed)).isEqualTo("job_history");
    assertThat(table(recent)).isEqualTo("job_queue");
    assertThat(table(pending)).isEqualTo("job_queue");
    // Through the view and the client, a moved job is the same row as before.
    assertThat(sql("SELECT to_jsonb(j)::text FROM taskbroker.jobs j WHERE j.id = ?", oldFailed))
        .isEqualTo(before);
    assertThat(jobs.get(old).status()).isEqualTo(JobStatus.COMPLETED);
    assertThat(jobs.statuses(List.of(old, oldFailed, recent, pending)))
        .containsOnlyKeys(old, oldFailed, recent, pending);
    // Each day has its partition.
    assertThat(
            jobs.queryLong(
                "SELECT count(DISTINCT h.tableoid) FROM taskbroker.job_history h"
                    + " WHERE h.id IN (?, ?)",
                old,
                oldFailed))
        .isEqualTo(2);
    assertThat(mover(1000, duration -> {}).moveOnce()).isZero();
  }

  @Test
  void aRunningWorkerMovesTheJobsItFinished() {
    workers.start(
        TestWorkers.config("history-worker", 2).historyAfter(Duration.ZERO),
        TestPlugin.completing("p"));
    List<UUID> ids = jobs.insertMany("history-worker", "p", 5);

    within(15).until(() -> ids.stream().allMatch(id -> table(id).equals("job_history")));
    assertThat(jobs.all(ids, JobStatus.COMPLETED)).isTrue();
  }

  @Test
  void aPassRestsAfterEveryFullBatch() {
    List<UUID> ids = jobs.insertMany("history-paced", "p", 25);
    ids.forEach(id -> jobs.finish(id, JobStatus.COMPLETED, Duration.ofHours(1)));
    List<Duration> rests = new ArrayList<>();

    assertThat(mover(10, rests::add).moveOnce()).isEqualTo(25);

    assertThat(rests).hasSize(2);
    ids.forEach(id -> assertThat(table(id)).isEqualTo("job_history"));
  }

  @Test
  void twoMoversAtOnceMoveEveryJobExactlyOnce() throws Exception {
    List<UUID> ids = jobs.insertMany("history-race", "p", 2_000);
    jobs.execute(
        "UPDATE taskbroker.job_queue SET status = 'completed', completed_at = now() - interval"
            + " '1 hour' WHERE queue = 'history-race'");
    CountDownLatch start = new CountDownLatch(1);
    Callable<Long> pass =
        () -> {
          start.await();
          return mover(100, duration -> {}).moveOnce();
        };
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<Long> a = pool.submit(pass);
      Future<Long> b = pool.submit(pass);
      start.countDown();
      assertThat(a.get() + b.get()).isEqualTo(2_000);
    } finally {
      pool.shutdownNow();
    }
    assertThat(
            jobs.queryLong(
                "SELECT count(DISTINCT id) FROM taskbroker.job_history WHERE queue = 'history-race'"))
        .isEqualTo(2_000);
    assertThat(
            jobs.queryLong(
                "SELECT count(*) FROM taskbroker.job_queue WHERE queue = 'history-race'"))
        .isZero();
    assertThat(jobs.statuses(ids)).hasSize(2_000);
  }

  @Test
  void retentionDropsWholeDaysOfHistory() {
    UUID ancient = jobs.insert("history-drop", "p");
    UUID yesterday = jobs.insert("history-drop", "p");
    jobs.finish(ancient, JobStatus.COMPLETED, Duration.ofDays(4));
    jobs.finish(yesterday, JobStatus.COMPLETED, Duration.ofHours(2));
    mover(1000, duration -> {}).moveOnce();
    long partitions = partitions();

    Pruner pruner =
        new Pruner(
            new JobRepository(database),
            Duration.ofDays(2),
            Duration.ofMinutes(1),
            Supervisor.alone("pruner-test").unit("pruner", Duration.ofHours(1)));
    pruner.pruneOnce();

    assertThat(table(ancient)).isEqualTo("none");
    assertThat(table(yesterday)).isEqualTo("job_history");
    assertThat(partitions()).isLessThan(partitions);
  }

  @Test
  void retryCancelAndDeleteReachTheHistory() {
    UUID failed = jobs.insert("history-ops", "p");
    UUID bulkFailed = jobs.insert("history-ops-bulk", "p");
    UUID completed = jobs.insert("history-ops", "p");
    UUID doomed = jobs.insert("history-ops-delete", "p");
    jobs.finish(failed, JobStatus.FAILED, Duration.ofHours(1));
    jobs.finish(bulkFailed, JobStatus.FAILED, Duration.ofHours(1));
    jobs.finish(completed, JobStatus.COMPLETED, Duration.ofHours(1));
    jobs.finish(doomed, JobStatus.CANCELLED, Duration.ofHours(1));
    mover(1000, duration -> {}).moveOnce();

    assertThat(jobs.cancel(completed)).isEqualTo("completed");
    assertThat(sql("SELECT taskbroker.retry(?)", completed)).isEqualTo("completed");
    assertThat(sql("SELECT taskbroker.retry(?)", failed)).isEqualTo("pending");
    assertThat(table(failed)).isEqualTo("job_queue");
    assertThat(jobs.status(failed)).isEqualTo(JobStatus.PENDING);
    assertThat(jobs.queryLong("SELECT taskbroker.retry_jobs(queue => 'history-ops-bulk')"))
        .isEqualTo(1);
    assertThat(table(bulkFailed)).isEqualTo("job_queue");
    assertThat(jobs.status(bulkFailed)).isEqualTo(JobStatus.PENDING);
    assertThat(jobs.queryLong("SELECT taskbroker.delete_jobs(queue => 'history-ops-delete')"))
        .isEqualTo(1);
    assertThat(table(doomed)).isEqualTo("none");
    // An explicit prune (the CLI's, the client's) deletes from the history too.
    assertThat(
            new JobRepository(database)
                .prune(Duration.ofMinutes(30), java.util.EnumSet.of(JobStatus.COMPLETED)))
        .isGreaterThanOrEqualTo(1);
    assertThat(table(completed)).isEqualTo("none");
  }

  @Test
  void writesThroughTheViewReachEitherTable() {
    UUID moved = jobs.insert("history-view", "p");
    jobs.finish(moved, JobStatus.FAILED, Duration.ofHours(1));
    mover(1000, duration -> {}).moveOnce();

    // Made live again through the view: back to job_queue, where a worker can claim it.
    assertThat(
            jobs.execute(
                "UPDATE taskbroker.jobs SET status = 'pending', completed_at = NULL, attempt = 0"
                    + " WHERE id = ?",
                moved))
        .isEqualTo(1);
    assertThat(table(moved)).isEqualTo("job_queue");
    UUID inserted =
        UUID.fromString(
            sql(
                "INSERT INTO taskbroker.jobs (queue, plugin) VALUES ('history-view', 'p')"
                    + " RETURNING id::text"));
    assertThat(table(inserted)).isEqualTo("job_queue");
    assertThat(jobs.status(inserted)).isEqualTo(JobStatus.PENDING);
    assertThat(jobs.execute("DELETE FROM taskbroker.jobs WHERE id = ?", inserted)).isEqualTo(1);
    assertThat(table(inserted)).isEqualTo("none");
  }
}
