package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.cli.Cli.Result;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Migrations;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** {@code taskbroker schedules} against a real database: manage schedules, refuse bad input. */
@WithPostgres
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SchedulesCommandTest {
  private final TestDatabase testDatabase;
  private final Cli cli;
  private Database database;

  SchedulesCommandTest(TestDatabase testDatabase) {
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

  @Test
  void addListPauseResumeTriggerAndRemoveASchedule() {
    Result added =
        cli.run(
            "schedules",
            "add",
            "nightly",
            "30 2 * * *",
            "echo",
            "--time-zone",
            "Europe/Berlin",
            "--payload",
            "{\"x\":1}",
            "--catch-up",
            "latest",
            "--overlap",
            "skip");
    assertThat(added.exitCode()).as(added.toString()).isZero();
    assertThat(added.out().strip()).isEqualTo("created");
    assertThat(
            cli.run(
                    "schedules",
                    "add",
                    "nightly",
                    "30 2 * * *",
                    "echo",
                    "--time-zone",
                    "Europe/Berlin",
                    "--payload",
                    "{\"x\":1}",
                    "--catch-up",
                    "latest",
                    "--overlap",
                    "skip")
                .out()
                .strip())
        .isEqualTo("unchanged");

    Result list = cli.run("schedules", "list");
    assertThat(list.exitCode()).as(list.toString()).isZero();
    assertThat(list.out()).contains("nightly", "30 2 * * *", "Europe/Berlin", "catch-up latest");
    assertThat(cli.run("schedules").out()).contains("nightly");
    assertThat(cli.run("stats").out()).contains("SCHEDULES", "nightly");

    assertThat(cli.run("schedules", "pause", "nightly").out().strip()).isEqualTo("paused");
    assertThat(count("SELECT count(*) FROM taskbroker.schedules WHERE paused")).isEqualTo(1);
    assertThat(cli.run("schedules", "resume", "nightly").out().strip()).isEqualTo("resumed");
    Result trigger = cli.run("schedules", "trigger", "nightly");
    assertThat(trigger.exitCode()).as(trigger.toString()).isZero();
    assertThat(
            count(
                "SELECT count(*) FROM taskbroker.jobs WHERE id = '"
                    + trigger.out().strip()
                    + "' AND metadata ->> 'schedule' = 'nightly'"))
        .isEqualTo(1);
    assertThat(cli.run("schedules", "remove", "nightly").out().strip()).isEqualTo("removed");
    Result again = cli.run("schedules", "remove", "nightly");
    assertThat(again.exitCode()).isEqualTo(1);
    assertThat(again.err()).contains("no schedule named 'nightly'");
  }

  @Test
  void badInputIsAMessageNamingTheFieldAndExit2WithNothingWritten() {
    assertRefused(cli.run("schedules", "add", "bad", "61 * * * *", "echo"), "error: cron: ");
    assertRefused(cli.run("schedules", "add", "bad", "* * *", "echo"), "error: cron: ");
    assertRefused(
        cli.run("schedules", "add", "bad", "* * * * *", "echo", "--time-zone", "Mars/Olympus"),
        "error: time_zone: ");
    assertRefused(
        cli.run("schedules", "add", "bad", "* * * * *", "echo", "--overlap", "never"),
        "error: overlap: ");
    assertRefused(
        cli.run("schedules", "add", "bad", "* * * * *", "echo", "--catch-up", "some"),
        "error: catch_up: ");
    assertRefused(cli.run("schedules", "add", "", "* * * * *", "echo"), "error: name: ");
    assertThat(count("SELECT count(*) FROM taskbroker.schedules WHERE name IN ('bad', '')"))
        .isZero();
  }

  private static void assertRefused(Result result, String start) {
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
    assertThat(result.err()).as(result.toString()).startsWith(start);
  }
}
