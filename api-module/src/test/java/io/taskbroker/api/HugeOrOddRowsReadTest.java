package io.taskbroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.testing.TestClients;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobQuery;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Reading jobs never fails for every job because of one row: a row holding strings longer than
 * Jackson's default limit (20 M characters) reads back whole, and a row this JVM cannot decode
 * (nested deeper than {@link Json#MAX_DEPTH}) reads back marked, next to the others as usual.
 */
@WithPostgres
class HugeOrOddRowsReadTest {
  // Over Jackson's default StreamReadConstraints.maxStringLength of 20,000,000.
  private static final int HUGE = 21 * 1024 * 1024;
  private static final String QUEUE = "huge-rows";

  private static TaskBrokerClient client;
  private static UUID hugePayload;
  private static UUID hugeOutcome;
  private static UUID deepMetadata;
  private static List<UUID> ordinary;

  @BeforeAll
  static void insertRows(TestDatabase db) {
    client = TestClients.connect(db);
    ordinary =
        client.submitAll(
            List.of(
                NewJob.builder("plain").queue(QUEUE).payload(Map.of("n", 1)).build(),
                NewJob.builder("plain").queue(QUEUE).payload(Map.of("n", 2)).build()));
    // Inserted with SQL, as any language may: Java's submit refuses the deep one.
    hugePayload =
        sql(
            "SELECT taskbroker.submit('plain', jsonb_build_object('text', repeat('p', :n)),"
                + " :queue)");
    hugeOutcome = sql("SELECT taskbroker.submit('plain', '{}', :queue)");
    client
        .database()
        .jdbi()
        .useHandle(
            handle ->
                handle
                    .createUpdate(
                        "UPDATE taskbroker.jobs SET status = 'completed', completed_at = now(),"
                            + " result = jsonb_build_object('text', repeat('r', :n)),"
                            + " error = repeat('e', :n),"
                            + " errors = jsonb_build_array(jsonb_build_object('error',"
                            + " repeat('h', :n))) WHERE id = :id")
                    .bind("n", HUGE)
                    .bind("id", hugeOutcome)
                    .execute());
    deepMetadata =
        sql(
            "SELECT taskbroker.submit('plain', '{}', :queue, metadata => CAST(repeat('{\"a\":', 1500)"
                + " || '1' || repeat('}', 1500) AS jsonb))");
  }

  private static UUID sql(String query) {
    return client
        .database()
        .jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery(query)
                    .bind("n", HUGE)
                    .bind("queue", QUEUE)
                    .mapTo(UUID.class)
                    .one());
  }

  @AfterAll
  static void disconnect() {
    client.close();
  }

  @Test
  void listingShowsEveryRowWhenOneHoldsHugeStringsAndAnotherCannotBeDecoded() {
    Map<UUID, Job> listed =
        client.list(JobQuery.builder().queue(QUEUE).build()).stream()
            .collect(Collectors.toMap(Job::id, Function.identity()));

    assertThat(listed).containsKeys(hugePayload, hugeOutcome, deepMetadata);
    assertThat(listed).containsKeys(ordinary.toArray(UUID[]::new));
    for (UUID id : ordinary) {
      assertThat(listed.get(id).isDecoded()).isTrue();
      assertThat(listed.get(id).payload().path("n").isNumber()).isTrue();
    }
    assertThat(listed.get(hugePayload).isDecoded()).isTrue();
    assertThat(listed.get(deepMetadata).isDecoded()).isFalse();
  }

  @Test
  void aListingWithoutBodiesReadsNoneOfTheHugeOrUndecodableColumns() {
    Map<UUID, Job> listed =
        client.list(JobQuery.builder().queue(QUEUE).bodies(false).build()).stream()
            .collect(Collectors.toMap(Job::id, Function.identity()));

    assertThat(listed).containsKeys(hugePayload, hugeOutcome, deepMetadata);
    assertThat(listed).containsKeys(ordinary.toArray(UUID[]::new));
    for (Job job : listed.values()) {
      assertThat(job.isDecoded()).as("decoded %s", job.id()).isTrue();
      assertThat(job.payload()).as("payload of %s", job.id()).isNull();
      assertThat(job.metadata()).as("metadata of %s", job.id()).isNull();
      assertThat(job.result()).as("result of %s", job.id()).isNull();
      assertThat(job.error()).as("error of %s", job.id()).isNull();
      assertThat(job.errors()).as("errors of %s", job.id()).isEmpty();
      assertThat(job.plugin()).isEqualTo("plain");
      assertThat(job.queue()).isEqualTo(QUEUE);
      assertThat(job.createdAt()).isNotNull();
    }
    assertThat(listed.get(hugeOutcome).status()).isEqualTo(JobStatus.COMPLETED);
    assertThat(listed.get(hugeOutcome).completedAt()).isNotNull();
    assertThat(listed.get(hugePayload).status()).isEqualTo(JobStatus.PENDING);
  }

  @Test
  void aHugePayloadReadsBackWhole() {
    Job job = client.require(hugePayload);

    assertThat(job.isDecoded()).isTrue();
    assertThat(job.payload().path("text").textValue()).hasSize(HUGE);
  }

  @Test
  void aHugeResultErrorAndErrorHistoryReadBackWhole() {
    Job job = client.require(hugeOutcome);

    assertThat(job.isDecoded()).isTrue();
    assertThat(job.result().path("text").textValue()).hasSize(HUGE);
    assertThat(job.error()).hasSize(HUGE);
    assertThat(job.errors().get(0).path("error").textValue()).hasSize(HUGE);
    assertThat(client.await(hugeOutcome).orTimeout(10, java.util.concurrent.TimeUnit.SECONDS))
        .succeedsWithin(Duration.ofSeconds(10))
        .extracting(Job::status)
        .isEqualTo(JobStatus.COMPLETED);
  }

  @Test
  void aRowThisJvmCannotDecodeIsMarkedAndTheRestOfItStillReads() {
    Job job = client.require(deepMetadata);

    assertThat(job.decodeError()).contains("metadata").contains("nesting depth");
    assertThat(job.metadata()).isEmpty();
    assertThat(job.plugin()).isEqualTo("plain");
    assertThat(job.status()).isEqualTo(JobStatus.PENDING);
    assertThat(client.getAll(List.of(deepMetadata, ordinary.get(0)))).hasSize(2);
  }
}
