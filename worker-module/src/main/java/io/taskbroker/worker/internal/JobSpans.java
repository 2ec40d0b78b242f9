package io.taskbroker.worker.internal;

import io.taskbroker.common.Job;
import io.taskbroker.worker.executor.Outcome;

/**
 * Runs a plugin inside an OpenTelemetry span when the OpenTelemetry API is on the classpath: a
 * child of the trace context its job was submitted in (metadata {@code traceparent} and {@code
 * tracestate}, written by the client), else a new trace. The span is current on the plugin's thread
 * while it runs, so spans the plugin starts are its children. Without the API this is a no-op and
 * loads no OpenTelemetry class ({@link OpenTelemetrySpans} is touched only after the check).
 * Thread-safe; stateless.
 */
public final class JobSpans {
  /** Whether the OpenTelemetry API is on this class's class path. */
  public static final boolean AVAILABLE = detect();

  /** The instrumentation scope name of the worker's spans. */
  public static final String SCOPE = "io.taskbroker.worker";

  private static final Active NONE =
      new Active() {
        @Override
        public void end(Outcome outcome) {}
      };

  private JobSpans() {}

  /** A started span, current on the calling thread until {@link #end} (on that same thread). */
  public interface Active {
    /** Records how the attempt ended and closes the span; call once, on the starting thread. */
    void end(Outcome outcome);
  }

  /** Starts the job's span on the calling thread (the plugin's); a no-op without the API. */
  public static Active start(Job job) {
    return AVAILABLE ? OpenTelemetrySpans.start(job) : NONE;
  }

  private static boolean detect() {
    try {
      ClassLoader loader = JobSpans.class.getClassLoader();
      Class.forName("io.opentelemetry.api.GlobalOpenTelemetry", false, loader);
      Class.forName(
          "io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator", false, loader);
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }
}
