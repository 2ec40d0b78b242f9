package io.taskbroker.worker.typed;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.JobFailedException;
import io.taskbroker.api.ResultMappingException;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.InvalidPayloadException;
import io.taskbroker.api.plugin.JobType;
import io.taskbroker.api.plugin.TypedTaskPlugin;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Typed jobs end to end on a real worker: a record goes in, a record comes back from {@code await};
 * a payload that does not map fails its own job once, with kind {@code invalid_payload}, while the
 * worker and the other jobs go on.
 */
class TypedJobsTest extends WorkerDatabaseTest {
  record Line(String sku, int quantity, BigDecimal unitPrice) {}

  record Invoice(String customer, List<Line> lines, Instant dueAt) {
    Invoice {
      if (customer != null && customer.isBlank()) {
        throw new IllegalArgumentException("customer must not be blank");
      }
    }
  }

  record Total(String customer, BigDecimal total, int lineCount, Instant dueAt) {}

  static final JobType<Invoice, Total> INVOICE = JobType.of("invoice", Invoice.class, Total.class);

  private final AtomicInteger runs = new AtomicInteger();
  private TaskBrokerClient client;

  private TypedTaskPlugin<Invoice, Total> invoicePlugin() {
    return TypedTaskPlugin.of(
        INVOICE,
        (invoice, context) -> {
          runs.incrementAndGet();
          if ("nobody".equals(invoice.customer())) {
            throw new FailJob("no such customer: nobody");
          }
          BigDecimal total = BigDecimal.ZERO;
          for (Line line : invoice.lines()) {
            total = total.add(line.unitPrice().multiply(BigDecimal.valueOf(line.quantity())));
          }
          return new Total(invoice.customer(), total, invoice.lines().size(), invoice.dueAt());
        });
  }

  @BeforeEach
  void openClient() {
    client = TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build());
  }

  @AfterEach
  void closeClient() {
    client.close();
  }

  @Test
  void recordPayloadRunsAndTypedResultComesBackExactly() throws Exception {
    String queue = "typed-ok";
    workers.start(queue, 2, invoicePlugin());
    Instant due = Instant.parse("2031-03-30T01:30:00.123456Z");
    Invoice invoice =
        new Invoice(
            "ada",
            List.of(
                new Line("a-1", 3, new BigDecimal("0.10")),
                new Line("b-2", 1, new BigDecimal("12345678901234567890.000000000000000001"))),
            due);

    UUID id = client.submit(NewJob.builder(INVOICE.plugin()).payload(invoice).queue(queue).build());
    Total total = client.await(id, INVOICE).get(20, TimeUnit.SECONDS);

    // Through double, 0.10 * 3 would be 0.30000000000000004 and the long price would lose digits.
    assertThat(total)
        .isEqualTo(
            new Total("ada", new BigDecimal("12345678901234567890.300000000000000001"), 2, due));
    assertThat(jobs.get(id).payload().path("lines").get(0).path("unitPrice").decimalValue())
        .isEqualByComparingTo("0.10");
  }

  @Test
  void submitOfARecordUsesTheDefaultQueue() throws Exception {
    workers.start(NewJob.DEFAULT_QUEUE, 1, invoicePlugin());
    UUID id = client.submit(INVOICE, new Invoice("bob", List.of(), null));
    assertThat(client.await(id, Total.class).get(20, TimeUnit.SECONDS))
        .isEqualTo(new Total("bob", BigDecimal.ZERO, 0, null));
    assertThat(jobs.get(id).queue()).isEqualTo(NewJob.DEFAULT_QUEUE);
  }

  @Test
  void payloadThatDoesNotMapFailsItsJobOnceWithoutHarmingTheWorker() throws Exception {
    String queue = "typed-bad";
    Worker worker = workers.start(queue, 2, invoicePlugin());
    UUID wrongType =
        jobs.insert(
            NewJob.builder("invoice")
                .queue(queue)
                .maxAttempts(5)
                .payload(Map.of("customer", "c", "lines", List.of(Map.of("quantity", "many")))));
    UUID missingPrimitive =
        jobs.insert(
            NewJob.builder("invoice")
                .queue(queue)
                .maxAttempts(5)
                .payload(Map.of("customer", "c", "lines", List.of(Map.of("sku", "x")))));
    UUID refusedByConstructor =
        jobs.insert(
            NewJob.builder("invoice")
                .queue(queue)
                .maxAttempts(5)
                .payload(Map.of("customer", " ", "lines", List.of())));
    UUID good =
        jobs.insert(
            NewJob.builder("invoice")
                .queue(queue)
                .payload(
                    Map.of(
                        "customer",
                        "ok",
                        "unknownField",
                        "ignored",
                        "lines",
                        List.of(Map.of("sku", "s", "quantity", 2, "unitPrice", 1.5)))));

    List<UUID> bad = List.of(wrongType, missingPrimitive, refusedByConstructor);
    within(20).until(() -> jobs.all(bad, JobStatus.FAILED));
    assertThat(client.await(good, Total.class).get(20, TimeUnit.SECONDS).total())
        .isEqualByComparingTo("3.0");

    for (UUID id : bad) {
      Job job = jobs.get(id);
      // One attempt of five: the same payload would fail the same way.
      assertThat(job.attempt()).isEqualTo(1);
      assertThat(job.errors()).hasSize(1);
      assertThat(job.errors().get(0).path("kind").asText()).isEqualTo(InvalidPayloadException.KIND);
      assertThat(job.error()).startsWith("payload does not map to Invoice: ");
    }
    assertThat(jobs.get(wrongType).error()).contains("payload.lines[0].quantity");
    assertThat(jobs.get(missingPrimitive).error()).contains("quantity");
    assertThat(jobs.get(refusedByConstructor).error()).contains("customer must not be blank");
    // The plugin's own code ran for the good job only.
    assertThat(runs.get()).isEqualTo(1);
    assertThat(worker.isHealthy()).isTrue();
  }

  @Test
  void awaitOfAFailedJobCompletesExceptionallyWithTheJobsError() {
    String queue = "typed-fail";
    workers.start(queue, 1, invoicePlugin());
    UUID id =
        client.submit(
            NewJob.builder("invoice")
                .queue(queue)
                .payload(Map.of("customer", "nobody", "lines", List.of()))
                .build());

    assertThatThrownBy(() -> client.await(id, INVOICE).get(20, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(JobFailedException.class)
        .hasMessage("job " + id + " (invoice) failed after 1 attempt: no such customer: nobody")
        .satisfies(e -> assertThat(((JobFailedException) e).status()).isEqualTo(JobStatus.FAILED));
  }

  @Test
  void awaitAsTheWrongTypeSaysTheResultDoesNotMap() {
    String queue = "typed-wrong-result";
    workers.start(queue, 1, invoicePlugin());
    UUID id =
        client.submit(
            NewJob.builder("invoice")
                .queue(queue)
                .payload(Map.of("customer", "c", "lines", List.of()))
                .build());

    assertThatThrownBy(() -> client.await(id, Integer.class).get(20, TimeUnit.SECONDS))
        .cause()
        .isInstanceOf(ResultMappingException.class)
        .hasMessageStartingWith("job " + id + ": its result does not map to Integer: ");
  }
}
