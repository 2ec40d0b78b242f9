package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.JobCancelledException;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.bench.NoopPlugin;
import io.taskbroker.cli.examples.EchoPlugin;
import io.taskbroker.cli.examples.TranscriptionPlugin;
import io.taskbroker.common.Json;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The bundled example plugins, run directly with a hand-written context. */
class ExamplePluginsTest {

  @Test
  void echoReturnsItsPayload() throws Exception {
    FakeContext context = new FakeContext("{\"x\":1,\"nested\":{\"y\":[1,2]}}");

    assertThat(new EchoPlugin().execute(context))
        .isEqualTo(Json.parse("{\"x\":1,\"nested\":{\"y\":[1,2]}}"));
  }

  @Test
  void noopReturnsNothingAndReportsNothing() throws Exception {
    FakeContext context = new FakeContext("{\"i\":1}");

    assertThat(new NoopPlugin().execute(context)).isNull();
    assertThat(context.progress).isEmpty();
  }

  @Test
  void echoFailsWithTheGivenMessageAfterSleeping() {
    FakeContext context = new FakeContext("{\"sleep_ms\":30,\"fail\":\"boom\"}");

    assertThatThrownBy(() -> new EchoPlugin().execute(context))
        .isExactlyInstanceOf(RuntimeException.class)
        .hasMessage("boom");
    assertThat(context.progress).isNotEmpty().last().asString().startsWith("1.0 slept");
  }

  @Test
  void echoRefusesABadSleepWithoutRetry() {
    assertThatThrownBy(() -> new EchoPlugin().execute(new FakeContext("{\"sleep_ms\":-1}")))
        .isInstanceOf(FailJob.class)
        .hasMessageContaining("sleep_ms");
  }

  @Test
  void echoStopsSleepingWhenCancelled() throws Exception {
    FakeContext context = new FakeContext("{\"sleep_ms\":60000}");
    CompletableFuture<Throwable> outcome = new CompletableFuture<>();
    Thread job =
        new Thread(
            () -> {
              try {
                new EchoPlugin().execute(context);
                outcome.complete(null);
              } catch (Exception e) {
                outcome.complete(e);
              }
            },
            "echo-under-test");
    job.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> !context.progress.isEmpty());

    // What the worker does on cancel: set the flag, interrupt the thread.
    context.cancelled = true;
    job.interrupt();

    // Interrupted in its sleep, or stopped at the next checkpoint: either way at once.
    assertThat(outcome.get(5, TimeUnit.SECONDS))
        .isInstanceOfAny(InterruptedException.class, JobCancelledException.class);
  }

  @Test
  void transcribeReportsProgressPerSegmentAndReturnsTheTranscript() throws Exception {
    FakeContext context =
        new FakeContext("{\"file_path\":\"/audio/meeting.wav\",\"segments\":4,\"segment_ms\":0}");

    JsonNode result = new TranscriptionPlugin().execute(context);

    assertThat(result.get("file_name").asText()).isEqualTo("meeting.wav");
    assertThat(result.get("language").asText()).isEqualTo("en");
    assertThat(result.get("segments")).hasSize(4);
    assertThat(result.get("segments").get(0).get("start").asDouble()).isEqualTo(0.0);
    assertThat(result.get("segments").get(0).get("end").asDouble()).isEqualTo(2.5);
    assertThat(result.get("text").asText())
        .startsWith(result.get("segments").get(0).get("text").asText());
    assertThat(context.progress)
        .containsExactly(
            "0.0 segment 0 of 4",
            "0.25 segment 1 of 4",
            "0.5 segment 2 of 4",
            "0.75 segment 3 of 4",
            "1.0 segment 4 of 4");
  }

  @Test
  void transcribeKeepsAGivenFileName() throws Exception {
    FakeContext context =
        new FakeContext("{\"file_path\":\"/tmp/x1\",\"file_name\":\"Talk.mp3\",\"segment_ms\":0}");

    JsonNode result = new TranscriptionPlugin().execute(context);

    assertThat(result.get("file_name").asText()).isEqualTo("Talk.mp3");
    assertThat(result.get("segments")).hasSize(5);
  }

  @Test
  void transcribeWithoutFilePathFailsWithoutRetry() {
    assertThatThrownBy(() -> new TranscriptionPlugin().execute(new FakeContext("{}")))
        .isInstanceOf(FailJob.class)
        .hasMessage("transcribe needs a \"file_path\" in the payload");
  }

  @Test
  void transcribeStopsAtTheNextSegmentWhenCancelled() {
    FakeContext context = new FakeContext("{\"file_path\":\"a\",\"segment_ms\":0}");
    context.cancelled = true;

    assertThatThrownBy(() -> new TranscriptionPlugin().execute(context))
        .isInstanceOf(JobCancelledException.class);
  }

  /** A context with a fixed payload that records progress. Thread-safe enough for one job. */
  private static final class FakeContext implements TaskContext {
    private final ObjectNode payload;
    final List<String> progress = new CopyOnWriteArrayList<>();
    volatile boolean cancelled;

    FakeContext(String payload) {
      this.payload = Json.parseObject(payload, "payload");
    }

    @Override
    public UUID jobId() {
      return new UUID(0, 1);
    }

    @Override
    public String plugin() {
      return "test";
    }

    @Override
    public String queue() {
      return "default";
    }

    @Override
    public int attempt() {
      return 1;
    }

    @Override
    public int maxAttempts() {
      return 3;
    }

    @Override
    public ObjectNode payload() {
      return payload.deepCopy();
    }

    @Override
    public ObjectNode metadata() {
      return Json.object();
    }

    @Override
    public void reportProgress(double fraction, String message) {
      progress.add(fraction + " " + message);
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public void throwIfCancelled() {
      if (cancelled) {
        throw new JobCancelledException("cancelled");
      }
    }
  }
}
