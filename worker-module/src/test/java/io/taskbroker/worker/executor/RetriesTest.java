package io.taskbroker.worker.executor;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.RetryJob;
import io.taskbroker.api.plugin.SnoozeJob;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** A failed attempt is recorded and retried with backoff; plugins can steer retries (issue 4). */
class RetriesTest extends WorkerDatabaseTest {
  private static final Duration BASE = Duration.ofMillis(300);
  // Between the outcome being decided and its write starting: a busy machine's completer lag.
  private static final Duration WRITE_LAG = Duration.ofMillis(250);

  @Test
  void failedAttemptsRecordTheErrorAndRetryWithExponentialBackoffUntilFailed() {
    // attempt n (from 2) -> the run_at the failure of attempt n-1 set
    Map<Integer, Instant> runAts = new ConcurrentHashMap<>();
    TestPlugin failing =
        TestPlugin.named(
            "failing",
            context -> {
              if (context.attempt() > 1) {
                runAts.put(context.attempt(), jobs.get(context.jobId()).runAt());
              }
              throw new IllegalStateException("boom on attempt " + context.attempt());
            });
    UUID id = jobs.insert(job("retries", "failing").maxAttempts(4));
    workers.start(
        TestWorkers.config("retries", 1).retryBaseDelay(BASE).retryMaxDelay(Duration.ofSeconds(10)),
        failing);

    within(15).until(() -> jobs.status(id) == JobStatus.FAILED);

    Job row = jobs.get(id);
    assertThat(row.attempt()).isEqualTo(4);
    assertThat(failing.executions(id)).isEqualTo(4);
    assertThat(row.error()).isEqualTo("java.lang.IllegalStateException: boom on attempt 4");
    assertThat(row.completedAt()).isNotNull();
    assertThat(row.result()).isNull();
    JsonNode errors = row.errors();
    assertThat(errors).hasSize(4);
    for (int n = 1; n <= 4; n++) {
      JsonNode entry = errors.get(n - 1);
      assertThat(entry.path("attempt").asInt()).isEqualTo(n);
      assertThat(entry.path("kind").asText()).isEqualTo("error");
      assertThat(entry.path("worker_id").asText()).startsWith("test-retries-");
      assertThat(entry.path("error").asText())
          .isEqualTo("java.lang.IllegalStateException: boom on attempt " + n);
      String trace = entry.path("trace").asText();
      assertThat(trace).startsWith("java.lang.IllegalStateException: boom on attempt " + n);
      assertThat(trace).contains("\tat ");
      assertThat(trace.split("\n").length).as("a short trace").isLessThanOrEqualTo(13);
    }
    // Each retry waits base * 2^(n-1), scaled by the jitter factor in [0.75, 1.25).
    for (int n = 1; n <= 3; n++) {
      Instant failedAt = Instant.parse(errors.get(n - 1).path("at").asText());
      Duration delay = Duration.between(failedAt, runAts.get(n + 1));
      Duration nominal = BASE.multipliedBy(1L << (n - 1));
      assertThat(delay)
          .as("delay after attempt %d", n)
          .isGreaterThanOrEqualTo(Duration.ofMillis(Math.round(nominal.toMillis() * 0.75)))
          .isLessThan(Duration.ofMillis(Math.round(nominal.toMillis() * 1.25)).plus(WRITE_LAG));
    }
  }

  @Test
  void retryJobAfterSetsTheNextRunAtAndSpendsTheAttempt() {
    TestPlugin plugin =
        TestPlugin.named(
            "later",
            context -> {
              if (context.attempt() == 1) {
                throw RetryJob.after(Duration.ofMinutes(10), "rate limited");
              }
              return TestPlugin.okResult(context);
            });
    UUID id = jobs.insert("retry-after", "later");
    workers.start("retry-after", 1, plugin);

    within(5).until(() -> jobs.get(id).errors().size() == 1);
    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.PENDING);
    assertThat(row.attempt()).isEqualTo(1);
    JsonNode entry = row.errors().get(0);
    assertThat(entry.path("kind").asText()).isEqualTo("retry");
    assertThat(entry.path("error").asText()).contains("rate limited");
    Instant decided = Instant.parse(entry.path("at").asText());
    assertThat(Duration.between(decided, row.runAt()))
        .isBetween(Duration.ofMinutes(10), Duration.ofMinutes(10).plusSeconds(5));

    // Brought forward, it runs again as attempt 2.
    jobs.execute("UPDATE taskbroker.jobs SET run_at = now() WHERE id = ?", id);
    within(5).until(() -> jobs.status(id) == JobStatus.COMPLETED);
    assertThat(jobs.get(id).attempt()).isEqualTo(2);
    assertThat(plugin.executions(id)).isEqualTo(2);
  }

  @Test
  void retryJobOnTheLastAttemptFailsTheJob() {
    TestPlugin plugin =
        TestPlugin.named(
            "last",
            context -> {
              throw RetryJob.after(Duration.ofMillis(10), "still not ready");
            });
    UUID id = jobs.insert(job("retry-last", "last").maxAttempts(2));
    workers.start("retry-last", 1, plugin);

    within(10).until(() -> jobs.status(id) == JobStatus.FAILED);
    Job row = jobs.get(id);
    assertThat(row.attempt()).isEqualTo(2);
    assertThat(row.errors()).hasSize(2);
    assertThat(row.error()).contains("still not ready");
    assertThat(plugin.executions(id)).isEqualTo(2);
  }

  @Test
  void retryJobAtSetsTheNextRunAtToThatInstant() {
    Instant at = Instant.now().plus(Duration.ofHours(2)).truncatedTo(ChronoUnit.MILLIS);
    TestPlugin plugin =
        TestPlugin.named(
            "at",
            context -> {
              throw RetryJob.at(at, "not before the window opens");
            });
    UUID id = jobs.insert("retry-at", "at");
    workers.start("retry-at", 1, plugin);

    within(5).until(() -> jobs.get(id).errors().size() == 1);
    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.PENDING);
    assertThat(row.runAt()).isEqualTo(at);
  }

  @Test
  void failJobFailsAtOnceWithoutRetryingEvenWithAttemptsLeft() {
    TestPlugin plugin =
        TestPlugin.named(
            "hopeless",
            context -> {
              throw new FailJob("bad input: no such file");
            });
    UUID id = jobs.insert(job("fail-now", "hopeless").maxAttempts(5));
    workers.start("fail-now", 1, plugin);

    within(5).until(() -> jobs.status(id) == JobStatus.FAILED);
    Job row = jobs.get(id);
    assertThat(row.attempt()).isEqualTo(1);
    assertThat(row.error()).isEqualTo("bad input: no such file");
    assertThat(row.errors()).hasSize(1);
    assertThat(plugin.executions(id)).isEqualTo(1);
  }

  @Test
  void snoozeJobKeepsTheAttemptCountAndRunsAgainLater() {
    Duration snooze = Duration.ofMillis(400);
    Set<UUID> snoozed = ConcurrentHashMap.newKeySet();
    TestPlugin plugin =
        TestPlugin.named(
            "sleepy",
            context -> {
              if (snoozed.add(context.jobId())) {
                throw new SnoozeJob(snooze);
              }
              return TestPlugin.okResult(context);
            });
    // One attempt only: running again proves the snooze gave the attempt back.
    UUID id = jobs.insert(job("snooze", "sleepy").maxAttempts(1));
    workers.start("snooze", 1, plugin);

    within(10).until(() -> jobs.status(id) == JobStatus.COMPLETED);
    Job row = jobs.get(id);
    assertThat(row.attempt()).isEqualTo(1);
    assertThat(row.errors()).isEmpty();
    assertThat(row.result().path("attempt").asInt()).isEqualTo(1);
    List<Instant> starts = plugin.startTimes(id);
    assertThat(starts).hasSize(2);
    assertThat(Duration.between(starts.get(0), starts.get(1)))
        .isGreaterThanOrEqualTo(snooze.minusMillis(10));
  }
}
