package io.taskbroker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.taskbroker.api.testing.FakeWorker;
import io.taskbroker.api.testing.TestClients;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobNotFoundException;
import io.taskbroker.common.JobQuery;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.common.QueueStats;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Reading and changing jobs through the client. Each test works in a queue of its own. */
@WithPostgres
class TaskBrokerClientTest {
  private static TaskBrokerClient client;
  private static FakeWorker worker;

  @BeforeAll
  static void connect(TestDatabase db) {
    client = TestClients.connect(db);
    worker = new FakeWorker(client, "client-test-worker");
  }

  @AfterAll
  static void disconnect() {
    client.close();
  }

  @Test
  void getReturnsTheJobAsSubmitted() {
    UUID id =
        client.submit(
            NewJob.builder("transcribe")
                .queue("get-q")
                .payload(Map.of("file_path", "/in/a.wav"))
                .metadata(Map.of("owner", "ana"))
                .priority(-3)
                .maxAttempts(5)
                .uniqueKey("get-key")
                .timeout(Duration.ofSeconds(30))
                .build());

    Job job = client.get(id).orElseThrow();

    assertThat(job.id()).isEqualTo(id);
    assertThat(job.plugin()).isEqualTo("transcribe");
    assertThat(job.queue()).isEqualTo("get-q");
    assertThat(job.payload()).isEqualTo(Json.parse("{\"file_path\": \"/in/a.wav\"}"));
    assertThat(job.metadata()).isEqualTo(Json.parse("{\"owner\": \"ana\"}"));
    assertThat(job.priority()).isEqualTo(-3);
    assertThat(job.maxAttempts()).isEqualTo(5);
    assertThat(job.uniqueKey()).isEqualTo("get-key");
    assertThat(job.timeoutMs()).isEqualTo(30_000);
    assertThat(job.status()).isEqualTo(JobStatus.PENDING);
    assertThat(job.attempt()).isZero();
    assertThat(job.createdAt()).isCloseTo(Instant.now(), within(1, ChronoUnit.MINUTES));
    assertThat(job.runAt()).isEqualTo(job.createdAt());
    assertThat(job.errors().isArray()).isTrue();
    assertThat(job.isFinished()).isFalse();
    assertThat(client.require(id)).isEqualTo(job);
  }

  @Test
  void delayAndRunAtScheduleTheJob() {
    Instant at = Instant.parse("2040-01-02T03:04:05.678Z");
    UUID delayed = client.submit(NewJob.builder("echo").delay(Duration.ofMinutes(10)).build());
    UUID scheduled = client.submit(NewJob.builder("echo").runAt(at).build());

    Job delayedJob = client.require(delayed);
    assertThat(Duration.between(delayedJob.createdAt(), delayedJob.runAt()))
        .isEqualTo(Duration.ofMinutes(10));
    assertThat(client.require(scheduled).runAt()).isEqualTo(at);
  }

  @Test
  void unknownIdIsEmptyOrNotFound() {
    UUID unknown = UUID.randomUUID();

    assertThat(client.get(unknown)).isEmpty();
    assertThatThrownBy(() -> client.require(unknown))
        .isInstanceOf(JobNotFoundException.class)
        .hasMessageContaining(unknown.toString());
    assertThatThrownBy(() -> client.result(unknown)).isInstanceOf(JobNotFoundException.class);
    assertThatThrownBy(() -> client.cancel(unknown)).isInstanceOf(JobNotFoundException.class);
  }

  @Test
  void listFiltersByStatusQueueAndPlugin() {
    UUID pendingA = client.submit(NewJob.builder("plugin-a").queue("list-q").build());
    UUID pendingB = client.submit(NewJob.builder("plugin-b").queue("list-q").build());
    UUID cancelledA = client.submit(NewJob.builder("plugin-a").queue("list-q").build());
    UUID elsewhere = client.submit(NewJob.builder("plugin-a").queue("list-other").build());
    client.cancel(cancelledA);

    assertThat(ids(JobQuery.builder().queue("list-q").build()))
        .containsExactlyInAnyOrder(pendingA, pendingB, cancelledA);
    assertThat(ids(JobQuery.builder().queue("list-q").plugin("plugin-a").build()))
        .containsExactlyInAnyOrder(pendingA, cancelledA);
    assertThat(ids(JobQuery.builder().queue("list-q").status(JobStatus.PENDING).build()))
        .containsExactlyInAnyOrder(pendingA, pendingB);
    assertThat(
            ids(
                JobQuery.builder()
                    .queue("list-q")
                    .status(JobStatus.CANCELLED, JobStatus.COMPLETED)
                    .build()))
        .containsExactly(cancelledA);
    assertThat(ids(JobQuery.builder().plugin("plugin-a").status(JobStatus.PENDING).build()))
        .contains(pendingA, elsewhere)
        .doesNotContain(pendingB, cancelledA);
  }

  @Test
  void listIsNewestFirstAndPagesWithLimitAndOffset() {
    List<UUID> submitted = submitOneByOne("page-offset", 5);
    List<UUID> newestFirst = reversed(submitted);

    List<UUID> paged = new ArrayList<>();
    for (int offset = 0; offset < 6; offset += 2) {
      paged.addAll(ids(JobQuery.builder().queue("page-offset").limit(2).offset(offset).build()));
    }

    assertThat(ids(JobQuery.builder().queue("page-offset").build())).isEqualTo(newestFirst);
    assertThat(paged).isEqualTo(newestFirst);
  }

  @Test
  void listPagesWithKeysetAfterIdEvenWhenJobsShareTheirCreationTime() {
    // One batch: every job has the same created_at, so only the id orders them.
    client.submitAll(
        IntStream.range(0, 7)
            .mapToObj(i -> NewJob.builder("echo").queue("page-keyset").build())
            .toList());
    List<UUID> all = ids(JobQuery.builder().queue("page-keyset").build());

    List<UUID> paged = new ArrayList<>();
    UUID after = null;
    while (true) {
      List<UUID> page =
          ids(JobQuery.builder().queue("page-keyset").limit(3).afterId(after).build());
      paged.addAll(page);
      if (page.size() < 3) {
        break;
      }
      after = page.get(page.size() - 1);
    }

    assertThat(all).hasSize(7);
    assertThat(paged).isEqualTo(all);
  }

  @Test
  void listRefusesABadPage() {
    assertThatThrownBy(() -> JobQuery.builder().limit(0).build()).hasMessageContaining("limit");
    assertThatThrownBy(() -> JobQuery.builder().offset(-1).build()).hasMessageContaining("offset");
  }

  @Test
  void cancelOfAPendingJobCancelsItAtOnce() {
    UUID id = client.submit(NewJob.builder("echo").queue("cancel-q").build());

    assertThat(client.cancel(id)).isEqualTo(JobStatus.CANCELLED);

    Job job = client.require(id);
    assertThat(job.status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(job.completedAt()).isNotNull();
    assertThat(client.result(id).toMap()).isEqualTo(Map.of("status", "cancelled"));
    assertThat(client.cancel(id))
        .as("cancelling twice changes nothing")
        .isEqualTo(JobStatus.CANCELLED);
  }

  @Test
  void cancelOfARunningJobAsksItsWorkerAndLeavesItRunning() {
    UUID id = client.submit(NewJob.builder("cancel-running").queue("cancel-q2").build());
    worker.claim(id);

    assertThat(client.cancel(id)).isEqualTo(JobStatus.RUNNING);

    Job job = client.require(id);
    assertThat(job.status()).isEqualTo(JobStatus.RUNNING);
    assertThat(job.cancelRequestedAt()).isNotNull();
    worker.honourCancel(id);
    assertThat(client.require(id).status()).isEqualTo(JobStatus.CANCELLED);
  }

  @Test
  void cancelOfAFinishedJobLeavesIt() {
    UUID id = client.submit(NewJob.builder("cancel-done").queue("cancel-q3").build());
    worker.claim(id);
    worker.complete(id, Json.object());

    assertThat(client.cancel(id)).isEqualTo(JobStatus.COMPLETED);
    assertThat(client.require(id).status()).isEqualTo(JobStatus.COMPLETED);
  }

  @Test
  void resultShowsSuccessErrorCancelledOrTheStatus() {
    UUID succeeded = client.submit(NewJob.builder("result-ok").queue("result-q").build());
    UUID failed = client.submit(NewJob.builder("result-bad").queue("result-q").build());
    UUID cancelled = client.submit(NewJob.builder("result-cancel").queue("result-q").build());
    UUID running = client.submit(NewJob.builder("result-running").queue("result-q").build());
    UUID pending = client.submit(NewJob.builder("result-pending").queue("result-q").build());
    worker.claim(succeeded);
    worker.complete(succeeded, Json.parse("{\"words\": 12}"));
    worker.claim(failed);
    worker.fail(failed, "no such file");
    client.cancel(cancelled);
    worker.claim(running);

    assertThat(Json.toTree(client.result(succeeded).toMap()))
        .isEqualTo(Json.parse("{\"status\": \"success\", \"data\": {\"words\": 12}}"));
    assertThat(client.result(failed).toMap())
        .isEqualTo(Map.of("status", "error", "error", "no such file"));
    assertThat(client.result(cancelled).toMap()).isEqualTo(Map.of("status", "cancelled"));
    assertThat(client.result(running).toMap()).isEqualTo(Map.of("status", "running"));
    assertThat(client.result(pending).toMap()).isEqualTo(Map.of("status", "pending"));
    assertThat(client.result(succeeded).toJson().get("data").get("words").asInt()).isEqualTo(12);
  }

  @Test
  void pruneDeletesOnlyFinishedJobsOlderThanTheAge() {
    UUID oldCompleted = client.submit(NewJob.builder("prune-1").queue("prune-q").build());
    UUID oldFailed = client.submit(NewJob.builder("prune-2").queue("prune-q").build());
    UUID oldCancelled = client.submit(NewJob.builder("prune-3").queue("prune-q").build());
    UUID recentCancelled = client.submit(NewJob.builder("prune-4").queue("prune-q").build());
    UUID oldPending = client.submit(NewJob.builder("prune-5").queue("prune-q").build());
    UUID oldRunning = client.submit(NewJob.builder("prune-6").queue("prune-q").build());
    worker.claim(oldCompleted);
    worker.complete(oldCompleted, Json.object());
    worker.claim(oldFailed);
    worker.fail(oldFailed, "boom");
    client.cancel(oldCancelled);
    client.cancel(recentCancelled);
    worker.claim(oldRunning);
    backdate("prune-q", Duration.ofHours(3), recentCancelled);

    long pruned = client.prune(Duration.ofHours(1));

    assertThat(pruned).isEqualTo(3);
    assertThat(client.get(oldCompleted)).isEmpty();
    assertThat(client.get(oldFailed)).isEmpty();
    assertThat(client.get(oldCancelled)).isEmpty();
    assertThat(client.get(recentCancelled)).isPresent();
    assertThat(client.get(oldPending)).isPresent();
    assertThat(client.get(oldRunning)).isPresent();
  }

  @Test
  void pruneOfSomeStatusesOnlyKeepsTheOthers() {
    UUID completed = client.submit(NewJob.builder("prune-s1").queue("prune-s").build());
    UUID cancelled = client.submit(NewJob.builder("prune-s2").queue("prune-s").build());
    worker.claim(completed);
    worker.complete(completed, Json.object());
    client.cancel(cancelled);
    backdate("prune-s", Duration.ofDays(2), null);

    assertThat(client.prune(Duration.ofDays(1), java.util.Set.of(JobStatus.CANCELLED)))
        .isEqualTo(1);

    assertThat(client.get(completed)).isPresent();
    assertThat(client.get(cancelled)).isEmpty();
    assertThatThrownBy(() -> client.prune(Duration.ZERO, java.util.Set.of(JobStatus.RUNNING)))
        .hasMessageContaining("running is not final");
    // Leaves nothing old behind for the other prune test to count.
    assertThat(client.prune(Duration.ofDays(1))).isEqualTo(1);
  }

  @Test
  void statsCountJobsPerQueueAndStatus() {
    client.submit(NewJob.builder("stats-1").queue("stats-q").build());
    client.submit(NewJob.builder("stats-2").queue("stats-q").build());
    client.submit(NewJob.builder("stats-3").queue("stats-q").delay(Duration.ofHours(1)).build());
    UUID running = client.submit(NewJob.builder("stats-4").queue("stats-q").build());
    UUID completed = client.submit(NewJob.builder("stats-5").queue("stats-q").build());
    UUID failed = client.submit(NewJob.builder("stats-6").queue("stats-q").build());
    UUID cancelled = client.submit(NewJob.builder("stats-7").queue("stats-q").build());
    worker.claim(running);
    worker.claim(completed);
    worker.complete(completed, null);
    worker.claim(failed);
    worker.fail(failed, "x");
    client.cancel(cancelled);
    client.submit(NewJob.builder("stats-8").queue("stats-other").build());

    QueueStats stats =
        client.stats().stream()
            .filter(row -> row.queue().equals("stats-q"))
            .findFirst()
            .orElseThrow();

    assertThat(stats.pending()).as("pending, scheduled included").isEqualTo(3);
    assertThat(stats.scheduled()).isEqualTo(1);
    assertThat(stats.running()).isEqualTo(1);
    assertThat(stats.completed()).isEqualTo(1);
    assertThat(stats.failed()).isEqualTo(1);
    assertThat(stats.cancelled()).isEqualTo(1);
    assertThat(stats.oldestPendingAge()).isNotNull().isGreaterThanOrEqualTo(Duration.ZERO);
    assertThat(client.stats())
        .filteredOn(row -> row.queue().equals("stats-other"))
        .singleElement()
        .extracting(QueueStats::pending)
        .isEqualTo(1L);
  }

  private static List<UUID> ids(JobQuery query) {
    return client.list(query).stream().map(Job::id).toList();
  }

  private static List<UUID> submitOneByOne(String queue, int count) {
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(client.submit(NewJob.builder("echo").queue(queue).build()));
    }
    return ids;
  }

  private static List<UUID> reversed(List<UUID> ids) {
    List<UUID> copy = new ArrayList<>(ids);
    java.util.Collections.reverse(copy);
    return copy;
  }

  /** Moves the finished jobs of a queue back in time, all but {@code except}. */
  private static void backdate(String queue, Duration age, UUID except) {
    client
        .database()
        .jdbi()
        .useHandle(
            handle ->
                handle
                    .createUpdate(
                        "UPDATE taskbroker.jobs SET completed_at = completed_at - :age * interval"
                            + " '1 second', created_at = created_at - :age * interval '1 second'"
                            + " WHERE queue = :queue AND completed_at IS NOT NULL"
                            + " AND id IS DISTINCT FROM :except")
                    .bind("age", age.toSeconds())
                    .bind("queue", queue)
                    .bind("except", except)
                    .execute());
  }
}
