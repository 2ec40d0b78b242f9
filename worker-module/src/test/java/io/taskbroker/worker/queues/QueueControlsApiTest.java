package io.taskbroker.worker.queues;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.BulkResult;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.InvalidQueueException;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobFilter;
import io.taskbroker.common.JobNotFoundException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.common.QueueSettings;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.testing.JobFactory;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.JdbiException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The queue controls and redrive through the Java client, and the SQL functions' refusals of bad
 * input, on a real database: what each call returns, and what it leaves in the tables.
 */
class QueueControlsApiTest extends WorkerDatabaseTest {
  private TaskBrokerClient client;

  @BeforeEach
  void openClient() {
    client = TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build());
  }

  @AfterEach
  void closeClient() {
    client.close();
  }

  /** Every row of taskbroker.queues as text, to show a refused call wrote nothing. */
  private static String queuesTable() {
    return jobs.jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery(
                        "SELECT coalesce(string_agg(row_to_json(q)::text, '|' ORDER BY q.name),"
                            + " '') FROM taskbroker.queues q")
                    .mapTo(String.class)
                    .one());
  }

  @Test
  void pauseResumeAndLimitsAreReadBackThroughGetAndList() {
    assertThat(client.queues().get("ctl-a")).isEmpty();

    assertThat(client.queues().pause("ctl-a")).isTrue();
    assertThat(client.queues().pause("ctl-a")).as("already paused").isFalse();
    QueueSettings paused = client.queues().get("ctl-a").orElseThrow();
    assertThat(paused.paused()).isTrue();
    assertThat(paused.pausedAt()).isNotNull();
    assertThat(paused.limits()).isEqualTo(QueueLimits.none());

    client
        .queues()
        .setLimits(
            "ctl-a",
            QueueLimits.builder()
                .globalConcurrency(3)
                .rate(10, Duration.ofSeconds(2))
                .keyConcurrency(1)
                .build());
    QueueSettings limited = client.queues().get("ctl-a").orElseThrow();
    assertThat(limited.paused()).as("limits leave the pause alone").isTrue();
    assertThat(limited.limits()).isEqualTo(new QueueLimits(3, 10, Duration.ofSeconds(2), 1));

    assertThat(client.queues().resume("ctl-a")).isTrue();
    assertThat(client.queues().resume("ctl-a")).as("not paused any more").isFalse();
    QueueSettings resumed = client.queues().get("ctl-a").orElseThrow();
    assertThat(resumed.paused()).isFalse();
    assertThat(resumed.pausedAt()).isNull();
    assertThat(resumed.limits().globalConcurrency()).as("resume keeps the limits").isEqualTo(3);

    // A rate without a period counts per second; setting limits replaces every one of them.
    client.queues().setLimits("ctl-b", QueueLimits.builder().rate(5, null).build());
    assertThat(client.queues().get("ctl-b").orElseThrow().limits())
        .isEqualTo(new QueueLimits(null, 5, Duration.ofSeconds(1), null));
    client.queues().setLimits("ctl-a", QueueLimits.none());
    assertThat(client.queues().get("ctl-a").orElseThrow().limits()).isEqualTo(QueueLimits.none());

    // Resuming a queue without settings changes nothing and creates no row.
    assertThat(client.queues().resume("ctl-never")).isFalse();
    assertThat(client.queues().get("ctl-never")).isEmpty();

    assertThat(client.queues().list())
        .extracting(QueueSettings::name)
        .contains("ctl-a", "ctl-b")
        .doesNotContain("ctl-never")
        .isSorted();
  }

  @Test
  void badLimitsAreRefusedInJavaNamingTheSettingAndNothingIsWritten() {
    client.queues().setLimits("ctl-bad", QueueLimits.builder().globalConcurrency(2).build());
    String before = queuesTable();

    assertThatThrownBy(() -> QueueLimits.builder().globalConcurrency(-1).build())
        .isInstanceOf(InvalidQueueException.class)
        .hasMessageStartingWith("global_concurrency: ")
        .extracting(e -> ((InvalidQueueException) e).field())
        .isEqualTo("global_concurrency");
    assertThatThrownBy(() -> QueueLimits.builder().rate(0, null).build())
        .isInstanceOf(InvalidQueueException.class)
        .hasMessageStartingWith("rate_limit: ");
    assertThatThrownBy(() -> QueueLimits.builder().rate(5, Duration.ZERO).build())
        .isInstanceOf(InvalidQueueException.class)
        .hasMessageStartingWith("rate_period: ");
    assertThatThrownBy(() -> QueueLimits.builder().rate(5, Duration.ofDays(2)).build())
        .isInstanceOf(InvalidQueueException.class)
        .hasMessageStartingWith("rate_period: ");
    assertThatThrownBy(() -> QueueLimits.builder().rate(null, Duration.ofSeconds(1)).build())
        .isInstanceOf(InvalidQueueException.class)
        .hasMessageStartingWith("rate_period: ");
    assertThatThrownBy(() -> QueueLimits.builder().keyConcurrency(0).build())
        .isInstanceOf(InvalidQueueException.class)
        .hasMessageStartingWith("key_concurrency: ");

    // A bad queue name is the database's refusal (22023), translated to the same exception.
    String tooLong = "q".repeat(129);
    for (String name : List.of("", tooLong)) {
      assertThatThrownBy(() -> client.queues().pause(name))
          .isInstanceOf(InvalidQueueException.class)
          .hasMessageStartingWith("queue: ");
      assertThatThrownBy(
              () ->
                  client
                      .queues()
                      .setLimits(name, QueueLimits.builder().globalConcurrency(1).build()))
          .isInstanceOf(InvalidQueueException.class)
          .extracting(e -> ((InvalidQueueException) e).field())
          .isEqualTo("queue");
    }
    assertThat(queuesTable()).isEqualTo(before);
  }

  @Test
  void badLimitsAreRefusedInSqlWith22023NamingTheArgumentAndNothingIsWritten() {
    client.queues().setLimits("sql-bad", QueueLimits.builder().globalConcurrency(2).build());
    String before = queuesTable();
    String[][] refusals = {
      {"global_concurrency => -1", "global_concurrency: "},
      {"global_concurrency => 0", "global_concurrency: "},
      {"rate_limit => 0", "rate_limit: "},
      {"rate_limit => -5", "rate_limit: "},
      {"rate_limit => 5, rate_period => '0'", "rate_period: "},
      {"rate_limit => 5, rate_period => '-1 second'", "rate_period: "},
      {"rate_limit => 5, rate_period => '2 days'", "rate_period: "},
      {"rate_period => '1 second'", "rate_period: "},
      {"key_concurrency => 0", "key_concurrency: "},
    };
    for (String[] refusal : refusals) {
      assertSqlRefused(
          "SELECT taskbroker.set_queue_limits('sql-bad', " + refusal[0] + ")", refusal[1]);
      // And for a queue without a row: no row appears.
      assertSqlRefused(
          "SELECT taskbroker.set_queue_limits('sql-new', " + refusal[0] + ")", refusal[1]);
    }
    assertSqlRefused("SELECT taskbroker.pause_queue('')", "queue: ");
    assertSqlRefused("SELECT taskbroker.set_queue_limits(NULL, 1)", "queue: ");
    assertSqlRefused("SELECT taskbroker.cancel_jobs()", "cancel_jobs: ");
    assertSqlRefused("SELECT taskbroker.delete_jobs()", "delete_jobs: ");
    assertSqlRefused("SELECT taskbroker.delete_jobs(status => 'running')", "status: ");
    assertSqlRefused("SELECT taskbroker.retry_jobs(status => 'completed')", "status: ");
    assertThat(queuesTable()).isEqualTo(before);
  }

  private static void assertSqlRefused(String sql, String messageStart) {
    Throwable thrown =
        org.assertj.core.api.Assertions.catchThrowable(
            () ->
                jobs.jdbi().useHandle(handle -> handle.createQuery(sql).mapTo(String.class).one()));
    assertThat(thrown).as(sql).isInstanceOf(JdbiException.class);
    SQLException sqlError = (SQLException) thrown.getCause();
    assertThat(sqlError.getSQLState()).as(sql + ": " + sqlError.getMessage()).isEqualTo("22023");
    assertThat(sqlError.getMessage()).as(sql).contains("ERROR: " + messageStart);
  }

  @Test
  void theLimitedClaimWritesNothingToTheQueuesRow() {
    client.queues().setLimits("ctl-lock", QueueLimits.builder().globalConcurrency(3).build());
    jobs.insertMany("ctl-lock", "p", 5);
    String xmaxBefore = xmax("ctl-lock");
    long claimed =
        jobs.queryLong(
            "SELECT count(*) FROM taskbroker.claim_limited('ctl-lock', 'w', NULL, 10, 60000)");
    assertThat(claimed).as("the limit, not the batch").isEqualTo(3);
    // V9 serialises on an advisory lock: V5's SELECT ... FOR UPDATE set the row's xmax (a write).
    String xmaxAfter = xmax("ctl-lock");
    assertThat(xmaxAfter).isEqualTo(xmaxBefore).isEqualTo("0");
    long again =
        jobs.queryLong(
            "SELECT count(*) FROM taskbroker.claim_limited('ctl-lock', 'w', NULL, 10, 60000)");
    assertThat(again).as("full").isZero();
  }

  private static String xmax(String queue) {
    return jobs.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT xmax::text FROM taskbroker.queues WHERE name = :name")
                    .bind("name", queue)
                    .mapTo(String.class)
                    .one());
  }

  @Test
  void retryPutsAFailedJobBackWithAFreshBudgetAndKeepsItsErrors() {
    TestPlugin failing =
        TestPlugin.named(
            "retry-fails",
            context -> {
              throw new IllegalStateException("downstream down, attempt " + context.attempt());
            });
    UUID id = jobs.insert(JobFactory.job("retry-q", "retry-fails").maxAttempts(2));
    Worker worker = workers.start("retry-q", 1, failing);
    within(20).until(() -> jobs.status(id) == JobStatus.FAILED);
    worker.shutdown(Duration.ofSeconds(5));
    Job failed = jobs.get(id);
    assertThat(failed.attempt()).isEqualTo(2);
    assertThat(failed.errors()).hasSize(2);

    assertThat(client.retry(id)).isEqualTo(JobStatus.PENDING);
    Job retried = jobs.get(id);
    assertThat(retried.status()).isEqualTo(JobStatus.PENDING);
    assertThat(retried.attempt()).as("a fresh attempt budget").isZero();
    assertThat(retried.maxAttempts()).isEqualTo(2);
    assertThat(retried.completedAt()).isNull();
    assertThat(retried.runAt()).isBeforeOrEqualTo(Instant.now().plusSeconds(1));
    assertThat(retried.errors()).as("history kept").isEqualTo(failed.errors());
    assertThat(retried.error()).isEqualTo(failed.error());

    // Run again: two more attempts (the fresh budget), and the history grows to four entries.
    workers.start("retry-q", 1, failing);
    within(20).until(() -> jobs.status(id) == JobStatus.FAILED);
    Job again = jobs.get(id);
    assertThat(again.attempt()).isEqualTo(2);
    assertThat(again.errors()).hasSize(4);
    assertThat(failing.executions(id)).isEqualTo(4);
  }

  @Test
  void retryOfACancelledJobClearsTheCancelAndOthersAreLeftAsTheyAre() {
    UUID cancelled = jobs.insert("retry-idle", "p");
    assertThat(client.cancel(cancelled)).isEqualTo(JobStatus.CANCELLED);
    assertThat(client.retry(cancelled)).isEqualTo(JobStatus.PENDING);
    Job back = jobs.get(cancelled);
    assertThat(back.status()).isEqualTo(JobStatus.PENDING);
    assertThat(back.cancelRequestedAt()).isNull();
    assertThat(back.completedAt()).isNull();

    UUID pending = jobs.insert(JobFactory.job("retry-idle", "p").delay(Duration.ofHours(1)));
    Job pendingBefore = jobs.get(pending);
    assertThat(client.retry(pending)).isEqualTo(JobStatus.PENDING);
    assertThat(jobs.get(pending).runAt()).as("untouched").isEqualTo(pendingBefore.runAt());

    UUID completed = jobs.insert("retry-idle", "p");
    jobs.finish(completed, JobStatus.COMPLETED, Duration.ofMinutes(1));
    Job completedBefore = jobs.get(completed);
    assertThat(client.retry(completed)).isEqualTo(JobStatus.COMPLETED);
    assertThat(jobs.get(completed)).isEqualTo(completedBefore);

    UUID running = jobs.insert("retry-idle", "p");
    jobs.execute(
        "UPDATE taskbroker.jobs SET status = 'running', attempt = 1, worker_id = 'elsewhere',"
            + " started_at = now(), heartbeat_at = now(),"
            + " lease_expires_at = now() + interval '1 hour' WHERE id = ?",
        running);
    Job runningBefore = jobs.get(running);
    assertThat(client.retry(running)).isEqualTo(JobStatus.RUNNING);
    assertThat(jobs.get(running)).isEqualTo(runningBefore);

    UUID unknown = UUID.randomUUID();
    assertThatThrownBy(() -> client.retry(unknown)).isInstanceOf(JobNotFoundException.class);
  }

  @Test
  void bulkActionsMatchEachFilterField() {
    // Queue bulk-a: failed p1 (1 min ago), failed p2 (3 h ago), cancelled p1; bulk-b: failed p1.
    UUID aFailedP1 = finished("bulk-a", "p1", JobStatus.FAILED, Duration.ofMinutes(1));
    UUID aFailedP2Old = finished("bulk-a", "p2", JobStatus.FAILED, Duration.ofHours(3));
    UUID aCancelledP1 = finished("bulk-a", "p1", JobStatus.CANCELLED, Duration.ofMinutes(2));
    UUID bFailedP1 = finished("bulk-b", "p1", JobStatus.FAILED, Duration.ofMinutes(1));
    UUID aCompleted = finished("bulk-a", "p1", JobStatus.COMPLETED, Duration.ofMinutes(1));

    // status + queue
    assertThat(
            client.retryAll(
                JobFilter.builder().queue("bulk-a").status(JobStatus.CANCELLED).build()))
        .isEqualTo(1);
    assertThat(jobs.status(aCancelledP1)).isEqualTo(JobStatus.PENDING);
    // finished since + queue: the 3-hour-old failure stays failed
    assertThat(
            client.retryAll(
                JobFilter.builder()
                    .queue("bulk-a")
                    .finishedSince(Instant.now().minus(Duration.ofHours(1)))
                    .build()))
        .isEqualTo(1);
    assertThat(jobs.status(aFailedP1)).isEqualTo(JobStatus.PENDING);
    assertThat(jobs.status(aFailedP2Old)).isEqualTo(JobStatus.FAILED);
    // plugin: p2's failure in bulk-a, not bulk-b's p1
    assertThat(client.retryAll(JobFilter.builder().plugin("p2").build())).isEqualTo(1);
    assertThat(jobs.status(aFailedP2Old)).isEqualTo(JobStatus.PENDING);
    assertThat(jobs.status(bFailedP1)).isEqualTo(JobStatus.FAILED);
    assertThat(jobs.status(aCompleted))
        .as("completed jobs are not retried")
        .isEqualTo(JobStatus.COMPLETED);

    // cancel by queue and plugin: the three pending jobs of bulk-a, p1 only (two)
    assertThat(client.cancelAll(JobFilter.builder().queue("bulk-a").plugin("p1").build()))
        .isEqualTo(2);
    assertThat(jobs.statuses(List.of(aFailedP1, aCancelledP1, aFailedP2Old)))
        .containsEntry(aFailedP1, JobStatus.CANCELLED)
        .containsEntry(aCancelledP1, JobStatus.CANCELLED)
        .containsEntry(aFailedP2Old, JobStatus.PENDING);
    // cancel with only finished_since matches nothing (pending and running jobs have not ended)
    assertThat(
            client.cancelAll(
                JobFilter.builder().finishedSince(Instant.now().minusSeconds(3600)).build()))
        .isZero();

    // delete by status within a queue
    assertThat(
            client.deleteAll(
                JobFilter.builder().queue("bulk-a").status(JobStatus.CANCELLED).build()))
        .isEqualTo(2);
    assertThat(jobs.count("bulk-a", JobStatus.CANCELLED)).isZero();
    // delete by plugin and finished since: bulk-b's failure and bulk-a's completed job
    assertThat(
            client.deleteAll(
                JobFilter.builder()
                    .plugin("p1")
                    .finishedSince(Instant.now().minus(Duration.ofMinutes(10)))
                    .build()))
        .isEqualTo(2);
    assertThat(client.get(bFailedP1)).isEmpty();
    assertThat(client.get(aCompleted)).isEmpty();
    assertThat(jobs.status(aFailedP2Old)).isEqualTo(JobStatus.PENDING);
  }

  @Test
  void cancelAndDeleteWithoutAFilterNeedJobFilterAll() {
    UUID pending = jobs.insert("all-q", "p");
    UUID running = jobs.insert("all-q", "p");
    jobs.execute(
        "UPDATE taskbroker.jobs SET status = 'running', attempt = 1, worker_id = 'elsewhere',"
            + " started_at = now(), heartbeat_at = now(),"
            + " lease_expires_at = now() + interval '1 hour' WHERE id = ?",
        running);
    long everyJob = jobs.queryLong("SELECT count(*) FROM taskbroker.jobs");

    JobFilter empty = JobFilter.builder().build();
    assertThatThrownBy(() -> client.cancelAll(empty))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("no filter given");
    assertThatThrownBy(() -> client.deleteAll(empty))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("no filter given");
    assertThatThrownBy(
            () -> client.deleteAll(JobFilter.builder().status(JobStatus.RUNNING).build()))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageStartingWith("status: ");
    assertThat(jobs.status(pending)).isEqualTo(JobStatus.PENDING);
    assertThat(jobs.queryLong("SELECT count(*) FROM taskbroker.jobs")).isEqualTo(everyJob);

    long live =
        jobs.queryLong(
            "SELECT count(*) FROM taskbroker.jobs WHERE status IN ('pending','running')");
    assertThat(client.cancelAll(JobFilter.all())).isEqualTo(live);
    assertThat(jobs.status(pending)).isEqualTo(JobStatus.CANCELLED);
    assertThat(jobs.get(running).cancelRequestedAt()).as("asked to stop").isNotNull();
    assertThat(jobs.status(running)).isEqualTo(JobStatus.RUNNING);

    long notRunning =
        jobs.queryLong("SELECT count(*) FROM taskbroker.jobs WHERE status <> 'running'");
    assertThat(client.deleteAll(JobFilter.all())).isEqualTo(notRunning);
    assertThat(jobs.queryLong("SELECT count(*) FROM taskbroker.jobs"))
        .as("only the running job is left")
        .isEqualTo(jobs.queryLong("SELECT count(*) FROM taskbroker.jobs WHERE status = 'running'"));
    assertThat(client.get(running)).isPresent();
  }

  @Test
  void aBulkActionAboveItsThresholdIsRolledBackWithTheExactCount() {
    UUID first = jobs.insert("bulk-threshold", "p");
    UUID second = jobs.insert("bulk-threshold", "p");
    JobFilter queue = JobFilter.builder().queue("bulk-threshold").build();

    BulkResult refused = client.cancelAll(queue, 1);
    assertThat(refused).isEqualTo(new BulkResult(2, false));
    assertThat(jobs.statuses(List.of(first, second)).values()).containsOnly(JobStatus.PENDING);

    assertThat(client.cancelAll(queue, 2)).isEqualTo(new BulkResult(2, true));
    assertThat(jobs.statuses(List.of(first, second)).values()).containsOnly(JobStatus.CANCELLED);
    assertThat(client.retryAll(queue, Long.MAX_VALUE)).isEqualTo(new BulkResult(2, true));
    assertThat(client.deleteAll(queue, 0)).isEqualTo(new BulkResult(2, false));
    assertThat(jobs.count("bulk-threshold", JobStatus.PENDING)).isEqualTo(2);
  }

  private static UUID finished(String queue, String plugin, JobStatus status, Duration ago) {
    UUID id = jobs.insert(queue, plugin);
    jobs.finish(id, status, ago);
    return id;
  }
}
