package io.taskbroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.testing.FakeWorker;
import io.taskbroker.api.testing.TestClients;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobNotFoundException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Awaiting a job that another connection finishes. The poll interval is a minute, so anything that
 * completes within a second was woken by LISTEN.
 */
@WithPostgres
class AwaitTest {
  private static final Duration PROMPTLY = Duration.ofSeconds(1);

  private static TaskBrokerClient client;
  private static TaskBrokerClient otherProcess;
  private static FakeWorker worker;

  @BeforeAll
  static void connect(TestDatabase db) {
    client =
        TestClients.connect(
            db, ClientConfig.builder().awaitPollInterval(Duration.ofMinutes(1)).build());
    otherProcess = TestClients.connect(db);
    worker = new FakeWorker(otherProcess, "await-worker");
  }

  @AfterAll
  static void disconnect() {
    client.close();
    otherProcess.close();
  }

  @Test
  void awaitCompletesWithinASecondOfAnotherConnectionFinishingTheJob() {
    // Twice: the first await also starts the client's LISTEN connection.
    for (int round = 1; round <= 2; round++) {
      UUID id = otherProcess.submit(NewJob.builder("await-" + round).queue("await-q").build());
      worker.claim(id);

      CompletableFuture<Job> awaited = client.await(id);
      assertThat(awaited).isNotDone();
      worker.complete(id, Json.parse("{\"round\": " + round + "}"));

      assertThat(awaited)
          .succeedsWithin(PROMPTLY)
          .satisfies(
              job -> {
                assertThat(job.id()).isEqualTo(id);
                assertThat(job.status()).isEqualTo(JobStatus.COMPLETED);
              });
      assertThat(client.result(id).toMap()).containsEntry("status", "success");
    }
  }

  @Test
  void awaitSeesAFailureAndACancelToo() {
    UUID failing = otherProcess.submit(NewJob.builder("await-fail").queue("await-q2").build());
    UUID cancelled = otherProcess.submit(NewJob.builder("await-cancel").queue("await-q2").build());
    worker.claim(failing);
    CompletableFuture<Job> awaitFailing = client.await(failing);
    CompletableFuture<Job> awaitCancelled = client.await(cancelled);

    worker.fail(failing, "exploded");
    otherProcess.cancel(cancelled);

    assertThat(awaitFailing)
        .succeedsWithin(PROMPTLY)
        .satisfies(job -> assertThat(job.error()).isEqualTo("exploded"));
    assertThat(awaitCancelled)
        .succeedsWithin(PROMPTLY)
        .satisfies(job -> assertThat(job.status()).isEqualTo(JobStatus.CANCELLED));
  }

  @Test
  void awaitOnAnAlreadyFinishedJobCompletesAtOnce() {
    UUID id = otherProcess.submit("await-done", Map.of());
    otherProcess.cancel(id);

    assertThat(client.await(id))
        .succeedsWithin(PROMPTLY)
        .satisfies(job -> assertThat(job.status()).isEqualTo(JobStatus.CANCELLED));
  }

  @Test
  void awaitOnAnUnknownIdFailsWithJobNotFound() {
    UUID unknown = UUID.randomUUID();

    assertThat(client.await(unknown))
        .failsWithin(PROMPTLY)
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause()
        .isInstanceOf(JobNotFoundException.class)
        .withMessageContaining(unknown.toString());
  }

  @Test
  void severalAwaitersOfOneJobAllComplete() {
    UUID id = otherProcess.submit(NewJob.builder("await-many").queue("await-q3").build());
    worker.claim(id);
    CompletableFuture<Job> first = client.await(id);
    CompletableFuture<Job> second = client.await(id);

    worker.complete(id, null);

    assertThat(first).succeedsWithin(PROMPTLY);
    assertThat(second).succeedsWithin(PROMPTLY);
  }
}
