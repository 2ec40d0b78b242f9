package io.taskbroker.worker.heartbeat;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Leases are extended in batches while jobs run; progress rides along (issue 4). */
class HeartbeatTest extends WorkerDatabaseTest {
  private static final Duration LEASE = Duration.ofSeconds(1);

  @Test
  void aJobRunningForSeveralLeasesIsNotRescuedAndCompletesOnce() {
    Gate gate = new Gate();
    TestPlugin longRunning =
        TestPlugin.named(
            "long",
            context -> {
              gate.pass();
              return TestPlugin.okResult(context);
            });
    List<UUID> ids = jobs.insertMany("long-lease", "long", 4);
    workers.start(
        TestWorkers.config("long-lease", 4)
            .lease(LEASE)
            .heartbeatInterval(Duration.ofMillis(200))
            .rescueInterval(Duration.ofMillis(100)),
        longRunning);
    within(10).until(() -> longRunning.running() == 4);

    // Another worker's rescuer keeps looking too, on top of the worker's own one.
    ManualWorker otherRescuer = new ManualWorker(database, "other-rescuer");
    AtomicInteger rescued = new AtomicInteger();
    within(20)
        .until(
            () -> {
              rescued.addAndGet(otherRescuer.rescueOnce());
              return jobs.queryLong(
                      "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'long-lease'"
                          + " AND status = 'running'"
                          + " AND now() - started_at > 3 * ? * interval '1 millisecond'",
                      LEASE.toMillis())
                  == 4;
            });

    assertThat(rescued).hasValue(0);
    // Every lease is current, and was extended for all four jobs by one statement.
    assertThat(
            jobs.queryLong(
                "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'long-lease'"
                    + " AND lease_expires_at > now() AND heartbeat_at > started_at"))
        .isEqualTo(4);
    assertThat(
            jobs.queryLong(
                "SELECT count(DISTINCT heartbeat_at) FROM taskbroker.jobs"
                    + " WHERE queue = 'long-lease'"))
        .isEqualTo(1);
    gate.open();

    within(10).until(() -> jobs.all(ids, JobStatus.COMPLETED));
    for (UUID id : ids) {
      Job row = jobs.get(id);
      assertThat(row.attempt()).isEqualTo(1);
      assertThat(row.errors()).isEmpty();
      assertThat(longRunning.executions(id)).isEqualTo(1);
    }
  }

  @Test
  void progressReportedByAPluginAppearsInTheRowAfterAHeartbeat() {
    Gate half = new Gate();
    Gate done = new Gate();
    TestPlugin reporting =
        TestPlugin.named(
            "reporting",
            context -> {
              context.reportProgress(0.25, "a quarter");
              half.pass();
              context.reportProgress(0.75, "three quarters");
              done.pass();
              return null;
            });
    UUID id = jobs.insert("progress", "reporting");
    workers.start("progress", 1, reporting);

    within(5)
        .until(
            () -> {
              Job row = jobs.get(id);
              return Float.valueOf(0.25f).equals(row.progress())
                  && "a quarter".equals(row.progressMessage());
            });
    half.open();
    within(5)
        .until(
            () -> {
              Job row = jobs.get(id);
              return Float.valueOf(0.75f).equals(row.progress())
                  && "three quarters".equals(row.progressMessage());
            });
    assertThat(jobs.status(id)).isEqualTo(JobStatus.RUNNING);
    done.open();

    within(5).until(() -> jobs.status(id) == JobStatus.COMPLETED);
    assertThat(jobs.get(id).progress()).isEqualTo(1.0f);
  }

  @Test
  void aWorkerLearnsOnHeartbeatThatItLostAJobInterruptsThePluginAndFreesTheSlot() {
    Gate never = new Gate();
    AtomicInteger interrupted = new AtomicInteger();
    TestPlugin plugin =
        TestPlugin.named(
            "lost",
            context -> {
              if (context.payload().path("hold").asBoolean()) {
                try {
                  never.pass();
                } catch (InterruptedException e) {
                  interrupted.incrementAndGet();
                  throw e;
                }
              }
              return TestPlugin.okResult(context);
            });
    UUID held = jobs.insert(job("lost-lease", "lost").payload(Map.of("hold", true)));
    Worker worker =
        workers.start(TestWorkers.config("lost-lease", 1).rescuerEnabled(false), plugin);
    within(10).until(() -> plugin.running() == 1);

    // Taken over behind the worker's back: rescued and claimed by worker B in one step.
    jobs.execute(
        "UPDATE taskbroker.jobs SET worker_id = 'B', attempt = attempt + 1,"
            + " lease_expires_at = now() + interval '1 minute' WHERE id = ?",
        held);

    within(5).until(() -> interrupted.get() == 1);
    // The slot is free again: the next job runs on this concurrency-1 worker.
    UUID next = jobs.insert("lost-lease", "lost");
    within(5).until(() -> jobs.status(next) == JobStatus.COMPLETED);
    Job row = jobs.get(held);
    assertThat(row.status()).isEqualTo(JobStatus.RUNNING);
    assertThat(row.workerId()).isEqualTo("B");
    assertThat(worker.rejectedWrites())
        .as("the lost job's outcome is dropped, not written")
        .isZero();
  }
}
