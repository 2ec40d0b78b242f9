package io.taskbroker.worker;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.SnoozeJob;
import io.taskbroker.api.spi.JobEvent;
import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.api.spi.JobLifecycleListener.OutcomeKind;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.executor.JobExecutor;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/**
 * A {@link JobLifecycleListener} on the worker's config sees every step of every job, and nothing
 * it does can harm a job.
 */
class JobLifecycleListenerTest extends WorkerDatabaseTest {

  /** Records what it is told, by job. Thread-safe. */
  private static final class Recording implements JobLifecycleListener {
    final Map<UUID, List<String>> events = new ConcurrentHashMap<>();
    final List<UUID> rescued = new CopyOnWriteArrayList<>();
    final Map<UUID, Duration> latencies = new ConcurrentHashMap<>();

    private void add(JobEvent job, String event) {
      events.computeIfAbsent(job.jobId(), id -> new CopyOnWriteArrayList<>()).add(event);
    }

    List<String> of(UUID id) {
      return events.getOrDefault(id, List.of());
    }

    @Override
    public void claimed(JobEvent job) {
      add(job, "claimed:" + job.attempt());
    }

    @Override
    public void started(JobEvent job) {
      add(job, "started:" + job.attempt());
    }

    @Override
    public void finished(
        JobEvent job, OutcomeKind outcome, Duration runDuration, Duration queueLatency) {
      add(job, "finished:" + outcome);
      latencies.put(job.jobId(), queueLatency);
    }

    @Override
    public void writeRejected(JobEvent job) {
      add(job, "rejected");
    }

    @Override
    public void rescued(List<UUID> jobIds) {
      rescued.addAll(jobIds);
    }
  }

  /** Throws from every call, an Exception or an Error. */
  private static final class Throwing implements JobLifecycleListener {
    @Override
    public void claimed(JobEvent job) {
      throw new IllegalStateException("listener broke on claim");
    }

    @Override
    public void started(JobEvent job) {
      throw new AssertionError("listener broke on start");
    }

    @Override
    public void finished(JobEvent job, OutcomeKind outcome, Duration run, Duration latency) {
      throw new IllegalStateException("listener broke on finish");
    }

    @Override
    public void writeRejected(JobEvent job) {
      throw new IllegalStateException("listener broke on rejection");
    }
  }

  private static TestPlugin lifecycle(Gate gate) {
    return TestPlugin.named(
        "life",
        context -> {
          String what = context.payload().path("do").asText();
          switch (what) {
            case "fail":
              throw new FailJob("no, never");
            case "retry":
              if (context.attempt() == 1) {
                throw new IllegalStateException("first attempt fails");
              }
              return TestPlugin.okResult(context);
            case "snooze":
              if (context.attempt() == 1 && context.payload().path("snoozed").isMissingNode()) {
                // Snoozing refunds the attempt: the second run is attempt 1 again.
                jobs.execute(
                    "UPDATE taskbroker.jobs SET payload = payload || '{\"snoozed\": true}'"
                        + " WHERE id = ?",
                    context.jobId());
                throw new SnoozeJob(Duration.ofMillis(10));
              }
              return TestPlugin.okResult(context);
            case "wait":
              gate.pass();
              return TestPlugin.okResult(context);
            default:
              return TestPlugin.okResult(context);
          }
        });
  }

  @Test
  void listenersSeeEveryLifecycleEventOfAJob() {
    Recording listener = new Recording();
    Gate gate = new Gate();
    TestPlugin plugin = lifecycle(gate);
    UUID completed = jobs.insert(job("life", "life").payload(Map.of("do", "complete")));
    UUID failed = jobs.insert(job("life", "life").payload(Map.of("do", "fail")));
    UUID retried = jobs.insert(job("life", "life").payload(Map.of("do", "retry")));
    UUID snoozed = jobs.insert(job("life", "life").payload(Map.of("do", "snooze")));
    UUID cancelled = jobs.insert(job("life", "life").payload(Map.of("do", "wait")));
    UUID rejected = jobs.insert(job("life", "life").payload(Map.of("do", "wait")));
    // A dead worker's job, for this worker's rescuer.
    ManualWorker dead = new ManualWorker(database, "dead-worker");
    UUID orphan = jobs.insert(job("orphans", "life"));
    dead.claimOne("orphans", Duration.ofMinutes(1));
    jobs.expireLease(orphan);
    // Heartbeats far apart: the outcome, not a heartbeat, finds out the hijacked job is gone.
    Worker worker =
        workers.start(
            TestWorkers.config("life", 10)
                .lease(Duration.ofMinutes(2))
                .heartbeatInterval(Duration.ofMinutes(1))
                // Its own passes far apart: the test runs the one that rescues.
                .rescueInterval(Duration.ofMinutes(1))
                .listener(listener),
            plugin);

    within(10)
        .until(
            () ->
                Set.of(JobStatus.COMPLETED)
                        .containsAll(jobs.statuses(List.of(completed, retried, snoozed)).values())
                    && jobs.status(failed) == JobStatus.FAILED
                    && plugin.running() == 2);
    // The class's database may hold other tests' lost jobs: this pass takes those too.
    assertThat(worker.rescueNow()).isPositive();
    jobs.cancel(cancelled);
    within(10).until(() -> jobs.status(cancelled) == JobStatus.CANCELLED);
    jobs.execute(
        "UPDATE taskbroker.jobs SET worker_id = 'someone-else', attempt = attempt + 1,"
            + " lease_expires_at = now() + interval '1 minute' WHERE id = ?",
        rejected);
    gate.open();
    within(10).until(() -> worker.rejectedWrites() == 1);
    // Listeners hear of a step after it is taken: the count can be ahead of the event.
    within(10).until(() -> listener.of(rejected).contains("rejected"));

    assertThat(listener.of(completed))
        .containsExactly("claimed:1", "started:1", "finished:COMPLETED");
    assertThat(listener.of(failed)).containsExactly("claimed:1", "started:1", "finished:FAILED");
    assertThat(listener.of(retried))
        .containsExactly(
            "claimed:1",
            "started:1",
            "finished:RETRIED",
            "claimed:2",
            "started:2",
            "finished:COMPLETED");
    assertThat(listener.of(snoozed))
        .containsExactly(
            "claimed:1",
            "started:1",
            "finished:SNOOZED",
            "claimed:1",
            "started:1",
            "finished:COMPLETED");
    assertThat(listener.of(cancelled))
        .containsExactly("claimed:1", "started:1", "finished:CANCELLED");
    assertThat(listener.of(rejected)).containsExactly("claimed:1", "started:1", "rejected");
    assertThat(listener.rescued)
        .contains(orphan)
        .doesNotContain(completed, failed, retried, snoozed, cancelled, rejected);
    assertThat(listener.latencies.get(completed)).isNotNull();
  }

  @Test
  void aJobFoundGoneByTheHeartbeatIsReportedLost() {
    Recording listener = new Recording();
    Gate gate = new Gate();
    UUID id = jobs.insert(job("lost", "life").payload(Map.of("do", "wait")));
    TestPlugin plugin = lifecycle(gate);
    workers.start(TestWorkers.config("lost", 1).rescuerEnabled(false).listener(listener), plugin);
    within(10).until(() -> plugin.running() == 1);

    jobs.execute(
        "UPDATE taskbroker.jobs SET worker_id = 'someone-else', attempt = attempt + 1 WHERE id = ?",
        id);

    within(10).until(() -> listener.of(id).contains("finished:LOST"));
    gate.open();
    assertThat(listener.of(id)).containsExactly("claimed:1", "started:1", "finished:LOST");
  }

  @Test
  void aThrowingListenerHarmsNoJob() {
    Recording after = new Recording();
    Gate gate = new Gate();
    TestPlugin plugin = lifecycle(gate);
    gate.open();
    List<UUID> ids = jobs.insertMany("throwing", "life", 20);
    UUID retried = jobs.insert(job("throwing", "life").payload(Map.of("do", "retry")));
    UUID failed = jobs.insert(job("throwing", "life").payload(Map.of("do", "fail")));
    Worker worker =
        workers.start(
            TestWorkers.config("throwing", 4).listener(new Throwing()).listener(after), plugin);

    within(15).until(() -> jobs.all(ids, JobStatus.COMPLETED));
    within(15).until(() -> jobs.status(retried) == JobStatus.COMPLETED);
    within(15).until(() -> jobs.status(failed) == JobStatus.FAILED);

    assertThat(worker.isHealthy()).isTrue();
    within(5).until(() -> worker.runningCount() == 0);
    // The listener after the throwing one still hears everything.
    for (UUID id : ids) {
      assertThat(after.of(id)).containsExactly("claimed:1", "started:1", "finished:COMPLETED");
    }
  }

  @Test
  void pluginLogLinesCarryTheJobInTheMdc() {
    Map<String, String> seen = new ConcurrentHashMap<>();
    TestPlugin plugin =
        TestPlugin.named(
            "mdc",
            context -> {
              seen.put("job", String.valueOf(MDC.get(JobExecutor.MDC_JOB_ID)));
              seen.put("plugin", String.valueOf(MDC.get(JobExecutor.MDC_PLUGIN)));
              seen.put("queue", String.valueOf(MDC.get(JobExecutor.MDC_QUEUE)));
              return Json.object();
            });
    UUID id = jobs.insert("mdc-queue", "mdc");
    workers.start("mdc-queue", 1, plugin);

    within(10).until(() -> jobs.status(id) == JobStatus.COMPLETED);

    assertThat(seen)
        .containsEntry("job", id.toString())
        .containsEntry("plugin", "mdc")
        .containsEntry("queue", "mdc-queue");
  }
}
