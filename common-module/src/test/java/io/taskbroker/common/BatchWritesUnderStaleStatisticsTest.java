package io.taskbroker.common;

import static io.taskbroker.common.JdbcHelpers.one;
import static io.taskbroker.common.JdbcHelpers.update;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.testsupport.TestDatabase;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * V11: the SQL functions that write a batch of jobs read each job of the batch a bounded number of
 * times, even when the planner's statistics were taken while the table held only finished jobs (the
 * usual state of a table that keeps its history). Before V11 such a batch read a whole partial
 * index once per job: quadratic. The work is counted from the transaction's own table statistics
 * (pg_stat_xact_user_tables: rows fetched by index and by sequential scans), not timed.
 */
class BatchWritesUnderStaleStatisticsTest extends MigratedDatabaseTest {
  private static final int HISTORY = 20_000;

  BatchWritesUnderStaleStatisticsTest(TestDatabase db) {
    super(db);
  }

  @BeforeEach
  void historyAnalysedWhileEveryJobWasFinished() throws SQLException {
    update(connection, "DELETE FROM taskbroker.jobs");
    update(connection, "DELETE FROM taskbroker.queues");
    update(
        connection,
        "INSERT INTO taskbroker.jobs (plugin, status, attempt, started_at, completed_at)"
            + " SELECT 'history', 'completed', 1, now(), now() FROM generate_series(1, ?)",
        HISTORY);
    update(connection, "ANALYZE taskbroker.job_queue");
  }

  @Test
  void retryingFailedJobsReadsEachOfThemAFewTimes() throws SQLException {
    int failed = 2_000;
    update(
        connection,
        "INSERT INTO taskbroker.jobs (plugin, status, attempt, started_at, completed_at, error)"
            + " SELECT 'flaky', 'failed', 1, now(), now(), 'boom' FROM generate_series(1, ?)",
        failed);

    List<JsonNode> plans = plansOf("SELECT taskbroker.retry_jobs(plugin => 'flaky')");

    assertThat(
            one(
                connection,
                Long.class,
                "SELECT count(*) FROM taskbroker.jobs WHERE plugin ="
                    + " 'flaky' AND status = 'pending'"))
        .isEqualTo(failed);
    assertTheUpdateFindsItsRowsByPrimaryKey(plans);
  }

  @Test
  void aClaimUnderAPerKeyLimitReadsWhatItLooksAtNotItsBacklogPerJob() throws SQLException {
    int backlog = 5_000;
    update(connection, "INSERT INTO taskbroker.queues (name, key_concurrency) VALUES ('keyed', 2)");
    update(
        connection,
        "INSERT INTO taskbroker.jobs (queue, plugin, concurrency_key)"
            + " SELECT 'keyed', 'work', 'k' || (g % 500) FROM generate_series(1, ?) g",
        backlog);

    List<JsonNode> plans =
        plansOf("SELECT count(*) FROM taskbroker.claim_limited('keyed', 'w1', NULL, 128, 15000)");

    assertThat(
            one(
                connection,
                Long.class,
                "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'keyed' AND status = 'running'"))
        .isEqualTo(128);
    assertTheUpdateFindsItsRowsByPrimaryKey(plans);
  }

  /** Runs {@code sql} and returns the plan of every statement it ran, nested ones included. */
  private List<JsonNode> plansOf(String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("LOAD 'auto_explain'");
      statement.execute("SET auto_explain.log_min_duration = 0");
      statement.execute("SET auto_explain.log_nested_statements = on");
      statement.execute("SET auto_explain.log_format = 'json'");
      statement.execute("SET auto_explain.log_level = 'notice'");
      statement.execute(sql);
      List<JsonNode> plans = new ArrayList<>();
      for (SQLWarning notice = statement.getWarnings();
          notice != null;
          notice = notice.getNextWarning()) {
        String message = notice.getMessage();
        int json = message.indexOf('{');
        if (message.contains("plan:") && json >= 0) {
          plans.add(Json.parseStored(message.substring(json)).get("Plan"));
        }
      }
      statement.execute("SET auto_explain.log_min_duration = -1");
      return plans;
    }
  }

  /**
   * The UPDATE of taskbroker.jobs among {@code plans} reads its target rows (the scans under the
   * target's alias) by primary key only; the batch's own lookups (a CTE) may scan what they need.
   */
  private static void assertTheUpdateFindsItsRowsByPrimaryKey(List<JsonNode> plans) {
    List<JsonNode> updates =
        plans.stream()
            .filter(plan -> "Update".equals(plan.path("Operation").asText()))
            .filter(plan -> "job_queue".equals(plan.path("Relation Name").asText()))
            .toList();
    assertThat(updates).as("the UPDATE of taskbroker.job_queue among %s", plans).hasSize(1);
    JsonNode update = updates.get(0);
    List<String> reads = new ArrayList<>();
    collectReads(update, update.path("Alias").asText(), reads);
    assertThat(reads)
        .as("reads of the UPDATE's target in %s", update.toPrettyString())
        .isNotEmpty()
        .allMatch(read -> read.equals("Index Scan using jobs_pkey"));
  }

  private static void collectReads(JsonNode node, String alias, List<String> reads) {
    String type = node.path("Node Type").asText();
    if (!type.equals("ModifyTable")
        && "job_queue".equals(node.path("Relation Name").asText())
        && alias.equals(node.path("Alias").asText())) {
      reads.add(node.has("Index Name") ? type + " using " + node.get("Index Name").asText() : type);
    }
    for (JsonNode child : node.path("Plans")) {
      collectReads(child, alias, reads);
    }
  }
}
