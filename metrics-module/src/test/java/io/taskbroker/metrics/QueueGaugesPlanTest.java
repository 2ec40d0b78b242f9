package io.taskbroker.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Migrations;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * The queue gauges' query is bounded by the live jobs: with many finished rows in the table its
 * plan reads the two partial indexes (pending: the claim index; running: the lease index) and never
 * scans the table. (Measured with 10 million finished rows: see the README's "Metrics and health".)
 */
@WithPostgres
class QueueGaugesPlanTest {

  @Test
  void theGaugeQueryReadsThePartialIndexesNotTheTable(TestDatabase db) throws Exception {
    Migrations.migrate(db.dataSource());
    String query;
    try (InputStream in =
        QueueGaugesPlanTest.class.getResourceAsStream(
            "/io/taskbroker/metrics/internal/queue_gauges.sql")) {
      query = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement()) {
      statement.execute(
          "INSERT INTO taskbroker.jobs (queue, plugin, status, attempt, started_at, completed_at)"
              + " SELECT 'q' || (i % 4), 'p', 'completed', 1, now(), now()"
              + " FROM generate_series(1, 100000) i");
      statement.execute(
          "INSERT INTO taskbroker.jobs (queue, plugin) SELECT 'q' || (i % 4), 'p'"
              + " FROM generate_series(1, 50) i");
      statement.execute(
          "INSERT INTO taskbroker.jobs (queue, plugin, status, attempt, worker_id, started_at,"
              + " lease_expires_at) SELECT 'q1', 'p', 'running', 1, 'w', now(),"
              + " now() + interval '1 minute' FROM generate_series(1, 20)");
      statement.execute("VACUUM ANALYZE taskbroker.job_queue");

      StringBuilder plan = new StringBuilder();
      try (ResultSet rows = statement.executeQuery("EXPLAIN " + query)) {
        while (rows.next()) {
          plan.append(rows.getString(1)).append('\n');
        }
      }
      assertThat(plan.toString())
          .as("plan:\n%s", plan)
          .contains("jobs_claim_idx")
          // Either partial index over running jobs: the lease index (V1) or, since V5, the
          // (queue, concurrency_key) one, which the planner prefers for a count by queue.
          .containsAnyOf("jobs_running_lease_idx", "jobs_running_key_idx")
          .doesNotContain("Seq Scan");
    }
  }
}
