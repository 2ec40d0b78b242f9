package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.cli.Cli.Result;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Json;
import io.taskbroker.common.Migrations;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code taskbroker queues}, {@code retry}, {@code cancel --all}, {@code delete} and the controls
 * in {@code stats}, run in-process against a real database with no worker (jobs stay where a test
 * puts them): what each prints, its exit code, and what it leaves in the tables.
 */
@WithPostgres
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueueControlsCommandTest {
  private final TestDatabase testDatabase;
  private final Cli cli;
  private Database database;

  QueueControlsCommandTest(TestDatabase testDatabase) {
    this.testDatabase = testDatabase;
    this.cli = Cli.against(testDatabase);
  }

  @BeforeAll
  void migrate() {
    database =
        Database.connect(DatabaseConfig.builder().url(Cli.url(testDatabase)).poolSize(4).build());
    Migrations.migrate(database.dataSource());
  }

  @AfterAll
  void close() {
    database.close();
  }

  private long count(String sql) {
    return database.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
  }

  private String text(String sql) {
    return database.jdbi().withHandle(h -> h.createQuery(sql).mapTo(String.class).one());
  }

  private void execute(String sql) {
    database.jdbi().useHandle(h -> h.execute(sql));
  }

  /** taskbroker.queues as text: a refused command must leave it as it was. */
  private String queuesTable() {
    return text(
        "SELECT coalesce(string_agg(row_to_json(q)::text, '|' ORDER BY q.name), '')"
            + " FROM taskbroker.queues q");
  }

  private UUID submit(String queue, String plugin) {
    return UUID.fromString(
        text("SELECT taskbroker.submit('" + plugin + "', queue => '" + queue + "')::text"));
  }

  /** {@code count} jobs of the queue moved straight to {@code status}, finished a minute ago. */
  private void jobsIn(String queue, String plugin, String status, int count) {
    execute(
        "INSERT INTO taskbroker.jobs (queue, plugin, status, attempt, completed_at) SELECT '"
            + queue
            + "', '"
            + plugin
            + "', '"
            + status
            + "', "
            + (status.equals("pending") ? "0, NULL" : "1, now() - interval '1 minute'")
            + " FROM generate_series(1, "
            + count
            + ")");
  }

  private static void assertClean(Result result) {
    assertThat(result.err()).as(result.toString()).doesNotContain("\tat ", "Exception");
  }

  @Test
  void listPauseResumeAndLimitAQueue() {
    submit("cli-q", "echo");
    // Another test's queues may have settings by now: this one starts from none.
    execute("DELETE FROM taskbroker.queues");
    Result empty = cli.run("queues", "list");
    assertThat(empty.exitCode()).as(empty.toString()).isZero();
    assertThat(empty.out()).contains("(no queue has settings");

    Result pause = cli.run("queues", "pause", "cli-q");
    assertThat(pause.exitCode()).as(pause.toString()).isZero();
    assertThat(pause.out().strip()).isEqualTo("paused");
    assertThat(text("SELECT paused::text FROM taskbroker.queues WHERE name = 'cli-q'"))
        .isEqualTo("true");
    assertThat(cli.run("queues", "pause", "cli-q").out().strip()).isEqualTo("already paused");

    Result limits =
        cli.run(
            "queues",
            "limits",
            "cli-q",
            "--global",
            "3",
            "--rate",
            "10",
            "--per",
            "2s",
            "--per-key",
            "1");
    assertThat(limits.exitCode()).as(limits.toString()).isZero();
    assertThat(limits.out()).contains("cli-q", "paused since");
    assertThat(
            text(
                "SELECT concat_ws(',', global_concurrency, rate_limit, rate_period,"
                    + " key_concurrency) FROM taskbroker.queues WHERE name = 'cli-q'"))
        .isEqualTo("3,10,00:00:02,1");

    Result json = cli.run("queues", "list", "--json");
    assertThat(json.exitCode()).as(json.toString()).isZero();
    JsonNode row = Json.parse(json.out()).get(0);
    assertThat(row.get("name").asText()).isEqualTo("cli-q");
    assertThat(row.get("paused").asBoolean()).isTrue();
    assertThat(row.get("global_concurrency").asInt()).isEqualTo(3);
    assertThat(row.get("rate_limit").asInt()).isEqualTo(10);
    assertThat(row.get("rate_period_ms").asLong()).isEqualTo(2000);
    assertThat(row.get("key_concurrency").asInt()).isEqualTo(1);
    // Without a subcommand: the list.
    assertThat(cli.run("queues").out()).contains("cli-q", "paused since");

    Result resume = cli.run("queues", "resume", "cli-q");
    assertThat(resume.exitCode()).as(resume.toString()).isZero();
    assertThat(resume.out().strip()).isEqualTo("resumed");
    assertThat(cli.run("queues", "resume", "cli-q").out().strip()).isEqualTo("not paused");
    assertThat(text("SELECT paused::text FROM taskbroker.queues WHERE name = 'cli-q'"))
        .isEqualTo("false");

    Result none = cli.run("queues", "limits", "cli-q", "--none");
    assertThat(none.exitCode()).as(none.toString()).isZero();
    assertThat(
            count(
                "SELECT count(*) FROM taskbroker.queues WHERE name = 'cli-q' AND"
                    + " global_concurrency IS NULL AND rate_limit IS NULL AND rate_period IS NULL"
                    + " AND key_concurrency IS NULL"))
        .isEqualTo(1);
  }

  @Test
  void anUnknownQueueOrBadLimitsAreAClearErrorAndNothingIsWritten() {
    submit("cli-bad", "echo");
    execute("SELECT taskbroker.set_queue_limits('cli-bad', global_concurrency => 5)");
    String before = queuesTable();

    for (String[] args :
        new String[][] {
          {"queues", "pause", "cli-nosuch"},
          {"queues", "resume", "cli-nosuch"},
          {"queues", "limits", "cli-nosuch", "--global", "2"},
          {"retry", "--queue", "cli-nosuch"},
          {"cancel", "--all", "--queue", "cli-nosuch"},
          {"delete", "--queue", "cli-nosuch"},
        }) {
      Result result = cli.run(args);
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
      assertThat(result.err()).as(result.toString()).contains("no queue named 'cli-nosuch'");
      assertClean(result);
    }

    String[][] refused = {
      {"--global", "-1", "error: global_concurrency: "},
      {"--global", "0", "error: global_concurrency: "},
      {"--rate", "0", "error: rate_limit: "},
      {"--rate", "-3", "error: rate_limit: "},
      {"--per-key", "0", "error: key_concurrency: "},
      {"--per", "1s", "error: rate_period: "},
    };
    for (String[] bad : refused) {
      Result result = cli.run("queues", "limits", "cli-bad", bad[0], bad[1]);
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
      assertThat(result.err()).as(result.toString()).startsWith(bad[2]);
      assertClean(result);
    }
    Result zeroPeriod = cli.run("queues", "limits", "cli-bad", "--rate", "5", "--per", "0s");
    assertThat(zeroPeriod.exitCode()).as(zeroPeriod.toString()).isEqualTo(2);
    assertThat(zeroPeriod.err()).as(zeroPeriod.toString()).contains("rate_period");
    assertClean(zeroPeriod);
    Result nothing = cli.run("queues", "limits", "cli-bad");
    assertThat(nothing.exitCode()).as(nothing.toString()).isEqualTo(2);
    assertThat(nothing.err()).contains("--none");
    assertThat(queuesTable()).isEqualTo(before);

    // --create sets up a queue before it has jobs.
    Result created = cli.run("queues", "pause", "cli-later", "--create");
    assertThat(created.exitCode()).as(created.toString()).isZero();
    assertThat(count("SELECT count(*) FROM taskbroker.queues WHERE name = 'cli-later' AND paused"))
        .isEqualTo(1);
  }

  @Test
  void retryOneJobPrintsItsStatus() {
    UUID failed = submit("cli-retry", "echo");
    execute(
        "UPDATE taskbroker.jobs SET status = 'failed', attempt = 3, completed_at = now(),"
            + " errors = '[{\"error\":\"boom\"}]' WHERE id = '"
            + failed
            + "'");
    Result retried = cli.run("retry", failed.toString());
    assertThat(retried.exitCode()).as(retried.toString()).isZero();
    assertThat(retried.out().strip()).isEqualTo("pending");
    assertThat(
            text(
                "SELECT status || ',' || attempt || ',' || jsonb_array_length(errors)"
                    + " FROM taskbroker.jobs WHERE id = '"
                    + failed
                    + "'"))
        .isEqualTo("pending,0,1");

    UUID completed = submit("cli-retry", "echo");
    execute(
        "UPDATE taskbroker.jobs SET status = 'completed', attempt = 1, completed_at = now()"
            + " WHERE id = '"
            + completed
            + "'");
    Result refused = cli.run("retry", completed.toString());
    assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(1);
    assertThat(refused.out().strip()).isEqualTo("completed");
    assertThat(refused.err()).contains("only failed or cancelled jobs are retried");
    assertThat(text("SELECT status FROM taskbroker.jobs WHERE id = '" + completed + "'"))
        .isEqualTo("completed");

    Result unknown = cli.run("retry", UUID.randomUUID().toString());
    assertThat(unknown.exitCode()).as(unknown.toString()).isEqualTo(1);
    assertClean(unknown);

    Result both = cli.run("retry", failed.toString(), "--queue", "cli-retry");
    assertThat(both.exitCode()).as(both.toString()).isEqualTo(2);
  }

  @Test
  void bulkCommandsPrintCountsAndNeedYesAboveTheThreshold() {
    jobsIn("cli-bulk", "p1", "failed", 150);
    jobsIn("cli-bulk", "p2", "failed", 5);

    // Above --confirm-above (100) without --yes: the exact count, exit 2, nothing changed.
    Result tooMany = cli.run("retry", "--queue", "cli-bulk");
    assertThat(tooMany.exitCode()).as(tooMany.toString()).isEqualTo(2);
    assertThat(tooMany.err())
        .contains("would have retried 155 jobs, more than 100: nothing done; run again with --yes");
    assertThat(
            count(
                "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'cli-bulk' AND"
                    + " status = 'failed'"))
        .isEqualTo(155);

    Result fewer = cli.run("retry", "--queue", "cli-bulk", "--plugin", "p2");
    assertThat(fewer.exitCode()).as(fewer.toString()).isZero();
    assertThat(fewer.out().strip()).isEqualTo("retried 5 job(s)");

    Result raised =
        cli.run(
            "retry",
            "--queue",
            "cli-bulk",
            "--status",
            "failed",
            "--finished-since",
            "1h",
            "--confirm-above",
            "200");
    assertThat(raised.exitCode()).as(raised.toString()).isZero();
    assertThat(raised.out().strip()).isEqualTo("retried 150 job(s)");
    assertThat(
            count(
                "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'cli-bulk' AND"
                    + " status = 'pending' AND attempt = 0"))
        .isEqualTo(155);

    Result cancelRefused = cli.run("cancel", "--all", "--queue", "cli-bulk");
    assertThat(cancelRefused.exitCode()).as(cancelRefused.toString()).isEqualTo(2);
    assertThat(cancelRefused.err()).contains("would have cancelled 155 jobs");
    assertThat(
            count(
                "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'cli-bulk' AND"
                    + " status = 'pending'"))
        .isEqualTo(155);
    Result cancelled = cli.run("cancel", "--all", "--queue", "cli-bulk", "--yes");
    assertThat(cancelled.exitCode()).as(cancelled.toString()).isZero();
    assertThat(cancelled.out().strip()).isEqualTo("cancelled 155 job(s)");
    assertThat(cli.run("cancel", "--all", "--queue", "cli-bulk").out().strip())
        .isEqualTo("cancelled 0 job(s)");

    Result noFilter = cli.run("delete");
    assertThat(noFilter.exitCode()).as(noFilter.toString()).isEqualTo(2);
    assertThat(noFilter.err()).contains("delete needs a filter");
    Result deleteRefused = cli.run("delete", "--queue", "cli-bulk", "--status", "cancelled");
    assertThat(deleteRefused.exitCode()).as(deleteRefused.toString()).isEqualTo(2);
    assertThat(deleteRefused.err()).contains("would have deleted 155 jobs");
    assertThat(count("SELECT count(*) FROM taskbroker.jobs WHERE queue = 'cli-bulk'"))
        .isEqualTo(155);
    Result deleted = cli.run("delete", "--queue", "cli-bulk", "--status", "cancelled", "--yes");
    assertThat(deleted.exitCode()).as(deleted.toString()).isZero();
    assertThat(deleted.out().strip()).isEqualTo("deleted 155 job(s)");
    assertThat(count("SELECT count(*) FROM taskbroker.jobs WHERE queue = 'cli-bulk'")).isZero();

    Result badStatus = cli.run("delete", "--queue", "cli-q2", "--status", "running");
    assertThat(badStatus.exitCode()).as(badStatus.toString()).isIn(1, 2);
    assertClean(badStatus);
  }

  @Test
  void statsShowsPausedQueuesAndLimits() {
    submit("cli-stats", "echo");
    assertThat(cli.run("queues", "pause", "cli-stats").exitCode()).isZero();
    assertThat(cli.run("queues", "limits", "cli-stats", "--global", "7", "--rate", "40").exitCode())
        .isZero();

    Result stats = cli.run("stats");
    assertThat(stats.exitCode()).as(stats.toString()).isZero();
    String controls = stats.out().substring(stats.out().indexOf("QUEUE CONTROLS"));
    String line = controls.lines().filter(l -> l.startsWith("cli-stats")).findFirst().orElseThrow();
    assertThat(line).contains("paused since", " 7 ", "40 per");

    Result json = cli.run("stats", "--json");
    assertThat(json.exitCode()).as(json.toString()).isZero();
    JsonNode settings = null;
    for (JsonNode row : Json.parse(json.out()).get("queue_settings")) {
      if (row.get("name").asText().equals("cli-stats")) {
        settings = row;
      }
    }
    assertThat(settings).isNotNull();
    assertThat(settings.get("paused").asBoolean()).isTrue();
    assertThat(settings.get("global_concurrency").asInt()).isEqualTo(7);
    assertThat(settings.get("rate_limit").asInt()).isEqualTo(40);
  }
}
