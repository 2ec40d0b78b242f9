package io.taskbroker.worker;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** What a worker claims, in which order, how many at once, and how quickly (issue 3). */
class WorkerRuntimeTest extends WorkerDatabaseTest {
  /**
   * Seconds a job found without the poll may take to finish: liveness with room for a loaded
   * machine, yet far inside the 60 s poll interval these tests set, so a job done within it was
   * found by a notification or a timer. Latency itself is measured by bench, not here.
   */
  private static final int NOT_THE_POLL = 10;

  @Test
  void claimsOnlyJobsOfItsQueuesAndPlugins() {
    TestPlugin mine = TestPlugin.completing("p-mine");
    UUID runnable = jobs.insert("mine", "p-mine");
    UUID otherPlugin = jobs.insert("mine", "p-other");
    UUID otherQueue = jobs.insert("theirs", "p-mine");

    workers.start("mine", 2, mine);
    within(10).until(() -> jobs.status(runnable) == JobStatus.COMPLETED);
    // A second job through the same worker: it has claimed again since, and still left the
    // others alone.
    UUID later = jobs.insert("mine", "p-mine");
    within(10).until(() -> jobs.status(later) == JobStatus.COMPLETED);

    assertThat(mine.executionCounts()).containsOnlyKeys(runnable, later);
    for (UUID untouched : List.of(otherPlugin, otherQueue)) {
      Job row = jobs.get(untouched);
      assertThat(row.status()).isEqualTo(JobStatus.PENDING);
      assertThat(row.attempt()).isZero();
      assertThat(row.workerId()).isNull();
      assertThat(row.startedAt()).isNull();
    }
    assertThat(jobs.get(runnable).result())
        .isEqualTo(Json.object().put("ok", true).put("attempt", 1));
  }

  @Test
  void runsLowerPriorityValueFirstThenEarlierRunAt() {
    Instant now = Instant.now();
    Map<String, UUID> ids = new LinkedHashMap<>();
    ids.put("A", jobs.insert(job("order", "rec").priority(5).runAt(now.minusSeconds(60))));
    ids.put("B", jobs.insert(job("order", "rec").priority(1).runAt(now.minusSeconds(60))));
    ids.put("C", jobs.insert(job("order", "rec").priority(1).runAt(now.minusSeconds(120))));
    ids.put("D", jobs.insert(job("order", "rec").priority(-3).runAt(now.minusSeconds(10))));
    ids.put("E", jobs.insert(job("order", "rec").priority(3)));
    UUID scheduled = jobs.insert(job("order", "rec").priority(-100).runAt(now.plusSeconds(3600)));
    TestPlugin recorder = TestPlugin.completing("rec");

    workers.start("order", 1, recorder);
    within(10).until(() -> recorder.finishedExecutions() == 5);

    List<String> order = new ArrayList<>();
    for (UUID id : recorder.startOrder()) {
      ids.forEach(
          (name, value) -> {
            if (value.equals(id)) {
              order.add(name);
            }
          });
    }
    assertThat(order).containsExactly("D", "C", "B", "E", "A");
    assertThat(jobs.status(scheduled)).isEqualTo(JobStatus.PENDING);
    assertThat(recorder.executions(scheduled)).isZero();
  }

  @Test
  void neverRunsMoreThanEachQueuesConcurrencyAtOnce() {
    Gate gate = new Gate();
    TestPlugin inA =
        TestPlugin.named(
            "in-a",
            context -> {
              gate.pass();
              return null;
            });
    TestPlugin inB =
        TestPlugin.named(
            "in-b",
            context -> {
              gate.pass();
              return null;
            });
    List<UUID> ids = new ArrayList<>();
    ids.addAll(jobs.insertMany("limit-a", "in-a", 15));
    ids.addAll(jobs.insertMany("limit-b", "in-b", 15));
    Map<String, Integer> queues = new LinkedHashMap<>();
    queues.put("limit-a", 2);
    queues.put("limit-b", 3);

    workers.start(TestWorkers.config("limit-a", 1).queues(queues).maxClaimBatch(10), inA, inB);
    within(10).until(() -> inA.running() == 2 && inB.running() == 3);
    assertThat(jobs.count("limit-a", JobStatus.RUNNING)).isEqualTo(2);
    assertThat(jobs.count("limit-b", JobStatus.RUNNING)).isEqualTo(3);
    gate.open();
    within(20).until(() -> jobs.all(ids, JobStatus.COMPLETED));

    assertThat(inA.maxRunning()).isEqualTo(2);
    assertThat(inB.maxRunning()).isEqualTo(3);
    assertThat(inA.totalExecutions()).isEqualTo(15);
    assertThat(inB.totalExecutions()).isEqualTo(15);
  }

  @Test
  void claimsAgainAtOnceWhenABatchCameBackFull() {
    Gate gate = new Gate();
    TestPlugin held =
        TestPlugin.named(
            "held",
            context -> {
              gate.pass();
              return null;
            });
    // Inserted before the worker listens, so no notification can help: only the re-claim after
    // a full batch of 2 fills 8 slots before the 60-second poll.
    List<UUID> ids = jobs.insertMany("batches", "held", 8);

    workers.start(
        TestWorkers.config("batches", 8).maxClaimBatch(2).pollInterval(Duration.ofSeconds(60)),
        held);
    within(3).until(() -> held.running() == 8);
    gate.open();

    within(10).until(() -> jobs.all(ids, JobStatus.COMPLETED));
    assertThat(held.totalExecutions()).isEqualTo(8);
  }

  @Test
  void aJobSubmittedToAnIdleWorkerStartsThroughNotifyWithoutWaitingForThePoll() {
    TestPlugin quick = TestPlugin.completing("quick");
    Worker worker =
        workers.start(TestWorkers.config("notify", 2).pollInterval(Duration.ofSeconds(60)), quick);
    within(10).until(worker::isListening);

    for (int i = 0; i < 3; i++) {
      UUID id = jobs.insert("notify", "quick");
      // Liveness, not latency: far inside the 60 s poll, so only the notification found it.
      within(NOT_THE_POLL).until(() -> jobs.status(id) == JobStatus.COMPLETED);
    }
  }

  @RepeatedTest(3)
  void aJobSubmittedRightAfterStartRunsWithoutWaitingForThePoll() {
    TestPlugin quick = TestPlugin.completing("quick");
    workers.start(TestWorkers.config("right-after", 1).pollInterval(Duration.ofSeconds(60)), quick);

    // No wait for anything: start() has returned, so the worker must not miss this job.
    UUID id = jobs.insert("right-after", "quick");

    within(NOT_THE_POLL).until(() -> jobs.status(id) == JobStatus.COMPLETED);
  }

  @Test
  void oneBatchAcrossQueuesWakesTheProducerOfEachQueue() {
    TestPlugin quick = TestPlugin.completing("quick");
    Map<String, Integer> queues = new LinkedHashMap<>();
    queues.put("wake-a", 1);
    queues.put("wake-b", 1);
    Worker worker =
        workers.start(
            TestWorkers.config("wake-a", 1).queues(queues).pollInterval(Duration.ofSeconds(60)),
            quick);
    within(10).until(worker::isListening);

    // One statement, two queues: a single '*' notification.
    List<UUID> ids =
        jobs.insertAll(List.of(job("wake-a", "quick").build(), job("wake-b", "quick").build()));

    within(NOT_THE_POLL).until(() -> jobs.all(ids, JobStatus.COMPLETED));
  }

  @Test
  void aScheduledJobRunsAtItsRunAtWithoutWaitingForThePoll() {
    TestPlugin quick = TestPlugin.completing("quick");
    Worker worker =
        workers.start(TestWorkers.config("timer", 1).pollInterval(Duration.ofSeconds(60)), quick);
    within(10).until(worker::isListening);

    Instant runAt = Instant.now().plusMillis(700);
    UUID id = jobs.insert(job("timer", "quick").runAt(runAt));

    within(NOT_THE_POLL).until(() -> jobs.status(id) == JobStatus.COMPLETED);
    Instant started = quick.startTimes(id).get(0);
    assertThat(started).isAfterOrEqualTo(runAt.minusMillis(5));
  }

  @Test
  void aJobForAPluginNoWorkerHasStaysPendingAndShowsAsUnserved() {
    UUID orphan = jobs.insert("unserved", "nobody-has-this");
    UUID served = jobs.insert("unserved", "have");
    TestPlugin have = TestPlugin.completing("have");

    workers.start("unserved", 2, have);
    within(10).until(() -> jobs.status(served) == JobStatus.COMPLETED);

    assertThat(jobs.status(orphan)).isEqualTo(JobStatus.PENDING);
    assertThat(
            jobs.queryLong(
                "SELECT pending FROM taskbroker.unserved_jobs"
                    + " WHERE queue = 'unserved' AND plugin = 'nobody-has-this'"))
        .isEqualTo(1);
    assertThat(
            jobs.queryLong(
                "SELECT count(*) FROM taskbroker.unserved_jobs"
                    + " WHERE queue = 'unserved' AND plugin = 'have'"))
        .isZero();
  }

  @Test
  void workerRowExistsWhileRunningAndIsGoneAfterShutdown() {
    TestPlugin plugin = TestPlugin.completing("listed");
    Worker worker = workers.start("fleet", 3, plugin);

    Map<String, Object> row =
        jobs.jdbi()
            .withHandle(
                handle ->
                    handle
                        .createQuery(
                            "SELECT host, pid, queues::text AS queues, plugins, concurrency,"
                                + " started_at FROM taskbroker.workers WHERE id = :id")
                        .bind("id", worker.id())
                        .mapToMap()
                        .one());
    assertThat(row.get("host")).asString().isNotBlank();
    assertThat(row.get("pid")).isEqualTo(ProcessHandle.current().pid());
    JsonNode queues = Json.parse((String) row.get("queues"));
    assertThat(queues).isEqualTo(Json.object().put("fleet", 3));
    assertThat(row.get("concurrency")).isEqualTo(3);
    assertThat(
            jobs.queryLong(
                "SELECT count(*) FROM taskbroker.workers WHERE id = ? AND plugins = ARRAY['listed']",
                worker.id()))
        .isEqualTo(1);
    // The heartbeat keeps the row fresh.
    within(5)
        .until(
            () ->
                jobs.queryLong(
                        "SELECT count(*) FROM taskbroker.workers"
                            + " WHERE id = ? AND last_heartbeat_at > started_at",
                        worker.id())
                    == 1);

    worker.shutdown();

    assertThat(jobs.queryLong("SELECT count(*) FROM taskbroker.workers WHERE id = ?", worker.id()))
        .isZero();
  }

  @Test
  void aWorkerWhoseRowWasReapedRegistersAgainOnItsNextHeartbeat() {
    Worker worker = workers.start("reaped", 2, TestPlugin.completing("p"));
    jobs.execute("DELETE FROM taskbroker.workers WHERE id = ?", worker.id());

    within(5)
        .until(
            () ->
                jobs.queryLong(
                        "SELECT count(*) FROM taskbroker.workers WHERE id = ? AND concurrency = 2",
                        worker.id())
                    == 1);
  }
}
