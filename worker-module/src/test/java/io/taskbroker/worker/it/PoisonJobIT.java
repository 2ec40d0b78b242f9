package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Issue 4: a job that kills every worker process that runs it ends {@code failed} after its
 * attempts, with a {@code worker_lost} entry per attempt, and is never claimed again. A small
 * supervisor restarts worker processes as they die, as an orchestrator would.
 */
@WithPostgres
class PoisonJobIT extends ProcessIt {
  private static final int MAX_RESTARTS = 6;

  @Test
  void poisonJobFailsAfterMaxAttemptsWithWorkerLostEntriesAndIsNeverReclaimed(
      TestDatabase testDatabase) {
    db = ItDatabase.of(testDatabase).prepare();
    WorkerOptions options =
        db.workerOptions()
            .withConcurrency(1)
            .withLease(Duration.ofSeconds(1), Duration.ofMillis(200))
            .withRescue(Duration.ofMillis(200));
    UUID job =
        db.one("SELECT taskbroker.submit('poison', '{}'::jsonb, max_attempts => 3)", UUID.class);

    List<WorkerProcess> started = new ArrayList<>();
    started.add(fleet.start("worker-1", options));
    await("the poison job failed for good")
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              if ("failed".equals(db.status(job))) {
                return true;
              }
              WorkerProcess current = started.get(started.size() - 1);
              if (!current.isAlive()) {
                assertThat(started.size() - 1)
                    .as("restarts before the job failed")
                    .isLessThan(MAX_RESTARTS);
                started.add(fleet.start("worker-" + (started.size() + 1), options));
              }
              return false;
            });
    WorkerProcess survivor = started.get(started.size() - 1);
    List<WorkerProcess> killed = started.subList(0, started.size() - 1);
    System.out.printf(
        "PoisonJobIT: the poison job killed %d worker processes (exit codes %s) before it"
            + " failed%n",
        killed.size(), killed.stream().map(process -> process.process().exitValue()).toList());
    assertThat(killed).hasSize(3);
    assertThat(killed)
        .allSatisfy(process -> assertThat(process.process().exitValue()).isEqualTo(137));

    JsonNode row = Json.parse(db.jobRow(job));
    assertThat(row.path("attempt").asInt()).isEqualTo(3);
    assertThat(row.path("completed_at").isNull()).isFalse();
    JsonNode errors = row.path("errors");
    assertThat(errors).hasSize(3);
    List<ItDatabase.Execution> executions = db.executionsOf(job);
    assertThat(executions).extracting(ItDatabase.Execution::attempt).containsExactly(1, 2, 3);
    for (int i = 0; i < 3; i++) {
      assertThat(errors.get(i).path("kind").asText()).isEqualTo("worker_lost");
      assertThat(errors.get(i).path("attempt").asInt()).isEqualTo(i + 1);
      assertThat(errors.get(i).path("worker_id").asText())
          .as("the worker that ran attempt %d", i + 1)
          .isEqualTo(executions.get(i).worker());
    }
    assertThat(executions)
        .extracting(ItDatabase.Execution::worker)
        .containsExactlyElementsOf(
            killed.stream().map(process -> process.workerId().orElseThrow()).toList());

    // Failed for good: the surviving worker (which rescued it) never claims it again.
    String failedRow = db.jobRow(job);
    await("the failed job stays failed and unclaimed")
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(6))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              assertThat(db.jobRow(job)).isEqualTo(failedRow);
              assertThat(db.executionsOf(job)).hasSize(3);
            });
    assertThat(survivor.isAlive()).as("the last worker lives on").isTrue();
  }
}
