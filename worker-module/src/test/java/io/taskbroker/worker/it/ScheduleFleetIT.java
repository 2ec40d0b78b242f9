package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 12: three worker processes share a once-a-second schedule, one is SIGKILLed half way, and
 * still every slot gets exactly one job and every job completes. No leader: each worker's scheduler
 * ticks on its own and the database fires each slot once.
 *
 * <p>30 seconds rather than a minute, to keep the suite fast: the kill comes at 15 s, and the
 * killed worker's lease (3 s) and the rescue are well inside the rest.
 */
@WithPostgres
class ScheduleFleetIT extends ProcessIt {
  private static final Duration RUN = Duration.ofSeconds(30);

  @Test
  void everySlotGetsOneJobAndEveryJobCompletesThoughAWorkerIsKilled(TestDatabase testDatabase) {
    db = ItDatabase.of(testDatabase).prepare();
    WorkerOptions options = db.workerOptions().withConcurrency(4);
    WorkerProcess w1 = fleet.start("w1", options);
    WorkerProcess w2 = fleet.start("w2", options);
    WorkerProcess w3 = fleet.start("w3", options);
    List.of(w1, w2, w3).forEach(WorkerProcess::awaitReady);

    db.execute(
        "SELECT taskbroker.upsert_schedule('every-second', 'every 1 second', 'record',"
            + " payload => '{\"min_ms\": 5, \"max_ms\": 200}')");
    Instant started = db.now();
    await("the first slots")
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> scheduledJobs() >= 3);
    await("half way")
        .atMost(RUN)
        .pollInterval(Duration.ofMillis(200))
        .until(() -> db.now().isAfter(started.plus(RUN.dividedBy(2))));
    w1.kill();
    await("the rest of the run")
        .atMost(RUN)
        .pollInterval(Duration.ofMillis(200))
        .until(() -> db.now().isAfter(started.plus(RUN)));
    db.execute("SELECT taskbroker.pause_schedule('every-second')");

    await("every scheduled job finished")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .until(
            () ->
                db.count(
                        "SELECT count(*) FROM taskbroker.jobs WHERE metadata ->> 'schedule' ="
                            + " 'every-second' AND status IN ('pending', 'running')")
                    == 0);
    assertThat(w2.isAlive() && w3.isAlive()).as("the other workers still run").isTrue();

    assertThat(
            db.query(
                "SELECT metadata ->> 'slot' FROM taskbroker.jobs"
                    + " WHERE metadata ->> 'schedule' = 'every-second'"
                    + " GROUP BY 1 HAVING count(*) > 1",
                row -> row.getString(1)))
        .as("slots with more than one job")
        .isEmpty();
    long slots = scheduledJobs();
    long span =
        db.count(
            "SELECT CAST(extract(epoch FROM max(s) - min(s)) AS bigint) + 1 FROM ("
                + " SELECT CAST(metadata ->> 'slot' AS timestamptz) AS s FROM taskbroker.jobs"
                + " WHERE metadata ->> 'schedule' = 'every-second') x");
    assertThat(slots)
        .as("one job for every second from the first slot to the last")
        .isEqualTo(span);
    assertThat(slots).as("about 30 slots").isGreaterThanOrEqualTo(RUN.toSeconds() - 5);
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs WHERE metadata ->> 'schedule' ="
                    + " 'every-second' AND status <> 'completed'"))
        .as("scheduled jobs that did not complete")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs j WHERE metadata ->> 'schedule' ="
                    + " 'every-second' AND NOT EXISTS (SELECT 1 FROM it_executions e"
                    + " WHERE e.job_id = j.id)"))
        .as("scheduled jobs never executed")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.schedule_runs WHERE schedule = 'every-second'"))
        .isEqualTo(slots);
    System.out.printf(
        "ScheduleFleetIT: %d slots in %s, one job each, all completed; w1 killed half way%n",
        slots, RUN);
  }

  private long scheduledJobs() {
    return db.count(
        "SELECT count(*) FROM taskbroker.jobs WHERE metadata ->> 'schedule' = 'every-second'");
  }
}
