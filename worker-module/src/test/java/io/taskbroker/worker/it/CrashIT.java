package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Issue 4: SIGKILL two of three worker processes mid-run. Every job still completes; only jobs that
 * were running on a killed worker run again, and they run again within the lease plus the rescue
 * interval.
 */
@WithPostgres
class CrashIT extends ProcessIt {
  private static final int JOBS = 5_000;
  private static final Duration LEASE = Duration.ofSeconds(3);
  private static final Duration HEARTBEAT = Duration.ofMillis(500);
  private static final Duration RESCUE = Duration.ofMillis(500);
  // Scheduling noise on a loaded two-core machine: claim wake-up, JVM pauses, the poll.
  private static final Duration MARGIN = Duration.ofMillis(2_000);

  @Test
  void jobsOfKilledWorkersResumeWithinLeaseAndOnlyTheyRunTwice(TestDatabase testDatabase) {
    db = ItDatabase.of(testDatabase).prepare();
    WorkerOptions options =
        db.workerOptions().withConcurrency(16).withLease(LEASE, HEARTBEAT).withRescue(RESCUE);
    WorkerProcess w1 = fleet.start("w1", options);
    WorkerProcess w2 = fleet.start("w2", options);
    WorkerProcess w3 = fleet.start("w3", options);
    List.of(w1, w2, w3).forEach(WorkerProcess::awaitReady);

    // A queue in submission order: each job's run_at is the moment it was submitted, so a job
    // that lost its worker is older than every job still waiting and should run next.
    db.execute(
        "INSERT INTO it_submitted (id) SELECT taskbroker.submit('record',"
            + " jsonb_build_object('i', g, 'min_ms', 5, 'max_ms', 50),"
            + " run_at => clock_timestamp())"
            + " FROM generate_series(1, "
            + JOBS
            + ") g");

    awaitExecutions(1_000);
    Instant firstKill = db.now();
    w1.kill();
    awaitExecutions(3_000);
    Instant secondKill = db.now();
    w2.kill();
    Set<String> killed = Set.of(w1.id(), w2.id());

    await("all jobs completed")
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> db.countStatus("completed") == JOBS);
    assertThat(w3.isAlive()).as("the surviving worker still runs").isTrue();

    assertThat(db.count("SELECT count(*) FROM taskbroker.jobs WHERE status <> 'completed'"))
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM it_submitted s"
                    + " WHERE NOT EXISTS (SELECT 1 FROM it_executions e WHERE e.job_id = s.id)"))
        .as("submitted jobs never executed")
        .isZero();

    // Every execution but a job's last one must have been cut short by a kill.
    List<String> rerunFromLiveWorker =
        db.query(
            "SELECT job_id || ' ran on ' || worker || ' at attempt ' || attempt FROM ("
                + " SELECT e.*, row_number() OVER (PARTITION BY job_id ORDER BY at DESC) AS rn"
                + " FROM it_executions e) x"
                + " WHERE rn > 1 AND NOT worker = ANY (?)",
            row -> row.getString(1),
            (Object) killed.toArray(new String[0]));
    assertThat(rerunFromLiveWorker)
        .as("jobs run again although their earlier execution was on a live worker")
        .isEmpty();

    // The row's outcome is the last execution's, and each earlier one left a worker_lost entry
    // naming the killed worker and its attempt.
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs j JOIN LATERAL ("
                    + " SELECT worker, attempt FROM it_executions e WHERE e.job_id = j.id"
                    + " ORDER BY at DESC LIMIT 1) last ON true"
                    + " WHERE j.result ->> 'worker' <> last.worker"
                    + " OR (j.result ->> 'attempt')::int <> last.attempt"
                    + " OR j.attempt <> last.attempt"))
        .as("jobs whose result is not their last execution's")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM ("
                    + " SELECT e.*, row_number() OVER (PARTITION BY job_id ORDER BY at DESC) AS rn"
                    + " FROM it_executions e) x JOIN taskbroker.jobs j ON j.id = x.job_id"
                    + " WHERE x.rn > 1 AND NOT j.errors @> jsonb_build_array(jsonb_build_object("
                    + " 'kind', 'worker_lost', 'worker_id', x.worker, 'attempt', x.attempt))"))
        .as("re-run jobs without a worker_lost entry for the lost execution")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs j"
                    + " WHERE (SELECT count(*) FROM it_executions e WHERE e.job_id = j.id)"
                    + " > j.attempt"))
        .as("jobs with more executions than attempts")
        .isZero();

    long rerun =
        db.count(
            "SELECT count(*) FROM (SELECT job_id FROM it_executions GROUP BY job_id"
                + " HAVING count(*) > 1) x");
    assertThat(rerun).as("jobs that were running on a killed worker and ran again").isPositive();

    // Recovery of each job with two executions (killed once): from the killed execution's start
    // to the resumed execution's start, and to the rescue that made it runnable again, as the
    // database's clock saw them. (A job killed twice is held back by the rescuer's backoff on
    // purpose; none is expected, as the kills are seconds apart and rescued jobs run at once.)
    List<double[]> gaps =
        db.query(
            "SELECT extract(epoch FROM second.at - first.at),"
                + " extract(epoch FROM (lost.entry ->> 'at')::timestamptz - first.at)"
                + " FROM (SELECT job_id FROM it_executions GROUP BY job_id"
                + "   HAVING count(*) = 2) twice"
                + " JOIN taskbroker.jobs j ON j.id = twice.job_id"
                + " CROSS JOIN LATERAL (SELECT at, attempt FROM it_executions e"
                + "   WHERE e.job_id = twice.job_id ORDER BY at LIMIT 1) first"
                + " CROSS JOIN LATERAL (SELECT at FROM it_executions e"
                + "   WHERE e.job_id = twice.job_id ORDER BY at DESC LIMIT 1) second"
                + " CROSS JOIN LATERAL (SELECT entry FROM jsonb_array_elements(j.errors) entry"
                + "   WHERE entry ->> 'kind' = 'worker_lost'"
                + "   AND (entry ->> 'attempt')::int = first.attempt) lost",
            row -> new double[] {row.getDouble(1), row.getDouble(2)});
    assertThat(gaps).as("jobs killed once and resumed").isNotEmpty();
    double maxRecovery = 0;
    double maxUntilRescued = 0;
    for (double[] gap : gaps) {
      maxRecovery = Math.max(maxRecovery, gap[0]);
      maxUntilRescued = Math.max(maxUntilRescued, gap[1]);
    }
    System.out.printf(
        "CrashIT: %d jobs, killed 2 of 3 workers (at %s and %s); %d jobs re-ran, only ones"
            + " running on a killed worker%n",
        JOBS, firstKill, secondKill, rerun);
    System.out.printf(
        "CrashIT: max recovery %.1f s (lease %d s, heartbeat %d ms, rescue every %d ms):"
            + " killed execution -> resumed execution, over %d jobs killed once;"
            + " back to pending after at most %.1f s%n",
        maxRecovery,
        LEASE.toSeconds(),
        HEARTBEAT.toMillis(),
        RESCUE.toMillis(),
        gaps.size(),
        maxUntilRescued);
    double bound = (LEASE.plus(RESCUE).plus(MARGIN)).toMillis() / 1000.0;
    assertThat(maxUntilRescued)
        .as("seconds from a killed execution until the rescuer made its job runnable again")
        .isLessThan(bound);
    assertThat(maxRecovery)
        .as(
            "seconds from a killed execution until its job ran again (a rescued job is the"
                + " oldest waiting one and should be claimed next)")
        .isLessThan(bound);
  }

  private void awaitExecutions(long atLeast) {
    await(atLeast + " executions")
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> db.executions() >= atLeast);
  }
}
