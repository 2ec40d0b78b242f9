package io.taskbroker.api.internal;

import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import java.util.HashMap;
import java.util.Map;

/**
 * The only class of the client that names OpenTelemetry types; loaded only when {@link
 * TraceContexts#AVAILABLE}. Uses the W3C propagator itself rather than the global one: the metadata
 * keys are a contract ({@code traceparent}, {@code tracestate}), whatever propagation the
 * application configured for its HTTP calls. Thread-safe; stateless.
 */
final class OpenTelemetryBridge {
  private OpenTelemetryBridge() {}

  /** The current context as W3C headers; empty outside a valid span. */
  static Map<String, String> currentContext() {
    Map<String, String> carrier = new HashMap<>();
    W3CTraceContextPropagator.getInstance().inject(Context.current(), carrier, Map::put);
    return carrier;
  }
}
