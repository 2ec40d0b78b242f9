package io.taskbroker.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.JobFailedException;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.spring.shop.OrderService;
import io.taskbroker.spring.shop.ShopApplication;
import io.taskbroker.spring.shop.ShopApplication.Confirmation;
import io.taskbroker.testsupport.TestDatabase;
import java.math.BigDecimal;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The starter in a real Spring Boot application on a real PostgreSQL database: the application's
 * own DataSource, Flyway migration and table, a {@code @Transactional} service that saves a row and
 * submits a typed job, the embedded worker running a plugin bean, schedules from a bean and from
 * properties, and Actuator health.
 */
@ExtendWith(DatabasePerTestClass.class)
@SpringBootTest(
    classes = ShopApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "taskbroker.worker.enabled=true",
      "taskbroker.worker.queues.default=4",
      "taskbroker.worker.poll-interval=200ms",
      "taskbroker.worker.drain-timeout=5s",
      "taskbroker.schedules.nightly-receipts.cron=0 3 * * *",
      "taskbroker.schedules.nightly-receipts.plugin=receipt",
      "taskbroker.schedules.nightly-receipts.time-zone=America/Sao_Paulo",
      "taskbroker.schedules.nightly-receipts.overlap=cancel-previous",
      "taskbroker.schedules.nightly-receipts.payload.orderId=0",
      "management.endpoint.health.show-details=always"
    })
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_CLASS)
class TaskBrokerSpringBootTest {
  @DynamicPropertySource
  static void database(DynamicPropertyRegistry registry) {
    TestDatabase database = DatabasePerTestClass.of(TaskBrokerSpringBootTest.class);
    registry.add("spring.datasource.url", database::jdbcUrl);
    registry.add("spring.datasource.username", database::user);
    registry.add("spring.datasource.password", database::password);
  }

  @Autowired OrderService orders;
  @Autowired TaskBrokerClient client;
  @Autowired JdbcTemplate jdbc;
  @Autowired HealthEndpoint health;
  @Autowired EmbeddedWorker worker;
  @Autowired io.micrometer.core.instrument.MeterRegistry meters;

  @Test
  void rolledBackTransactionLeavesNeitherTheRowNorTheJob() {
    assertThatThrownBy(() -> orders.placeOrder("mallory", new BigDecimal("9.99"), true))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("payment declined for mallory");

    OrderService.Seen seen = orders.lastSeen();
    // The submit ran, on the transaction's connection (its row was visible there)...
    assertThat(seen.jobRowsInTransaction()).isEqualTo(1);
    // ...and went with the rollback, as the order did.
    assertThat(client.get(seen.jobId())).isEmpty();
    assertThat(
            jdbc.queryForObject(
                "SELECT count(*) FROM orders WHERE id = ?", Long.class, seen.orderId()))
        .isZero();
    assertThat(
            jdbc.queryForObject(
                "SELECT count(*) FROM taskbroker.jobs WHERE payload->>'customer' = 'mallory'",
                Long.class))
        .isZero();
  }

  @Test
  void committedTransactionRunsTheJobInTheEmbeddedWorkerAndTheTypedResultComesBack()
      throws Exception {
    UUID jobId = orders.placeOrder("ada", new BigDecimal("12.50"), false);
    long orderId = orders.lastSeen().orderId();

    Confirmation confirmation =
        client.await(jobId, ShopApplication.RECEIPT).get(30, TimeUnit.SECONDS);

    assertThat(confirmation)
        .isEqualTo(
            new Confirmation(
                orderId, "receipt for order " + orderId + " sent to ada", new BigDecimal("12.50")));
    assertThat(
            jdbc.queryForObject("SELECT customer FROM orders WHERE id = ?", String.class, orderId))
        .isEqualTo("ada");
    Job job = client.require(jobId);
    assertThat(job.status()).isEqualTo(JobStatus.COMPLETED);
    assertThat(job.workerId()).isEqualTo(worker.config().workerId());
    // Micrometer: the submit and the finished job were counted in the application's registry.
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(
            () ->
                meters
                        .find("taskbroker.jobs.finished")
                        .tag("outcome", "completed")
                        .tag("plugin", job.plugin())
                        .counters()
                        .stream()
                        .mapToDouble(io.micrometer.core.instrument.Counter::count)
                        .sum()
                    >= 1);
    assertThat(meters.find("taskbroker.jobs.submitted").tag("plugin", job.plugin()).counter())
        .isNotNull();
    assertThat(
            meters
                .find("taskbroker.worker.slots.capacity")
                .tag("worker", worker.config().workerId())
                .gauge())
        .as("the embedded worker's gauges")
        .isNotNull();
  }

  @Test
  void aFailedTypedJobFailsTheAwait() {
    UUID jobId = orders.placeOrder("bob", new BigDecimal("-1"), false);

    assertThatThrownBy(() -> client.await(jobId, ShopApplication.RECEIPT).get(30, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(JobFailedException.class)
        .hasMessageContaining("negative amount -1");
  }

  @Test
  void submitOutsideATransactionCommitsOnItsOwn() throws Exception {
    UUID jobId =
        client.submit(
            ShopApplication.RECEIPT, new ShopApplication.Receipt(7, "eve", BigDecimal.ONE));
    assertThat(client.await(jobId, Confirmation.class).get(30, TimeUnit.SECONDS).orderId())
        .isEqualTo(7);
  }

  @Test
  void actuatorHealthReportsTaskbrokerAndItsWorker() {
    Health taskbroker = (Health) health.healthForPath("taskbroker");

    assertThat(taskbroker.getStatus()).isEqualTo(Status.UP);
    assertThat(taskbroker.getDetails().get("schemaVersion")).isInstanceOf(Integer.class);
    @SuppressWarnings("unchecked")
    Map<String, Object> workerDetails = (Map<String, Object>) taskbroker.getDetails().get("worker");
    assertThat(workerDetails)
        .containsEntry("id", worker.config().workerId())
        .containsEntry("status", "HEALTHY")
        .containsEntry("queues", Map.of("default", 4));
    // And it is part of the application's overall health.
    assertThat(health.health().getStatus()).isEqualTo(Status.UP);
  }

  @Test
  void theApplicationsFlywayAndTaskbrokersKeepSeparateHistories() {
    // The orders table came from the application's db/migration, through Boot's Flyway...
    assertThat(
            jdbc.queryForList(
                "SELECT script FROM public.flyway_schema_history WHERE success", String.class))
        .containsExactly("V1__create_orders.sql");
    // ...and taskbroker's migrations from its own location into its own history table.
    assertThat(
            jdbc.queryForList(
                "SELECT script FROM taskbroker.taskbroker_schema_history WHERE success"
                    + " AND version IS NOT NULL",
                String.class))
        .isNotEmpty()
        .allSatisfy(script -> assertThat(script).doesNotContain("orders"));
  }

  @Test
  void schedulesFromBeansAndPropertiesAreUpserted() {
    var fromBean = client.schedules().get("weekly-digest").orElseThrow();
    assertThat(fromBean.definition().timeZone()).isEqualTo("Europe/Lisbon");
    var fromProperties = client.schedules().get("nightly-receipts").orElseThrow();
    assertThat(fromProperties.definition().cron()).isEqualTo("0 3 * * *");
    assertThat(fromProperties.definition().timeZone()).isEqualTo("America/Sao_Paulo");
    assertThat(fromProperties.definition().overlap())
        .isEqualTo(ScheduleDefinition.Overlap.CANCEL_PREVIOUS);
  }
}
