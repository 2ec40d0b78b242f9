package io.taskbroker.worker;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.tracker.PostgresJobTracker;
import io.taskbroker.common.Database;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.worker.testing.TestDatabases;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One LISTEN connection per Database: a client's await, a tracker's callbacks and the workers on
 * one Database share it, each joining it while it is up. Jobs are inserted through the test class's
 * own Database, so only a NOTIFY (never an in-process wake-up) can wake these workers.
 */
class SharedNotifierTest extends WorkerDatabaseTest {
  private static final Duration POLL_NEVER = Duration.ofSeconds(60);

  private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

  @AfterEach
  void closeOwn() throws Exception {
    while (!toClose.isEmpty()) {
      toClose.pop().close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T closeable) {
    toClose.push(closeable);
    return closeable;
  }

  @Test
  void aClientATrackerAndAWorkerOnOneDatabaseShareOneListenConnection() {
    Database own = closeLater(TestDatabases.open(testDatabase, "tb-shared"));
    TaskBrokerClient client =
        closeLater(
            TaskBrokerClient.create(
                own, ClientConfig.builder().migrate(false).awaitPollInterval(POLL_NEVER).build()));
    // In turn, each joining the connection the one before opened.
    UUID first = jobs.insert("shared", "quick");
    CompletableFuture<Job> firstDone = client.await(first);
    PostgresJobTracker tracker = closeLater(new PostgresJobTracker(client, "shared"));
    List<UUID> reported = new CopyOnWriteArrayList<>();
    tracker.onCompletion(job -> reported.add(job.id()));
    TestPlugin quick = TestPlugin.completing("quick");
    TestWorkers ownWorkers = closeLater(new TestWorkers(own));
    Worker worker =
        ownWorkers.start(TestWorkers.config("shared", 2).pollInterval(POLL_NEVER), quick);

    assertThat(firstDone).succeedsWithin(Duration.ofSeconds(5));
    within(5).until(() -> reported.contains(first));
    assertThat(worker.isListening()).isTrue();
    assertThat(listenerSessions("tb-shared-listener")).isEqualTo(1);

    // Through that one connection: a new job wakes the idle worker at once, and its end reaches
    // the awaiting client and the tracker.
    Instant submitted = Instant.now();
    UUID second = jobs.insert("shared", "quick");
    CompletableFuture<Job> secondDone = client.await(second);
    assertThat(secondDone).succeedsWithin(Duration.ofSeconds(2));
    assertThat(Duration.between(submitted, quick.startTimes(second).get(0)))
        .isLessThan(Duration.ofSeconds(1));
    within(5).until(() -> reported.contains(second));
    assertThat(listenerSessions("tb-shared-listener")).isEqualTo(1);
  }

  @Test
  void anErrorOnTheNotifierThreadStopsItsWorkerAndTheOthersOnTheDatabaseHearOn() {
    Database own = closeLater(TestDatabases.open(testDatabase, "tb-shared-fault"));
    TestWorkers ownWorkers = closeLater(new TestWorkers(own));
    TestPlugin quick = TestPlugin.completing("quick");
    Worker failing =
        ownWorkers.start(TestWorkers.config("fault-a", 1).pollInterval(POLL_NEVER), quick);
    Worker healthy =
        ownWorkers.start(TestWorkers.config("fault-b", 1).pollInterval(POLL_NEVER), quick);
    within(10).until(() -> failing.isListening() && healthy.isListening());

    // Thrown on the notifier's thread as it hands the failing worker its next notification.
    OutOfMemoryError error = new OutOfMemoryError("injected into the notifier");
    failing.injectFault("notifier", error);
    jobs.insert("fault-a", "quick");

    within(10).until(() -> failing.health().status() == WorkerHealth.Status.FAILED);
    assertThat(failing.health().failedUnit()).contains("notifier");
    assertThat(failing.health().failure()).containsSame(error);

    // The shared connection reads on: the other worker is still woken at once.
    assertThat(healthy.isHealthy()).isTrue();
    Instant submitted = Instant.now();
    UUID id = jobs.insert("fault-b", "quick");
    within(5).until(() -> jobs.status(id) == JobStatus.COMPLETED);
    assertThat(Duration.between(submitted, quick.startTimes(id).get(0)))
        .isLessThan(Duration.ofSeconds(1));
    assertThat(listenerSessions("tb-shared-fault-listener")).isEqualTo(1);
  }

  private static long listenerSessions(String applicationName) {
    return jobs.queryLong(
        "SELECT count(*) FROM pg_stat_activity"
            + " WHERE datname = current_database() AND application_name = ?",
        applicationName);
  }
}
