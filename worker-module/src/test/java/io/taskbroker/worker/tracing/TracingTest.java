package io.taskbroker.worker.tracing;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * With the OpenTelemetry API (and here an SDK with an in-memory exporter) on the classpath, a trace
 * started before submit continues in the plugin: the client writes W3C {@code traceparent} into the
 * job's metadata, the worker runs the plugin in a child span that is current on its thread.
 */
class TracingTest extends WorkerDatabaseTest {
  private InMemorySpanExporter exporter;
  private OpenTelemetrySdk openTelemetry;
  private TaskBrokerClient client;

  @BeforeEach
  void installOpenTelemetry() {
    exporter = InMemorySpanExporter.create();
    openTelemetry =
        OpenTelemetrySdk.builder()
            .setTracerProvider(
                SdkTracerProvider.builder()
                    .addSpanProcessor(SimpleSpanProcessor.create(exporter))
                    .build())
            .build();
    GlobalOpenTelemetry.resetForTest();
    GlobalOpenTelemetry.set(openTelemetry);
    client = TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build());
  }

  @AfterEach
  void removeOpenTelemetry() {
    client.close();
    GlobalOpenTelemetry.resetForTest();
    openTelemetry.close();
  }

  @Test
  @SuppressWarnings("try") // the scope is only opened and closed
  void aTraceStartedBeforeSubmitContinuesInThePlugin() {
    Map<String, SpanContext> seen = new ConcurrentHashMap<>();
    TestPlugin plugin =
        TestPlugin.named(
            "traced",
            context -> {
              seen.put("plugin", Span.current().getSpanContext());
              return Json.object();
            });
    Tracer tracer = openTelemetry.getTracer("test");
    Span request = tracer.spanBuilder("request").startSpan();
    UUID id;
    try (Scope ignored = request.makeCurrent()) {
      id = client.submit(NewJob.builder("traced").queue("tracing").build());
    } finally {
      request.end();
    }
    workers.start("tracing", 1, plugin);
    within(10).until(() -> jobs.status(id) == JobStatus.COMPLETED);

    SpanContext parent = request.getSpanContext();
    assertThat(jobs.get(id).metadata().path("traceparent").asText())
        .isEqualTo(
            "00-"
                + parent.getTraceId()
                + "-"
                + parent.getSpanId()
                + "-"
                + parent.getTraceFlags().asHex());
    SpanData job = jobSpan("taskbroker.job traced");
    assertThat(job.getTraceId()).isEqualTo(parent.getTraceId());
    assertThat(job.getParentSpanId()).isEqualTo(parent.getSpanId());
    assertThat(job.getKind()).isEqualTo(SpanKind.CONSUMER);
    assertThat(job.getAttributes().get(AttributeKey.stringKey("taskbroker.job_id")))
        .isEqualTo(id.toString());
    assertThat(job.getAttributes().get(AttributeKey.stringKey("taskbroker.queue")))
        .isEqualTo("tracing");
    assertThat(job.getAttributes().get(AttributeKey.stringKey("taskbroker.outcome")))
        .isEqualTo("completed");
    // The job's span is current while the plugin runs: the plugin's own spans nest under it.
    assertThat(seen.get("plugin").getSpanId()).isEqualTo(job.getSpanId());
    assertThat(seen.get("plugin").getTraceId()).isEqualTo(parent.getTraceId());
  }

  @Test
  void aSubmitOutsideAnySpanAddsNothingAndThePluginSpanStartsATrace() {
    TestPlugin plugin = TestPlugin.completing("untraced");
    UUID id = client.submit(NewJob.builder("untraced").queue("untraced").build());
    workers.start("untraced", 1, plugin);
    within(10).until(() -> jobs.status(id) == JobStatus.COMPLETED);

    assertThat(jobs.get(id).metadata().has("traceparent")).isFalse();
    SpanData job = jobSpan("taskbroker.job untraced");
    assertThat(job.getParentSpanContext().isValid()).isFalse();
  }

  @Test
  @SuppressWarnings("try") // the scope is only opened and closed
  void theCallersOwnTraceparentIsKeptAndAFailureMarksTheSpan() {
    TestPlugin plugin =
        TestPlugin.named(
            "failing",
            context -> {
              throw new FailJob("no");
            });
    String chosen = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    Span request = openTelemetry.getTracer("test").spanBuilder("request").startSpan();
    UUID id;
    try (Scope ignored = request.makeCurrent()) {
      id =
          client.submit(
              NewJob.builder("failing")
                  .queue("failing")
                  .metadata(Map.of("traceparent", chosen))
                  .build());
    } finally {
      request.end();
    }
    workers.start("failing", 1, plugin);
    within(10).until(() -> jobs.status(id) == JobStatus.FAILED);

    assertThat(jobs.get(id).metadata().path("traceparent").asText()).isEqualTo(chosen);
    SpanData job = jobSpan("taskbroker.job failing");
    assertThat(job.getTraceId()).isEqualTo("0af7651916cd43dd8448eb211c80319c");
    assertThat(job.getParentSpanId()).isEqualTo("b7ad6b7169203331");
    assertThat(job.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
  }

  /** The job's span, once exported (it ends on the plugin's thread just after the outcome). */
  private SpanData jobSpan(String name) {
    within(10)
        .until(
            () -> exporter.getFinishedSpanItems().stream().anyMatch(s -> s.getName().equals(name)));
    List<SpanData> spans =
        exporter.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).toList();
    assertThat(spans).hasSize(1);
    return spans.get(0);
  }
}
