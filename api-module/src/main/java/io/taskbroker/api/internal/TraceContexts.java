package io.taskbroker.api.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.NewJob;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * W3C trace context in a job's metadata: with the OpenTelemetry API on the classpath, a submit made
 * inside a span records that span's context under {@link #TRACEPARENT} (and {@link #TRACESTATE}
 * when there is one), so the worker that runs the job continues the trace. Without the API, or
 * outside a span, jobs are left exactly as they are. A job whose metadata already has a {@code
 * traceparent} keeps it: the caller chose the parent. Thread-safe; stateless.
 *
 * <p>The OpenTelemetry classes are only touched through {@link OpenTelemetryBridge}, which the JVM
 * loads on first use, after {@link #AVAILABLE} said the API is there: this class itself loads
 * without it.
 */
public final class TraceContexts {
  /** The metadata key of the W3C {@code traceparent} header value. */
  public static final String TRACEPARENT = "traceparent";

  /** The metadata key of the W3C {@code tracestate} header value, when the trace has one. */
  public static final String TRACESTATE = "tracestate";

  /** Whether the OpenTelemetry API is on this class's class path. */
  public static final boolean AVAILABLE = detect();

  private TraceContexts() {}

  /** The batch, with the current trace context in each job's metadata when there is one. */
  public static List<NewJob> withCurrentContext(List<NewJob> batch) {
    if (!AVAILABLE || batch.isEmpty()) {
      return batch;
    }
    Map<String, String> context = OpenTelemetryBridge.currentContext();
    if (!context.containsKey(TRACEPARENT)) {
      return batch;
    }
    List<NewJob> traced = new ArrayList<>(batch.size());
    for (NewJob job : batch) {
      traced.add(job.metadata().has(TRACEPARENT) ? job : withContext(job, context));
    }
    return traced;
  }

  private static NewJob withContext(NewJob job, Map<String, String> context) {
    // A copy: the caller's metadata node is theirs, and may be shared between jobs.
    ObjectNode metadata = job.metadata().deepCopy();
    context.forEach(
        (key, value) -> {
          if (key.equals(TRACEPARENT) || key.equals(TRACESTATE)) {
            metadata.put(key, value);
          }
        });
    return new NewJob(
        job.plugin(),
        job.payload(),
        job.queue(),
        job.priority(),
        job.runAt(),
        job.delay(),
        job.maxAttempts(),
        metadata,
        job.uniqueKey(),
        job.timeout());
  }

  private static boolean detect() {
    try {
      ClassLoader loader = TraceContexts.class.getClassLoader();
      Class.forName("io.opentelemetry.context.Context", false, loader);
      Class.forName(
          "io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator", false, loader);
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }
}
