package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Issue 3: SIGTERM to a worker process mid-run. It stops claiming, lets running jobs finish within
 * its drain timeout, hands the rest back to pending, deletes its worker row and exits; a second
 * worker finishes everything.
 */
@WithPostgres
class SigtermIT extends ProcessIt {
  private static final Duration DRAIN = Duration.ofSeconds(2);
  private static final int SLOW_JOBS = 2;
  private static final int SHORT_JOBS = 40;
  // Longer than the drain: the first worker must give these back. The second runs them out.
  private static final long SLOW_MS = 4_000;
  // Well within the drain: the first worker must finish those it has started.
  private static final long SHORT_MS = 250;

  @Test
  void sigtermDrainsShortJobsHandsBackSlowOnesAndAnotherWorkerFinishes(TestDatabase testDatabase) {
    db = ItDatabase.of(testDatabase).prepare();
    WorkerOptions options =
        db.workerOptions()
            .withConcurrency(4)
            .withLease(Duration.ofSeconds(10), Duration.ofSeconds(1))
            .withDrain(DRAIN);
    // Slow jobs first (lower priority value runs first), so the worker holds both kinds at once.
    db.execute(
        "INSERT INTO it_submitted (id) SELECT taskbroker.submit('slow',"
            + " jsonb_build_object('sleep_ms', "
            + SLOW_MS
            + "), priority => 0) FROM generate_series(1, "
            + SLOW_JOBS
            + ")");
    db.execute(
        "INSERT INTO it_submitted (id) SELECT taskbroker.submit('record',"
            + " jsonb_build_object('sleep_ms', "
            + SHORT_MS
            + "), priority => 1) FROM generate_series(1, "
            + SHORT_JOBS
            + ")");
    List<UUID> slowJobs =
        db.query(
            "SELECT id FROM taskbroker.jobs WHERE plugin = 'slow'",
            row -> row.getObject(1, UUID.class));

    WorkerProcess first = fleet.startReady("first", options);
    await("slow jobs started and short ones under way")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                db.count(
                            "SELECT count(*) FROM it_executions e JOIN taskbroker.jobs j"
                                + " ON j.id = e.job_id WHERE j.plugin = 'slow'")
                        == SLOW_JOBS
                    && db.count(
                            "SELECT count(*) FROM it_executions e JOIN taskbroker.jobs j"
                                + " ON j.id = e.job_id WHERE j.plugin = 'record'")
                        >= 4);
    Instant sigterm = db.now();
    first.terminate();
    int exit = first.waitForExit(DRAIN.plus(Duration.ofSeconds(20)));
    Instant exited = db.now();
    System.out.printf(
        "SigtermIT: worker exited with %d, %d ms after SIGTERM (drain timeout %d ms)%n",
        exit, Duration.between(sigterm, exited).toMillis(), DRAIN.toMillis());
    assertThat(exit).as("exit status after SIGTERM (128 + 15)").isEqualTo(143);
    assertThat(first.output()).contains("STOPPED " + first.id());

    // What the first worker left behind.
    assertThat(db.countStatus("running")).as("jobs left running").isZero();
    assertThat(db.count("SELECT count(*) FROM taskbroker.workers WHERE id = ?", first.id()))
        .as("the worker's row")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs WHERE status NOT IN ('pending', 'completed')"))
        .isZero();
    // Slow jobs: interrupted at the end of the drain and handed back, no attempt spent, no error.
    assertThat(
            db.query(
                "SELECT status || ' attempt ' || attempt || ' errors ' || errors::text"
                    + " FROM taskbroker.jobs WHERE plugin = 'slow'",
                row -> row.getString(1)))
        .containsOnly("pending attempt 0 errors []");
    // Short jobs the first worker started: all finished by it, within the drain.
    long startedShort =
        db.count(
            "SELECT count(*) FROM it_executions e JOIN taskbroker.jobs j ON j.id = e.job_id"
                + " WHERE j.plugin = 'record'");
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs j WHERE plugin = 'record'"
                    + " AND status = 'completed' AND result ->> 'worker' = ?",
                first.id()))
        .as("short jobs the first worker started and completed")
        .isEqualTo(startedShort);
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs WHERE plugin = 'record'"
                    + " AND completed_at > ?",
                sigterm.atOffset(ZoneOffset.UTC)))
        .as("short jobs that were running at SIGTERM and finished during the drain")
        .isPositive();
    Instant lastCompletion =
        db.instant("SELECT max(completed_at) FROM taskbroker.jobs WHERE status = 'completed'");
    assertThat(Duration.between(sigterm, lastCompletion))
        .as("time from SIGTERM to the last completion")
        .isLessThan(DRAIN.plusSeconds(1));
    // The short jobs it never started are still waiting, untouched.
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs WHERE plugin = 'record'"
                    + " AND status = 'pending' AND attempt = 0"))
        .isEqualTo(SHORT_JOBS - startedShort);
    System.out.printf(
        "SigtermIT: first worker completed %d short jobs within the drain and handed back %d"
            + " slow ones%n",
        startedShort, SLOW_JOBS);

    // A second worker takes over and finishes the rest.
    WorkerProcess second = fleet.startReady("second", options);
    await("all jobs completed")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> db.countStatus("completed") == SLOW_JOBS + SHORT_JOBS);
    for (UUID slow : slowJobs) {
      List<ItDatabase.Execution> runs = db.executionsOf(slow);
      assertThat(runs)
          .extracting(ItDatabase.Execution::worker)
          .containsExactly(first.id(), second.id());
      assertThat(runs).extracting(ItDatabase.Execution::attempt).containsExactly(1, 1);
    }
    assertThat(
            db.count(
                "SELECT count(*) FROM (SELECT e.job_id FROM it_executions e"
                    + " JOIN taskbroker.jobs j ON j.id = e.job_id WHERE j.plugin = 'record'"
                    + " GROUP BY e.job_id HAVING count(*) <> 1) x"))
        .as("short jobs not executed exactly once")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs"
                    + " WHERE status <> 'completed' OR attempt <> 1 OR errors <> '[]'::jsonb"))
        .isZero();
    assertThat(second.isAlive()).isTrue();
  }
}
