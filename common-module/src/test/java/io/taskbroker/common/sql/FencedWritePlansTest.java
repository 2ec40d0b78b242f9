package io.taskbroker.common.sql;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Json;
import io.taskbroker.common.Migrations;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The completion and the heartbeat find a worker's jobs by primary key, whatever the planner's
 * statistics say. A table analysed while it held finished jobs and no running one (a large history
 * between bursts, the usual state of a long-lived table) makes the planner think the running-only
 * partial indexes hold one row; a statement whose lookup carried the fence (status, worker_id) then
 * scanned every running job once per job of its batch. The plan is read with EXPLAIN, not timed.
 */
@WithPostgres
class FencedWritePlansTest {
  private static final String WORKER = "plan-test-worker";
  private static final int RUNNING = 300;
  private static final int BATCH = 160;

  private static Connection connection;
  private static UUID[] batch;

  @BeforeAll
  static void historyAnalysedWithoutRunningJobsThenABurst(TestDatabase db) throws SQLException {
    Migrations.migrate(db.dataSource());
    connection = db.connect();
    try (Statement sql = connection.createStatement()) {
      sql.execute(
          "INSERT INTO taskbroker.jobs (plugin, status, attempt, started_at, completed_at)"
              + " SELECT 'history', 'completed', 1, now(), now() FROM generate_series(1, 20000)");
      sql.execute("ANALYZE taskbroker.job_queue");
      sql.execute(
          "INSERT INTO taskbroker.jobs (plugin, status, attempt, worker_id, started_at,"
              + " heartbeat_at, lease_expires_at)"
              + " SELECT 'burst', 'running', 1, '"
              + WORKER
              + "', now(), now(), now() + interval '1 minute'"
              + " FROM generate_series(1, "
              + RUNNING
              + ")");
    }
    List<UUID> ids = new ArrayList<>();
    try (Statement sql = connection.createStatement();
        ResultSet rs =
            sql.executeQuery(
                "SELECT id FROM taskbroker.jobs WHERE status = 'running' ORDER BY id LIMIT "
                    + BATCH)) {
      while (rs.next()) {
        ids.add(rs.getObject(1, UUID.class));
      }
    }
    batch = ids.toArray(new UUID[0]);
  }

  @AfterAll
  static void disconnect() throws SQLException {
    connection.close();
  }

  @Test
  void theCompletionLooksItsJobsUpByPrimaryKey() throws SQLException {
    Object[] nulls = new Object[BATCH];
    Object[] attempts = new Object[BATCH];
    Arrays.fill(attempts, 1);
    Object[] statuses = new Object[BATCH];
    Arrays.fill(statuses, "completed");
    Object[] refunds = new Object[BATCH];
    Arrays.fill(refunds, false);
    JsonNode plan;
    try (NamedSql.Binder explain = explain("complete_jobs").prepare(connection)) {
      explain
          .text("worker_id", WORKER)
          .array("ids", "uuid", batch)
          .array("attempts", "int4", attempts)
          .array("statuses", "text", statuses)
          .array("results", "text", nulls)
          .array("errors", "text", nulls)
          .array("error_entries", "text", nulls)
          .array("run_at_ms", "int8", nulls)
          .array("delay_ms", "int8", nulls)
          .array("refunds", "bool", refunds);
      plan = planOf(explain);
    }

    assertEveryReadOfJobsIsAPrimaryKeyProbe(plan);
  }

  @Test
  void theHeartbeatLooksItsJobsUpByPrimaryKey() throws SQLException {
    Object[] attempts = new Object[BATCH];
    Arrays.fill(attempts, 1);
    JsonNode plan;
    try (NamedSql.Binder explain = explain("heartbeat_jobs").prepare(connection)) {
      explain
          .text("worker_id", WORKER)
          .int8("lease_ms", 15_000)
          .array("ids", "uuid", batch)
          .array("attempts", "int4", attempts)
          .array("progress", "float4", new Object[BATCH])
          .array("progress_messages", "text", new Object[BATCH]);
      plan = planOf(explain);
    }

    assertEveryReadOfJobsIsAPrimaryKeyProbe(plan);
  }

  private static NamedSql explain(String statement) {
    return NamedSql.parse("EXPLAIN (FORMAT JSON) " + Sql.load(statement).strip());
  }

  private static JsonNode planOf(NamedSql.Binder explain) throws SQLException {
    try (ResultSet rs = explain.statement().executeQuery()) {
      assertThat(rs.next()).isTrue();
      return Json.parseStored(rs.getString(1)).get(0).get("Plan");
    }
  }

  private static void assertEveryReadOfJobsIsAPrimaryKeyProbe(JsonNode plan) {
    List<String> reads = new ArrayList<>();
    collectReadsOfJobs(plan, reads);
    assertThat(reads)
        .as("every scan of taskbroker.job_queue in %s", plan.toPrettyString())
        .isNotEmpty()
        .allMatch(read -> read.equals("Index Scan using jobs_pkey"));
  }

  private static void collectReadsOfJobs(JsonNode node, List<String> reads) {
    String type = node.path("Node Type").asText();
    if ("job_queue".equals(node.path("Relation Name").asText()) && !type.equals("ModifyTable")) {
      reads.add(node.has("Index Name") ? type + " using " + node.get("Index Name").asText() : type);
    }
    for (JsonNode child : node.path("Plans")) {
      collectReadsOfJobs(child, reads);
    }
  }
}
