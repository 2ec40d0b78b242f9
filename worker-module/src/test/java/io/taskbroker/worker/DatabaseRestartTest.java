package io.taskbroker.worker;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.common.Database;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.testsupport.DedicatedPostgres;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.JobFactory;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.TestDatabases;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The database goes away mid-run and comes back: workers reconnect and finish everything, and
 * outcomes decided while it was away are written when it returns (issue 4).
 */
class DatabaseRestartTest {
  private static DedicatedPostgres server;

  @BeforeAll
  static void launchServer() {
    server = DedicatedPostgres.launch();
  }

  @BeforeEach
  void serverIsUp() {
    server.start();
  }

  @AfterAll
  static void closeServer() {
    server.close();
  }

  @Test
  void workersReconnectAfterARestartAndFinishEveryJobExactlyOnce() {
    Gate gate = new Gate();
    TestPlugin plugin =
        TestPlugin.named(
            "survivor",
            context -> {
              gate.pass();
              return TestPlugin.okResult(context);
            });
    try (Database testSide = TestDatabases.open(server, "tb-restart-test");
        Database workerSide = TestDatabases.open(server, "tb-restart-worker");
        TestWorkers workers = new TestWorkers(workerSide)) {
      JobFactory jobs = new JobFactory(testSide);
      // Four run (two workers, two slots each) and four wait their turn.
      List<UUID> ids = jobs.insertMany("restart", "survivor", 8);
      // A lease long enough to outlast the restart: the jobs stay their worker's throughout.
      List<Worker> fleet = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        fleet.add(
            workers.start(
                TestWorkers.config("restart", 2)
                    .lease(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(300)),
                plugin));
      }
      within(10).until(() -> plugin.running() == 4);

      server.stop();
      // Four plugins finish while the database is away: their outcomes wait in memory.
      gate.open();
      within(10).until(() -> plugin.finishedExecutions() == 4);
      // Every worker has seen the database go: its LISTEN connection is down.
      within(10).until(() -> fleet.stream().noneMatch(Worker::isListening));
      for (Worker worker : fleet) {
        assertThat(worker.completedWrites()).isZero();
        assertThat(worker.runningCount()).as("held until written").isEqualTo(2);
      }
      Instant beforeRestart = Instant.now();
      server.start();

      within(60).ignoreExceptions().until(() -> jobs.all(ids, JobStatus.COMPLETED));

      assertThat(plugin.executionCounts()).containsOnlyKeys(ids).allSatisfy((id, n) -> n.equals(1));
      for (UUID id : ids) {
        Job row = jobs.get(id);
        assertThat(row.attempt()).isEqualTo(1);
        assertThat(row.errors()).isEmpty();
        // Nothing was written before the restart: the four outcomes decided while the database
        // was away were written when it returned.
        assertThat(row.completedAt()).isAfterOrEqualTo(beforeRestart.minusMillis(5));
      }
      long written = 0;
      for (Worker worker : fleet) {
        assertThat(worker.rejectedWrites()).isZero();
        written += worker.completedWrites();
      }
      assertThat(written).isEqualTo(8);
    }
  }

  @Test
  void shutdownWhileTheDatabaseIsAwayReportsTheJobsLeftRunningAndTheyAreRescuedLater() {
    Gate gate = new Gate();
    TestPlugin plugin =
        TestPlugin.named(
            "stranded",
            context -> {
              if (context.attempt() == 1) {
                gate.pass();
              }
              return TestPlugin.okResult(context);
            });
    try (Database testSide = TestDatabases.open(server, "tb-stranded-test");
        // Quick to give up on a connection: the shutdown below runs while the server is away.
        Database workerSide =
            TestDatabases.open(
                TestDatabases.config(server, "tb-stranded-worker")
                    .connectTimeout(Duration.ofMillis(500))
                    .build());
        TestWorkers workers = new TestWorkers(workerSide)) {
      JobFactory jobs = new JobFactory(testSide);
      List<UUID> ids = jobs.insertMany("stranded", "stranded", 2);
      Worker worker = workers.start(TestWorkers.config("stranded", 2), plugin);
      within(10).until(() -> plugin.running() == 2);

      server.stop();
      // Decided while the database is away, so neither written nor handed back.
      gate.open();
      within(10).until(() -> plugin.finishedExecutions() == 2);
      ShutdownReport report = worker.shutdown(Duration.ZERO);

      assertThat(report.drained()).isFalse();
      assertThat(report.abandoned()).containsExactlyInAnyOrderElementsOf(ids);

      server.start();
      // Still running under the stopped worker until their lease runs out; then rescued.
      ManualWorker rescuer = new ManualWorker(testSide, "rescuer");
      within(20)
          .ignoreExceptions()
          .until(
              () -> {
                rescuer.rescueOnce();
                return jobs.all(ids, JobStatus.PENDING);
              });
      // The worker's pool backs off while the server is away; wait until it connects again.
      JobFactory workerPool = new JobFactory(workerSide);
      within(20).ignoreExceptions().until(() -> workerPool.queryLong("SELECT 1") == 1);
      workers.start(TestWorkers.config("stranded", 2), plugin);
      within(10).until(() -> jobs.all(ids, JobStatus.COMPLETED));
      for (UUID id : ids) {
        assertThat(jobs.get(id).attempt()).isEqualTo(2);
        assertThat(plugin.executions(id)).as("delivered at least once").isEqualTo(2);
      }
    }
  }
}
