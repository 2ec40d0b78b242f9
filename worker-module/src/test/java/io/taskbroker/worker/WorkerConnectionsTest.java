package io.taskbroker.worker;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Database;
import io.taskbroker.common.JobStatus;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.TestDatabases;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * NOTIFY is only a hint: lost notifications, a killed LISTEN connection and killed pool connections
 * must not lose or strand a job (issue 3).
 */
class WorkerConnectionsTest extends WorkerDatabaseTest {
  private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

  @AfterEach
  void closeOwnWorkers() throws Exception {
    // Workers first, then their pools.
    while (!toClose.isEmpty()) {
      toClose.pop().close();
    }
  }

  /** A worker on a pool of its own whose connections carry {@code applicationName}. */
  private Worker startWorker(String applicationName, WorkerConfig config, TestPlugin plugin) {
    Database own = TestDatabases.open(testDatabase, applicationName);
    toClose.push(own);
    TestWorkers ownWorkers = new TestWorkers(own);
    toClose.push(ownWorkers);
    return ownWorkers.start(config, plugin);
  }

  /** Ends the sessions whose application name matches the LIKE pattern; returns how many. */
  private static long terminate(String applicationNamePattern) {
    return jobs.queryLong(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            + " WHERE datname = current_database() AND application_name LIKE ?",
        applicationNamePattern);
  }

  /** The backend pid of the session with this application name; 0 when there is none. */
  private static long backendPid(String applicationName) {
    return jobs.queryLong(
        "SELECT coalesce(max(pid), 0) FROM pg_stat_activity"
            + " WHERE datname = current_database() AND application_name = ?",
        applicationName);
  }

  /**
   * Whether the worker listens on a new connection: its listener session is another backend than
   * the killed one, so it has reconnected (the flag alone may still be up from before the kill).
   */
  private static boolean listeningAgain(Worker worker, String applicationName, long... killed) {
    long now = backendPid(applicationName);
    return now != 0 && Arrays.stream(killed).noneMatch(pid -> pid == now) && worker.isListening();
  }

  @Test
  void pollingFindsEveryJobWhenNotificationsAreLost() {
    TestPlugin quick = TestPlugin.completing("quick");
    startWorker(
        "tb-poll",
        TestWorkers.config("lost-notify", 2).pollInterval(Duration.ofMillis(500)).build(),
        quick);
    // Every notification of a new job is lost: the insert trigger does not fire.
    jobs.execute("ALTER TABLE taskbroker.job_queue DISABLE TRIGGER jobs_notify_insert");
    try {
      List<UUID> ids = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        UUID id = jobs.insert("lost-notify", "quick");
        ids.add(id);
        // Found by the next jittered poll (500ms ±10%), with room for a slow machine.
        within(3).until(() -> jobs.status(id) == JobStatus.COMPLETED);
      }
      assertThat(quick.executionCounts()).containsOnlyKeys(ids).allSatisfy((id, n) -> n.equals(1));
    } finally {
      jobs.execute("ALTER TABLE taskbroker.job_queue ENABLE TRIGGER jobs_notify_insert");
    }
  }

  @Test
  void everyJobSubmittedWhileTheListenerIsKilledAgainAndAgainIsFound() {
    TestPlugin quick = TestPlugin.completing("quick");
    Worker worker =
        startWorker(
            "tb-flaky",
            TestWorkers.config("flaky-listen", 2).pollInterval(Duration.ofMillis(500)).build(),
            quick);
    List<UUID> ids = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      within(10).until(worker::isListening);
      terminate("tb-flaky-listener");
      ids.addAll(jobs.insertMany("flaky-listen", "quick", 3));
    }

    within(10).until(() -> jobs.all(ids, JobStatus.COMPLETED));
    assertThat(quick.executionCounts()).containsOnlyKeys(ids).allSatisfy((id, n) -> n.equals(1));
  }

  @Test
  void aKilledListenerReconnectsAndJobsSubmittedMeanwhileAreNotMissed() {
    TestPlugin quick = TestPlugin.completing("quick");
    // Polling is out of the picture: only notifications and the rescan after a reconnect
    // can find these jobs.
    Worker worker =
        startWorker(
            "tb-listen",
            TestWorkers.config("relisten", 4).pollInterval(Duration.ofSeconds(60)).build(),
            quick);
    within(10).until(worker::isListening);
    long killed = backendPid("tb-listen-listener");

    assertThat(terminate("tb-listen-listener")).isEqualTo(1);
    // Submitted while the worker has no LISTEN connection: their notifications reach nobody.
    List<UUID> meanwhile = jobs.insertMany("relisten", "quick", 5);

    within(10).until(() -> jobs.all(meanwhile, JobStatus.COMPLETED));
    within(10).until(() -> listeningAgain(worker, "tb-listen-listener", killed));

    // Listening again: a new job wakes the idle worker, well before the 60 s poll would (the
    // bound is liveness with room for a slow machine, not a latency target).
    UUID after = jobs.insert("relisten", "quick");
    within(10).until(() -> jobs.status(after) == JobStatus.COMPLETED);
    assertThat(quick.totalExecutions()).isEqualTo(6);
  }

  @Test
  void survivesEveryOneOfItsConnectionsBeingKilledMidRun() {
    Gate gate = new Gate();
    TestPlugin gated =
        TestPlugin.named(
            "gated",
            context -> {
              gate.pass();
              return TestPlugin.okResult(context);
            });
    List<UUID> ids = jobs.insertMany("killed", "gated", 12);
    Worker worker =
        startWorker(
            "tb-all",
            TestWorkers.config("killed", 4).pollInterval(Duration.ofMillis(300)).build(),
            gated);
    within(10).until(() -> gated.running() == 4 && worker.isListening());
    long firstListener = backendPid("tb-all-listener");

    // Pool and listener alike, while four jobs run.
    assertThat(terminate("tb-all%")).isGreaterThanOrEqualTo(2);
    gate.open();
    // And again while outcomes are being written and the next jobs claimed.
    within(10).until(() -> gated.finishedExecutions() >= 4);
    long secondListener = backendPid("tb-all-listener");
    terminate("tb-all%");

    within(30).until(() -> jobs.all(ids, JobStatus.COMPLETED));
    within(10)
        .until(() -> listeningAgain(worker, "tb-all-listener", firstListener, secondListener));
    assertThat(jobs.count("killed", JobStatus.RUNNING)).isZero();
    assertThat(gated.executionCounts()).containsOnlyKeys(ids).allSatisfy((id, n) -> n.equals(1));
    for (UUID id : ids) {
      assertThat(jobs.get(id).attempt()).isEqualTo(1);
    }
  }
}
