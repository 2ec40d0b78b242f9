package io.taskbroker.worker;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Graceful shutdown: drain within the time given, then hand the rest back (issue 3). */
class WorkerShutdownTest extends WorkerDatabaseTest {

  private static TestPlugin gated(String name, Gate gate) {
    return TestPlugin.named(
        name,
        context -> {
          gate.pass();
          return TestPlugin.okResult(context);
        });
  }

  /** Whether every producer of the worker has stopped: it claims nothing more. */
  private static boolean producersStopped(Worker worker) {
    List<UnitHealth> producers =
        worker.health().units().stream()
            .filter(unit -> unit.name().startsWith("producer-"))
            .toList();
    return !producers.isEmpty()
        && producers.stream().allMatch(unit -> unit.state() == UnitHealth.State.STOPPED);
  }

  private static long runningUnder(String workerId) {
    return jobs.queryLong(
        "SELECT count(*) FROM taskbroker.jobs WHERE status = 'running' AND worker_id = ?",
        workerId);
  }

  @Test
  void shutdownLetsRunningJobsFinishWithinTheDrainTime() {
    Gate gate = new Gate();
    TestPlugin plugin = gated("drained", gate);
    List<UUID> ids = jobs.insertMany("drain", "drained", 2);
    Worker worker = workers.start("drain", 2, plugin);
    within(10).until(() -> plugin.running() == 2);

    CompletableFuture<ShutdownReport> shutdown =
        CompletableFuture.supplyAsync(() -> worker.shutdown(Duration.ofSeconds(20)));
    within(5).until(() -> producersStopped(worker));
    // Claiming has stopped: a job submitted now is left for another worker.
    UUID late = jobs.insert("drain", "drained");
    gate.open();
    ShutdownReport report = shutdown.join();
    assertThat(jobs.status(late)).isEqualTo(JobStatus.PENDING);
    assertThat(plugin.executions(late)).isZero();

    assertThat(report.drained()).isTrue();
    for (UUID id : ids) {
      Job row = jobs.get(id);
      assertThat(row.status()).isEqualTo(JobStatus.COMPLETED);
      assertThat(row.attempt()).isEqualTo(1);
    }
    assertThat(runningUnder(worker.id())).isZero();
    assertThat(jobs.queryLong("SELECT count(*) FROM taskbroker.workers WHERE id = ?", worker.id()))
        .isZero();
  }

  @Test
  void jobsOutlastingTheDrainAreHandedBackWithTheAttemptRefundedAndAnotherWorkerCompletesThem() {
    Gate never = new Gate();
    TestPlugin stuck = gated("long", never);
    List<UUID> ids = jobs.insertMany("handback", "long", 2);
    Worker first = workers.start("handback", 2, stuck);
    within(10).until(() -> stuck.running() == 2);

    ShutdownReport report = first.shutdown(Duration.ofMillis(300));

    assertThat(report.drained()).isFalse();
    assertThat(report.abandoned()).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(runningUnder(first.id())).isZero();
    for (UUID id : ids) {
      Job row = jobs.get(id);
      assertThat(row.status()).isEqualTo(JobStatus.PENDING);
      assertThat(row.attempt()).as("attempt refunded").isZero();
      assertThat(row.workerId()).as("the last worker").isEqualTo(first.id());
      assertThat(row.leaseExpiresAt()).isNull();
      assertThat(row.errors()).as("a hand-back is not a failure").isEmpty();
    }
    // Interrupted by the shutdown, the stuck plugins have let go.
    within(5).until(() -> stuck.running() == 0);

    TestPlugin finisher = TestPlugin.completing("long");
    Worker second = workers.start("handback", 2, finisher);
    within(10).until(() -> jobs.all(ids, JobStatus.COMPLETED));

    for (UUID id : ids) {
      Job row = jobs.get(id);
      assertThat(row.attempt()).isEqualTo(1);
      assertThat(row.result().get("attempt").asInt()).isEqualTo(1);
      assertThat(finisher.executions(id)).isEqualTo(1);
      assertThat(stuck.executions(id)).isEqualTo(1);
    }
    assertThat(second.id()).isNotEqualTo(first.id());
  }

  @Test
  void aRunningJobWithACancelRequestEndsCancelledRatherThanHandedBack() {
    Gate never = new Gate();
    TestPlugin stuck = gated("cancel-on-stop", never);
    UUID id = jobs.insert("cancel-on-stop", "cancel-on-stop");
    Worker worker = workers.start("cancel-on-stop", 1, stuck);
    within(10).until(() -> stuck.running() == 1);
    // Requested without a notification, and before a heartbeat could tell the worker.
    jobs.execute("UPDATE taskbroker.jobs SET cancel_requested_at = now() WHERE id = ?", id);

    worker.shutdown(Duration.ZERO);

    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(row.completedAt()).isNotNull();
    assertThat(runningUnder(worker.id())).isZero();
  }

  @Test
  void shutdownTwiceReturnsTheSameReport() {
    Worker worker = workers.start("twice", 1, TestPlugin.completing("nothing"));

    ShutdownReport first = worker.shutdown(Duration.ofSeconds(1));
    ShutdownReport second = worker.shutdown(Duration.ofSeconds(1));

    assertThat(first.drained()).isTrue();
    assertThat(second).isSameAs(first);
  }
}
