package io.taskbroker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.testing.FakeWorker;
import io.taskbroker.api.testing.TestClients;
import io.taskbroker.common.DuplicateJobException;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad input through the Java API: a clear error, and nothing written. */
@WithPostgres
class SubmitValidationTest {
  private static TaskBrokerClient client;

  @BeforeAll
  static void connect(TestDatabase db) {
    client = TestClients.connect(db);
  }

  @AfterAll
  static void disconnect() {
    client.close();
  }

  @Test
  void payloadThatIsNotAJsonObjectIsRefused() {
    assertRefusedAndNothingWritten(
        () -> client.submit(NewJob.builder("echo").payloadJson("[1]").build()),
        InvalidJobException.class,
        "payload must be a JSON object, got array");
  }

  @Test
  void zeroOrNegativeMaxAttemptsIsRefused() {
    assertRefusedAndNothingWritten(
        () -> client.submit(NewJob.builder("echo").maxAttempts(0).build()),
        InvalidJobException.class,
        "max_attempts must be between 1 and 1000, got 0");
    assertRefusedAndNothingWritten(
        () -> client.submit(NewJob.builder("echo").maxAttempts(-1).build()),
        InvalidJobException.class,
        "max_attempts must be between 1 and 1000, got -1");
  }

  @Test
  void emptyPluginNameIsRefused() {
    assertRefusedAndNothingWritten(
        () -> client.submit("", Map.of()),
        InvalidJobException.class,
        "plugin name must not be empty");
  }

  @Test
  void payloadTheDatabaseCannotStoreIsRefusedAsInvalid() {
    // jsonb has no NUL character: the client refuses it before the database would, naming it.
    assertRefusedAndNothingWritten(
        () -> client.submit("echo", Map.of("text", "a\u0000b")),
        InvalidJobException.class,
        "payload.text: the string has a NUL character");
  }

  @Test
  void secondJobWithTheUniqueKeyOfAPendingOrRunningJobIsRefusedUntilItFinishes() {
    NewJob job = NewJob.builder("report").queue("unique-q").uniqueKey("daily-report").build();
    UUID first = client.submit(job);

    assertRefusedAndNothingWritten(
        () -> client.submit(job), DuplicateJobException.class, "'daily-report'");
    assertThatThrownBy(() -> client.submit(job))
        .isInstanceOfSatisfying(
            DuplicateJobException.class,
            error -> assertThat(error.uniqueKey()).isEqualTo("daily-report"));

    FakeWorker worker = new FakeWorker(client, "unique-worker");
    worker.claim(first);
    assertRefusedAndNothingWritten(
        () -> client.submit(job), DuplicateJobException.class, "'daily-report'");

    worker.complete(first, Json.object());
    UUID second = client.submit(job);

    assertThat(second).isNotEqualTo(first);
    assertThat(client.require(second).uniqueKey()).isEqualTo("daily-report");
  }

  @Test
  void batchWithADuplicateUniqueKeyWritesNothing() {
    client.submit(NewJob.builder("report").uniqueKey("held").build());

    assertRefusedAndNothingWritten(
        () ->
            client.submitAll(
                List.of(
                    NewJob.builder("report").uniqueKey("fresh").build(),
                    NewJob.builder("report").uniqueKey("held").build())),
        DuplicateJobException.class,
        "'held'");
  }

  private static void assertRefusedAndNothingWritten(
      ThrowingCallable call, Class<? extends Throwable> type, String message) {
    long before = countJobs();

    assertThatThrownBy(call).isInstanceOf(type).hasMessageContaining(message);

    assertThat(countJobs()).isEqualTo(before);
  }

  private static long countJobs() {
    return client
        .database()
        .jdbi()
        .withHandle(
            handle ->
                handle.select("SELECT count(*) FROM taskbroker.jobs").mapTo(Long.class).one());
  }
}
