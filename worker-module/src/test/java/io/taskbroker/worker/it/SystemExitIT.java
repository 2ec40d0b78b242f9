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
 * A plugin that calls {@code System.exit}: the JVM's shutdown hooks run, but no stop signal came,
 * so the worker drains and then spends the attempt of what it hands back (kind {@code
 * worker_exit}): the job ends {@code failed} after max_attempts instead of being handed back
 * refunded forever, and innocent jobs complete. Worker processes are restarted as they exit, as an
 * orchestrator would.
 */
@WithPostgres
class SystemExitIT extends ProcessIt {
  private static final int MAX_RESTARTS = 6;

  @Test
  void aPluginThatCallsSystemExitEndsFailedAfterMaxAttempts(TestDatabase testDatabase) {
    db = ItDatabase.of(testDatabase).prepare();
    WorkerOptions options =
        db.workerOptions()
            .withConcurrency(2)
            .withLease(Duration.ofSeconds(2), Duration.ofMillis(200))
            .withRescue(Duration.ofMillis(200))
            .withDrain(Duration.ofSeconds(2));
    UUID exiting =
        db.one("SELECT taskbroker.submit('exit', '{}'::jsonb, max_attempts => 3)", UUID.class);
    List<UUID> innocent = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      innocent.add(db.submit("record", "{\"sleep_ms\": 100}"));
    }

    List<WorkerProcess> started = new ArrayList<>();
    started.add(fleet.start("worker-1", options));
    await("the exiting job failed for good and the innocent jobs completed")
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              if ("failed".equals(db.status(exiting))
                  && innocent.stream().allMatch(id -> "completed".equals(db.status(id)))) {
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

    JsonNode row = Json.parse(db.jobRow(exiting));
    assertThat(row.path("attempt").asInt()).isEqualTo(3);
    JsonNode errors = row.path("errors");
    assertThat(errors).hasSize(3);
    List<ItDatabase.Execution> executions = db.executionsOf(exiting);
    assertThat(executions).extracting(ItDatabase.Execution::attempt).containsExactly(1, 2, 3);
    for (int i = 0; i < 3; i++) {
      assertThat(errors.get(i).path("kind").asText()).isEqualTo("worker_exit");
      assertThat(errors.get(i).path("attempt").asInt()).isEqualTo(i + 1);
      assertThat(errors.get(i).path("worker_id").asText()).isEqualTo(executions.get(i).worker());
    }
    for (UUID id : innocent) {
      assertThat(db.executionsOf(id)).as("innocent job %s", id).isNotEmpty();
    }
  }
}
