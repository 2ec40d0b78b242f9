package io.taskbroker.worker.completer;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.executor.Outcome;
import io.taskbroker.worker.executor.Outcomes;
import io.taskbroker.worker.executor.RunningJob;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Every write to a running job is fenced on status, worker and attempt: a worker that lost its job
 * can never overwrite the newer truth (issue 4).
 */
class FencingTest extends WorkerDatabaseTest {
  private static final Duration SHORT_LEASE = Duration.ofMillis(1);
  private static final Duration LONG_LEASE = Duration.ofMinutes(5);

  /** Claims as A, lets A's lease run out, rescues, and claims as B; returns A's and B's claims. */
  private static Job[] rescuedAndReclaimed(String queue, ManualWorker a, ManualWorker b) {
    jobs.insert(queue, "p");
    Job asA = a.claimOne(queue, SHORT_LEASE);
    within(5)
        .until(
            () -> {
              b.rescueOnce();
              return jobs.status(asA.id()) == JobStatus.PENDING;
            });
    Job asB = b.claimOne(queue, LONG_LEASE);
    assertThat(asB.id()).isEqualTo(asA.id());
    assertThat(asB.attempt()).isEqualTo(2);
    return new Job[] {asA, asB};
  }

  @Test
  void staleWorkerCannotCompleteRescuedJob() {
    ManualWorker a = new ManualWorker(database, "worker-a");
    ManualWorker b = new ManualWorker(database, "worker-b");
    Job[] claims = rescuedAndReclaimed("fence", a, b);
    Job asA = claims[0];
    Job asB = claims[1];

    // While B holds it, A can neither complete nor fail it.
    assertThat(a.complete(asA, Json.object().put("by", "A"))).isEmpty();
    assertThat(a.fail(asA, "A gave up")).isEmpty();
    assertThat(a.heartbeat(LONG_LEASE, asA)).as("A no longer holds it").isEmpty();
    assertThat(jobs.status(asA.id())).isEqualTo(JobStatus.RUNNING);

    assertThat(b.complete(asB, Json.object().put("by", "B")))
        .containsEntry(asB.id(), JobStatus.COMPLETED);
    // Nor after B finished.
    assertThat(a.complete(asA, Json.object().put("by", "A"))).isEmpty();

    Job row = jobs.get(asA.id());
    assertThat(row.status()).isEqualTo(JobStatus.COMPLETED);
    assertThat(row.result()).isEqualTo(Json.object().put("by", "B"));
    assertThat(row.workerId()).isEqualTo("worker-b");
    assertThat(row.attempt()).isEqualTo(2);
  }

  @Test
  void completerCountsTheRejectionAndTheRowKeepsTheNewerResult() {
    ManualWorker a = new ManualWorker(database, "completer-a");
    ManualWorker b = new ManualWorker(database, "completer-b");
    Job[] claims = rescuedAndReclaimed("fence-completer", a, b);
    b.complete(claims[1], Json.object().put("by", "B"));
    List<RunningJob> done = new CopyOnWriteArrayList<>();
    Outcomes outcomes =
        TestCompleters.outcomes("completer-a", WorkerConfig.DEFAULT_MAX_RESULT_BYTES);
    Completer completer = TestCompleters.completer(database, "completer-a", outcomes, () -> 0);
    completer.start();
    try {
      RunningJob stale = RunningJob.unowned(claims[0], done::add);
      completer.accept(
          outcomes.prepare(stale, new Outcome.Completed(Json.object().put("by", "A"))));

      within(5).until(() -> done.size() == 1);
      assertThat(done).containsExactly(stale);
      assertThat(completer.rejectedCount()).isEqualTo(1);
      assertThat(completer.writtenCount()).isZero();
    } finally {
      completer.stop(Duration.ofSeconds(5));
    }
    assertThat(jobs.get(claims[0].id()).result()).isEqualTo(Json.object().put("by", "B"));
  }

  @Test
  void aWorkersLateOutcomeForAJobTakenOverIsRejectedAndCounted() {
    Gate gate = new Gate();
    TestPlugin plugin =
        TestPlugin.named(
            "late",
            context -> {
              gate.pass();
              return Json.object().put("by", "worker");
            });
    UUID id = jobs.insert("fence-late", "late");
    // Heartbeats far apart: the plugin's outcome, not a heartbeat, finds out the job is gone.
    Worker worker =
        workers.start(
            TestWorkers.config("fence-late", 1)
                .lease(Duration.ofMinutes(2))
                .heartbeatInterval(Duration.ofMinutes(1))
                .rescuerEnabled(false),
            plugin);
    within(10).until(() -> plugin.running() == 1);
    jobs.execute(
        "UPDATE taskbroker.jobs SET worker_id = 'B', attempt = attempt + 1,"
            + " lease_expires_at = now() + interval '1 minute' WHERE id = ?",
        id);

    gate.open();

    within(5).until(() -> worker.rejectedWrites() == 1);
    assertThat(worker.completedWrites()).isZero();
    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.RUNNING);
    assertThat(row.workerId()).isEqualTo("B");
    assertThat(row.result()).isNull();
    assertThat(worker.runningCount()).as("its slot is free").isZero();
  }
}
