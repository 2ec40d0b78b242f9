package io.taskbroker.worker.completer;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.executor.Outcome;
import io.taskbroker.worker.executor.Outcomes;
import io.taskbroker.worker.executor.RunningJob;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * What one job's outcome carries stays with that job: a result that cannot be written, one over the
 * size limit, one the database refuses, or a huge error message, never costs the other outcomes of
 * its batch, and the job always leaves the worker with a final state saying why.
 */
class OutcomeIsolationTest extends WorkerDatabaseTest {
  private static final String MARKER = "… \\[truncated, \\d+ more characters\\]";

  /** A result node whose own serialization throws, as a plugin's custom node might. */
  // Jackson's ObjectNode.deepCopy() overrides a generic method; subclassing it is unchecked.
  @SuppressWarnings("unchecked")
  private static final class UnwritableNode extends ObjectNode {
    private static final long serialVersionUID = 1L;

    UnwritableNode() {
      super(JsonNodeFactory.instance);
    }

    @Override
    public void serialize(JsonGenerator generator, SerializerProvider provider) {
      throw new IllegalStateException("this node cannot be written");
    }
  }

  /** Results a plugin can return that PostgreSQL's jsonb cannot store, by name. */
  private static final Map<String, Supplier<JsonNode>> UNRECORDABLE =
      Map.of(
          "pojo", () -> JsonNodeFactory.instance.pojoNode(new Object()),
          "throwing", UnwritableNode::new,
          "nul", () -> Json.object().put("text", "a\u0000b"),
          "surrogate", () -> Json.object().put("text", "lone \uDC00 surrogate"));

  @Test
  void anUnwritableResultFailsOnlyItsJob() {
    Gate gate = new Gate();
    TestPlugin plugin =
        TestPlugin.named(
            "results",
            context -> {
              gate.pass();
              String bad = context.payload().path("bad").asText(null);
              return bad == null ? TestPlugin.okResult(context) : UNRECORDABLE.get(bad).get();
            });
    Map<String, UUID> bad = new HashMap<>();
    for (String kind : UNRECORDABLE.keySet()) {
      bad.put(kind, jobs.insert(job("unwritable", "results").payload(Map.of("bad", kind))));
    }
    List<UUID> good = jobs.insertMany("unwritable", "results", 6);
    int total = bad.size() + good.size();
    Worker worker = workers.start("unwritable", total, plugin);
    within(10).until(() -> plugin.running() == total);
    // Every plugin returns at once: their outcomes reach the completer together, in batches.
    gate.open();

    within(10)
        .until(
            () ->
                jobs.all(good, JobStatus.COMPLETED)
                    && jobs.all(bad.values(), JobStatus.FAILED)
                    && worker.runningCount() == 0);
    for (UUID id : good) {
      assertThat(jobs.get(id).result()).isEqualTo(Json.object().put("ok", true).put("attempt", 1));
    }
    for (Map.Entry<String, UUID> entry : bad.entrySet()) {
      Job row = jobs.get(entry.getValue());
      assertThat(row.error()).as(entry.getKey()).startsWith("result could not be recorded: ");
      assertThat(row.errors()).hasSize(1);
      assertThat(row.errors().get(0).path("error").asText()).isEqualTo(row.error());
      assertThat(row.result()).isNull();
      assertThat(plugin.executions(entry.getValue())).isEqualTo(1);
      // Nothing is left for a cancel to wait on: the job is over.
      assertThat(jobs.cancel(entry.getValue())).isEqualTo("failed");
    }
    assertThat(jobs.get(bad.get("nul")).error()).contains("U+0000");
    assertThat(jobs.get(bad.get("throwing")).error()).contains("this node cannot be written");
    assertThat(jobs.count("unwritable", JobStatus.RUNNING)).isZero();
  }

  @Test
  void aBatchWithUnrecordableOutcomesIsWrittenForEveryOtherJob() {
    // One refusal no check in the worker foresees: only the database knows it.
    jobs.execute(
        "ALTER TABLE taskbroker.job_queue ADD CONSTRAINT test_refuses_result"
            + " CHECK (result IS NULL OR NOT result @> '{\"refused_by_test\": true}') NOT VALID");
    try {
      ManualWorker claimer = new ManualWorker(database, "batch-writer");
      jobs.insertMany("batch", "batch", 10);
      List<Job> claimed = claimer.claim("batch", 10, Duration.ofMinutes(1));
      assertThat(claimed).hasSize(10);
      List<RunningJob> done = new CopyOnWriteArrayList<>();
      Outcomes outcomes = TestCompleters.outcomes("batch-writer", 1024);
      Completer completer = TestCompleters.completer(database, "batch-writer", outcomes, () -> 0);
      Map<UUID, String> expectedError = new HashMap<>();
      List<UUID> good = new ArrayList<>();
      // Queued before the completer starts: they are written as one batch.
      List<String> kinds = new ArrayList<>(UNRECORDABLE.keySet());
      kinds.add("oversized");
      kinds.add("refused");
      for (int i = 0; i < claimed.size(); i++) {
        RunningJob running = RunningJob.unowned(claimed.get(i), done::add);
        String kind = i < kinds.size() ? kinds.get(i) : null;
        JsonNode result;
        if (kind == null) {
          result = Json.object().put("n", i);
          good.add(running.id());
        } else if (kind.equals("oversized")) {
          result = Json.object().put("text", "y".repeat(2000));
          expectedError.put(running.id(), "over the worker's limit of 1024 bytes");
        } else if (kind.equals("refused")) {
          result = Json.object().put("refused_by_test", true);
          expectedError.put(running.id(), "test_refuses_result");
        } else {
          result = UNRECORDABLE.get(kind).get();
          expectedError.put(running.id(), "result could not be recorded: ");
        }
        completer.accept(outcomes.prepare(running, new Outcome.Completed(result)));
      }
      completer.start();
      try {
        within(10).until(() -> done.size() == claimed.size());
      } finally {
        completer.stop(Duration.ofSeconds(5));
      }

      assertThat(jobs.all(good, JobStatus.COMPLETED)).isTrue();
      for (Map.Entry<UUID, String> entry : expectedError.entrySet()) {
        Job row = jobs.get(entry.getKey());
        assertThat(row.status()).isEqualTo(JobStatus.FAILED);
        assertThat(row.error()).startsWith("result could not be recorded: ");
        assertThat(row.error()).contains(entry.getValue());
      }
      assertThat(completer.writtenCount()).isEqualTo(claimed.size());
    } finally {
      jobs.execute("ALTER TABLE taskbroker.job_queue DROP CONSTRAINT test_refuses_result");
    }
  }

  @Test
  void oversizedResultFailsItsJobClearly() {
    TestPlugin plugin =
        TestPlugin.named(
            "big",
            context ->
                context.payload().path("big").asBoolean()
                    ? Json.object().put("text", "é".repeat(600))
                    : TestPlugin.okResult(context));
    UUID big = jobs.insert(job("oversized", "big").payload(Map.of("big", true)));
    List<UUID> small = jobs.insertMany("oversized", "big", 4);
    Worker worker = workers.start(TestWorkers.config("oversized", 5).maxResultBytes(1024), plugin);

    within(10)
        .until(
            () ->
                jobs.status(big).isFinal()
                    && jobs.all(small, JobStatus.COMPLETED)
                    && worker.runningCount() == 0);
    Job row = jobs.get(big);
    assertThat(row.status()).isEqualTo(JobStatus.FAILED);
    // 600 two-byte characters: over the limit in bytes, though not in characters.
    assertThat(row.error())
        .isEqualTo(
            "result could not be recorded: its JSON is 1211 bytes, over the worker's limit of"
                + " 1024 bytes (maxResultBytes)");
    assertThat(row.attempt()).isEqualTo(1);
    assertThat(plugin.executions(big)).isEqualTo(1);
  }

  @Test
  void hugeErrorMessagesAreTruncatedWithAMarker() {
    String huge = "z".repeat(20 * 1024 * 1024);
    TestPlugin plugin =
        TestPlugin.named(
            "huge-error",
            context -> {
              if (context.payload().path("huge").asBoolean()) {
                throw new IllegalStateException(huge);
              }
              return TestPlugin.okResult(context);
            });
    UUID failing =
        jobs.insert(job("huge-error", "huge-error").payload(Map.of("huge", true)).maxAttempts(1));
    List<UUID> others = jobs.insertMany("huge-error", "huge-error", 4);
    Worker worker = workers.start("huge-error", 5, plugin);

    within(10)
        .until(
            () ->
                jobs.status(failing) == JobStatus.FAILED
                    && jobs.all(others, JobStatus.COMPLETED)
                    && worker.runningCount() == 0);
    Job row = jobs.get(failing);
    assertThat(row.error()).startsWith("java.lang.IllegalStateException: zzz");
    assertThat(row.error()).matches("(?s).*" + MARKER);
    assertThat(row.error().length()).isLessThanOrEqualTo(Completer.MAX_ERROR_CHARS + 64);
    JsonNode entry = row.errors().get(0);
    assertThat(entry.path("error").asText()).isEqualTo(row.error());
    String trace = entry.path("trace").asText();
    assertThat(trace).startsWith("java.lang.IllegalStateException: zzz");
    assertThat(trace.length()).isLessThanOrEqualTo(Completer.MAX_TRACE_CHARS);
    assertThat(trace).contains("\tat ");
    assertThat(trace.lines().findFirst().orElseThrow()).matches(".*" + MARKER);
    assertThat(
            jobs.queryLong(
                "SELECT octet_length(error) + octet_length(errors::text) FROM taskbroker.jobs"
                    + " WHERE id = ?",
                failing))
        .isLessThan(64 * 1024);
  }
}
