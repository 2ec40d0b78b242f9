package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Issue 13: queue limits and pause, with real worker processes racing on one database. Each limit
 * is checked twice: from the jobs' start and completion times (a sweep over every job's running
 * interval, so no moment is missed), and by sampling {@code status = 'running'} as psql sees it
 * while the queue drains.
 */
@WithPostgres
class QueueLimitsIT extends ProcessIt {
  // The most jobs whose [started_at, completed_at) intervals overlap at one moment, per key (or
  // over all jobs with a constant key); an end sorts before a start at the same instant.
  private static final String MAX_OVERLAP =
      "SELECT coalesce(max(n), 0) FROM (SELECT sum(d) OVER (PARTITION BY k ORDER BY t, d) AS n"
          + " FROM (SELECT %1$s AS k, started_at AS t, 1 AS d FROM taskbroker.jobs"
          + "       UNION ALL SELECT %1$s, completed_at, -1 FROM taskbroker.jobs) e) x";

  @Test
  void fourWorkerProcessesNeverRunMoreThanTheGlobalLimit(TestDatabase testDatabase)
      throws Exception {
    db = fresh(testDatabase);
    db.execute("SELECT taskbroker.set_queue_limits('default', global_concurrency => 3)");
    WorkerOptions options = db.workerOptions().withConcurrency(8);
    List<WorkerProcess> workers =
        List.of(
            fleet.start("w1", options),
            fleet.start("w2", options),
            fleet.start("w3", options),
            fleet.start("w4", options));
    workers.forEach(WorkerProcess::awaitReady);

    int jobs = 240;
    try (Sampler sampler = new Sampler(ItDatabase.of(testDatabase), "queue")) {
      db.execute(
          "SELECT taskbroker.submit('record', jsonb_build_object('min_ms', 5, 'max_ms', 25))"
              + " FROM generate_series(1, "
              + jobs
              + ")");
      await("the limited queue drains")
          .atMost(Duration.ofSeconds(45))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> db.countStatus("completed") == jobs);
      System.out.printf(
          "QueueLimitsIT: global 3: sampled max running %d over %d samples%n",
          sampler.max(), sampler.samples());
      assertThat(sampler.max()).as("running jobs sampled while draining").isBetween(1L, 3L);
      assertThat(sampler.samples()).isGreaterThan(20);
    }
    assertThat(db.count(String.format(MAX_OVERLAP, "1")))
        .as("most jobs running at one moment, from their start and completion times")
        .isEqualTo(3);
    assertThat(db.count("SELECT count(DISTINCT worker_id) FROM taskbroker.jobs"))
        .as("workers that ran jobs")
        .isGreaterThan(1);
  }

  @Test
  void aKeyNeverRunsTwiceAtOnce(TestDatabase testDatabase) throws Exception {
    db = fresh(testDatabase);
    db.execute("SELECT taskbroker.set_queue_limits('default', key_concurrency => 1)");
    WorkerOptions options = db.workerOptions().withConcurrency(8);
    List<WorkerProcess> workers =
        List.of(
            fleet.start("w1", options),
            fleet.start("w2", options),
            fleet.start("w3", options),
            fleet.start("w4", options));
    workers.forEach(WorkerProcess::awaitReady);

    int jobs = 300;
    try (Sampler sampler = new Sampler(ItDatabase.of(testDatabase), "concurrency_key")) {
      db.execute(
          "SELECT taskbroker.submit('record', jsonb_build_object('min_ms', 5, 'max_ms', 25),"
              + " concurrency_key => 'key-' || (g % 10)) FROM generate_series(1, "
              + jobs
              + ") g");
      await("the keyed queue drains")
          .atMost(Duration.ofSeconds(45))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> db.countStatus("completed") == jobs);
      System.out.printf(
          "QueueLimitsIT: key 1: sampled max running per key %d over %d samples%n",
          sampler.max(), sampler.samples());
      assertThat(sampler.max()).as("running jobs of one key, sampled").isEqualTo(1);
    }
    assertThat(db.count(String.format(MAX_OVERLAP, "concurrency_key")))
        .as("most jobs of one key running at one moment, from their times")
        .isEqualTo(1);
    assertThat(db.count(String.format(MAX_OVERLAP, "1")))
        .as("jobs of different keys ran side by side")
        .isGreaterThan(3);
  }

  @Test
  void fiftyPerSecondForTwentySeconds(TestDatabase testDatabase) {
    db = fresh(testDatabase);
    db.execute(
        "SELECT taskbroker.set_queue_limits('default', rate_limit => 50,"
            + " rate_period => interval '1 second')");
    WorkerOptions options = db.workerOptions().withConcurrency(16);
    List<WorkerProcess> workers = List.of(fleet.start("w1", options), fleet.start("w2", options));
    workers.forEach(WorkerProcess::awaitReady);
    // More than 20 s can start: the rate, not the backlog, is what limits.
    db.execute(
        "SELECT taskbroker.submit('record', jsonb_build_object('min_ms', 0, 'max_ms', 5))"
            + " FROM generate_series(1, 1400)");
    await("a first job started")
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                db.count("SELECT count(*) FROM taskbroker.jobs WHERE started_at IS NOT NULL") > 0);
    Instant first = db.instant("SELECT min(started_at) FROM taskbroker.jobs");
    await("twenty seconds of starts")
        .atMost(Duration.ofSeconds(40))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> db.now().isAfter(first.plusSeconds(21)));

    long started =
        db.count(
            "SELECT count(*) FROM taskbroker.jobs"
                + " WHERE started_at >= ? AND started_at < CAST(? AS timestamptz) + interval '20 seconds'",
            java.sql.Timestamp.from(first),
            java.sql.Timestamp.from(first));
    long busiestSecond =
        db.count(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM taskbroker.jobs"
                + " WHERE started_at IS NOT NULL GROUP BY date_trunc('second', started_at)) s");
    // Any one-second window, not only calendar seconds: for each start, the starts of the second
    // that begins with it.
    long busiestWindow =
        db.count(
            "SELECT coalesce(max(n), 0) FROM (SELECT (SELECT count(*) FROM taskbroker.jobs b"
                + " WHERE b.started_at >= a.started_at"
                + " AND b.started_at < a.started_at + interval '1 second') AS n"
                + " FROM taskbroker.jobs a WHERE a.started_at IS NOT NULL) w");
    System.out.printf(
        "QueueLimitsIT: rate 50/s: %d started in 20 s; busiest calendar second %d, busiest"
            + " sliding second %d%n",
        started, busiestSecond, busiestWindow);
    assertThat(started).as("starts in the first 20 s").isBetween(980L, 1020L);
    assertThat(busiestSecond).isLessThanOrEqualTo(50);
    assertThat(busiestWindow).isLessThanOrEqualTo(50);
  }

  @Test
  void pauseStopsClaimsWithinASecondWhileJobsArriveAndResumeDrainsThem(TestDatabase testDatabase)
      throws Exception {
    db = fresh(testDatabase);
    WorkerOptions options = db.workerOptions().withConcurrency(4);
    List<WorkerProcess> workers = List.of(fleet.start("w1", options), fleet.start("w2", options));
    workers.forEach(WorkerProcess::awaitReady);

    AtomicBoolean submitting = new AtomicBoolean(true);
    AtomicLong submitted = new AtomicLong();
    ItDatabase submitter = ItDatabase.of(testDatabase);
    Thread producer =
        new Thread(
            () -> {
              while (submitting.get()) {
                submitter.execute(
                    "SELECT taskbroker.submit('record', '{\"sleep_ms\": 150}'),"
                        + " pg_sleep(0.02)");
                submitted.incrementAndGet();
              }
            },
            "it-submitter");
    producer.start();
    try {
      await("jobs run").atMost(Duration.ofSeconds(10)).until(() -> db.countStatus("completed") > 5);
      Instant paused =
          db.instant("SELECT clock_timestamp() FROM taskbroker.pause_queue('default')");
      long before = submitted.get();
      await("running jobs finish while paused")
          .atMost(Duration.ofSeconds(10))
          .until(() -> db.countStatus("running") == 0);
      await("jobs keep arriving")
          .atMost(Duration.ofSeconds(10))
          .until(() -> submitted.get() > before + 50);
      Instant lastStart = db.instant("SELECT max(started_at) FROM taskbroker.jobs");
      System.out.printf(
          "QueueLimitsIT: pause: last start %d ms after the pause; %d pending%n",
          Duration.between(paused, lastStart).toMillis(), db.countStatus("pending"));
      assertThat(lastStart).as("last start after the pause").isBefore(paused.plusSeconds(1));
      assertThat(db.countStatus("pending")).isGreaterThan(40);

      Instant resumed =
          db.instant("SELECT clock_timestamp() FROM taskbroker.resume_queue('default')");
      await("a start after resuming")
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  db.count(
                          "SELECT count(*) FROM taskbroker.jobs WHERE started_at > ?",
                          java.sql.Timestamp.from(resumed))
                      > 0);
      Instant firstAfter =
          db.instant(
              "SELECT min(started_at) FROM taskbroker.jobs WHERE started_at > ?",
              java.sql.Timestamp.from(resumed));
      System.out.printf(
          "QueueLimitsIT: resume: first start %d ms after resuming%n",
          Duration.between(resumed, firstAfter).toMillis());
      assertThat(firstAfter).isBefore(resumed.plusSeconds(1));
    } finally {
      submitting.set(false);
      producer.join(5_000);
      submitter.close();
    }
    long total = submitted.get();
    await("the backlog drains after resuming")
        .atMost(Duration.ofSeconds(45))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> db.countStatus("completed") == total);
  }

  /**
   * The class's database with no jobs, queue settings or workers left by an earlier test of this
   * class (they share one database).
   */
  private static ItDatabase fresh(TestDatabase testDatabase) {
    ItDatabase database = ItDatabase.of(testDatabase).prepare();
    database.execute(
        "TRUNCATE taskbroker.job_queue, taskbroker.job_history, taskbroker.queues, taskbroker.queue_starts, taskbroker.workers,"
            + " it_executions, it_finished");
    return database;
  }

  /**
   * Samples the most running jobs (per group: {@code queue} for the queue, a column for per key)
   * from its own connection, as fast as it can, until closed.
   */
  private static final class Sampler implements AutoCloseable {
    private final ItDatabase database;
    private final Thread thread;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong max = new AtomicLong();
    private final AtomicLong samples = new AtomicLong();

    Sampler(ItDatabase database, String group) {
      this.database = database;
      String sql =
          "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM taskbroker.jobs"
              + " WHERE status = 'running' GROUP BY "
              + group
              + ") g";
      this.thread =
          new Thread(
              () -> {
                while (running.get()) {
                  long n = database.count(sql);
                  max.accumulateAndGet(n, Math::max);
                  samples.incrementAndGet();
                }
              },
              "it-sampler");
      thread.start();
    }

    long max() {
      return max.get();
    }

    long samples() {
      return samples.get();
    }

    @Override
    public void close() {
      running.set(false);
      try {
        thread.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      database.close();
    }
  }
}
