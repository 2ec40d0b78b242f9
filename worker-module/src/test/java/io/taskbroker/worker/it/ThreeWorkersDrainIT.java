package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Issue 3: three worker processes on one database drain 10,000 jobs submitted by plain SQL; each
 * job runs exactly once and every worker takes part.
 */
@WithPostgres
class ThreeWorkersDrainIT extends ProcessIt {
  private static final int JOBS = 10_000;

  @Test
  void threeWorkerProcessesDrainTenThousandJobsEachExactlyOnce(TestDatabase testDatabase) {
    db = ItDatabase.of(testDatabase).prepare();
    WorkerOptions options = db.workerOptions().withConcurrency(16);
    List<WorkerProcess> workers =
        List.of(fleet.start("w1", options), fleet.start("w2", options), fleet.start("w3", options));
    // All three run before any job exists, so each has the same chance to take part.
    workers.forEach(WorkerProcess::awaitReady);

    long started = System.nanoTime();
    db.execute(
        "INSERT INTO it_submitted (id) SELECT taskbroker.submit('record',"
            + " jsonb_build_object('i', g, 'min_ms', 0, 'max_ms', 2))"
            + " FROM generate_series(1, "
            + JOBS
            + ") g");

    await("all jobs completed")
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> db.countStatus("completed") == JOBS);
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf(
        "ThreeWorkersDrainIT: %d jobs drained by 3 worker processes in %.1f s (%.0f jobs/s)%n",
        JOBS, seconds, JOBS / seconds);

    assertThat(db.count("SELECT count(*) FROM it_submitted")).isEqualTo(JOBS);
    assertThat(db.count("SELECT count(*) FROM taskbroker.jobs")).isEqualTo(JOBS);
    assertThat(db.count("SELECT count(*) FROM taskbroker.jobs WHERE status <> 'completed'"))
        .as("jobs left pending, running, failed or cancelled")
        .isZero();
    assertThat(db.executions()).as("executions recorded by the plugin").isEqualTo(JOBS);
    assertThat(db.count("SELECT count(DISTINCT job_id) FROM it_executions"))
        .as("distinct jobs executed")
        .isEqualTo(JOBS);
    assertThat(
            db.count(
                "SELECT count(*) FROM it_submitted s"
                    + " WHERE NOT EXISTS (SELECT 1 FROM it_executions e WHERE e.job_id = s.id)"))
        .as("submitted jobs never executed")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM (SELECT job_id FROM it_executions"
                    + " GROUP BY job_id HAVING count(*) > 1) twice"))
        .as("jobs executed more than once although no worker died")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs"
                    + " WHERE attempt <> 1 OR errors <> '[]'::jsonb OR lease_expires_at IS NOT NULL"))
        .as("jobs that needed a retry or kept a lease")
        .isZero();
    // The result was written by the execution that ran, and the row names that worker.
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs j JOIN it_executions e ON e.job_id = j.id"
                    + " WHERE j.result ->> 'worker' <> e.worker OR j.worker_id <> e.worker"))
        .isZero();

    Map<String, Long> perWorker =
        db
            .query(
                "SELECT worker, count(*) AS n FROM it_executions GROUP BY worker",
                row -> Map.entry(row.getString("worker"), row.getLong("n")))
            .stream()
            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    System.out.println("ThreeWorkersDrainIT: executions per worker " + perWorker);
    assertThat(perWorker.keySet())
        .as("every worker took part")
        .containsExactlyInAnyOrderElementsOf(workers.stream().map(WorkerProcess::id).toList());
    assertThat(perWorker.values()).allSatisfy(n -> assertThat(n).isPositive());
  }
}
