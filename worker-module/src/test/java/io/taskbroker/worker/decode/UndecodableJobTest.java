package io.taskbroker.worker.decode;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A row PostgreSQL accepted but this JVM cannot decode (nesting deeper than {@link Json#MAX_DEPTH},
 * which jsonb takes up to about 13,000 levels) fails alone, at once and for good; the jobs claimed
 * in the same batch run as if it were not there.
 */
class UndecodableJobTest extends WorkerDatabaseTest {
  private static final int GOOD_JOBS = 7;

  /** JSON text of an object nested {@code depth} levels deep: {"a":{"a":...1...}}. */
  static String nested(int depth) {
    return "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
  }

  private UUID submitWithSql(String queue, String payloadColumn, String metadataColumn) {
    return jobs.jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery(
                        "SELECT taskbroker.submit(:plugin, CAST(:payload AS jsonb), :queue,"
                            + " metadata => CAST(:metadata AS jsonb))")
                    .bind("plugin", queue)
                    .bind("payload", payloadColumn)
                    .bind("queue", queue)
                    .bind("metadata", metadataColumn)
                    .mapTo(UUID.class)
                    .one());
  }

  /** Whether the job is final, read without decoding its JSON (the claim is what is tested). */
  private static boolean isFinal(UUID id) {
    return jobs.statuses(List.of(id)).get(id).isFinal();
  }

  /** The failed row's columns as PostgreSQL has them, not through this JVM's row mapper. */
  private static Map<String, Object> failure(UUID id) {
    return jobs.jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery(
                        "SELECT status, attempt, max_attempts, error, jsonb_array_length(errors)"
                            + " AS failures, errors -> 0 ->> 'kind' AS kind,"
                            + " (errors -> 0 ->> 'attempt')::int AS failed_attempt,"
                            + " completed_at - started_at < :lease * interval '1 millisecond'"
                            + " AS within_lease FROM taskbroker.jobs WHERE id = :id")
                    .bind("id", id)
                    .bind("lease", TestWorkers.LEASE.toMillis())
                    .mapToMap()
                    .one());
  }

  @Test
  void innocentJobsInABatchWithAnUndecodablePayloadComplete() {
    String queue = "undecodable-payload";
    UUID bad = submitWithSql(queue, nested(Json.MAX_DEPTH + 500), "{}");
    List<UUID> good = jobs.insertMany(queue, queue, GOOD_JOBS);
    TestPlugin plugin = TestPlugin.completing(queue);
    // One claim takes all of them: the bad row is in the same batch as every good one.
    workers.start(TestWorkers.config(queue, GOOD_JOBS + 1).maxClaimBatch(GOOD_JOBS + 1), plugin);

    within(10).until(() -> isFinal(bad) && jobs.all(good, JobStatus.COMPLETED));

    Map<String, Object> row = failure(bad);
    assertThat(row.get("status")).isEqualTo("failed");
    assertThat(row.get("attempt")).as("failed for good on its first attempt").isEqualTo(1);
    assertThat((Integer) row.get("max_attempts")).isGreaterThan(1);
    assertThat((String) row.get("error")).contains("payload").contains("nesting depth");
    assertThat(row.get("failures")).isEqualTo(1);
    assertThat(row.get("kind")).isEqualTo("undecodable");
    assertThat(row.get("failed_attempt")).isEqualTo(1);
    // Failed by its worker, not by the rescuer after a lease ran out.
    assertThat(row.get("within_lease")).isEqualTo(true);
    assertThat(plugin.executions(bad)).as("the plugin never saw it").isZero();
    for (UUID id : good) {
      assertThat(plugin.executions(id)).isEqualTo(1);
      assertThat(jobs.get(id).attempt()).isEqualTo(1);
    }
  }

  @Test
  void undecodableMetadataFailsItsJobAloneToo() {
    String queue = "undecodable-metadata";
    UUID bad = submitWithSql(queue, "{}", nested(Json.MAX_DEPTH + 1));
    List<UUID> good = jobs.insertMany(queue, queue, 3);
    TestPlugin plugin = TestPlugin.completing(queue);
    workers.start(TestWorkers.config(queue, 4).maxClaimBatch(4), plugin);

    within(10).until(() -> isFinal(bad) && jobs.all(good, JobStatus.COMPLETED));

    Map<String, Object> row = failure(bad);
    assertThat(row.get("status")).isEqualTo("failed");
    assertThat(row.get("attempt")).isEqualTo(1);
    assertThat(row.get("kind")).isEqualTo("undecodable");
    assertThat((String) row.get("error")).contains("metadata");
    assertThat(plugin.executions(bad)).isZero();
  }

  @Test
  void theDeepestPayloadTheLimitAllowsRuns() {
    String queue = "deepest-allowed";
    UUID id = submitWithSql(queue, nested(Json.MAX_DEPTH), "{}");
    TestPlugin plugin = TestPlugin.named(queue, context -> context.payload());
    workers.start(queue, 1, plugin);

    within(10).until(() -> jobs.status(id).isFinal());

    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.COMPLETED);
    assertThat(row.result()).isEqualTo(Json.parse(nested(Json.MAX_DEPTH)));
  }
}
