package io.taskbroker.worker.decode;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.JdbiException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Payloads reach the plugin, and its result the reader, with the value they were submitted with:
 * numbers beyond double's precision or range, and strings exactly. What PostgreSQL cannot store is
 * refused at submit, never changed on the way.
 */
class JsonFidelityTest extends WorkerDatabaseTest {
  private static final String QUEUE = "fidelity";

  private final Map<UUID, JsonNode> received = new ConcurrentHashMap<>();
  private TaskBrokerClient client;

  @BeforeEach
  void startEchoWorker() {
    client = TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build());
    workers.start(
        QUEUE,
        4,
        TestPlugin.named(
            QUEUE,
            context -> {
              received.put(context.jobId(), context.payload());
              return context.payload();
            }));
  }

  @AfterEach
  void closeClient() {
    client.close();
  }

  private UUID submitWithSql(String payload) {
    return jobs.jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery(
                        "SELECT taskbroker.submit(:plugin, CAST(:payload AS jsonb), :queue)")
                    .bind("plugin", QUEUE)
                    .bind("payload", payload)
                    .bind("queue", QUEUE)
                    .mapTo(UUID.class)
                    .one());
  }

  private UUID submitWithJava(String payload) {
    return client.submit(NewJob.builder(QUEUE).queue(QUEUE).payloadJson(payload).build());
  }

  /** Submits {"x": number} both ways; the plugin and the reader see a number equal to it. */
  private void assertNumberArrivesExactly(String number, BigDecimal expected) {
    String payload = "{\"x\": " + number + "}";
    for (UUID id : new UUID[] {submitWithSql(payload), submitWithJava(payload)}) {
      within(10).until(() -> jobs.status(id).isFinal());
      Job job = jobs.get(id);
      assertThat(job.status()).isEqualTo(JobStatus.COMPLETED);
      JsonNode atPlugin = received.get(id).get("x");
      JsonNode readBack = job.result().get("x");
      for (JsonNode node : new JsonNode[] {atPlugin, readBack, job.payload().get("x")}) {
        assertThat(node.isNumber()).as("%s arrives as a number, got %s", number, node).isTrue();
        assertThat(node.decimalValue()).isEqualByComparingTo(expected);
      }
    }
  }

  @Test
  void aDecimalBeyondDoublePrecisionArrivesExactly() {
    assertNumberArrivesExactly(
        "0.1000000000000000000001", new BigDecimal("0.1000000000000000000001"));
  }

  @Test
  void aNumberBelowDoubleRangeArrivesAsItselfNotZero() {
    assertNumberArrivesExactly("1e-400", new BigDecimal("1E-400"));
  }

  @Test
  void aNumberAboveDoubleRangeArrivesAsANumberNotInfinity() {
    assertNumberArrivesExactly("1.5e400", new BigDecimal("1.5E400"));
  }

  @Test
  void integersBeyondLongAndTrailingZerosArriveExactly() {
    assertNumberArrivesExactly(
        "123456789012345678901234567890123456789",
        new BigDecimal(new BigInteger("123456789012345678901234567890123456789")));
    assertNumberArrivesExactly("-0", BigDecimal.ZERO);
    assertNumberArrivesExactly("2.50", new BigDecimal("2.50"));
  }

  @Test
  void unusualButValidStringsArriveExactly() {
    String text = "a\uD83D\uDE00b\u0301\uFEFF\u2028\u001F\"\\/\t\uFFFF";
    String payload = Json.write(Json.object().put("s", text));
    for (UUID id : new UUID[] {submitWithSql(payload), submitWithJava(payload)}) {
      within(10).until(() -> jobs.status(id).isFinal());
      assertThat(received.get(id).get("s").textValue()).isEqualTo(text);
      assertThat(jobs.get(id).result().get("s").textValue()).isEqualTo(text);
    }
  }

  @Test
  void aLoneSurrogateIsRefusedAtSubmitNotTurnedIntoAQuestionMark() {
    assertThatThrownBy(() -> submitWithJava("{\"s\": \"a\\ud800b\"}"))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("payload.s")
        .hasMessageContaining("lone surrogate U+D800");
    assertThatThrownBy(
            () ->
                client.submit(
                    NewJob.builder(QUEUE).queue(QUEUE).payload(Map.of("s", "\uDC00")).build()))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("lone surrogate U+DC00");
    assertThatThrownBy(
            () ->
                client.submit(
                    NewJob.builder(QUEUE).queue(QUEUE).metadata(Map.of("\uD800name", "x")).build()))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("metadata")
        .hasMessageContaining("the name");
    // PostgreSQL refuses it in jsonb as well: no language gets a changed string stored.
    assertThatThrownBy(() -> submitWithSql("{\"s\": \"a\\ud800b\"}"))
        .isInstanceOf(JdbiException.class);
  }

  @Test
  void aNulCharacterIsRefusedAtSubmitWithAClearReason() {
    assertThatThrownBy(() -> submitWithJava("{\"s\": \"a\\u0000b\"}"))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("payload.s")
        .hasMessageContaining("NUL");
    assertThatThrownBy(() -> submitWithSql("{\"s\": \"a\\u0000b\"}"))
        .isInstanceOf(JdbiException.class);
  }

  @Test
  void nestingDeeperThanWorkersReadIsRefusedAtSubmit() {
    String deep = UndecodableJobTest.nested(Json.MAX_DEPTH + 1);
    assertThatThrownBy(() -> submitWithJava(deep))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("nesting depth");
    // Built as a tree (no parser involved), it is refused by the check itself.
    var root = Json.object();
    var node = root;
    for (int i = 1; i < Json.MAX_DEPTH + 1; i++) {
      node = node.putObject("a");
    }
    var tooDeep = root;
    assertThatThrownBy(
            () -> client.submit(NewJob.builder(QUEUE).queue(QUEUE).payload(tooDeep).build()))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("nests deeper than " + Json.MAX_DEPTH);
  }

  @Test
  void aPayloadOverTheSizeLimitIsRefusedAtSubmit() {
    String big = "x".repeat(Json.MAX_DOCUMENT_CHARS);
    assertThatThrownBy(
            () ->
                client.submit(NewJob.builder(QUEUE).queue(QUEUE).payload(Map.of("s", big)).build()))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("over the limit of " + Json.MAX_DOCUMENT_CHARS);
  }

  @Test
  void nonFiniteNumbersAreRefusedRatherThanStoredAsStrings() {
    assertThatThrownBy(
            () ->
                client.submit(
                    NewJob.builder(QUEUE)
                        .queue(QUEUE)
                        .payload(Map.of("x", Double.POSITIVE_INFINITY))
                        .build()))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("payload.x");
  }
}
