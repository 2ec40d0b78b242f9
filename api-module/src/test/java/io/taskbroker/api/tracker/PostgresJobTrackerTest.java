package io.taskbroker.api.tracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.testing.FakeWorker;
import io.taskbroker.api.testing.TestClients;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The contract over {@code taskbroker.jobs}, with a {@link FakeWorker} moving the jobs. Each test
 * has a queue of its own; the table is also emptied before each test, because running jobs and
 * clearing finished ones look at every queue.
 */
@WithPostgres
class PostgresJobTrackerTest extends JobTrackerContract {
  private static TaskBrokerClient client;
  private PostgresJobTracker tracker;
  private FakeWorker worker;

  @BeforeAll
  static void connect(TestDatabase db) {
    client = TestClients.connect(db);
  }

  @AfterAll
  static void disconnect() {
    client.close();
  }

  @BeforeEach
  void createTracker(TestInfo test) {
    client
        .database()
        .jdbi()
        .useHandle(
            handle -> handle.execute("TRUNCATE taskbroker.job_queue, taskbroker.job_history"));
    String queue = "tracker-" + test.getTestMethod().orElseThrow().getName();
    tracker = new PostgresJobTracker(client, queue);
    worker = new FakeWorker(client, "fake-" + queue);
  }

  @AfterEach
  void closeTracker() {
    tracker.close();
  }

  @Override
  protected JobTracker tracker() {
    return tracker;
  }

  @Override
  protected void start(UUID id) {
    worker.claim(id);
  }

  @Override
  protected void complete(UUID id, JsonNode result) {
    worker.complete(id, result);
  }

  @Override
  protected void fail(UUID id, String error) {
    worker.fail(id, error);
  }

  @Override
  protected void stopCancelled(UUID id) {
    assertThat(tracker.get(id).orElseThrow().status())
        .as("a running job stays running until its worker stops it")
        .isEqualTo(JobStatus.RUNNING);
    worker.honourCancel(id);
  }

  @Test
  void jobsArePluginPlusPayloadInTheSharedTable(TestDatabase db) {
    UUID id = tracker.createJob("whisper", "/data/a.wav", "A.wav", Map.of("lang", "pt"));

    var job = client.require(id);
    assertThat(job.plugin()).isEqualTo("whisper");
    assertThat(job.payload().get("file_path").asText()).isEqualTo("/data/a.wav");
    assertThat(job.payload().get("file_name").asText()).isEqualTo("A.wav");
    assertThat(job.metadata().get("lang").asText()).isEqualTo("pt");
    assertThat(job.queue()).isEqualTo("tracker-jobsArePluginPlusPayloadInTheSharedTable");
    // Another process sees the same job.
    try (TaskBrokerClient other = TestClients.connect(db);
        PostgresJobTracker otherTracker = new PostgresJobTracker(other)) {
      assertThat(otherTracker.get(id).orElseThrow().fileName()).isEqualTo("A.wav");
    }
  }

  @Test
  void trackerCallbacksRunOffTheNotifierThread() {
    List<String> threads = new CopyOnWriteArrayList<>();
    tracker.onCompletion(job -> threads.add(Thread.currentThread().getName()));

    UUID id = tracker.createJob("plugin-a", null, null, null);
    start(id);
    complete(id, Json.parse("{\"n\": 1}"));

    await().atMost(Duration.ofSeconds(10)).until(() -> threads.size() == 1);
    // The tracker's own thread: a callback that blocks holds up no notifier thread.
    assertThat(threads).containsExactly(PostgresJobTracker.CALLBACK_THREAD);
  }

  @Test
  void aBlockedCompletionCallbackDoesNotDelayAwaitOnTheSameDatabase() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch callbackEntered = new CountDownLatch(1);
    tracker.onCompletion(
        job -> {
          callbackEntered.countDown();
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    try {
      UUID blocking = tracker.createJob("plugin-a", null, null, null);
      start(blocking);
      complete(blocking, Json.parse("{}"));
      assertThat(callbackEntered.await(10, TimeUnit.SECONDS)).isTrue();

      // The client awaits on the same Database, through the same LISTEN connection.
      UUID awaited =
          client.submit(NewJob.builder("plugin-b").queue("tracker-await-" + blocking).build());
      worker.claim(awaited);
      CompletableFuture<Job> done = client.await(awaited);
      worker.complete(awaited, Json.parse("{}"));

      assertThat(done).succeedsWithin(Duration.ofSeconds(1));
    } finally {
      release.countDown();
    }
  }
}
