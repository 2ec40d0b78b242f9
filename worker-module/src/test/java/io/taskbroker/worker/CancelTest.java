package io.taskbroker.worker;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** Cancelling a running job reaches its plugin, and the row ends cancelled for good (issue 4). */
class CancelTest extends WorkerDatabaseTest {
  private final ConcurrentHashMap<UUID, Instant> sawCancel = new ConcurrentHashMap<>();

  /** Waits for an interrupt, and records when it came and whether the context said cancelled. */
  private TestPlugin interruptible(String name) {
    Gate never = new Gate();
    return TestPlugin.named(
        name,
        context -> {
          try {
            never.pass();
          } catch (InterruptedException e) {
            if (context.isCancelled()) {
              sawCancel.put(context.jobId(), Instant.now());
            }
            throw e;
          }
          return null;
        });
  }

  /** Ignores interrupts; polls {@code isCancelled()} and stops through {@code throwIfCancelled}. */
  private TestPlugin cooperative(String name) {
    return TestPlugin.named(
        name,
        context -> {
          while (!context.isCancelled()) {
            LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
          }
          sawCancel.put(context.jobId(), Instant.now());
          context.throwIfCancelled();
          return null;
        });
  }

  private void assertCancelledForGood(UUID id, Worker worker) {
    within(5).until(() -> jobs.status(id) == JobStatus.CANCELLED);
    Job row = jobs.get(id);
    assertThat(row.completedAt()).isNotNull();
    assertThat(row.cancelRequestedAt()).isNotNull();
    assertThat(row.result()).isNull();
    assertThat(row.attempt()).isEqualTo(1);
    // The worker that ran it writes again, late: the fence refuses.
    ManualWorker sameWorker = new ManualWorker(database, worker.id());
    assertThat(sameWorker.complete(row, Json.object().put("late", true))).isEmpty();
    assertThat(sameWorker.fail(row, "late failure")).isEmpty();
    assertThat(jobs.status(id)).isEqualTo(JobStatus.CANCELLED);
    assertThat(jobs.get(id).result()).isNull();
  }

  @Test
  void cancelThroughTheSqlFunctionInterruptsThePlugin() {
    TestPlugin plugin = interruptible("cancel-sql");
    UUID id = jobs.insert("cancel-sql", "cancel-sql");
    Worker worker = workers.start("cancel-sql", 1, plugin);
    within(10).until(() -> plugin.running() == 1 && worker.isListening());

    assertThat(jobs.cancel(id)).isEqualTo("running");

    within(5).until(() -> sawCancel.containsKey(id));
    assertCancelledForGood(id, worker);
    assertThat(plugin.executions(id)).isEqualTo(1);
  }

  @Test
  void cancelThroughTheClientStopsAPluginThatPollsIsCancelled() {
    TestPlugin plugin = cooperative("cancel-client");
    UUID id = jobs.insert("cancel-client", "cancel-client");
    Worker worker = workers.start("cancel-client", 1, plugin);
    within(10).until(() -> plugin.running() == 1 && worker.isListening());

    try (TaskBrokerClient client =
        TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build())) {
      assertThat(client.cancel(id)).isEqualTo(JobStatus.RUNNING);

      within(5).until(() -> sawCancel.containsKey(id));
    }
    assertCancelledForGood(id, worker);
    assertThat(jobs.get(id).error()).isEqualTo("cancelled by request");
  }

  @Test
  void aCancelWhoseNotificationIsLostIsAppliedByTheHeartbeat() {
    TestPlugin plugin = interruptible("cancel-quiet");
    UUID id = jobs.insert("cancel-quiet", "cancel-quiet");
    Worker worker = workers.start("cancel-quiet", 1, plugin);
    within(10).until(() -> plugin.running() == 1);

    // A cancel request with no control notification: only the heartbeat can learn of it.
    jobs.execute("UPDATE taskbroker.jobs SET cancel_requested_at = now() WHERE id = ?", id);

    // Liveness, with room for a loaded machine: the heartbeat (every 300 ms here) applies it.
    within(5).until(() -> sawCancel.containsKey(id));
    assertCancelledForGood(id, worker);
  }

  @Test
  void aCancelledPendingJobNeverRuns() {
    TestPlugin plugin = TestPlugin.completing("cancel-pending");
    UUID cancelled = jobs.insert("cancel-pending", "cancel-pending");
    assertThat(jobs.cancel(cancelled)).isEqualTo("cancelled");

    workers.start("cancel-pending", 1, plugin);
    UUID other = jobs.insert("cancel-pending", "cancel-pending");
    within(10).until(() -> jobs.status(other) == JobStatus.COMPLETED);

    assertThat(jobs.status(cancelled)).isEqualTo(JobStatus.CANCELLED);
    assertThat(plugin.executions(cancelled)).isZero();
  }
}
