package io.taskbroker.worker.heartbeat;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * One job's progress is checked, and if need be dropped, on its own: a message PostgreSQL refuses
 * never breaks the heartbeat that extends every other job's lease.
 */
class ProgressIsolationTest extends WorkerDatabaseTest {
  private static final Duration LEASE = Duration.ofSeconds(1);
  private static final String REFUSED_BY_THE_TEST = "refused by the test constraint";

  /** Reports the progress message its payload names, then waits at the gate. */
  private static TestPlugin reporting(
      String name, Map<String, String> messages, Gate gate, CountDownLatch reported) {
    return TestPlugin.named(
        name,
        context -> {
          String message = messages.get(context.payload().path("message").asText());
          context.reportProgress(0.5, message);
          reported.countDown();
          gate.pass();
          return TestPlugin.okResult(context);
        });
  }

  private Map<UUID, Instant> leases(List<UUID> ids) {
    Map<UUID, Instant> leases = new HashMap<>();
    for (UUID id : ids) {
      leases.put(id, jobs.get(id).leaseExpiresAt());
    }
    return leases;
  }

  /**
   * Waits until every job ran for three leases, each lease extended past where it stood, while
   * another worker's rescuer keeps looking; returns how many jobs that rescuer took.
   */
  private int holdForThreeLeases(String queue, List<UUID> ids) {
    Map<UUID, Instant> before = leases(ids);
    ManualWorker otherRescuer = new ManualWorker(database, "other-rescuer-" + queue);
    AtomicInteger rescued = new AtomicInteger();
    within(20)
        .until(
            () -> {
              rescued.addAndGet(otherRescuer.rescueOnce());
              return jobs.queryLong(
                      "SELECT count(*) FROM taskbroker.jobs WHERE queue = ? AND status = 'running'"
                          + " AND now() - started_at > 3 * ? * interval '1 millisecond'",
                      queue,
                      LEASE.toMillis())
                  == ids.size();
            });
    Map<UUID, Instant> after = leases(ids);
    for (UUID id : ids) {
      assertThat(after.get(id)).as("lease of %s moved forward", id).isAfter(before.get(id));
    }
    return rescued.get();
  }

  @Test
  void aRefusedProgressMessageCostsOnlyThatJobsProgress() {
    String huge = "x".repeat(20 * 1024 * 1024);
    Map<String, String> messages =
        Map.of(
            "fine", "a fine message",
            "nul", "before\u0000after",
            "surrogate", "lone \uD800 surrogate",
            "huge", huge);
    Gate gate = new Gate();
    CountDownLatch reported = new CountDownLatch(messages.size());
    TestPlugin plugin = reporting("progress", messages, gate, reported);
    Map<String, UUID> ids = new HashMap<>();
    for (String kind : messages.keySet()) {
      ids.put(
          kind, jobs.insert(job("progress-refused", "progress").payload(Map.of("message", kind))));
    }
    List<UUID> all = new ArrayList<>(ids.values());
    workers.start(
        TestWorkers.config("progress-refused", messages.size())
            .lease(LEASE)
            .heartbeatInterval(Duration.ofMillis(200))
            .rescueInterval(Duration.ofMillis(100)),
        plugin);
    within(10).until(() -> reported.getCount() == 0 && plugin.running() == messages.size());

    assertThat(holdForThreeLeases("progress-refused", all)).isZero();
    within(5).until(() -> jobs.get(ids.get("huge")).progressMessage() != null);
    assertThat(jobs.get(ids.get("fine")).progressMessage()).isEqualTo("a fine message");
    assertThat(jobs.get(ids.get("nul")).progressMessage()).isEqualTo("before\uFFFDafter");
    assertThat(jobs.get(ids.get("surrogate")).progressMessage()).isEqualTo("lone \uFFFD surrogate");
    String stored = jobs.get(ids.get("huge")).progressMessage();
    assertThat(stored.length()).isLessThan(Heartbeater.MAX_PROGRESS_MESSAGE_CHARS + 64);
    assertThat(stored)
        .endsWith(
            "… [truncated, "
                + (huge.length() - Heartbeater.MAX_PROGRESS_MESSAGE_CHARS)
                + " more characters]");
    for (UUID id : all) {
      assertThat(jobs.get(id).progress()).isEqualTo(0.5f);
    }

    gate.open();
    within(10).until(() -> jobs.all(all, JobStatus.COMPLETED));
    for (UUID id : all) {
      Job row = jobs.get(id);
      assertThat(row.attempt()).isEqualTo(1);
      assertThat(row.errors()).isEmpty();
      assertThat(plugin.executions(id)).isEqualTo(1);
    }
  }

  @Test
  void progressTheDatabaseStillRefusesIsDroppedForThatJobAloneAndItsLeaseIsExtended() {
    // A refusal no check in the worker can foresee: the heartbeat must find the job at fault.
    jobs.execute(
        "ALTER TABLE taskbroker.job_queue ADD CONSTRAINT test_refuses_progress"
            + " CHECK (progress_message IS DISTINCT FROM '"
            + REFUSED_BY_THE_TEST
            + "') NOT VALID");
    try {
      Map<String, String> messages =
          Map.of("refused", REFUSED_BY_THE_TEST, "one", "first", "two", "second");
      Gate gate = new Gate();
      CountDownLatch reported = new CountDownLatch(messages.size());
      TestPlugin plugin = reporting("progress-check", messages, gate, reported);
      Map<String, UUID> ids = new HashMap<>();
      for (String kind : messages.keySet()) {
        ids.put(
            kind,
            jobs.insert(job("progress-check", "progress-check").payload(Map.of("message", kind))));
      }
      List<UUID> all = new ArrayList<>(ids.values());
      workers.start(
          TestWorkers.config("progress-check", messages.size())
              .lease(LEASE)
              .heartbeatInterval(Duration.ofMillis(200))
              .rescueInterval(Duration.ofMillis(100)),
          plugin);
      within(10).until(() -> reported.getCount() == 0 && plugin.running() == messages.size());

      assertThat(holdForThreeLeases("progress-check", all)).isZero();
      assertThat(jobs.get(ids.get("one")).progressMessage()).isEqualTo("first");
      assertThat(jobs.get(ids.get("two")).progressMessage()).isEqualTo("second");
      assertThat(jobs.get(ids.get("refused")).progressMessage()).isNull();
      assertThat(
              jobs.queryLong(
                  "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'progress-check'"
                      + " AND heartbeat_at > now() - ? * interval '1 millisecond'",
                  LEASE.toMillis()))
          .isEqualTo(3);

      gate.open();
      within(10).until(() -> jobs.all(all, JobStatus.COMPLETED));
      for (UUID id : all) {
        assertThat(jobs.get(id).attempt()).isEqualTo(1);
        assertThat(plugin.executions(id)).isEqualTo(1);
      }
    } finally {
      jobs.execute("ALTER TABLE taskbroker.job_queue DROP CONSTRAINT test_refuses_progress");
    }
  }
}
