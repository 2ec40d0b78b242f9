package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Issue 4: a worker frozen with SIGSTOP past its lease loses its job to another worker process,
 * which completes it. When the frozen worker wakes up (SIGCONT) and its plugin returns, it cannot
 * change the job: the row keeps the second worker's result and history.
 */
@WithPostgres
class StaleWriterIT extends ProcessIt {
  private static final Duration LEASE = Duration.ofSeconds(2);
  private static final Duration HEARTBEAT = Duration.ofMillis(400);
  private static final long JOB_MS = 1_500;
  private static final String REJECTED = "rejected: the job is no longer running under this worker";
  private static final String LOST = "is no longer this worker's";

  @Test
  void staleWorkerCannotOverwriteJobRescuedAndCompletedByAnother(TestDatabase testDatabase) {
    db = ItDatabase.of(testDatabase).prepare();
    WorkerOptions options =
        db.workerOptions()
            .withConcurrency(1)
            .withLease(LEASE, HEARTBEAT)
            .withRescue(Duration.ofMillis(300));
    WorkerProcess stale = fleet.startReady("stale", options);
    UUID job = db.submit("record", "{\"sleep_ms\": " + JOB_MS + "}");

    await("the job started on the first worker")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(10))
        .until(() -> !db.executionsOf(job).isEmpty());
    // Frozen mid-job: no heartbeat, no write, until SIGCONT.
    stale.pause();

    // Started only now, so that only a rescue can give it the job.
    WorkerProcess rescuer = fleet.startReady("rescuer", options);
    await("the job rescued and completed by the second worker")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> "completed".equals(db.status(job)));
    String completedRow = db.jobRow(job);
    JsonNode completed = Json.parse(completedRow);
    assertThat(completed.path("result").path("worker").asText()).isEqualTo(rescuer.id());
    assertThat(completed.path("result").path("attempt").asInt()).isEqualTo(2);
    assertThat(completed.path("attempt").asInt()).isEqualTo(2);
    assertThat(completed.path("worker_id").asText()).isEqualTo(rescuer.id());
    assertThat(completed.path("errors")).hasSize(1);
    JsonNode lost = completed.path("errors").get(0);
    assertThat(lost.path("kind").asText()).isEqualTo("worker_lost");
    assertThat(lost.path("worker_id").asText()).isEqualTo(stale.id());
    assertThat(lost.path("attempt").asInt()).isEqualTo(1);

    // Wake the stale worker: its plugin's sleep is long over, so it returns at once and the
    // worker tries to record attempt 1 as completed, unless its heartbeat finds the job gone
    // first. Either way it has had its go once it has heartbeated again.
    Instant resumed = db.now();
    stale.resume();
    await("the stale worker runs again and heartbeats")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(
            () ->
                db.count(
                        "SELECT count(*) FROM taskbroker.workers"
                            + " WHERE id = ? AND last_heartbeat_at > ?",
                        stale.id(),
                        resumed.atOffset(ZoneOffset.UTC))
                    == 1);
    // Nothing it does afterwards (heartbeats, more write attempts) may change the row.
    await("the row stays as the second worker left it")
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(() -> assertThat(db.jobRow(job)).isEqualTo(completedRow));
    boolean fenced = stale.outputContains(REJECTED);
    System.out.println(
        "StaleWriterIT: after SIGCONT the stale worker "
            + (fenced
                ? "wrote its outcome and the fence rejected it"
                : "found on its heartbeat that the job was no longer its own and dropped it"));
    assertThat(fenced || stale.outputContains(LOST))
        .as(
            "the stale worker's log shows its write refused or the job found gone:%n%s",
            stale.output())
        .isTrue();
    assertThat(stale.isAlive()).as("the stale worker lives on").isTrue();

    assertThat(db.executionsOf(job))
        .extracting(execution -> execution.worker() + "#" + execution.attempt())
        .containsExactly(stale.id() + "#1", rescuer.id() + "#2");
  }
}
