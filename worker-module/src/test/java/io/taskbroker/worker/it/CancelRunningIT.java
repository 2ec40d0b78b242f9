package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Issue 4: {@code taskbroker.cancel(id)} from another process reaches a plugin running in a worker
 * process within a second; the job ends cancelled and stays so.
 */
@WithPostgres
class CancelRunningIT extends ProcessIt {
  @Test
  void cancelReachesPluginInAnotherProcessWithinOneSecondAndJobStaysCancelled(
      TestDatabase testDatabase) {
    db = ItDatabase.of(testDatabase).prepare();
    // A heartbeat far apart from the second allowed: the cancel has to travel by notification.
    WorkerOptions options =
        db.workerOptions()
            .withConcurrency(2)
            .withLease(Duration.ofSeconds(15), Duration.ofSeconds(5));
    WorkerProcess worker = fleet.startReady("worker", options);
    UUID job = db.submit("cancellable", "{\"max_ms\": 30000}");
    await("the cancellable job started")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(10))
        .until(() -> !db.executionsOf(job).isEmpty());

    List<Object[]> cancel =
        db.query(
            "SELECT taskbroker.cancel(?), clock_timestamp()",
            row -> new Object[] {row.getString(1), row.getObject(2, OffsetDateTime.class)},
            job);
    assertThat(cancel.get(0)[0]).as("status cancel() reports").isEqualTo("running");
    Instant cancelledAt = ((OffsetDateTime) cancel.get(0)[1]).toInstant();

    await("the plugin saw the cancel")
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> db.count("SELECT count(*) FROM it_cancel_seen WHERE job_id = ?", job) == 1);
    Instant seenAt = db.instant("SELECT at FROM it_cancel_seen WHERE job_id = ?", job);
    Duration delay = Duration.between(cancelledAt, seenAt);
    System.out.printf(
        "CancelRunningIT: the plugin in worker process %d saw the cancel %d ms after"
            + " taskbroker.cancel()%n",
        worker.pid(), delay.toMillis());
    assertThat(delay).as("cancel -> plugin sees it").isLessThan(Duration.ofSeconds(1));

    await("the job is cancelled")
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> "cancelled".equals(db.status(job)));
    String cancelledRow = db.jobRow(job);
    JsonNode row = Json.parse(cancelledRow);
    assertThat(row.path("attempt").asInt()).isEqualTo(1);
    assertThat(row.path("result").isNull()).isTrue();
    assertThat(row.path("completed_at").isNull()).isFalse();
    assertThat(row.path("cancel_requested_at").isNull()).isFalse();
    assertThat(row.path("lease_expires_at").isNull()).isTrue();

    // The worker goes on to other work (so it has written whatever it had for the cancelled
    // job), and nothing it or anyone writes later changes the cancelled row.
    UUID next = db.submit("record", "{\"sleep_ms\": 10}");
    await("the worker completed a later job")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> "completed".equals(db.status(next)));
    await("the cancelled row stays as it is")
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(() -> assertThat(db.jobRow(job)).isEqualTo(cancelledRow));
    assertThat(db.executionsOf(job)).hasSize(1);
    assertThat(worker.isAlive()).isTrue();
  }
}
