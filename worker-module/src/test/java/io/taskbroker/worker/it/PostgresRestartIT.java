package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskbroker.testsupport.DedicatedPostgres;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 4: PostgreSQL stops mid-run and comes back on the same port. Two worker processes ride out
 * the outage, reconnect and finish every job; a job runs twice only when its lease expired during
 * the outage and it was rescued.
 */
class PostgresRestartIT extends ProcessIt {
  private static final int JOBS = 2_000;
  private static final Duration LEASE = Duration.ofSeconds(3);
  private static final List<String> CONNECTION_FAILURES =
      List.of(
          "Heartbeat failed",
          "claim failed",
          "lost its LISTEN connection",
          "Completer: cannot write");

  private static DedicatedPostgres postgres;

  @BeforeAll
  static void startPostgres() {
    postgres = DedicatedPostgres.launch();
  }

  @AfterAll
  static void closePostgres() {
    if (postgres != null) {
      postgres.close();
    }
  }

  @Test
  void workersReconnectAfterPostgresRestartAndFinishEveryJob() {
    db =
        new ItDatabase(postgres.jdbcUrl("postgres"), postgres.user(), postgres.password())
            .prepare();
    WorkerOptions options =
        db.workerOptions()
            .withConcurrency(4)
            .withLease(LEASE, Duration.ofMillis(500))
            .withRescue(Duration.ofMillis(500));
    WorkerProcess w1 = fleet.start("w1", options);
    WorkerProcess w2 = fleet.start("w2", options);
    List.of(w1, w2).forEach(WorkerProcess::awaitReady);

    db.execute(
        "INSERT INTO it_submitted (id) SELECT taskbroker.submit('record',"
            + " jsonb_build_object('i', g, 'sleep_ms', 5), run_at => clock_timestamp())"
            + " FROM generate_series(1, "
            + JOBS
            + ") g");
    await("300 executions")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> db.executions() >= 300);

    Instant stopped = Instant.now();
    postgres.stop();
    // The outage lasts until both workers have noticed it (no fixed sleep); bounded all the same.
    await("both workers noticed the outage")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> noticedOutage(w1) && noticedOutage(w2));
    // Then it lasts longer than the lease, so that the leases of the jobs the workers held
    // expire: after the restart those jobs are rescued, and the workers' held outcomes for them
    // must be refused. The workers stay up throughout.
    await("an outage longer than the lease")
        .during(LEASE.plusSeconds(1))
        .atMost(LEASE.plusSeconds(10))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> w1.isAlive() && w2.isAlive() && !postgres.isRunning());
    postgres.start();
    Instant restarted = Instant.now();
    System.out.printf(
        "PostgresRestartIT: PostgreSQL was down for %d ms%n",
        Duration.between(stopped, restarted).toMillis());

    // Both reconnect: each heartbeats again (the heartbeat refreshes the worker's row).
    await("both workers heartbeat again")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .ignoreExceptions()
        .until(
            () ->
                db.count(
                        "SELECT count(*) FROM taskbroker.workers"
                            + " WHERE id IN (?, ?) AND last_heartbeat_at > ?",
                        w1.id(),
                        w2.id(),
                        restarted.atOffset(ZoneOffset.UTC))
                    == 2);
    await("all jobs completed after the restart")
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(250))
        .ignoreExceptions()
        .until(() -> db.countStatus("completed") == JOBS);
    assertThat(List.of(w1, w2)).allSatisfy(w -> assertThat(w.isAlive()).isTrue());
    assertThat(db.count("SELECT count(*) FROM taskbroker.jobs WHERE status <> 'completed'"))
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM it_submitted s"
                    + " WHERE NOT EXISTS (SELECT 1 FROM it_executions e WHERE e.job_id = s.id)"))
        .as("submitted jobs never executed")
        .isZero();
    for (WorkerProcess worker : List.of(w1, w2)) {
      System.out.printf(
          "PostgresRestartIT: %s ran %d jobs after the restart%n",
          worker.name(),
          db.count(
              "SELECT count(*) FROM it_executions WHERE worker = ? AND at > ?",
              worker.id(),
              restarted.atOffset(ZoneOffset.UTC)));
    }

    // A job ran more than once only if the earlier execution lost its lease: it was rescued, and
    // its errors name that worker and attempt as lost.
    assertThat(
            db.count(
                "SELECT count(*) FROM ("
                    + " SELECT e.*, row_number() OVER (PARTITION BY job_id ORDER BY at DESC) AS rn"
                    + " FROM it_executions e) x JOIN taskbroker.jobs j ON j.id = x.job_id"
                    + " WHERE x.rn > 1 AND NOT j.errors @> jsonb_build_array(jsonb_build_object("
                    + " 'kind', 'worker_lost', 'worker_id', x.worker, 'attempt', x.attempt))"))
        .as("jobs run again although their earlier execution did not lose its lease")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs j"
                    + " WHERE (SELECT count(*) FROM it_executions e WHERE e.job_id = j.id)"
                    + " > j.attempt"))
        .as("jobs with more executions than attempts")
        .isZero();
    assertThat(
            db.count(
                "SELECT count(*) FROM taskbroker.jobs j JOIN LATERAL ("
                    + " SELECT worker, attempt FROM it_executions e WHERE e.job_id = j.id"
                    + " ORDER BY at DESC LIMIT 1) last ON true"
                    + " WHERE j.result ->> 'worker' <> last.worker"
                    + " OR (j.result ->> 'attempt')::int <> last.attempt"))
        .as("jobs whose result is not their last execution's")
        .isZero();
    long twice =
        db.count(
            "SELECT count(*) FROM (SELECT job_id FROM it_executions GROUP BY job_id"
                + " HAVING count(*) > 1) x");
    long rescued =
        db.count(
            "SELECT count(*) FROM taskbroker.jobs"
                + " WHERE errors @> '[{\"kind\": \"worker_lost\"}]'::jsonb");
    long otherErrors =
        db.count(
            "SELECT count(*) FROM taskbroker.jobs j, jsonb_array_elements(j.errors) entry"
                + " WHERE entry ->> 'kind' <> 'worker_lost'");
    System.out.printf(
        "PostgresRestartIT: %d jobs completed; %d ran twice, each because its lease (%d s)"
            + " expired during the outage (%d jobs rescued in all); %d failed attempts of another"
            + " kind%n",
        JOBS, twice, LEASE.toSeconds(), rescued, otherErrors);
    assertThat(otherErrors)
        .as("attempts that failed for another reason than a lost lease")
        .isZero();
  }

  private static boolean noticedOutage(WorkerProcess worker) {
    String output = worker.output();
    return CONNECTION_FAILURES.stream().anyMatch(output::contains);
  }
}
