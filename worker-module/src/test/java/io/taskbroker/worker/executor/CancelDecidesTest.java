package io.taskbroker.worker.executor;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A cancel decides the job's outcome at once, as a timeout does: the job ends cancelled and its
 * slot is free for the next job even while a plugin that ignores interruption keeps spinning.
 */
class CancelDecidesTest extends WorkerDatabaseTest {
  private final Gate spinning = new Gate();

  /** Spins past every interrupt until the test opens the gate, for jobs marked "spin". */
  private TestPlugin deaf(String name) {
    return TestPlugin.named(
        name,
        context -> {
          if (context.payload().path("spin").asBoolean()) {
            spinning.passIgnoringInterrupts();
            return Json.object().put("late", true);
          }
          return TestPlugin.okResult(context);
        });
  }

  @AfterEach
  void releaseSpinningPlugins() {
    spinning.open();
  }

  private void assertEndsCancelledWhileThePluginSpins(
      String queue, TestPlugin plugin, Worker worker, UUID deaf) {
    within(5).until(() -> jobs.status(deaf) == JobStatus.CANCELLED);
    assertThat(plugin.running()).as("the plugin still spins").isEqualTo(1);

    // Its slot (the only one) is free: the next job runs while the plugin still spins.
    UUID next = jobs.insert(queue, plugin.name());
    within(5).until(() -> jobs.status(next) == JobStatus.COMPLETED);
    assertThat(plugin.running()).isEqualTo(1);
    assertThat(spinning.isOpen()).isFalse();

    spinning.open();
    within(5).until(() -> plugin.finishedExecutions() == 2);
    Job row = jobs.get(deaf);
    assertThat(row.status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(row.result()).as("the late result is dropped").isNull();
    assertThat(row.error()).isEqualTo("cancelled by request");
    assertThat(plugin.executions(deaf)).isEqualTo(1);
    within(5).until(() -> worker.runningCount() == 0);
  }

  @Test
  void cancellingAPluginThatIgnoresInterruptionEndsTheJobAtOnce() {
    TestPlugin plugin = deaf("deaf");
    UUID deaf = jobs.insert(job("cancel-deaf", "deaf").payload(Map.of("spin", true)));
    Worker worker = workers.start("cancel-deaf", 1, plugin);
    within(10).until(() -> plugin.running() == 1 && worker.isListening());

    assertThat(jobs.cancel(deaf)).isEqualTo("running");

    assertEndsCancelledWhileThePluginSpins("cancel-deaf", plugin, worker, deaf);
  }

  @Test
  void aCancelOnlyTheHeartbeatSeesAlsoEndsAPluginThatIgnoresInterruption() {
    TestPlugin plugin = deaf("deaf-quiet");
    UUID deaf = jobs.insert(job("cancel-deaf-quiet", "deaf-quiet").payload(Map.of("spin", true)));
    Worker worker = workers.start("cancel-deaf-quiet", 1, plugin);
    within(10).until(() -> plugin.running() == 1);

    // A cancel request with no control notification: only the heartbeat learns of it.
    jobs.execute("UPDATE taskbroker.jobs SET cancel_requested_at = now() WHERE id = ?", deaf);

    assertEndsCancelledWhileThePluginSpins("cancel-deaf-quiet", plugin, worker, deaf);
  }
}
