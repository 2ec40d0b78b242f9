package io.taskbroker.worker.security;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.LoginRoles;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Any role that can connect may NOTIFY on taskbroker's channels (PostgreSQL has no privilege for
 * it). A notification is a hint: it never cancels a job the table does not say is cancelled, and a
 * burst of them costs a few claims, not one each.
 */
class NotificationsAreHintsTest extends WorkerDatabaseTest {
  private LoginRoles roles;
  private final Set<UUID> sawCancel = ConcurrentHashMap.newKeySet();

  @BeforeEach
  void createRoles() {
    roles = new LoginRoles(testDatabase);
  }

  @AfterEach
  void dropRoles() {
    roles.close();
  }

  /** Waits at the gate; records a job whose wait ended by a cancel. */
  private TestPlugin gated(String name, Gate gate) {
    return TestPlugin.named(
        name,
        context -> {
          try {
            gate.pass();
          } catch (InterruptedException e) {
            if (context.isCancelled()) {
              sawCancel.add(context.jobId());
            }
            throw e;
          }
          return null;
        });
  }

  /** Sends each payload on the channel in a transaction of its own, as this role. */
  private void notifyAs(String role, String channel, int times, String payload)
      throws SQLException {
    try (Connection connection = roles.connect(role);
        PreparedStatement notify = connection.prepareStatement("SELECT pg_notify(?, ?)")) {
      for (int i = 0; i < times; i++) {
        notify.setString(1, channel);
        notify.setString(2, payload);
        notify.execute();
      }
    }
  }

  private static String cancelMessage(UUID jobId, String workerId) {
    var message = Json.object().put("action", "cancel").put("job_id", jobId.toString());
    if (workerId != null) {
      message.put("worker_id", workerId);
    }
    return Json.write(message);
  }

  @Test
  void aForgedCancelNotifyDoesNotCancelARunningJob() throws Exception {
    Gate gate = new Gate();
    TestPlugin plugin = gated("hint-cancel", gate);
    UUID victim = jobs.insert("hint-cancel", "hint-cancel");
    UUID cancelledForReal = jobs.insert("hint-cancel", "hint-cancel");
    Worker worker = workers.start("hint-cancel", 2, plugin);
    within(10).until(() -> plugin.running() == 2 && worker.isListening());

    String nobody = roles.create("nobody");
    notifyAs(nobody, "taskbroker_control", 1, cancelMessage(victim, worker.id()));
    notifyAs(nobody, "taskbroker_control", 1, cancelMessage(victim, null));
    // A real cancel, sent after the forged ones: the worker reads control messages in order, so
    // once this one took effect it has seen the forged ones too.
    assertThat(jobs.cancel(cancelledForReal)).isEqualTo("running");
    within(5).until(() -> jobs.status(cancelledForReal) == JobStatus.CANCELLED);

    assertThat(sawCancel).containsExactly(cancelledForReal);
    assertThat(jobs.status(victim)).isEqualTo(JobStatus.RUNNING);
    gate.open();
    within(5).until(() -> jobs.status(victim) == JobStatus.COMPLETED);
    assertThat(jobs.get(victim).cancelRequestedAt()).isNull();
  }

  @Test
  void aRealCancelStillEndsTheRunningJob() throws Exception {
    Gate never = new Gate();
    TestPlugin plugin = gated("hint-real", never);
    UUID id = jobs.insert("hint-real", "hint-real");
    // Heartbeats far apart: only the control notification can bring the cancel in time.
    Worker worker =
        workers.start(
            TestWorkers.config("hint-real", 1)
                .lease(Duration.ofMinutes(2))
                .heartbeatInterval(Duration.ofMinutes(1)),
            plugin);
    within(10).until(() -> plugin.running() == 1 && worker.isListening());

    assertThat(jobs.cancel(id)).isEqualTo("running");

    within(5).until(() -> jobs.status(id) == JobStatus.CANCELLED);
    assertThat(sawCancel).containsExactly(id);
  }

  @Test
  void forgedNewJobNotifyBurstsCostAFewClaims() throws Exception {
    TestPlugin plugin = TestPlugin.completing("hint-burst");
    // No poll within the test: a job is claimed only on its NOTIFY, which the worker reads after
    // every NOTIFY sent before it.
    Worker worker =
        workers.start(
            TestWorkers.config("hint-burst", 4).pollInterval(Duration.ofMinutes(1)), plugin);
    within(10).until(worker::isListening);
    within(10).until(() -> worker.claimCount() >= 1);
    long before = worker.claimCount();
    long started = System.nanoTime();

    notifyAs(roles.create("nobody"), "taskbroker_new_job", 2_000, "hint-burst");
    jobs.execute("SELECT taskbroker.submit('hint-burst', '{}'::jsonb, 'hint-burst')");
    within(10).until(() -> plugin.finishedExecutions() == 1);

    // The producer's promise is a rate, not a count: during a flood of NOTIFYs it claims at most
    // about five times a second (quiet windows doubling to 200 ms), plus the few claims while the
    // window grows. On a loaded machine the same 2,000 NOTIFYs arrive over a longer time, so the
    // bound grows with it; one claim per NOTIFY, or one per few, still fails by far.
    double seconds = (System.nanoTime() - started) / 1e9;
    long allowed = 10 + (long) Math.ceil(5.5 * seconds);
    assertThat(worker.claimCount() - before).isBetween(1L, Math.max(49L, allowed));
  }
}
